package producer

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/gregor-kafka/producer/internal/testutil"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

// relScale multiplies the record count of every reliability scenario: CI runs the default
// (short) version; `go test -run Reliability -rel.scale 20` is a longer one.
var relScale = flag.Int("rel.scale", 1, "multiplier of the record count of the reliability scenarios")

// The scenario stream: record i goes to relTopics[i%2], is keyed when (i/6)%2 == 0, and is
// sent in mode i%3 (Send, SendAsync with a callback, fire-and-forget), so that every
// combination occurs. Its value is its index, so the log can be checked record by record.
var relTopics = []struct {
	name       string
	partitions int32
}{{"rel-a", 3}, {"rel-b", 2}}

const (
	modeFuture = iota
	modeCallback
	modeForget
)

func relMode(i int) int { return i % 3 }

func relRecord(i, valueSize int) Record {
	rec := Record{Topic: relTopics[i%2].name, Value: []byte(strconv.Itoa(i))}
	if (i/6)%2 == 0 {
		rec.Key = []byte("key-" + strconv.Itoa(i%13))
	}
	if i%5 == 0 {
		rec.Headers = []Header{{Key: "i", Value: rec.Value}}
	}
	if pad := valueSize - len(rec.Value); pad > 0 {
		rec.Value = append(rec.Value, '.')
		rec.Value = append(rec.Value, make([]byte, pad-1)...)
	}
	return rec
}

func relIndex(v []byte) (int, bool) {
	if i := strings.IndexByte(string(v), '.'); i >= 0 {
		v = v[:i]
	}
	n, err := strconv.Atoi(string(v))
	return n, err == nil
}

// relEnv is what a fault script sees while the stream runs.
type relEnv struct {
	t       *testing.T
	c       *kafkatest.Cluster
	p       *Producer
	n       int
	sent    atomic.Int64  // records handed to the producer so far
	failed  atomic.Int64  // records reported failed so far
	acked   atomic.Int64  // records reported acknowledged so far
	sending chan struct{} // closed when the last record has been handed over
	notes   []string      // what the script did, for the log
	notesMu sync.Mutex
}

func (e *relEnv) note(format string, args ...any) {
	e.notesMu.Lock()
	e.notes = append(e.notes, fmt.Sprintf(format, args...))
	e.notesMu.Unlock()
}

// waitSent waits until k records were handed over (or the stream ended).
func (e *relEnv) waitSent(k int) {
	for e.sent.Load() < int64(k) {
		select {
		case <-e.sending:
			return
		case <-time.After(time.Millisecond):
		}
	}
}

// until runs fn every period until the stream ended or fn was called max times.
func (e *relEnv) until(period time.Duration, max int, fn func(i int)) {
	for i := 0; i < max; i++ {
		select {
		case <-e.sending:
			return
		case <-time.After(period):
		}
		fn(i)
	}
}

func (e *relEnv) inject(f kafkatest.Fault) *kafkatest.FaultHandle {
	if f.Key == 0 {
		f.Key = wire.KeyProduce
	}
	if f.Broker == 0 {
		f.Broker = kafkatest.AnyBroker
	}
	if f.Partition == 0 {
		f.Partition = kafkatest.AnyPartition
	}
	return e.c.InjectFault(f)
}

// relScenario is one row of the reliability table.
type relScenario struct {
	name    string
	brokers int
	idem    Switch
	n       int           // records, times -rel.scale
	every   int           // the sender sleeps 1 ms every this many records (default 50)
	size    int           // value size (default: just the index)
	cfg     func(*Config) // settings beyond the runner's defaults
	script  func(e *relEnv)
	// allowed lists the errors a failed record may carry (errors.Is); none means every
	// record must be acknowledged.
	allowed []error
	// wantFailed asks for at least one failed record, so that the scenario cannot pass
	// without its fault having bitten.
	wantFailed bool
	// finish ends the stream; nil flushes then closes, expecting both to succeed.
	finish func(e *relEnv) error
	// check runs last, with the outcomes.
	check func(t *testing.T, e *relEnv, r *relResult)
	// leaks checks that no goroutine survives; the scenario then runs alone.
	leaks bool
}

