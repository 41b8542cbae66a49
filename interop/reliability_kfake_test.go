package interop

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	producer "github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/wire"
)

// The scenarios of the root package's reliability_test.go, against franz-go's kfake, read
// back with franz-go's consumer. Record i goes to relTopics[i%2], is keyed when
// (i/6)%2 == 0, and is sent in mode i%3: Send, SendAsync with a callback, fire-and-forget.
var kfRelTopics = []struct {
	name       string
	partitions int32
}{{"rk-a", 4}, {"rk-b", 2}}

type kfEnv struct {
	t       *testing.T
	c       *kfake.Cluster
	n       int
	sent    atomic.Int64
	sending chan struct{}
	notes   []string
}

func (e *kfEnv) waitSent(k int) {
	for e.sent.Load() < int64(k) {
		select {
		case <-e.sending:
			return
		case <-time.After(time.Millisecond):
		}
	}
}

func (e *kfEnv) until(period time.Duration, max int, fn func(i int)) {
	for i := 0; i < max; i++ {
		select {
		case <-e.sending:
			return
		case <-time.After(period):
		}
		fn(i)
	}
}

type kfScenario struct {
	name       string
	idem       producer.Switch
	n, every   int
	cfg        func(*producer.Config)
	script     func(e *kfEnv)
	allowed    []error
	wantFailed bool
	closeShort bool // end with Close under a 300 ms context instead of Flush
}

func TestReliabilityKfake(t *testing.T) {
	var rows []string
	var rowsMu sync.Mutex
	for _, sc := range kfScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			row := runKfScenario(t, sc)
			rowsMu.Lock()
			rows = append(rows, row)
			rowsMu.Unlock()
		})
	}
	t.Logf("\n%-48s %6s %6s %6s %5s %9s %6s\n%s", "scenario", "sent", "acked", "in log", "dups", "reordered", "failed", strings.Join(rows, "\n"))
}

