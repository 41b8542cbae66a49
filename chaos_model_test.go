package producer

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

// chaosRun is the state of one schedule: what the test did, and what the producer said.
type chaosRun struct {
	t     *testing.T
	plan  chaosPlan
	c     *kafkatest.Cluster
	p     *Producer
	start time.Time
	slack time.Duration

	stopping chan struct{} // closed when the chaos phase ends
	cleared  chan struct{} // closed once every fault is gone
	gate     *txnGate      // open while a transaction is (the driver says)
	endsRNG  *rand.Rand    // the driver's: which ends get a concurrent second call

	userNanos atomic.Int64 // time spent in our callbacks and hooks
	refreshes atomic.Int64 // Stats().MetadataRefreshes as last polled
	closed    atomic.Bool  // some Close was called
	closing   atomic.Int32 // Close calls in progress
	nested    atomic.Int32 // producer calls from callbacks and hooks in progress
	cbClosed  atomic.Bool  // the one Close from a callback was done
	txnStuck  atomic.Bool  // a transaction could not be ended: no more are begun
	fatal     atomic.Bool  // the plan's fatal error was injected: no recovery expected
	bumps     atomic.Int32 // "producer epoch bump needed" warnings the producer logged
	expiries  atomic.Int32 // records of the chaos phase that failed with ErrTimeout

	mu        sync.Mutex // guards what follows
	recs      []*chaosRecord
	txns      []*chaosTxn
	topics    map[string]*chaosTopic
	calls     map[*chaosCall]bool
	trace     []string
	viols     []chaosViolation
	batchOK   int64 // records in OnBatchDone calls without error
	batchFail int64 // and with one
	gated     map[string]int
	stats     Stats // after the final Close
	// dialFailures are the failed connection attempts, and clearedAt when the faults were
	// gone.
	dialFailures []chaosDialFailure
	clearedAt    time.Time
	// groupOffsets are chaosGroup's committed offsets after the final Close.
	groupOffsets map[string]map[int32]kafkatest.CommittedOffset
	// fenceFrom and fenceTo bound the InitTransactions of the fencing second producer,
	// which aborts our open transaction.
	fenceFrom, fenceTo time.Time
	// closeAt is when the first Close was called: a send begun after it is refused with
	// ErrClosed, as the Java client refuses one once close began.
	closeAt time.Time
	// reorderedByRecreate counts records found after later ones of their stream because
	// their topic was recreated while they were in flight.
	reorderedByRecreate int
	outcomes            chaosCounts
}

// chaosCounts counts outcomes, for the summary.
type chaosCounts struct {
	records, acked, failed, syncFailed, noOutcome, dups, inLog int
	errs                                                       map[string]int
}

// How a record is sent.
const (
	howFuture = iota
	howCallback
	howForget
)

var howNames = [...]string{"Send", "SendAsync+callback", "SendAsync(nil)"}

// What a callback or hook does with the producer.
const (
	nestNone = iota
	nestSendCallback
	nestSendForget
	nestSendFuture
	nestFlush
	nestStats
	nestClose
)

var nestNames = [...]string{"nothing", "SendAsync+callback", "SendAsync(nil)", "Send", "Flush", "Stats", "Close"}

// chaosRecord is one record the test sent and everything known of its fate.
type chaosRecord struct {
	id        int
	stream    int // -1 for records sent from callbacks and hooks
	seq       int // order within its stream
	from      string
	topic     string
	key       []byte
	partition int32 // explicit, or -1
	size      int
	how       int
	nest      int           // what its callback (or, without one, its OnRecordDone) does
	nestArg   time.Duration // the deadline of a nested Flush or Close

	start, returned time.Time
	refreshesAt     int64 // the metadata refreshes polled before the send
	syncErr         error // SendAsync's return
	fut             *Future

	cbCalls   int
	cbMD      RecordMetadata
	cbErr     error
	hookCalls int
	hookMD    RecordMetadata
	hookErr   error
	doneAt    time.Time

	// Filled by collect.
	outcomeKnown bool
	md           RecordMetadata
	err          error
	sync         bool // failed before it was enqueued
	found        []chaosFound
}

