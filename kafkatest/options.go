package kafkatest

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// Option configures a [Cluster] in [NewCluster].
type Option func(*config) error

// config is what the options set; NewCluster validates it once.
type config struct {
	sec securityConfig // TLS and SASL: tls.go, sasl.go

	numBrokers        int
	numBrokersSet     bool
	ports             []int
	defaultPartitions int32
	autoCreate        bool
	seeds             []seedTopic
	maxMessageBytes   int
	maxFrameSize      int
	logger            *slog.Logger
	maxVersions       map[int16]int16
	txnV2             bool
	maxTxnTimeout     time.Duration
	markerDelay       time.Duration
	retention         retention // log.go
}

type seedTopic struct {
	name       string
	partitions int32
}

// Limits a broker enforces by default, as a Kafka 4.x broker's.
const (
	// DefaultMaxMessageBytes is Kafka's message.max.bytes default: the largest record batch
	// a broker accepts, 1 MiB plus the 12 bytes of batch overhead.
	DefaultMaxMessageBytes = 1048588
	// DefaultMaxFrameSize is Kafka's socket.request.max.bytes default (100 MiB): the largest
	// request frame a broker reads.
	DefaultMaxFrameSize = 100 << 20
	// DefaultMaxTransactionTimeout is Kafka's transaction.max.timeout.ms default (15 minutes):
	// the longest transaction.timeout.ms InitProducerId accepts.
	DefaultMaxTransactionTimeout = 15 * time.Minute
)

const (
	defaultNumBrokers = 3
	// defaultPartitions is the partition count of auto-created topics. Kafka's num.partitions
	// is 1; 3 spreads a topic over the default three brokers, which is what tests want.
	defaultPartitions = 3
)

func defaultConfig() config {
	return config{
		numBrokers:        defaultNumBrokers,
		defaultPartitions: defaultPartitions,
		autoCreate:        true,
		maxMessageBytes:   DefaultMaxMessageBytes,
		maxFrameSize:      DefaultMaxFrameSize,
		logger:            slog.New(slog.DiscardHandler),
		txnV2:             true,
		maxTxnTimeout:     DefaultMaxTransactionTimeout,
	}
}

// NumBrokers sets how many brokers the cluster runs (default 3). Their node ids are 0..n-1.
func NumBrokers(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("kafkatest: NumBrokers(%d): need at least one broker", n)
		}
		c.numBrokers, c.numBrokersSet = n, true
		return nil
	}
}

// Ports makes broker i listen on 127.0.0.1:ports[i] instead of a free port, for a cluster
// other programs connect to at a known address. It also sets the number of brokers; with
// NumBrokers too, the two must agree.
func Ports(ports ...int) Option {
	return func(c *config) error {
		if len(ports) == 0 {
			return fmt.Errorf("kafkatest: Ports: no port given")
		}
		for _, p := range ports {
			if p < 0 || p > 65535 {
				return fmt.Errorf("kafkatest: Ports: invalid port %d", p)
			}
		}
		c.ports = append([]int(nil), ports...)
		return nil
	}
}

// DefaultPartitions sets the partition count of topics created automatically by a Metadata
// request (default 3), as num.partitions.
func DefaultPartitions(n int32) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("kafkatest: DefaultPartitions(%d): need at least one partition", n)
		}
		c.defaultPartitions = n
		return nil
	}
}

// AutoCreateTopics sets whether a Metadata request for an unknown topic creates it (default
// true), as auto.create.topics.enable. The request must allow it too (AllowAutoTopicCreation,
// Metadata v4+). Produce requests never create topics.
func AutoCreateTopics(enable bool) Option {
	return func(c *config) error {
		c.autoCreate = enable
		return nil
	}
}

// SeedTopic creates topic name with the given number of partitions when the cluster starts.
func SeedTopic(name string, partitions int32) Option {
	return func(c *config) error {
		if err := validTopicName(name); err != nil {
			return err
		}
		if partitions < 1 {
			return fmt.Errorf("kafkatest: SeedTopic(%q, %d): need at least one partition", name, partitions)
		}
		c.seeds = append(c.seeds, seedTopic{name, partitions})
		return nil
	}
}