func kfScenarios() []kfScenario {
	var out []kfScenario
	for _, idem := range []producer.Switch{producer.Enabled, producer.Disabled} {
		tag := map[producer.Switch]string{producer.Enabled: "idempotent", producer.Disabled: "plain"}[idem]
		out = append(out,
			kfScenario{name: "broker removed and re-added/" + tag, idem: idem, n: 3000, every: 20,
				script: func(e *kfEnv) {
					e.waitSent(e.n / 3)
					_, port, _ := net.SplitHostPort(e.c.ListenAddrs()[1])
					if err := e.c.RemoveNode(1); err != nil {
						e.t.Error(err)
					}
					time.Sleep(300 * time.Millisecond)
					pn, _ := strconv.Atoi(port)
					if _, _, err := e.c.AddNode(1, pn); err != nil {
						e.t.Error(err)
					}
					e.notes = append(e.notes, "node 1 removed for 300ms")
				}},
			kfScenario{name: "one broker of three removed for good/" + tag, idem: idem, n: 3000, every: 20,
				script: func(e *kfEnv) {
					e.waitSent(e.n / 3)
					if err := e.c.RemoveNode(2); err != nil {
						e.t.Error(err)
					}
					e.notes = append(e.notes, "node 2 removed")
				}},
			kfScenario{name: "leader moves every 100ms/" + tag, idem: idem, n: 4000, every: 4,
				script: func(e *kfEnv) {
					moves := 0
					e.until(100*time.Millisecond, 40, func(i int) {
						tp := kfRelTopics[i%2]
						pa := int32(i/2) % tp.partitions
						if e.c.MoveTopicPartition(tp.name, pa, (e.c.LeaderFor(tp.name, pa)+1)%3) == nil {
							moves++
						}
					})
					e.notes = append(e.notes, fmt.Sprintf("%d moves", moves))
				}},
			kfScenario{name: "connections dropped before write/" + tag, idem: idem, n: 3000, every: 10,
				script: func(e *kfEnv) {
					var drops atomic.Int64
					e.until(20*time.Millisecond, 40, func(int) {
						e.c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
							drops.Add(1)
							return nil, errors.New("injected drop"), true
						})
					})
					e.notes = append(e.notes, fmt.Sprintf("%d drops", drops.Load()))
				}},
			kfScenario{name: "answers delayed past request.timeout.ms/" + tag, idem: idem, n: 2000, every: 5,
				cfg: func(c *producer.Config) {
					c.RequestTimeout = 200 * time.Millisecond
					c.DeliveryTimeout = 30 * time.Second
				},
				script: func(e *kfEnv) {
					var delayed atomic.Int64
					e.until(150*time.Millisecond, 10, func(int) {
						e.c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
							delayed.Add(1)
							// The whole cluster stalls (kfake's SleepControl races under -race),
							// then processes the request after the client gave up on it.
							e.c.DropControl()
							time.Sleep(400 * time.Millisecond)
							return nil, nil, false
						})
					})
					e.notes = append(e.notes, fmt.Sprintf("%d stalls of 400ms", delayed.Load()))
				}},
			kfScenario{name: "retriable storm with fatal errors/" + tag, idem: idem, n: 3000, every: 10,
				// kfake keeps one epoch per producer id, where Kafka keeps one per partition:
				// after a fatal error bumps the epoch, a batch of another partition retried
				// under the epoch it may have been written with (REQUEST_TIMED_OUT) is refused
				// with INVALID_PRODUCER_EPOCH by kfake; Kafka would deduplicate or append it.
				allowed:    []error{wire.ErrTopicAuthorizationFailed, wire.ErrMessageTooLarge, wire.ErrInvalidRecord, wire.ErrInvalidProducerEpoch},
				wantFailed: true,
				script: func(e *kfEnv) {
					retriable := []*kerr.Error{kerr.NotLeaderForPartition, kerr.NotEnoughReplicas, kerr.RequestTimedOut}
					fatal := []*kerr.Error{kerr.TopicAuthorizationFailed, kerr.MessageTooLarge, kerr.InvalidRecord}
					var hs, fs []*kfake.FaultHandle
					e.until(10*time.Millisecond, 150, func(i int) {
						hs = append(hs, e.c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: retriable[i%3], Count: 3}))
						if i%20 == 10 {
							tp := kfRelTopics[i%2]
							fs = append(fs, e.c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: tp.name,
								Partitions: []int32{int32(i/40) % tp.partitions}, Err: fatal[(i/20)%3]}))
						}
					})
					h, f := 0, 0
					for _, x := range hs {
						h += x.Hits()
					}
					for _, x := range fs {
						f += x.Hits()
					}
					e.notes = append(e.notes, fmt.Sprintf("%d retriable, %d fatal", h, f))
				}},
			kfScenario{name: "delivery.timeout.ms while a leader is unavailable/" + tag, idem: idem, n: 2000, every: 1,
				cfg: func(c *producer.Config) {
					c.RequestTimeout = 200 * time.Millisecond
					c.DeliveryTimeout = 600 * time.Millisecond
					c.RetryBackoff = 20 * time.Millisecond
					c.RetryBackoffMax = 100 * time.Millisecond
				},
				allowed: []error{producer.ErrTimeout}, wantFailed: true,
				script: func(e *kfEnv) {
					e.waitSent(e.n / 4)
					h := e.c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "rk-a", Partitions: []int32{0}, Err: kerr.LeaderNotAvailable, Count: -1})
					time.Sleep(1500 * time.Millisecond)
					h.Remove()
					e.notes = append(e.notes, fmt.Sprintf("rk-a/0 without a leader for 1.5s (%d requests)", h.Hits()))
				}},
		)
	}
	out = append(out, kfScenario{name: "Close with a broker swallowing everything/idempotent", idem: producer.Enabled, n: 4000, every: 200,
		allowed: []error{producer.ErrClosed}, wantFailed: true, closeShort: true,
		script: func(e *kfEnv) {
			e.waitSent(e.n / 4)
			down := e.c.LeaderFor("rk-a", 0)
			e.c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
				e.c.KeepControl()
				return nil, nil, e.c.CurrentNode() == down // swallowed: no answer, ever
			})
			e.notes = append(e.notes, fmt.Sprintf("node %d answers no Produce", down))
		}})
	return out
}

