package producer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/internal/testutil"
	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

// A leader move answered with a KIP-951 hint (Produce v10+ NOT_LEADER_OR_FOLLOWER naming the
// new leader and its endpoint) is followed at once: the retry goes to the new leader without
// a Metadata request and without the retry backoff. Without the hint the retry would wait
// for a refresh, spaced by the 10 s backoff, past the test's 5 s. With the new leader left
// out of every Metadata answer (unlisted: a broker that joined since the producer's last
// metadata), the producer connects to it from the hint's endpoint alone.
func TestLeaderHintMovesPartition(t *testing.T) {
	for _, unlisted := range []bool{false, true} {
		t.Run(fmt.Sprintf("unlisted=%v", unlisted), func(t *testing.T) {
			testutil.CheckNoLeaks(t)
			c := newCluster(t, kafkatest.SeedTopic("hint", 1))
			from := c.Leader("hint", 0)
			to := (from + 1) % 3 // a broker the producer has no connection to yet
			bootstrap := c.Addrs()
			if unlisted {
				if err := c.UnlistBroker(to, true); err != nil {
					t.Fatal(err)
				}
				bootstrap = []string{c.Addrs()[from]}
			}
			p := newProducer(t, Config{BootstrapServers: bootstrap, Linger: NoLinger,
				RetryBackoff: 10 * time.Second, RetryBackoffMax: 10 * time.Second})
			ctx := ctxTimeout(t, 20*time.Second)
			if err := p.Send(ctx, Record{Topic: "hint", Value: []byte("before")}).Wait(ctx); err != nil {
				t.Fatal(err)
			}
			onNew := c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: to, Partition: kafkatest.AnyPartition, Times: -1})
			metadataBefore := c.RequestCount(wire.KeyMetadata)
			if err := c.MoveLeader("hint", 0, to); err != nil {
				t.Fatal(err)
			}
			sendCtx := ctxTimeout(t, 5*time.Second)
			md, err := p.Send(sendCtx, Record{Topic: "hint", Value: []byte("after")}).Get(sendCtx)
			if err != nil {
				t.Fatalf("send after the move: %v", err)
			}
			if md.Offset != 1 {
				t.Fatalf("offset %d, want 1", md.Offset)
			}
			if got := c.RequestCount(wire.KeyMetadata); got != metadataBefore {
				t.Fatalf("%d Metadata requests after the move, want none", got-metadataBefore)
			}
			if onNew.Hits() == 0 {
				t.Fatalf("broker %d, the new leader, got no Produce request", to)
			}
			if recs := c.Records("hint", 0); len(recs) != 2 || string(recs[1].Value) != "after" {
				t.Fatalf("stored %d records, want before and after", len(recs))
			}
			if got := p.Stats().RecordsRetried; got != 1 {
				t.Fatalf("RecordsRetried %d, want 1 (the refused attempt)", got)
			}
			if err := p.Close(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// PartitionsFor waits for a topic's metadata and reports every partition with its leader;
// NoBlock sends work once it returned; a topic the cluster refuses is an error.
func TestPartitionsFor(t *testing.T) {
	testutil.CheckNoLeaks(t)
	c := newCluster(t, kafkatest.SeedTopic("pf", 4))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), MaxBlock: NoBlock})
	ctx := ctxTimeout(t, 20*time.Second)
	// Until the cluster describes the topic (a leader election, say), a NoBlock send fails:
	// without this fault a metadata refresh could describe it before the send looks.
	h := c.InjectFault(kafkatest.Fault{Key: wire.KeyMetadata, Broker: kafkatest.AnyBroker, Topic: "pf",
		ErrorCode: wire.ErrLeaderNotAvailable.Code, Times: -1})
	if err := p.Send(ctx, Record{Topic: "pf", Value: []byte("x")}).Wait(ctx); !errors.Is(err, ErrTimeout) {
		t.Fatalf("NoBlock send before metadata: %v, want ErrTimeout", err)
	}
	h.Remove()
	parts, err := p.PartitionsFor(ctx, "pf")
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 4 {
		t.Fatalf("%d partitions, want 4", len(parts))
	}
	for i, pi := range parts {
		if pi.Topic != "pf" || pi.Partition != int32(i) || pi.Leader != c.Leader("pf", int32(i)) {
			t.Fatalf("partition %d: %+v, cluster leader %d", i, pi, c.Leader("pf", int32(i)))
		}
	}
	if err := p.Send(ctx, Record{Topic: "pf", Value: []byte("x")}).Wait(ctx); err != nil {
		t.Fatalf("NoBlock send after PartitionsFor: %v", err)
	}

	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	c.InjectFault(kafkatest.Fault{Key: wire.KeyMetadata, Broker: kafkatest.AnyBroker, Topic: "refused", ErrorCode: wire.ErrTopicAuthorizationFailed.Code, Times: -1})
	if _, err := p.PartitionsFor(short, "refused"); !errors.Is(err, wire.ErrTopicAuthorizationFailed) {
		t.Fatalf("refused topic: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	if _, err := p.PartitionsFor(ctx, ""); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("empty topic: %v", err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.PartitionsFor(ctx, "pf"); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}

// blackHole is a listener that accepts connections and never answers: a broker that hangs.
// It counts the connections it accepted and those the client closed.
type blackHole struct {
	ln     net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
	closed int
}

func newBlackHole(t *testing.T) *blackHole {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &blackHole{ln: ln}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.conns = append(h.conns, c)
			h.mu.Unlock()
			h.wg.Add(1)
			go func() { // read until the client gives up
				defer h.wg.Done()
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						break
					}
				}
				h.mu.Lock()
				h.closed++
				h.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		h.mu.Lock()
		for _, c := range h.conns {
			c.Close()
		}
		h.mu.Unlock()
		h.wg.Wait()
	})
	return h
}