// chaosFound is one copy of a record in the log.
type chaosFound struct {
	topicID   wire.UUID
	partition int32
	offset    int64
	rec       kafkatest.Record
}

// chaosTopic is what the test did to one topic.
type chaosTopic struct {
	name         string
	count        int32 // partitions now; 0 while deleted
	incarnations []chaosIncarnation
	changes      []chaosChange
}

type chaosIncarnation struct {
	id         wire.UUID
	partitions int32 // the most it had
}

// chaosChange is a change of a topic's partitions: from begun to ended (a deletion and the
// creation after it are one change), after which it had count partitions and the producer
// had refreshed its metadata refreshesAfter times at most.
type chaosChange struct {
	begun, ended   time.Time
	count          int32
	refreshesAfter int64
	shrank         bool
	recreated      bool // deleted and created again, not grown
}

// chaosDialFailure is a failed connection attempt to a broker, from its start to its end.
type chaosDialFailure struct {
	node       int32
	start, end time.Time
}

// chaosTxn is one transaction the driver ran.
type chaosTxn struct {
	k                      int
	beginCall, beginReturn time.Time
	endCall, endReturn     time.Time // of the first CommitTransaction or AbortTransaction
	windowEnd              time.Time // the next BeginTransaction call; zero for the last
	commit                 bool      // the first end was a commit
	endErr                 error     // and its error
	committed              bool      // CommitTransaction returned nil
	abortErrs              []error   // AbortTransaction calls that failed
	ended                  bool      // a commit or an abort succeeded
	health                 bool      // the transaction run after the faults are gone
	// SendOffsetsToTransaction, when the transaction sent offsets (chaosOffsets(k)).
	offsetsCall time.Time     // when it was called; zero when it made no call
	offsetsErr  error         // what it returned
	offsetsDone chan struct{} // closed once it returned; nil without a call
}

// chaosViolation is a broken invariant.
type chaosViolation struct {
	inv       string
	msg       string
	excusedBy string // the known defect that excuses it, or ""
}

// violate records a broken invariant; defects names the defects of issue 16 that explain it
// (see knownDefects).
func (r *chaosRun) violate(inv string, defects []string, format string, args ...any) {
	v := chaosViolation{inv: inv, msg: fmt.Sprintf(format, args...), excusedBy: excuse(defects)}
	if len(defects) > 0 && v.excusedBy == "" {
		v.msg += fmt.Sprintf(" (issue 16 defect %s)", strings.Join(defects, " or "))
	}
	r.mu.Lock()
	r.viols = append(r.viols, v)
	r.mu.Unlock()
	if v.excusedBy == "" {
		r.tracef("VIOLATION [%s] %s", inv, v.msg)
	}
}

// tsBase is the timestamp of record 0; record id has tsBase+id ms, so that OnRecordDone,
// which gets only the metadata, knows which record it is told about.
var tsBase = time.UnixMilli(1_600_000_000_000)