// relResult is the outcome of a scenario, one row of the table.
type relResult struct {
	name                                              string
	sent, acked, found, dups, reordered, failed, lost int
	ackedIdx                                          []bool
	firstAckAfterFail                                 int // lowest index acknowledged after the first failure, -1 none
}

var (
	relRowsMu sync.Mutex
	relRows   []relResult
)

func TestReliability(t *testing.T) {
	relRowsMu.Lock()
	relRows = nil
	relRowsMu.Unlock()
	var parallel []relScenario
	for _, sc := range relScenarios() {
		if sc.leaks {
			t.Run(sc.name, func(t *testing.T) { runRelScenario(t, sc) })
		} else {
			parallel = append(parallel, sc)
		}
	}
	t.Run("group", func(t *testing.T) {
		for _, sc := range parallel {
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				runRelScenario(t, sc)
			})
		}
	})
	relRowsMu.Lock()
	defer relRowsMu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-52s %7s %7s %7s %5s %9s %7s\n", "scenario", "sent", "acked", "in log", "dups", "reordered", "failed")
	for _, r := range relRows {
		fmt.Fprintf(&b, "%-52s %7d %7d %7d %5d %9d %7d\n", r.name, r.sent, r.acked, r.found, r.dups, r.reordered, r.failed)
	}
	t.Log(b.String())
}