func (h *blackHole) counts() (accepted, closed int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns), h.closed
}

// A broker that accepts connections and never answers costs the connection setup timeout
// (socket.connection.setup.timeout.ms), not request.timeout.ms: with a 200 ms setup timeout
// and a 1 min request timeout, the producer gives up on the hung connection and dials again
// within seconds. (Bounded by request.timeout.ms, the first connection would be held for
// the whole minute, far past the test's 15 s.)
func TestSetupTimeoutBoundsHungBroker(t *testing.T) {
	testutil.CheckNoLeaks(t)
	h := newBlackHole(t)
	p := newProducer(t, Config{BootstrapServers: []string{h.ln.Addr().String()}, RequestTimeout: time.Minute,
		SetupTimeout: 200 * time.Millisecond, SetupTimeoutMax: 400 * time.Millisecond, MaxBlock: 300 * time.Millisecond})
	ctx := ctxTimeout(t, 15*time.Second)
	err := p.Send(ctx, Record{Topic: "nowhere", Value: []byte("x")}).Wait(ctx)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("send: %v, want ErrTimeout (max.block.ms)", err)
	}
	waitFor(t, ctx, "the producer to give up on two hung connections", func() bool {
		_, closed := h.counts()
		return closed >= 2
	})
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// The setup timeout and the reconnect backoff grow exponentially with failures in a row,
// within ±20% jitter, up to their maximums.
func TestConnectionBackoffGrowth(t *testing.T) {
	p := newProducer(t, Config{BootstrapServers: []string{"127.0.0.1:1"}, SetupTimeout: time.Second, SetupTimeoutMax: 5 * time.Second,
		ReconnectBackoff: 50 * time.Millisecond, ReconnectBackoffMax: time.Second})
	within := func(what string, got, want time.Duration) {
		t.Helper()
		if got < want*8/10 || got > want*12/10 {
			t.Fatalf("%s: %v, want %v ±20%%", what, got, want)
		}
	}
	for failures, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
		within("setup timeout", p.setupTimeout(failures), want)
	}
	for failures, want := range map[int]time.Duration{1: 50 * time.Millisecond, 2: 100 * time.Millisecond, 5: 800 * time.Millisecond, 6: time.Second, 40: time.Second} {
		within("reconnect backoff", p.reconnectBackoff(failures), want)
	}
	// Failures count once per backoff: those within one (another dialer's) do not.
	var d dialFailures
	over := func(int) time.Duration { return 0 }
	minute := func(int) time.Duration { return time.Minute }
	d.note("a", true, over)
	d.note("a", true, over)
	d.note("b", true, minute)
	d.note("b", true, minute)
	if d.get("a") != 2 || d.get("b") != 1 {
		t.Fatalf("failures a=%d b=%d, want 2 and 1", d.get("a"), d.get("b"))
	}
	if end := d.backoffEnd("b", 0); time.Until(end) < 50*time.Second {
		t.Fatalf("b's backoff ends in %v, want about a minute", time.Until(end))
	}
	d.note("a", false, nil)
	if d.get("a") != 0 || d.get("b") != 1 {
		t.Fatalf("after a success: a=%d b=%d, want 0 and 1", d.get("a"), d.get("b"))
	}
	if end := d.backoffEnd("a", time.Hour); time.Until(end) < 50*time.Minute {
		t.Fatalf("a, in no backoff: ends in %v, want the hour given", time.Until(end))
	}
}