// pad is shared value filler.
var pad = []byte(strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789", 8192))

// newRecord draws a record for stream (or -1) and registers it.
func (r *chaosRun) newRecord(rng *rand.Rand, stream, seq int, from string) (*chaosRecord, Record) {
	cr := &chaosRecord{stream: stream, seq: seq, from: from, partition: -1}
	switch x := rng.IntN(100); {
	case x < 45:
		cr.topic = chaosTopicA
	case x < 80:
		cr.topic = chaosTopicB
	default:
		cr.topic = chaosTopicS
	}
	keyed := rng.IntN(2) == 0
	key := rng.IntN(24)
	explicit := rng.IntN(10) == 0
	part := rng.Int32N(64)
	switch x := rng.IntN(1000); {
	case x < 700:
		cr.size = 8 + rng.IntN(100)
	case x < 950:
		cr.size = 100 + rng.IntN(3000)
	case x < 990:
		cr.size = 3000 + rng.IntN(30000)
	default:
		cr.size = r.plan.cfg.MaxRequestSize + rng.IntN(1000)
		if !r.plan.tooLarge {
			cr.size = 200
		}
	}
	headers := rng.IntN(5) == 0
	cr.how = rng.IntN(3)
	if rng.Float64() < r.plan.nestRate {
		cr.nest = 1 + rng.IntN(nestClose)
		cr.nestArg = time.Duration(10+rng.IntN(190)) * time.Millisecond
		if rng.IntN(3) == 0 {
			cr.nestArg = 0
		}
	}
	if keyed {
		cr.key = []byte("k" + strconv.Itoa(key))
	}
	r.mu.Lock()
	if explicit && r.plan.explicitParts {
		if n := r.topics[cr.topic].count; n > 0 {
			cr.partition = part % n
		}
	}
	cr.id = len(r.recs)
	r.recs = append(r.recs, cr)
	r.mu.Unlock()

	head := fmt.Sprintf("chaos|%d|%d|%d|", cr.id, stream, seq)
	value := make([]byte, 0, max(cr.size, len(head)))
	value = append(value, head...)
	if n := cr.size - len(head); n > 0 {
		for n > len(pad) {
			value = append(value, pad...)
			n -= len(pad)
		}
		value = append(value, pad[:n]...)
	}
	rec := Record{Topic: cr.topic, Key: cr.key, Value: value, Timestamp: tsBase.Add(time.Duration(cr.id) * time.Millisecond)}
	if cr.partition >= 0 {
		rec.Partition = ToPartition(cr.partition)
	}
	if headers {
		rec.Headers = []Header{{Key: "id", Value: []byte(strconv.Itoa(cr.id))}, {Key: "from", Value: []byte(from)}}
	}
	return cr, rec
}

// newFixedRecord registers a record chosen by the caller, sent as a Future with no
// callback work: the records of the checks after the faults.
func (r *chaosRun) newFixedRecord(from string, stream, seq int, topic string, key []byte, partition int32) (*chaosRecord, Record) {
	cr := &chaosRecord{stream: stream, seq: seq, from: from, topic: topic, key: key, partition: partition, how: howFuture}
	r.mu.Lock()
	cr.id = len(r.recs)
	r.recs = append(r.recs, cr)
	r.mu.Unlock()
	rec := Record{Topic: topic, Key: key, Value: []byte(fmt.Sprintf("chaos|%d|%d|%d|", cr.id, stream, seq)),
		Timestamp: tsBase.Add(time.Duration(cr.id) * time.Millisecond)}
	if partition >= 0 {
		rec.Partition = ToPartition(partition)
	}
	cr.size = len(rec.Value)
	return cr, rec
}

// recordIDOf parses the id out of a value written by newRecord.
func recordIDOf(v []byte) (int, bool) {
	s := string(v[:min(len(v), 40)])
	if !strings.HasPrefix(s, "chaos|") {
		return 0, false
	}
	s = s[len("chaos|"):]
	i := strings.IndexByte(s, '|')
	if i < 0 {
		return 0, false
	}
	id, err := strconv.Atoi(s[:i])
	return id, err == nil
}

// send sends one record as cr says, from who, and checks that the call returned within
// max.block.ms.
func (r *chaosRun) send(ctx context.Context, who string, cr *chaosRecord, rec Record) {
	r.mu.Lock()
	cr.start = time.Now()
	cr.refreshesAt = r.refreshes.Load()
	r.mu.Unlock()
	what := fmt.Sprintf("%s of record %d", howNames[cr.how], cr.id)
	// Java bounds the whole send by max.block.ms; see the last paragraph.
	_ = r.bounded(who, what, r.plan.cfg.MaxBlock, []string{"maxblock"}, func() error {
		switch cr.how {
		case howFuture:
			f := r.p.Send(ctx, rec)
			r.mu.Lock()
			cr.fut = f
			r.mu.Unlock()
		case howCallback:
			err := r.p.SendAsync(ctx, rec, r.callback(cr))
			r.mu.Lock()
			cr.syncErr = err
			r.mu.Unlock()
		case howForget:
			err := r.p.SendAsync(ctx, rec, nil)
			r.mu.Lock()
			cr.syncErr = err
			r.mu.Unlock()
		}
		return nil
	})
	r.mu.Lock()
	cr.returned = time.Now()
	r.mu.Unlock()
}

// callback returns the callback of cr: it records the outcome and may call the producer.
func (r *chaosRun) callback(cr *chaosRecord) Callback {
	return func(md RecordMetadata, err error) {
		t0 := time.Now()
		defer func() { r.userNanos.Add(int64(time.Since(t0))) }()
		r.mu.Lock()
		cr.cbCalls++
		if cr.cbCalls == 1 {
			cr.cbMD, cr.cbErr = md, err
			if cr.doneAt.IsZero() {
				cr.doneAt = t0
			}
		}
		nest, arg, first := cr.nest, cr.nestArg, cr.cbCalls == 1
		r.mu.Unlock()
		// A record refused by SendAsync gets its callback on the caller's goroutine
		// (partition -1): that is not a callback of the producer's.
		if first && nest != nestNone && md.Partition >= 0 {
			r.nestedCall("callback of record "+strconv.Itoa(cr.id), nest, arg, false)
		}
	}
}

// nestedCall is a producer call from a callback or hook. underLock is for OnBatchDone,
// which the producer calls under its partition lock (defect 7).
func (r *chaosRun) nestedCall(who string, nest int, arg time.Duration, underLock bool) {
	r.nested.Add(1)
	defer r.nested.Add(-1)
	// Stand-ins for calls that would hang on a known defect: the random draws were the
	// same, so the seed replays alike.
	stand := ""
	switch {
	case nest == nestClose && r.plan.callbackClose && knownDefect("6"):
		stand = "6"
	case nest == nestClose && !r.plan.callbackClose:
		stand = "-" // not in this plan
	case nest == nestClose && !r.cbClosed.CompareAndSwap(false, true):
		stand = "-" // once per run
	case underLock && nest != nestStats && knownDefect("7"):
		stand = "7"
	}
	if stand != "" {
		if stand != "-" {
			r.mu.Lock()
			if r.gated == nil {
				r.gated = map[string]int{}
			}
			r.gated[stand]++
			r.mu.Unlock()
			r.tracef("%s: Stats instead of %s (known defect %s)", who, nestNames[nest], stand)
		}
		nest = nestStats
	}
	switch nest {
	case nestSendCallback, nestSendForget, nestSendFuture:
		rng := rand.New(rand.NewPCG(r.plan.seed, uint64(fnvHash(who))))
		cr, rec := r.newRecord(rng, -1, 0, "nested")
		cr.how = map[int]int{nestSendCallback: howCallback, nestSendForget: howForget, nestSendFuture: howFuture}[nest]
		cr.nest = nestNone
		r.send(context.Background(), who, cr, rec)
	case nestFlush:
		ctx, cancel := context.WithTimeout(context.Background(), max(arg, 10*time.Millisecond))
		defer cancel()
		start := time.Now()
		err := r.p.Flush(ctx)
		// Java: flush from a callback is an error at once. Waiting here waits for this
		// very callback to return: until ctx ends.
		if errors.Is(err, context.DeadlineExceeded) {
			r.violate("flush-from-callback", []string{"6"}, "Flush from %s waited out its ctx (%v) and returned %v", who, time.Since(start).Round(time.Millisecond), err)
		}
		r.tracef("%s: Flush returned %v after %v", who, err, time.Since(start).Round(time.Millisecond))
	case nestStats:
		_ = r.p.Stats()
	case nestClose:
		r.tracef("%s: Close(deadline %v) from a callback", who, arg)
		r.closeProducer(who, arg)
	}
}

func fnvHash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// chaosHooks are the run's Config.Hooks.
type chaosHooks chaosRun

// OnBrokerConnect notes failed connection attempts (see backingOffAt).
func (h *chaosHooks) OnBrokerConnect(node int32, _ string, d time.Duration, err error) {
	if err == nil {
		return
	}
	r := (*chaosRun)(h)
	now := time.Now()
	r.mu.Lock()
	r.dialFailures = append(r.dialFailures, chaosDialFailure{node: node, start: now.Add(-d), end: now})
	r.mu.Unlock()
}
func (h *chaosHooks) OnBrokerDisconnect(int32, string, error) {}
func (h *chaosHooks) OnProduceRequest(int32, int, time.Duration, error) {
	r := (*chaosRun)(h)
	if r.plan.nestRate > 0 {
		t0 := time.Now()
		_ = r.p.Stats()
		r.userNanos.Add(int64(time.Since(t0)))
	}
}

// OnBatchDone counts, and now and then calls the producer from under the partition lock.
func (h *chaosHooks) OnBatchDone(topic string, partition int32, records int, bytes int, err error) {
	r := (*chaosRun)(h)
	t0 := time.Now()
	defer func() { r.userNanos.Add(int64(time.Since(t0))) }()
	r.mu.Lock()
	if err == nil {
		r.batchOK += int64(records)
	} else {
		r.batchFail += int64(records)
	}
	r.mu.Unlock()
	if r.plan.nestRate == 0 {
		return
	}
	who := fmt.Sprintf("OnBatchDone(%s/%d, %d records, %d bytes)", topic, partition, records, bytes)
	x := fnvHash(fmt.Sprintf("%d/%s", r.plan.seed, who))
	if float64(x%100000) >= r.plan.nestRate*100000 {
		return
	}
	nest := []int{nestSendForget, nestSendCallback, nestFlush, nestStats}[(x/100000)%4]
	r.nestedCall(who, nest, time.Duration(10+(x/400000)%190)*time.Millisecond, true)
}

// OnRecordDone records the outcome the hook saw; for records without a callback it may call
// the producer.
func (h *chaosHooks) OnRecordDone(md RecordMetadata, err error) {
	r := (*chaosRun)(h)
	t0 := time.Now()
	defer func() { r.userNanos.Add(int64(time.Since(t0))) }()
	id := int(md.Timestamp.Sub(tsBase) / time.Millisecond)
	r.mu.Lock()
	if id < 0 || id >= len(r.recs) {
		r.mu.Unlock()
		r.violate("one-outcome", nil, "OnRecordDone for a record never sent: %+v, %v", md, err)
		return
	}
	cr := r.recs[id]
	cr.hookCalls++
	if cr.hookCalls == 1 {
		cr.hookMD, cr.hookErr = md, err
		cr.doneAt = t0
	}
	nest, arg, first := cr.nest, cr.nestArg, cr.hookCalls == 1
	r.mu.Unlock()
	if first && nest != nestNone && cr.how != howCallback {
		r.nestedCall("OnRecordDone of record "+strconv.Itoa(id), nest, arg, false)
	}
}

// chaosLog is the producer's Config.Logger: its warnings (and with -chaos.v its debug
// lines) go to the run's trace.
type chaosLog chaosRun

func (h *chaosLog) Enabled(_ context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || *chaosVerbose && l >= slog.LevelDebug
}

func (h *chaosLog) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString("producer: ")
	b.WriteString(rec.Message)
	rec.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	r := (*chaosRun)(h)
	if rec.Message == "producer epoch bump needed" {
		r.bumps.Add(1)
	}
	r.tracef("%s", b.String())
	return nil
}

func (h *chaosLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *chaosLog) WithGroup(string) slog.Handler      { return h }