func runKfScenario(t *testing.T, sc kfScenario) string {
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(4, "rk-a"), kfake.SeedTopics(2, "rk-b"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := producer.Config{BootstrapServers: c.ListenAddrs(), Idempotence: sc.idem, Linger: time.Millisecond, BatchSize: 1024,
		RetryBackoff: 5 * time.Millisecond, RetryBackoffMax: 50 * time.Millisecond, RequestTimeout: 2 * time.Second}
	if sc.cfg != nil {
		sc.cfg(&cfg)
	}
	p, err := producer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	n := sc.n
	e := &kfEnv{t: t, c: c, n: n, sending: make(chan struct{})}
	calls := make([]atomic.Int32, n)
	errs := make([]error, n)
	futs := make([]*producer.Future, n)
	var mu sync.Mutex
	report := func(i int, err error) {
		if calls[i].Add(1) == 1 {
			mu.Lock()
			errs[i] = err
			mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); sc.script(e) }()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := 0; i < n; i++ {
		rec := producer.Record{Topic: kfRelTopics[i%2].name, Value: []byte(strconv.Itoa(i))}
		if (i/6)%2 == 0 {
			rec.Key = []byte("key-" + strconv.Itoa(i%13))
		}
		switch i % 3 {
		case 0:
			futs[i] = p.Send(ctx, rec)
		case 1:
			_ = p.SendAsync(ctx, rec, func(_ producer.RecordMetadata, err error) { report(i, err) })
		case 2:
			if err := p.SendAsync(ctx, rec, nil); err != nil {
				report(i, err)
			}
		}
		e.sent.Add(1)
		if i%sc.every == sc.every-1 {
			time.Sleep(time.Millisecond)
		}
	}
	close(e.sending)
	wg.Wait()
	if sc.closeShort {
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		if err := p.Close(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Close: %v, want the context's deadline", err)
		}
		cancel()
	} else {
		if err := p.Flush(ctx); err != nil {
			t.Errorf("flush: %v", err)
		}
		if err := p.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	}
	for i, f := range futs {
		if f == nil {
			continue
		}
		select {
		case <-f.Done():
			report(i, f.Wait(ctx))
		default:
			t.Errorf("record %d: Future not done after Close", i)
		}
	}

	// Read back everything with franz-go's consumer: until every acknowledged record is seen
	// and the log has nothing more.
	acked := 0
	for i := 0; i < n; i++ {
		if calls[i].Load() == 1 && errs[i] == nil {
			acked++
		}
	}
	count := make([]int, n)
	dups, reordered := 0, 0
	for _, tp := range kfRelTopics {
		last := map[int32]int{}
		for _, r := range consumeIdle(t, c.ListenAddrs(), tp.name) {
			v, err := strconv.Atoi(string(r.Value))
			if err != nil || v < 0 || v >= n || kfRelTopics[v%2].name != tp.name {
				t.Errorf("%s: a record never sent: %q", tp.name, r.Value)
				continue
			}
			count[v]++
			if count[v] > 1 {
				dups++
			}
			if prev, ok := last[r.Partition]; ok && v < prev {
				reordered++
			}
			last[r.Partition] = max(last[r.Partition], v)
		}
	}
	found, failed := 0, 0
	for i := 0; i < n; i++ {
		if count[i] > 0 {
			found++
		}
		k := calls[i].Load()
		if i%3 == 2 && k == 0 {
			continue
		}
		if k != 1 {
			t.Errorf("record %d reported %d times", i, k)
			continue
		}
		if errs[i] == nil {
			if count[i] == 0 {
				t.Errorf("record %d acknowledged but not in the log", i)
			}
			continue
		}
		failed++
		ok := false
		for _, a := range sc.allowed {
			ok = ok || errors.Is(errs[i], a)
		}
		if !ok {
			t.Errorf("record %d failed with %v, want one of %v", i, errs[i], sc.allowed)
		}
	}
	if sc.idem == producer.Enabled && (dups != 0 || reordered != 0) {
		t.Errorf("idempotent: %d duplicates, %d reordered", dups, reordered)
	}
	// A fire-and-forget record (one in three) fails unseen by the checks above; the
	// producer's count includes it. Batches are small here (BatchSize 1 KiB), so a fatal
	// error may fail such records only.
	if sc.wantFailed && failed == 0 && p.Stats().RecordsFailed == 0 {
		t.Error("no record failed: the fault did not bite")
	}
	t.Logf("%v; %d failed, %d failed in all", e.notes, failed, p.Stats().RecordsFailed)
	return fmt.Sprintf("%-48s %6d %6d %6d %5d %9d %6d", sc.name, n, acked, found, dups, reordered, failed)
}

// consumeIdle reads a topic from the start with franz-go's consumer until a second passes
// with nothing new: for logs whose length is not known (failed records may or may not be
// in them). consumeAll is the helper for a known count.
func consumeIdle(t *testing.T, addrs []string, topic string) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends := endOffsets(t, cl, topic)
	next := map[int32]int64{}
	reached := func() bool {
		for p, end := range ends {
			if next[p] < end {
				return false
			}
		}
		return true
	}
	var out []*kgo.Record
	idle := 0
	deadline := time.Now().Add(60 * time.Second)
	for !reached() && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("fetch %s-%d: %v", topic, p, err)
			}
		})
		recs := fs.Records()
		for _, r := range recs {
			next[r.Partition] = max(next[r.Partition], r.Offset+1)
		}
		out = append(out, recs...)
		// The end offsets count only data records here (no transactions), so reaching them
		// is the end; ten idle seconds also end a read whose last records were lost.
		if idle = idle + 1; len(recs) > 0 {
			idle = 0
		} else if idle >= 10 {
			return out
		}
	}
	if !reached() {
		t.Fatalf("%s: still reading after 60s", topic)
	}
	return out
}

// endOffsets returns the end offset (high watermark) of every partition of topic.
func endOffsets(t *testing.T, cl *kgo.Client, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mreq := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(topic)
	mreq.Topics = append(mreq.Topics, mt)
	mresp, err := mreq.RequestWith(ctx, cl)
	if err != nil || len(mresp.Topics) != 1 {
		t.Fatalf("metadata of %s: %v", topic, err)
	}
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for _, mp := range mresp.Topics[0].Partitions {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = mp.Partition, -1 // latest
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	ends := map[int32]int64{}
	for _, tr := range resp.Topics {
		for _, pr := range tr.Partitions {
			if err := kerr.ErrorForCode(pr.ErrorCode); err != nil {
				t.Fatalf("end offset of %s-%d: %v", topic, pr.Partition, err)
			}
			ends[pr.Partition] = pr.Offset
		}
	}
	return ends
}