func relScenarios() []relScenario {
	var out []relScenario
	for _, idem := range []Switch{Enabled, Disabled} {
		tag := map[Switch]string{Enabled: "idempotent", Disabled: "plain"}[idem]
		out = append(out,
			relScenario{
				name: "broker killed and restarted/" + tag, idem: idem, n: 3000, every: 20,
				script: func(e *relEnv) {
					for k, id := range []int32{1, 0} {
						e.waitSent(e.n * (k + 1) / 4)
						if err := e.c.StopBroker(id); err != nil {
							e.t.Error(err)
						}
						time.Sleep(300 * time.Millisecond)
						if err := e.c.StartBroker(id); err != nil {
							e.t.Error(err)
						}
						e.note("broker %d down 300ms", id)
					}
				},
			},
			relScenario{
				name: "one broker of three down for good/" + tag, idem: idem, n: 3000, every: 20,
				script: func(e *relEnv) {
					e.waitSent(e.n / 3)
					if err := e.c.StopBroker(2); err != nil {
						e.t.Error(err)
					}
					time.Sleep(100 * time.Millisecond)
					moved := 0
					for _, tp := range relTopics {
						for pa := int32(0); pa < tp.partitions; pa++ {
							if e.c.Leader(tp.name, pa) == 2 {
								if err := e.c.MoveLeader(tp.name, pa, pa%2); err != nil {
									e.t.Error(err)
								}
								moved++
							}
						}
					}
					e.note("broker 2 stopped, %d partitions moved", moved)
				},
			},
			relScenario{
				name: "leader moves every 100ms/" + tag, idem: idem, n: 4000, every: 4,
				script: func(e *relEnv) {
					moves := 0
					e.until(100*time.Millisecond, 40, func(i int) {
						tp := relTopics[i%2]
						pa := int32(i/2) % tp.partitions
						if err := e.c.MoveLeader(tp.name, pa, (e.c.Leader(tp.name, pa)+1)%3); err != nil {
							e.t.Error(err)
						}
						moves++
					})
					e.note("%d leader moves", moves)
				},
			},
			relScenario{
				name: "connections dropped before write/" + tag, idem: idem, n: 3000, every: 10,
				script: func(e *relEnv) {
					var hs []*kafkatest.FaultHandle
					e.until(20*time.Millisecond, 40, func(int) {
						hs = append(hs, e.inject(kafkatest.Fault{DropConnection: true}))
					})
					e.note("%d drops", hits(hs))
				},
			},
			relScenario{
				name: "connections dropped after write/" + tag, idem: idem, n: 3000, every: 10,
				script: func(e *relEnv) {
					var hs []*kafkatest.FaultHandle
					e.until(20*time.Millisecond, 40, func(int) {
						hs = append(hs, e.inject(kafkatest.Fault{DropConnection: true, AppendAnyway: true}))
					})
					e.note("%d drops after the append", hits(hs))
				},
			},
			relScenario{
				name: "answers delayed past request.timeout.ms/" + tag, idem: idem, n: 2000, every: 5,
				cfg: func(c *Config) { c.RequestTimeout = 200 * time.Millisecond; c.DeliveryTimeout = 30 * time.Second },
				script: func(e *relEnv) {
					var hs []*kafkatest.FaultHandle
					e.until(150*time.Millisecond, 10, func(i int) {
						hs = append(hs, e.inject(kafkatest.Fault{Delay: 400 * time.Millisecond, Broker: int32(i % 3)}))
					})
					e.note("%d answers delayed 400ms", hits(hs))
				},
			},
			relScenario{
				name: "answer lost after the append/" + tag, idem: idem, n: 2000, every: 5,
				cfg: func(c *Config) { c.RequestTimeout = 200 * time.Millisecond; c.DeliveryTimeout = 30 * time.Second },
				script: func(e *relEnv) {
					var hs []*kafkatest.FaultHandle
					e.until(100*time.Millisecond, 15, func(i int) {
						hs = append(hs, e.inject(kafkatest.Fault{Swallow: true, AppendAnyway: true, Broker: int32(i % 3)}))
					})
					e.note("%d answers swallowed after the append", hits(hs))
				},
			},
			relScenario{
				name: "retriable storm with fatal errors/" + tag, idem: idem, n: 3000, every: 10,
				allowed:    []error{wire.ErrTopicAuthorizationFailed, wire.ErrMessageTooLarge, wire.ErrInvalidRecord, wire.ErrRecordListTooLarge},
				wantFailed: true,
				script: func(e *relEnv) {
					// MESSAGE_TOO_LARGE splits a batch of several records (the pieces are sent
					// again) and fails a batch of one.
					codes := []int16{wire.ErrNotLeaderOrFollower.Code, wire.ErrNotEnoughReplicas.Code, wire.ErrRequestTimedOut.Code, wire.ErrMessageTooLarge.Code}
					fatal := []int16{wire.ErrTopicAuthorizationFailed.Code, wire.ErrRecordListTooLarge.Code, wire.ErrInvalidRecord.Code}
					var hs, fs []*kafkatest.FaultHandle
					e.until(10*time.Millisecond, 150, func(i int) {
						hs = append(hs, e.inject(kafkatest.Fault{ErrorCode: codes[i%4], Times: 3}))
						if i%5 == 0 { // written, but the answer says it timed out
							hs = append(hs, e.inject(kafkatest.Fault{ErrorCode: wire.ErrRequestTimedOut.Code, AppendAnyway: true}))
						}
						if i%20 == 10 {
							tp := relTopics[i%2]
							fs = append(fs, e.inject(kafkatest.Fault{ErrorCode: fatal[(i/20)%3], Topic: tp.name, Partition: int32(i/40) % tp.partitions, Times: 1}))
						}
					})
					e.note("%d retriable, %d fatal errors", hits(hs), hits(fs))
				},
			},
			relScenario{
				name: "delivery.timeout.ms while a leader is down/" + tag, idem: idem, n: 2000, every: 1,
				cfg: func(c *Config) {
					c.RequestTimeout = 200 * time.Millisecond
					c.DeliveryTimeout = 600 * time.Millisecond
					c.RetryBackoff = 20 * time.Millisecond
					c.RetryBackoffMax = 100 * time.Millisecond
				},
				allowed: []error{ErrTimeout}, wantFailed: true,
				script: func(e *relEnv) {
					e.waitSent(e.n / 4)
					down := e.c.Leader("rel-a", 0)
					if err := e.c.StopBroker(down); err != nil {
						e.t.Error(err)
					}
					time.Sleep(1500 * time.Millisecond)
					if err := e.c.StartBroker(down); err != nil {
						e.t.Error(err)
					}
					e.note("broker %d down 1.5s", down)
				},
				check: checkAckedAfterFailures,
			},
		)
	}
	out = append(out,
		relScenario{
			name: "slow broker fills buffer.memory/idempotent", idem: Enabled, n: 3000, size: 200, every: 10,
			cfg:     func(c *Config) { c.BufferMemory = 32 << 10; c.MaxBlock = 50 * time.Millisecond },
			allowed: []error{ErrBufferFull}, wantFailed: true,
			script: func(e *relEnv) {
				e.waitSent(e.n / 5)
				h := e.inject(kafkatest.Fault{Delay: 300 * time.Millisecond, Times: -1})
				deadline := time.Now().Add(5 * time.Second)
				for e.failed.Load() < 5 && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				h.Remove()
				e.note("answers delayed 300ms until %d sends failed (%d requests)", e.failed.Load(), h.Hits())
			},
			check: checkAckedAfterFailures,
		},
		relScenario{
			name: "Close with a broker down/idempotent", idem: Enabled, n: 4000, every: 200, leaks: true,
			allowed: []error{ErrClosed}, wantFailed: true,
			script: func(e *relEnv) {
				e.waitSent(e.n / 4)
				if err := e.c.StopBroker(e.c.Leader("rel-a", 0)); err != nil {
					e.t.Error(err)
				}
			},
			finish: func(e *relEnv) error {
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
				start := time.Now()
				err := e.p.Close(ctx)
				if !errors.Is(err, context.DeadlineExceeded) {
					return fmt.Errorf("Close: %v, want the context's deadline", err)
				}
				if d := time.Since(start); d > 2*time.Second {
					return fmt.Errorf("Close took %v with a 300ms context", d)
				}
				return nil
			},
		},
	)
	return out
}