// MaxMessageBytes sets the largest record batch, in bytes, a broker accepts (default
// [DefaultMaxMessageBytes]), as message.max.bytes; larger ones get MESSAGE_TOO_LARGE.
func MaxMessageBytes(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("kafkatest: MaxMessageBytes(%d): must be positive", n)
		}
		c.maxMessageBytes = n
		return nil
	}
}

// MaxFrameSize sets the largest request frame, in bytes, a broker reads (default
// [DefaultMaxFrameSize]), as socket.request.max.bytes; a larger one closes the connection.
func MaxFrameSize(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("kafkatest: MaxFrameSize(%d): must be positive", n)
		}
		c.maxFrameSize = n
		return nil
	}
}

// Logger sets where the cluster logs what a real broker would (closed connections, bad
// requests); by default nothing is logged.
func Logger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("kafkatest: Logger(nil)")
		}
		c.logger = l
		return nil
	}
}

// MaxVersions caps the versions the brokers accept, by API key (e.g. wire.KeyProduce: 9), to
// emulate an older Kafka release: ApiVersions advertises the capped range, and a request
// above the cap closes the connection, as Kafka does for a version it does not know. Several
// MaxVersions options combine, the lowest cap winning. ApiVersions itself cannot be capped,
// nor an API below its lowest version.
func MaxVersions(caps map[int16]int16) Option {
	return func(c *config) error {
		for key, v := range caps {
			a, ok := wire.LookupAPI(key)
			if !ok {
				return fmt.Errorf("kafkatest: MaxVersions: unknown API key %d", key)
			}
			if key == wire.KeyApiVersions {
				return fmt.Errorf("kafkatest: MaxVersions: ApiVersions cannot be capped")
			}
			if v < a.Min {
				return fmt.Errorf("kafkatest: MaxVersions: %s v%d is below its lowest version %d", a.Name, v, a.Min)
			}
			if c.maxVersions == nil {
				c.maxVersions = make(map[int16]int16)
			}
			if old, ok := c.maxVersions[key]; !ok || v < old {
				c.maxVersions[key] = v
			}
		}
		return nil
	}
}

// TransactionsV2 sets whether the cluster runs transactions V2 (KIP-890 part 2), as a Kafka
// 4 cluster with the feature transaction.version at 2 does (the default). With it, ApiVersions
// (v3+) lists transaction.version as finalized at level 2, a transactional Produce v12+ adds
// its partition to the transaction itself (TxnOffsetCommit v5+ its group), and EndTxn v5
// bumps the producer epoch. Without
// it the brokers behave as Kafka 3.x: Produce is capped at v11, EndTxn and TxnOffsetCommit
// at v4, the feature is not listed, and every partition must be added with
// AddPartitionsToTxn first (every group with AddOffsetsToTxn).
func TransactionsV2(enable bool) Option {
	return func(c *config) error {
		c.txnV2 = enable
		return nil
	}
}

// MarkerDelay makes the transaction coordinator write a transaction's markers d after it
// answers the EndTxn that ended it, as Kafka's coordinator writes them after answering (0,
// the default, writes them before answering). Until then the transactional id is in
// PrepareCommit or PrepareAbort: its records are not committed or aborted yet for readers;
// InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, the same EndTxn again and, with
// transactions V2, a TxnOffsetCommit that would add its group to the next transaction get
// CONCURRENT_TRANSACTIONS (the other EndTxn INVALID_TXN_STATE), which a client retries; and
// a transactions V2 Produce for the next transaction waits for the markers, as a Kafka 4
// partition leader does. [Cluster.WriteMarkers] writes the held-back markers at once.
func MarkerDelay(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("kafkatest: MarkerDelay(%v): must not be negative", d)
		}
		c.markerDelay = d
		return nil
	}
}

// MaxTransactionTimeout sets the longest transaction timeout InitProducerId accepts (default
// [DefaultMaxTransactionTimeout]), as transaction.max.timeout.ms; a longer one gets
// INVALID_TRANSACTION_TIMEOUT.
func MaxTransactionTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Millisecond {
			return fmt.Errorf("kafkatest: MaxTransactionTimeout(%v): must be at least 1ms", d)
		}
		c.maxTxnTimeout = d
		return nil
	}
}
