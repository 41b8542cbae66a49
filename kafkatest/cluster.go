package kafkatest

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// Cluster is an in-memory Kafka cluster: a few brokers, each a real TCP listener on
// 127.0.0.1 speaking the Kafka protocol, sharing one set of topics. Every method is safe for
// concurrent use. Close it when done.
type Cluster struct {
	cfg    config
	log    *slog.Logger
	closed atomic.Bool

	brokers []*broker             // fixed at creation, ordered by node id
	apis    []wire.ApiVersionsKey // what ApiVersions advertises; read-only
	maxVers map[int16]int16       // the highest version accepted, by API key; read-only
	txnV2   bool                  // transactions V2 (KIP-890 part 2) are on; read-only
	// markerDelay is how long after EndTxn its markers are written (MarkerDelay); read-only.
	markerDelay time.Duration

	mu         sync.RWMutex
	topics     map[string]*topic
	topicIDs   map[wire.UUID]*topic
	deleted    map[wire.UUID]*topic // by DeleteTopic, kept for RecordsByTopicID
	nextLeader int                  // index in brokers of the next topic's first leader

	nextProducerID atomic.Int64
	coord          coordinator
	groups         groups // the consumer groups' offsets: txn_offset_commit.go

	countMu  sync.Mutex
	requests map[int16]int

	faults faultSet
	waits  waiters
}

// firstProducerID is the first producer id handed out; any non-negative value would do.
const firstProducerID = 1000

// NewCluster starts a cluster configured by opts: by default 3 brokers on free ports of
// 127.0.0.1, topics created on first Metadata request with 3 partitions.
func NewCluster(opts ...Option) (*Cluster, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.ports != nil {
		if cfg.numBrokersSet && cfg.numBrokers != len(cfg.ports) {
			return nil, fmt.Errorf("kafkatest: NumBrokers(%d) and %d Ports disagree", cfg.numBrokers, len(cfg.ports))
		}
		cfg.numBrokers = len(cfg.ports)
	}
	c := &Cluster{
		cfg:      cfg,
		log:      cfg.logger,
		topics:   make(map[string]*topic),
		topicIDs: make(map[wire.UUID]*topic),
		requests: make(map[int16]int),
	}
	c.maxVers = versionCaps(&cfg)
	c.apis = advertisedAPIs(c.maxVers)
	c.txnV2 = cfg.txnV2 && c.maxVers[wire.KeyProduce] >= 12 && c.maxVers[wire.KeyEndTxn] >= 5
	c.markerDelay = cfg.markerDelay
	c.nextProducerID.Store(firstProducerID)
	c.apis = saslAPIs(c.apis, &cfg.sec)
	for i := 0; i < cfg.numBrokers; i++ {
		addr := "127.0.0.1:0"
		if cfg.ports != nil {
			addr = fmt.Sprintf("127.0.0.1:%d", cfg.ports[i])
		}
		c.brokers = append(c.brokers, &broker{c: c, id: int32(i), addr: addr})
	}
	for _, b := range c.brokers {
		if err := b.start(); err != nil {
			c.Close()
			return nil, err
		}
	}
	for _, s := range cfg.seeds {
		if err := c.CreateTopic(s.name, s.partitions); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Addrs returns the brokers' addresses ("127.0.0.1:port"), ordered by node id: the
// bootstrap list for a client.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.brokers))
	for i, b := range c.brokers {
		out[i] = b.address()
	}
	return out
}

// Close stops every broker, closes every connection and waits for all the cluster's
// goroutines to end. The stored records stay readable. Close is idempotent.
func (c *Cluster) Close() {
	if c.closed.Swap(true) {
		return
	}
	for _, b := range c.brokers {
		b.stop()
	}
}

// StopBroker takes broker id off the network: its listener closes, its connections drop, and
// connecting to its address is refused until [Cluster.StartBroker]. Metadata still lists it
// and it keeps leading its partitions, as a broker that crashed before the controller
// noticed; move leaders with [Cluster.MoveLeader] to model a controlled shutdown.
func (c *Cluster) StopBroker(id int32) error {
	b := c.broker(id)
	if b == nil {
		return fmt.Errorf("kafkatest: StopBroker: no broker %d", id)
	}
	b.stop()
	return nil
}

// UnlistBroker leaves broker id out of the broker list of Metadata answers while unlisted is
// true, as answers from before it joined the cluster would: a client learns its address only
// from a Produce answer's KIP-951 endpoints. The broker keeps serving, and keeps leading its
// partitions (move leaders to it with [Cluster.MoveLeader]).
func (c *Cluster) UnlistBroker(id int32, unlisted bool) error {
	b := c.broker(id)
	if b == nil {
		return fmt.Errorf("kafkatest: UnlistBroker: no broker %d", id)
	}
	b.unlisted.Store(unlisted)
	return nil
}

// StartBroker brings a stopped broker back on the address it had before. Starting a running
// broker does nothing.
func (c *Cluster) StartBroker(id int32) error {
	b := c.broker(id)
	if b == nil {
		return fmt.Errorf("kafkatest: StartBroker: no broker %d", id)
	}
	if c.closed.Load() {
		return fmt.Errorf("kafkatest: StartBroker(%d): cluster closed", id)
	}
	return b.start()
}

// StartBrokerAt brings a stopped broker back listening on addr ("127.0.0.1:0" for a free
// port): the broker replaced by one with the same node id, logs and leadership at a new
// address, as when a pod is rescheduled. Metadata and Produce answers name the new address
// from then on, and nothing listens at the old one. It fails if the broker runs.
func (c *Cluster) StartBrokerAt(id int32, addr string) error {
	b := c.broker(id)
	if b == nil {
		return fmt.Errorf("kafkatest: StartBrokerAt: no broker %d", id)
	}
	if c.closed.Load() {
		return fmt.Errorf("kafkatest: StartBrokerAt(%d): cluster closed", id)
	}
	return b.startAt(addr)
}

// broker returns the broker with node id, or nil.
func (c *Cluster) broker(id int32) *broker {
	if id < 0 || int(id) >= len(c.brokers) {
		return nil
	}
	return c.brokers[id]
}

// RequestCount returns how many requests with API key (e.g. [wire.KeyProduce]) the brokers
// have received, whatever became of them.
func (c *Cluster) RequestCount(key int16) int {
	c.countMu.Lock()
	defer c.countMu.Unlock()
	return c.requests[key]
}

func (c *Cluster) countRequest(key int16) {
	c.countMu.Lock()
	c.requests[key]++
	c.countMu.Unlock()
}