func hits(hs []*kafkatest.FaultHandle) int {
	n := 0
	for _, h := range hs {
		n += h.Hits()
	}
	return n
}

// checkAckedAfterFailures: the producer recovered, records sent after the fault ended
// were acknowledged.
func checkAckedAfterFailures(t *testing.T, e *relEnv, r *relResult) {
	last := -1
	for i := len(r.ackedIdx) - 1; i >= 0; i-- {
		if r.ackedIdx[i] {
			last = i
			break
		}
	}
	if last < e.n*9/10 {
		t.Errorf("the producer did not recover: the last acknowledged record is %d of %d", last, e.n)
	}
}

func runRelScenario(t *testing.T, sc relScenario) {
	if sc.leaks {
		testutil.CheckNoLeaks(t)
	}
	brokers := sc.brokers
	if brokers == 0 {
		brokers = 3
	}
	opts := []kafkatest.Option{kafkatest.NumBrokers(brokers)}
	for _, tp := range relTopics {
		opts = append(opts, kafkatest.SeedTopic(tp.name, tp.partitions))
	}
	c := newCluster(t, opts...)
	cfg := Config{
		BootstrapServers: c.Addrs(),
		Idempotence:      sc.idem,
		Linger:           time.Millisecond,
		BatchSize:        1024,
		RetryBackoff:     5 * time.Millisecond,
		RetryBackoffMax:  50 * time.Millisecond,
		RequestTimeout:   2 * time.Second,
	}
	if sc.cfg != nil {
		sc.cfg(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	n := sc.n * *relScale
	every := sc.every
	if every == 0 {
		every = 50
	}
	e := &relEnv{t: t, c: c, p: p, n: n, sending: make(chan struct{})}

	// Outcomes, by record index.
	calls := make([]atomic.Int32, n)
	errs := make([]error, n)
	mds := make([]RecordMetadata, n)
	futures := make([]*Future, n)
	syncErr := make([]error, n)
	var outMu sync.Mutex
	var firstFail atomic.Int64
	firstFail.Store(-1)
	report := func(i int, md RecordMetadata, err error) {
		if calls[i].Add(1) > 1 {
			return
		}
		outMu.Lock()
		errs[i], mds[i] = err, md
		outMu.Unlock()
		if err != nil {
			e.failed.Add(1)
			firstFail.CompareAndSwap(-1, int64(i))
		} else {
			e.acked.Add(1)
		}
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc.script(e)
	}()
	ctx := ctxTimeout(t, 60*time.Second)
	for i := 0; i < n; i++ {
		rec := relRecord(i, sc.size)
		switch relMode(i) {
		case modeFuture:
			futures[i] = p.Send(ctx, rec)
		case modeCallback:
			syncErr[i] = p.SendAsync(ctx, rec, func(md RecordMetadata, err error) { report(i, md, err) })
		case modeForget:
			if err := p.SendAsync(ctx, rec, nil); err != nil {
				report(i, RecordMetadata{}, err)
			}
		}
		e.sent.Add(1)
		if i%every == every-1 {
			time.Sleep(time.Millisecond)
		}
		if i%256 == 0 { // let the futures that completed feed the script's counters
			collectFutures(futures, i-512, i-256, report)
		}
	}
	close(e.sending)
	wg.Wait()
	if sc.finish != nil {
		if err := sc.finish(e); err != nil {
			t.Error(err)
		}
	} else {
		fctx, cancel := context.WithTimeout(ctx, 45*time.Second)
		if err := p.Flush(fctx); err != nil {
			t.Errorf("flush: %v", err)
		}
		cancel()
		if err := p.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	}
	// After Close, every future must be done.
	for i, f := range futures {
		if f == nil || calls[i].Load() > 0 {
			continue
		}
		select {
		case <-f.Done():
			md, err := f.Get(ctx)
			report(i, md, err)
		default:
			t.Errorf("record %d: its Future is not done after Close", i)
		}
	}

	r := relResult{name: sc.name, sent: n, ackedIdx: make([]bool, n), firstAckAfterFail: -1}
	type where struct {
		topic string
		pa    int32
		off   int64
	}
	stored := map[where]int{}
	count := make([]int, n)
	for _, tp := range relTopics {
		for pa := int32(0); pa < tp.partitions; pa++ {
			last := -1
			for _, rec := range c.Records(tp.name, pa) {
				v, ok := relIndex(rec.Value)
				if !ok || v < 0 || v >= n || relTopics[v%2].name != tp.name {
					t.Errorf("%s/%d@%d holds a record never sent: %q", tp.name, pa, rec.Offset, rec.Value)
					continue
				}
				want := relRecord(v, sc.size)
				if string(rec.Key) != string(want.Key) || len(rec.Headers) != len(want.Headers) {
					t.Errorf("record %d stored with key %q and %d headers", v, rec.Key, len(rec.Headers))
				}
				count[v]++
				if count[v] > 1 {
					r.dups++
				}
				if v < last {
					r.reordered++
					if sc.idem == Enabled {
						t.Errorf("%s/%d: record %d stored after %d", tp.name, pa, v, last)
					}
				}
				last = max(last, v)
				stored[where{tp.name, pa, rec.Offset}] = v
			}
		}
	}
	var errKinds = map[string]int{}
	for i := 0; i < n; i++ {
		if count[i] > 0 {
			r.found++
		}
		if sc.idem == Enabled && count[i] > 1 {
			t.Errorf("idempotent: record %d stored %d times", i, count[i])
		}
		k := calls[i].Load()
		if relMode(i) == modeForget && k == 0 {
			continue // fire-and-forget: the caller asked not to hear
		}
		if k != 1 {
			t.Errorf("record %d (mode %d) reported %d times", i, relMode(i), k)
			continue
		}
		err := errs[i]
		if relMode(i) == modeCallback && syncErr[i] != nil && syncErr[i] != err {
			t.Errorf("record %d: SendAsync returned %v but its callback had %v", i, syncErr[i], err)
		}
		if err == nil {
			r.acked++
			r.ackedIdx[i] = true
			if count[i] == 0 {
				r.lost++
				t.Errorf("record %d acknowledged (%+v) but not in the log", i, mds[i])
			}
			md := mds[i]
			if md.Offset >= 0 {
				if v, ok := stored[where{md.Topic, md.Partition, md.Offset}]; !ok || v != i {
					t.Errorf("record %d acknowledged at %s/%d@%d, which holds %d (%v)", i, md.Topic, md.Partition, md.Offset, v, ok)
				}
			}
			continue
		}
		r.failed++
		matched := false
		for _, a := range sc.allowed {
			matched = matched || errors.Is(err, a)
		}
		if !matched {
			t.Errorf("record %d failed with %v, want one of %v", i, err, sc.allowed)
		}
		kind := err.Error()
		for _, a := range append(sc.allowed, ErrClosed, ErrTimeout, ErrBufferFull) {
			if errors.Is(err, a) {
				kind = a.Error()
				break
			}
		}
		errKinds[kind]++
		// A record that got as far as a partition names it.
		var pe *PartitionError
		if syncErr[i] == nil && relMode(i) != modeForget && !errors.Is(err, ErrBufferFull) && (!errors.As(err, &pe) || pe.Topic != relTopics[i%2].name) {
			t.Errorf("record %d: error %v does not name its partition", i, err)
		}
	}
	if sc.wantFailed && r.failed == 0 {
		t.Errorf("no record failed: the fault did not bite")
	}
	if sc.check != nil {
		sc.check(t, e, &r)
	}
	t.Logf("%s: %v; errors %v", sc.name, e.notes, errKinds)
	relRowsMu.Lock()
	relRows = append(relRows, r)
	relRowsMu.Unlock()
}

// collectFutures reports the futures of records [from, to) that are done.
func collectFutures(futures []*Future, from, to int, report func(int, RecordMetadata, error)) {
	for i := max(from, 0); i < to; i++ {
		if f := futures[i]; f != nil {
			select {
			case <-f.Done():
				md, err := f.Get(context.Background())
				report(i, md, err)
				futures[i] = nil
			default:
			}
		}
	}
}

// TestTxnFailureVisibleBeforeItsFuture: once a send's Future has reported a failure, the
// transaction must already be abortable, so that CommitTransaction refuses. batchDone hands
// the failed batch to the completion goroutine before it calls txn.fail, so a caller can see
// the failure and commit in between (about 3% of runs of TestTransactionAbortableAfterFailedSend).
func TestTxnFailureVisibleBeforeItsFuture(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("ok", 1), kafkatest.SeedTopic("bad", 1))
	c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "bad", Partition: kafkatest.AnyPartition,
		ErrorCode: wire.ErrTopicAuthorizationFailed.Code, Times: -1})
	ctx := ctxTimeout(t, 20*time.Second)
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), TransactionalID: "race", Linger: -1})
	if err := p.InitTransactions(ctx); err != nil {
		t.Fatal(err)
	}
	committed := 0
	for i := 0; i < 200; i++ {
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		good := p.Send(ctx, Record{Topic: "ok", Value: []byte("y")})
		if err := p.Send(ctx, Record{Topic: "bad", Value: []byte("x")}).Wait(ctx); !errors.Is(err, wire.ErrTopicAuthorizationFailed) {
			t.Fatalf("iteration %d, %d committed so far: bad topic: %v", i, committed, err)
		}
		_ = good.Wait(ctx)
		if err := p.CommitTransaction(ctx); err == nil {
			committed++
			continue
		}
		if err := p.AbortTransaction(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if committed > 0 {
		t.Fatalf("%d of 200 transactions committed after a send failed", committed)
	}
}
