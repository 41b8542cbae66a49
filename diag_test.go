package producer

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/internal/testutil"
	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

// The tests of this file check what a newcomer sees when something is wrong: errors that
// carry their cause, logs and counts of real attempts only.

// logRecord is one line a recordingHandler kept.
type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// recordingHandler is a slog.Handler that keeps every record, for tests of what is logged.
type recordingHandler struct {
	mu   *sync.Mutex
	recs *[]logRecord
}

func newRecordingLogger() (*slog.Logger, *recordingHandler) {
	h := &recordingHandler{mu: &sync.Mutex{}, recs: &[]logRecord{}}
	return slog.New(h), h
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler            { return h }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	h.mu.Lock()
	*h.recs = append(*h.recs, rec)
	h.mu.Unlock()
	return nil
}

// records returns the records kept at level or above whose message is msg ("" for any).
func (h *recordingHandler) records(level slog.Level, msg string) []logRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []logRecord
	for _, r := range *h.recs {
		if r.level >= level && (msg == "" || r.msg == msg) {
			out = append(out, r)
		}
	}
	return out
}

// all returns every record kept, as text, for failure messages and secret checks.
func (h *recordingHandler) all() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	for _, r := range *h.recs {
		b.WriteString(r.level.String() + " " + r.msg)
		for k, v := range r.attrs {
			b.WriteString(" " + k + "=" + v)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// connectHooks counts OnBrokerConnect calls, and those with an error.
type connectHooks struct {
	NoHooks
	mu             sync.Mutex
	connects, fail int
}

func (h *connectHooks) OnBrokerConnect(_ int32, _ string, _ time.Duration, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.connects++
	if err != nil {
		h.fail++
	}
}

func (h *connectHooks) counts() (int, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.connects, h.fail
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// replyingPort returns a loopback address that answers the first request of every
// connection with reply and closes it.
func replyingPort(t *testing.T, reply []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := wire.ReadFrame(bufio.NewReader(c), nil, 1<<20); err == nil {
					_, _ = c.Write(reply)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestMetadataTimeoutSaysWhy: a send that waits max.block.ms for metadata fails with a
// *PartitionError that is ErrTimeout and carries the last cause, matched by errors.Is and
// errors.As; the first failed dial is logged at warn level, and dials made for metadata are
// counted in Stats and told to OnBrokerConnect.
func TestMetadataTimeoutSaysWhy(t *testing.T) {
	testutil.CheckNoLeaks(t)
	tlsCluster := newCluster(t, kafkatest.TLS(newTLSFixture(t).server))
	noCreate := newCluster(t, kafkatest.AutoCreateTopics(false))
	var opErr *net.OpError
	var dnsErr *net.DNSError
	var kerr *KafkaError
	cases := []struct {
		name   string
		addr   string
		says   string
		match  func(error) bool
		dialed bool // the cause is a failed connection
	}{
		{"broker down", closedPort(t), "connection refused", func(err error) bool { return errors.As(err, &opErr) }, true},
		{"unresolvable host", "broker1.invalid:9092", "no such host", func(err error) bool { return errors.As(err, &dnsErr) && errors.As(err, &opErr) }, true},
		{"HTTP server", replyingPort(t, []byte("HTTP/1.1 400 Bad Request\r\n\r\n")), "not a Kafka broker: it answered HTTP",
			func(err error) bool { return errors.Is(err, ErrNotKafka) }, true},
		{"TLS listener with a TLS alert", replyingPort(t, []byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x0a}), "the broker port speaks TLS (security.protocol?)",
			func(err error) bool { return errors.Is(err, ErrBrokerSpeaksTLS) }, true},
		{"kafkatest TLS listener", tlsCluster.Addrs()[0], "closed the connection without answering (a listener for another security.protocol",
			func(err error) bool { return true }, true},
		{"topic missing, auto-create off", noCreate.Addrs()[0], "auto.create.topics.enable is off?",
			func(err error) bool {
				return errors.Is(err, wire.ErrUnknownTopicOrPartition) && errors.As(err, &kerr) && kerr.Name == "UNKNOWN_TOPIC_OR_PARTITION"
			}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			logger, logs := newRecordingLogger()
			hooks := &connectHooks{}
			p := newProducer(t, Config{BootstrapServers: []string{tc.addr}, MaxBlock: 400 * time.Millisecond, Logger: logger, Hooks: hooks})
			ctx := ctxTimeout(t, 20*time.Second)
			err := p.SendAsync(ctx, Record{Topic: "t", Value: []byte("v")}, nil)
			var pe *PartitionError
			if !errors.As(err, &pe) || pe.Topic != "t" || pe.Partition != -1 || !errors.Is(err, ErrTimeout) {
				t.Fatalf("got %v (%T), want a *PartitionError for topic t that is ErrTimeout", err, err)
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.Contains(msg, tc.says) || !strings.Contains(msg, "max.block.ms") || !tc.match(err) {
				t.Fatalf("%q: want the cause %q, matched by errors.Is/As", msg, tc.says)
			}
			if strings.Count(msg, "producer:") != 1 {
				t.Fatalf("%q: want one prefix", msg)
			}
			if !tc.dialed {
				return
			}
			if n := p.Stats().ConnectionErrors; n < 1 {
				t.Errorf("Stats().ConnectionErrors %d after failed metadata dials", n)
			}
			if err := p.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if connects, failed := hooks.counts(); connects < 1 || failed != connects {
				t.Errorf("OnBrokerConnect: %d calls, %d failed; want every metadata dial, failed", connects, failed)
			}
			warns := logs.records(slog.LevelWarn, "connecting to broker failed")
			if len(warns) == 0 || !strings.Contains(warns[0].attrs["error"], tc.says) || warns[0].attrs["addr"] != tc.addr {
				t.Errorf("no warning naming the cause of the first failed dial:\n%s", logs.all())
			}
		})
	}
}

// TestMetadataDialsCounted: a producer that works counts its metadata connection in
// OnBrokerConnect, as it counts its produce connections.
func TestMetadataDialsCounted(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("t", 1))
	hooks := &connectHooks{}
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Hooks: hooks})
	ctx := ctxTimeout(t, 20*time.Second)
	if err := p.Send(ctx, Record{Topic: "t", Value: []byte("v")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// One for metadata, one for the sink; ApiVersions comes once per connection.
	if connects, failed := hooks.counts(); connects != c.RequestCount(wire.KeyApiVersions) || connects < 2 || failed != 0 {
		t.Fatalf("OnBrokerConnect %d (%d failed), the broker saw %d connections", connects, failed, c.RequestCount(wire.KeyApiVersions))
	}
}

// TestCoordinatorDialsCounted: a transactional producer counts the connections of its
// coordinator lookups in OnBrokerConnect too (the broker it asks FindCoordinator, the
// transaction coordinator, the group coordinator of SendOffsetsToTransaction): every
// connection the cluster saw was told once.
func TestCoordinatorDialsCounted(t *testing.T) {
	testutil.CheckNoLeaks(t)
	c := newCluster(t, kafkatest.SeedTopic("t", 1))
	hooks := &connectHooks{}
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Hooks: hooks, TransactionalID: "counted"})
	ctx := ctxTimeout(t, 20*time.Second)
	if err := p.InitTransactions(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := p.SendAsync(ctx, Record{Topic: "t", Value: []byte("v")}, nil); err != nil {
		t.Fatal(err)
	}
	offsets := map[string]map[int32]Offset{"in": {0: {Offset: 7}}}
	if err := p.SendOffsetsToTransaction(ctx, offsets, ConsumerGroupMetadata{GroupID: "readers"}); err != nil {
		t.Fatal(err)
	}
	if err := p.CommitTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Metadata, the sink, FindCoordinator twice, the two coordinators: ApiVersions comes
	// once per connection.
	if connects, failed := hooks.counts(); connects != c.RequestCount(wire.KeyApiVersions) || connects < 4 || failed != 0 {
		t.Fatalf("OnBrokerConnect %d (%d failed), the broker saw %d connections", connects, failed, c.RequestCount(wire.KeyApiVersions))
	}
}

// TestStatsCountRefusedRecords: Stats().RecordsFailed counts the records a send refused
// before enqueuing them, in every mode (fire-and-forget included), as well as those that
// failed later; RecordsSent counts the rest.
func TestStatsCountRefusedRecords(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("t", 1), kafkatest.AutoCreateTopics(false))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), MaxRequestSize: 4000, BufferMemory: 6000, Linger: time.Hour,
		MaxBlock: NoBlock, Partitioner: PartitionerFunc(func(rec *Record, n int) int32 {
			if string(rec.Key) == "out of range" {
				return int32(n) + 6
			}
			return 0
		})})
	ctx := ctxTimeout(t, 20*time.Second)
	if _, err := p.PartitionsFor(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 5000)
	half := make([]byte, 3500)
	want := []struct {
		name string
		send func() error
		is   error
	}{
		{"too large, fire-and-forget", func() error { return p.SendAsync(ctx, Record{Topic: "t", Value: big}, nil) }, ErrRecordTooLarge},
		{"too large, Send", func() error { return p.Send(ctx, Record{Topic: "t", Value: big}).Wait(ctx) }, ErrRecordTooLarge},
		{"too large, callback", func() error {
			return p.SendAsync(ctx, Record{Topic: "t", Value: big}, func(RecordMetadata, error) {})
		}, ErrRecordTooLarge},
		{"negative partition", func() error { return p.SendAsync(ctx, Record{Topic: "t", Partition: ToPartition(-2)}, nil) }, ErrInvalidRecord},
		{"partitioner out of range", func() error { return p.SendAsync(ctx, Record{Topic: "t", Key: []byte("out of range")}, nil) }, ErrInvalidRecord},
		{"no metadata", func() error { return p.SendAsync(ctx, Record{Topic: "missing"}, nil) }, ErrTimeout},
		{"buffer full", func() error {
			if err := p.SendAsync(ctx, Record{Topic: "t", Value: half}, nil); err != nil { // held: linger is an hour
				return err
			}
			return p.SendAsync(ctx, Record{Topic: "t", Value: half}, nil)
		}, ErrBufferFull},
		{"serializer", func() error {
			typed := NewTyped(p, StringSerializer(), SerializerFunc[string](func(string, string) ([]byte, error) {
				return nil, errors.New("cannot serialize")
			}))
			return typed.SendAsync(ctx, "t", "k", "v", nil)
		}, nil},
	}
	for i, w := range want {
		before := p.Stats().RecordsFailed
		err := w.send()
		if err == nil || w.is != nil && !errors.Is(err, w.is) {
			t.Fatalf("%s: %v, want %v", w.name, err, w.is)
		}
		if got := p.Stats().RecordsFailed - before; got != 1 {
			t.Fatalf("%s (%d): RecordsFailed grew by %d, want 1", w.name, i, got)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if s := p.Stats(); s.RecordsSent != 1 || s.RecordsFailed != int64(len(want)) {
		t.Fatalf("sent %d failed %d; want 1 and %d", s.RecordsSent, s.RecordsFailed, len(want))
	}
}

// TestChangedPasswordAttemptsOnly: once a broker refuses the producer's credentials (changed
// after it connected, and its connections dropped), sends keep failing with the
// authentication error, but only real connection attempts are counted, told to hooks and
// logged, once each; nothing logs an epoch bump per failed send, and no secret is logged.
func TestChangedPasswordAttemptsOnly(t *testing.T) {
	testutil.CheckNoLeaks(t)
	var mu sync.Mutex
	accept := true
	c := newCluster(t, kafkatest.SASL(kafkatest.MechanismOAuthBearer), kafkatest.SeedTopic("t", 1), kafkatest.OAuthValidator(func(string) error {
		mu.Lock()
		defer mu.Unlock()
		if !accept {
			return errors.New("token refused")
		}
		return nil
	}))
	logger, logs := newRecordingLogger()
	hooks := &connectHooks{}
	const token = "s3cret-t0ken"
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Linger: NoLinger, Logger: logger, Hooks: hooks, SASL: SASLConfig{Mechanism: MechanismOAuthBearer,
		TokenProvider: func(context.Context) (string, map[string]string, error) { return token, nil, nil }}})
	ctx := ctxTimeout(t, 20*time.Second)
	if err := p.Send(ctx, Record{Topic: "t", Value: []byte("v")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	accept = false
	mu.Unlock()
	if err := c.StopBroker(0); err != nil {
		t.Fatal(err)
	}
	if err := c.StartBroker(0); err != nil {
		t.Fatal(err)
	}
	errsBefore := p.Stats().ConnectionErrors
	_, failedBefore := hooks.counts()
	attemptsBefore := c.RequestCount(wire.KeyApiVersions) // one per connection attempt that reached the broker
	sends, authFailures := 0, 0
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); sends++ {
		err := p.Send(ctx, Record{Topic: "t", Value: []byte("v")}).Wait(ctx)
		if err == nil {
			t.Fatal("a send succeeded with refused credentials")
		}
		if errors.Is(err, ErrAuthentication) {
			authFailures++
		}
		time.Sleep(10 * time.Millisecond) // a steady trickle of sends, as a service makes
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	attempts := c.RequestCount(wire.KeyApiVersions) - attemptsBefore
	connErrs := p.Stats().ConnectionErrors - errsBefore
	_, failedAfter := hooks.counts()
	warnConnect := len(logs.records(slog.LevelWarn, "connecting to broker failed"))
	bumps := len(logs.records(slog.LevelWarn, "producer epoch bump needed"))
	t.Logf("%d sends (%d with the authentication error), %d attempts reached the broker; ConnectionErrors +%d, failed OnBrokerConnect +%d, %d connect warnings, %d bump warnings",
		sends, authFailures, attempts, connErrs, failedAfter-failedBefore, warnConnect, bumps)
	if authFailures == 0 || sends < 3 {
		t.Fatalf("%d sends, %d failed with ErrAuthentication", sends, authFailures)
	}
	// Each attempt fails once; the connections the restart dropped may count too (one per
	// connection the producer held: metadata and produce).
	if connErrs < int64(attempts) || connErrs > int64(attempts)+2 || failedAfter-failedBefore != attempts {
		t.Errorf("ConnectionErrors +%d and failed OnBrokerConnect +%d for %d attempts", connErrs, failedAfter-failedBefore, attempts)
	}
	if attempts > 10 {
		t.Errorf("%d attempts in 1.5 s for %d sends: a storm", attempts, sends)
	}
	if metaWarns := len(logs.records(slog.LevelWarn, "metadata refresh failed")); metaWarns > attempts {
		t.Errorf("%d metadata warnings for %d attempts:\n%s", metaWarns, attempts, logs.all())
	}
	if warnConnect > attempts || bumps > 1 {
		t.Errorf("%d connect warnings and %d bump warnings for %d attempts:\n%s", warnConnect, bumps, attempts, logs.all())
	}
	if strings.Contains(logs.all(), token) {
		t.Errorf("the log holds the token")
	}
}

// TestEpochBumpWarnedOnce: batches of one request that all fail for good need one epoch
// bump, and the log warns of it once, not once per batch.
func TestEpochBumpWarnedOnce(t *testing.T) {
	c := newCluster(t, kafkatest.NumBrokers(1), kafkatest.SeedTopic("t", 4))
	c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "t", Partition: kafkatest.AnyPartition,
		ErrorCode: wire.ErrInvalidRecord.Code, Times: -1})
	logger, logs := newRecordingLogger()
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Linger: time.Hour, Logger: logger})
	ctx := ctxTimeout(t, 20*time.Second)
	var fs []*Future
	for i := range int32(4) {
		fs = append(fs, p.Send(ctx, Record{Topic: "t", Partition: ToPartition(i), Value: []byte("v")}))
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if err := f.Wait(ctx); !errors.Is(err, wire.ErrInvalidRecord) {
			t.Fatalf("send: %v", err)
		}
	}
	// Usually the four batches go in one request; on a loaded machine the sink may send the
	// first alone. Each failed request needs at most one bump, so at most one warning.
	requests := c.RequestCount(wire.KeyProduce)
	warns := logs.records(slog.LevelWarn, "producer epoch bump needed")
	if len(warns) == 0 || len(warns) > requests {
		t.Fatalf("%d bump warnings for %d Produce requests of failing batches:\n%s", len(warns), requests, logs.all())
	}
}

// TestInitProducerIDFailureNamed: a failed InitProducerId is logged under its own name, not
// as a failed metadata refresh, and the producer recovers.
func TestInitProducerIDFailureNamed(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("t", 1))
	c.InjectFault(kafkatest.Fault{Key: wire.KeyInitProducerID, Broker: kafkatest.AnyBroker, ErrorCode: wire.ErrCoordinatorNotAvailable.Code, Times: 1})
	logger, logs := newRecordingLogger()
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Logger: logger})
	ctx := ctxTimeout(t, 20*time.Second)
	if err := p.Send(ctx, Record{Topic: "t", Value: []byte("v")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	warns := logs.records(slog.LevelWarn, "InitProducerId failed")
	if len(warns) != 1 || !strings.Contains(warns[0].attrs["error"], "COORDINATOR_NOT_AVAILABLE") ||
		len(logs.records(slog.LevelWarn, "metadata refresh failed")) != 0 {
		t.Fatalf("want one InitProducerId warning and no metadata one:\n%s", logs.all())
	}
}