// Addresses in reconnect backoff go last, in the order their backoffs end; the others keep
// their order; an address whose backoff is over, or that connected since, is dialable.
func TestPreferDialable(t *testing.T) {
	var d dialFailures
	in := []string{"a", "b", "c", "d", "e"}
	got := slices.Clone(in)
	d.preferDialable(got)
	if !slices.Equal(got, in) {
		t.Fatalf("no failures: %v, want %v", got, in)
	}
	for addr, backoff := range map[string]time.Duration{"a": 2 * time.Minute, "b": time.Minute, "c": time.Minute, "e": -time.Second} {
		d.note(addr, true, func(int) time.Duration { return backoff })
	}
	d.note("c", false, nil)
	d.preferDialable(got)
	if want := []string{"c", "d", "e", "b", "a"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// The metadata goroutine does not dial a broker in reconnect backoff while another may
// answer. Broker h hangs (accepts, never answers ApiVersions): the first fetch dials it
// first, as bootstrap.servers lists it first, and after the setup timeout it backs off
// for a minute. Then every Metadata request drops its connection, so that each fetch
// dials twice: with h dialed as often as the others (1 in 3), some of 20 requests would
// dial it again, at 300 ms each.
func TestMetadataAvoidsBrokerInBackoff(t *testing.T) {
	testutil.CheckNoLeaks(t)
	c := newCluster(t, kafkatest.SeedTopic("t", 1))
	leader := c.Leader("t", 0)
	h := (leader + 1) % 3
	hung := c.InjectFault(kafkatest.Fault{Key: wire.KeyApiVersions, Broker: h, Swallow: true, Times: -1})
	p := newProducer(t, Config{BootstrapServers: []string{c.Addrs()[h], c.Addrs()[leader]}, Linger: NoLinger,
		SetupTimeout: 300 * time.Millisecond, SetupTimeoutMax: 300 * time.Millisecond,
		ReconnectBackoff: time.Minute, ReconnectBackoffMax: time.Minute,
		RetryBackoff: 5 * time.Millisecond, RetryBackoffMax: 20 * time.Millisecond, MetadataMaxAge: 20 * time.Millisecond})
	ctx := ctxTimeout(t, 30*time.Second)
	if err := p.Send(ctx, Record{Topic: "t", Value: []byte("x")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if n := hung.Hits(); n != 1 {
		t.Fatalf("the hung broker was dialed %d times, want once (it is the first bootstrap server)", n)
	}
	c.InjectFault(kafkatest.Fault{Key: wire.KeyMetadata, Broker: kafkatest.AnyBroker, DropConnection: true, Times: -1})
	before := c.RequestCount(wire.KeyMetadata)
	waitFor(t, ctx, "20 more Metadata requests", func() bool { return c.RequestCount(wire.KeyMetadata) >= before+20 })
	if n := hung.Hits(); n != 1 {
		t.Fatalf("the hung broker was dialed %d times, want once: metadata dialed it in its reconnect backoff", n)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// A broker in reconnect backoff is still asked for metadata when no other can be: the
// only broker, stopped and started again, answers before its minute of backoff is over.
func TestMetadataDialsBackedOffBrokerLast(t *testing.T) {
	testutil.CheckNoLeaks(t)
	c := newCluster(t, kafkatest.NumBrokers(1), kafkatest.SeedTopic("t", 1))
	if err := c.StopBroker(0); err != nil {
		t.Fatal(err)
	}
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Linger: NoLinger,
		ReconnectBackoff: time.Minute, ReconnectBackoffMax: time.Minute,
		RetryBackoff: 5 * time.Millisecond, RetryBackoffMax: 20 * time.Millisecond})
	ctx := ctxTimeout(t, 30*time.Second)
	sent := make(chan error, 1)
	go func() { sent <- p.Send(ctx, Record{Topic: "t", Value: []byte("x")}).Wait(ctx) }()
	waitFor(t, ctx, "a failed dial", func() bool { return p.dialFails.get(c.Addrs()[0]) > 0 })
	if err := c.StartBroker(0); err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatalf("send: %v", err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// A topic sent to steadily stays in metadata requests even when nothing of it waits at a
// refresh, and a send to a topic that went idle learns its metadata again before choosing a
// partition, as the Java client forgets an idle topic's metadata: a keyed record goes by the
// partitions the topic has now. Before, sends whose topic was known (the fast path) neither
// counted as use nor noticed the topic was idle: a topic sent to once a second went idle,
// and a keyed record after partitions were added went by the old count.
func TestIdleTopicSends(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("steady", 1), kafkatest.SeedTopic("quiet", 2))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Linger: NoLinger,
		MetadataMaxAge: 20 * time.Millisecond, MetadataMaxIdle: 300 * time.Millisecond})
	ctx := ctxTimeout(t, 20*time.Second)
	for _, topic := range []string{"steady", "quiet"} {
		if err := p.Send(ctx, Record{Topic: topic, Key: []byte("k"), Value: []byte("x")}).Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	v, _ := p.topics.Load("steady")
	steady := v.(*topicState)
	v, _ = p.topics.Load("quiet")
	quiet := v.(*topicState)
	// Sent to every 50 ms, each send answered before the next: never idle.
	for range 16 {
		if err := p.Send(ctx, Record{Topic: "steady", Value: []byte("x")}).Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if steady.idle.Load() {
			t.Fatal("a topic sent to every 50 ms went idle (metadata.max.idle.ms 300 ms)")
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitFor(t, ctx, "the quiet topic to be left out of metadata", quiet.idle.Load)
	if err := c.CreatePartitions("quiet", 4); err != nil {
		t.Fatal(err)
	}
	key := keyMovedBy(t, 2, 4)
	md, err := p.Send(ctx, Record{Topic: "quiet", Key: key, Value: []byte("y")}).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := KeyPartition(key, 4); md.Partition != want {
		t.Fatalf("a keyed record to the idle topic went to partition %d, want %d of the 4 it has now", md.Partition, want)
	}
}

// keyMovedBy returns a key that murmur2 places differently over from and to partitions.
func keyMovedBy(t *testing.T, from, to int) []byte {
	t.Helper()
	for i := range 1000 {
		k := []byte(fmt.Sprintf("key-%d", i))
		if KeyPartition(k, from) != KeyPartition(k, to) {
			return k
		}
	}
	t.Fatal("no key moves")
	return nil
}

// A topic not sent to for metadata.max.idle.ms is left out of metadata requests: deleted
// on the cluster then, it is not created again by the producer's refreshes (kafkatest
// creates a topic that a Metadata request names). A later send learns it again.
func TestMetadataMaxIdleForgetsTopic(t *testing.T) {
	testutil.CheckNoLeaks(t)
	c := newCluster(t, kafkatest.SeedTopic("other", 1), kafkatest.SeedTopic("quiet", 1))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Linger: NoLinger,
		MetadataMaxAge: 20 * time.Millisecond, MetadataMaxIdle: 300 * time.Millisecond})
	ctx := ctxTimeout(t, 20*time.Second)
	for _, topic := range []string{"other", "quiet"} {
		if err := p.Send(ctx, Record{Topic: topic, Value: []byte("x")}).Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	v, _ := p.topics.Load("quiet")
	quiet := v.(*topicState)
	waitFor(t, ctx, "the quiet topic to be left out of metadata", quiet.idle.Load)
	if err := c.DeleteTopic("quiet"); err != nil {
		t.Fatal(err)
	}
	// Refreshes go on (every 20 ms); none may name the quiet topic.
	before := c.RequestCount(wire.KeyMetadata)
	waitFor(t, ctx, "ten more metadata refreshes", func() bool { return c.RequestCount(wire.KeyMetadata) >= before+10 })
	if slices.Contains(c.Topics(), "quiet") {
		t.Fatal("the idle topic was asked for in metadata (and so created again)")
	}
	md, err := p.Send(ctx, Record{Topic: "quiet", Value: []byte("again")}).Get(ctx)
	if err != nil {
		t.Fatalf("send to the topic after it was forgotten: %v", err)
	}
	if recs := c.Records("quiet", md.Partition); len(recs) != 1 || string(recs[0].Value) != "again" {
		t.Fatalf("the recreated topic holds %d records, want the one sent again", len(recs))
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
