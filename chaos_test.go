package producer

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/compress"
	"github.com/gregor-kafka/producer/internal/testutil"
	"github.com/gregor-kafka/producer/kafkatest"
)

// TestChaos runs the whole producer against kafkatest under randomized, seeded schedules of
// faults and calls, and judges each run with invariants (chaos_oracle_test.go). Every random
// choice of a schedule derives from its seed (math/rand/v2 PCG streams), so a seed replays
// the same plan, the same faults in the same order and the same calls; goroutine timing
// still varies, so a replay meets the same situations, not always the same interleavings.
//
// CI runs chaosCISeeds. Longer runs:
//
//	go test -race -run TestChaos -chaos.seeds 200            # 200 schedules from a random base
//	go test -race -run TestChaos -chaos.duration 10m         # as many as fit in 10 minutes
//	go test -race -run TestChaos -chaos.seed 1234            # replay one
//	go test -race -run TestChaos -chaos.strict               # knownDefects excuse nothing
//
// -chaos.mode and -chaos.profile pin the producer mode and the fault profile, -chaos.v logs
// every schedule's trace, -chaos.run sets the length of the chaos phase.
func TestChaos(t *testing.T) {
	seeds := chaosSeedList(t)
	deadline := time.Time{}
	if *chaosDuration > 0 {
		deadline = time.Now().Add(*chaosDuration)
	}
	var failed []string
	tally := &chaosTally{excused: map[string]int{}, violated: map[string]int{}, modes: map[string]int{}}
	start := time.Now()
	for i := 0; ; i++ {
		var seed uint64
		switch {
		case i < len(seeds):
			seed = seeds[i]
		case !deadline.IsZero() && time.Now().Before(deadline):
			seed = seeds[len(seeds)-1] + uint64(i-len(seeds)+1)
		default:
			i = -1
		}
		if i < 0 {
			break
		}
		plan := newChaosPlan(seed)
		ok := t.Run(plan.name(), func(t *testing.T) { runChaos(t, plan, tally) })
		if !ok {
			failed = append(failed, fmt.Sprintf("%d (%s)", seed, plan.name()))
			t.Logf("replay: go test -race -run TestChaos -chaos.seed %d%s", seed, plan.flags())
		}
	}
	t.Logf("chaos: %d schedules in %v (%s); violations excused by known defects: %s; failing: %s",
		tally.runs, time.Since(start).Round(time.Millisecond), defectList(tally.modes), orNone(defectList(tally.excused)), orNone(defectList(tally.violated)))
	if len(failed) > 0 {
		t.Logf("failing seeds: %s", strings.Join(failed, ", "))
	}
}

// chaosCISeeds is the set CI runs: two schedules per mode (the mode is the seed modulo 4),
// covering the three fault profiles. About a minute under -race on two shared cores.
var chaosCISeeds = []uint64{56, 29, 22, 87, 39, 16, 25, 14, 11, 38, 4}

var (
	chaosSeeds    = flag.Int("chaos.seeds", 0, "TestChaos: run this many schedules, seeds from -chaos.base on")
	chaosBase     = flag.Uint64("chaos.base", 0, "TestChaos: first seed of -chaos.seeds and -chaos.duration (0: from the clock)")
	chaosDuration = flag.Duration("chaos.duration", 0, "TestChaos: run schedules until this much time has passed")
	chaosSeed     = flag.String("chaos.seed", "", "TestChaos: replay these seeds (comma-separated)")
	chaosModeFlag = flag.String("chaos.mode", "", "TestChaos: only this producer mode: idempotent, plain, txn-v1, txn-v2")
	chaosProfFlag = flag.String("chaos.profile", "", "TestChaos: only this fault profile: mixed, retriable, unreachable")
	chaosRunFlag  = flag.Duration("chaos.run", 0, "TestChaos: length of each schedule's chaos phase (default: from the seed, 1.2-2.2 s)")
	chaosVerbose  = flag.Bool("chaos.v", false, "TestChaos: log every schedule's trace")
	chaosStrict   = flag.Bool("chaos.strict", false, "TestChaos: knownDefects excuse nothing")
	chaosSlack    = flag.Duration("chaos.slack", 2*time.Second, "TestChaos: how late a bounded call may return (scheduling on a loaded machine)")
)

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// chaosSeedList returns the seeds the flags ask for.
func chaosSeedList(t *testing.T) []uint64 {
	if *chaosSeed != "" {
		var out []uint64
		for _, f := range strings.Split(*chaosSeed, ",") {
			var s uint64
			if _, err := fmt.Sscan(strings.TrimSpace(f), &s); err != nil {
				t.Fatalf("-chaos.seed %q: %v", f, err)
			}
			out = append(out, s)
		}
		return out
	}
	if *chaosSeeds == 0 && *chaosDuration == 0 {
		if testing.Short() {
			return chaosCISeeds[:4]
		}
		return chaosCISeeds
	}
	base := *chaosBase
	if base == 0 {
		base = uint64(time.Now().UnixNano()) % 1e9
	}
	t.Logf("chaos: seeds from %d", base)
	n := max(*chaosSeeds, 1)
	out := make([]uint64, n)
	for i := range out {
		out[i] = base + uint64(i)
	}
	return out
}

// chaosMode is the kind of producer under test.
type chaosMode int

const (
	chaosIdempotent chaosMode = iota // enable.idempotence, acks=all (the default)
	chaosPlain                       // acks=1 (or, in one plan of three, 0) without idempotence: duplicates allowed
	chaosTxnV1                       // transactional, AddPartitionsToTxn (Kafka 3.x)
	chaosTxnV2                       // transactional, KIP-890 transactions V2 (Kafka 4)
)

var chaosModeNames = [...]string{"idempotent", "plain", "txn-v1", "txn-v2"}

func (m chaosMode) String() string { return chaosModeNames[m] }
func (m chaosMode) txn() bool      { return m == chaosTxnV1 || m == chaosTxnV2 }
func (m chaosMode) idem() bool     { return m != chaosPlain }

// chaosProfile is the kind of faults a schedule injects, and so which invariants apply.
type chaosProfile int

const (
	// profileMixed injects every kind of fault, fatal-to-the-record errors included, and
	// makes the calls that fail records (too large, explicit partitions, early Close):
	// safety invariants only, plus recovery once the faults are gone.
	profileMixed chaosProfile = iota
	// profileRetriable injects only faults a producer must ride out (retriable errors, late,
	// lost and dropped answers, leader and coordinator moves, brokers restarting, partitions
	// added) with time to do it: every record must succeed and every commit too.
	profileRetriable
	// profileUnreachable stops brokers (and stalls dials) with retries=2: nothing was sent to
	// a broker that cannot be reached, so no record may fail.
	profileUnreachable
)

var chaosProfileNames = [...]string{"mixed", "retriable", "unreachable"}

func (p chaosProfile) String() string { return chaosProfileNames[p] }

// chaosPlan is everything a seed decides before the run starts.
type chaosPlan struct {
	seed    uint64
	mode    chaosMode
	profile chaosProfile
	length  time.Duration // of the chaos phase
	streams int           // sending goroutines
	cfg     Config        // without BootstrapServers

	nestRate       float64       // how often a callback or hook calls the producer
	earlyClose     time.Duration // a stream closes the producer this far into the chaos phase; 0 never
	earlyCloseCtx  time.Duration // its deadline; 0 none
	callbackClose  bool          // one callback closes the producer
	shortEnds      int           // percent of commits and aborts given a deadline shorter than they may need
	finalCloseCtx  time.Duration // the last Close's deadline; 0 none
	tooLarge       bool          // some records exceed max.request.size
	explicitParts  bool          // some records name their partition
	pacePerSend    time.Duration // mean pause between a stream's calls
	faultEvery     time.Duration // mean time between fault actions
	maxPartitions  int32         // CreatePartitions stops here
	recreateShrink bool          // a recreated topic may have fewer partitions
	closeInDial    bool          // the final Close comes while a dial hangs (request.timeout.ms 4 s)
	// fatalAt, when not 0, is when a transactional producer meets a fatal error: a second
	// producer with its transactional.id fences it. An idempotent producer meets its fatal
	// error at the start: InitProducerId answers CLUSTER_AUTHORIZATION_FAILED.
	fatalAt time.Duration
	// markerDelay is how long after EndTxn the coordinator writes the markers
	// (kafkatest.MarkerDelay).
	markerDelay time.Duration
	// offsets is the percentage of transactions that also commit consumer offsets
	// (SendOffsetsToTransaction), at a random time, sometimes while the transaction ends.
	offsets int
}

func (pl chaosPlan) name() string {
	return fmt.Sprintf("seed=%d/%s/%s", pl.seed, pl.mode, pl.profile)
}

// flags returns the flags that pin what the seed alone would not reproduce.
func (pl chaosPlan) flags() string {
	var b strings.Builder
	if *chaosModeFlag != "" {
		fmt.Fprintf(&b, " -chaos.mode %s", *chaosModeFlag)
	}
	if *chaosProfFlag != "" {
		fmt.Fprintf(&b, " -chaos.profile %s", *chaosProfFlag)
	}
	if *chaosRunFlag != 0 {
		fmt.Fprintf(&b, " -chaos.run %v", *chaosRunFlag)
	}
	if *chaosStrict {
		b.WriteString(" -chaos.strict")
	}
	return b.String()
}

// chaosRNG returns the random stream number stream of seed. Each goroutine of a run draws
// from its own stream, so that the choices of one do not depend on the timing of another.
func chaosRNG(seed, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x5eed0000+stream))
}

// Random streams of a run.
const (
	rngPlan = iota
	rngChaos
	rngDriver
	rngHealth
	rngStream // + stream index
)

// rngMarkers is the stream of the plan's marker delay: apart from rngPlan, so that adding it
// left every other choice of a seed as it was. The later streams likewise: the plan's
// share of transactions with offsets, the driver's choices of when, the chaos goroutine's
// choice of offsets faults, of brokers replaced (back at a new address), the driver's
// concurrent ends, the plan's idle and availability timeouts, and acks=0.
const (
	rngMarkers = 1<<16 + iota
	rngOffsetsPlan
	rngOffsetsDriver
	rngOffsetsFaults
	rngReplace
	rngEnds
	rngIdle
	rngAcks
)

func newChaosPlan(seed uint64) chaosPlan {
	rng := chaosRNG(seed, rngPlan)
	ms := func(lo, hi int) time.Duration { return time.Duration(lo+rng.IntN(hi-lo+1)) * time.Millisecond }
	pl := chaosPlan{seed: seed, mode: chaosMode(seed % 4)}
	switch x := rng.IntN(100); {
	case x < 55:
		pl.profile = profileMixed
	case x < 85:
		pl.profile = profileRetriable
	default:
		pl.profile = profileUnreachable
	}
	// Every draw is made whatever the flags and the profile say, so that a flag changes
	// only what it names.
	pl.length = ms(1200, 2200)
	pl.streams = 2 + rng.IntN(3)
	cfg := Config{
		ClientID:        "chaos",
		Linger:          []time.Duration{-1, time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond}[rng.IntN(4)],
		BatchSize:       []int{512, 4096, 16384}[rng.IntN(3)],
		RetryBackoff:    ms(2, 30),
		RetryBackoffMax: ms(50, 400),
		RequestTimeout:  ms(400, 1500),
		MaxBlock:        ms(200, 2000),
		BufferMemory:    []int64{32 << 20, 1 << 20, 192 << 10}[rng.IntN(3)],
		MaxInFlight:     1 + rng.IntN(5),
		Compression:     []compress.Codec{compress.None, compress.None, compress.None, compress.LZ4, compress.Zstd, compress.Snappy, compress.Gzip}[rng.IntN(7)],
		MetadataMaxAge:  ms(200, 600),
		MaxRequestSize:  256 << 10,
	}
	retries := rng.IntN(10)
	if retries < 6 {
		retries = 0 // the default
	}
	cfg.Retries = retries
	cfg.DeliveryTimeout = max(cfg.Linger, 0) + cfg.RequestTimeout + ms(0, 2500)
	// Timeouts that make state come and go within a run: idle connections closed, topics
	// left out of metadata requests, partitions left out by the partitioner.
	irng := chaosRNG(seed, rngIdle)
	cfg.ConnectionsMaxIdle = []time.Duration{0, 0, 50 * time.Millisecond, 200 * time.Millisecond}[irng.IntN(4)]
	cfg.MetadataMaxIdle = []time.Duration{0, 0, 100 * time.Millisecond, 400 * time.Millisecond}[irng.IntN(4)]
	cfg.PartitionerAvailabilityTimeout = []time.Duration{0, 0, 20 * time.Millisecond, 150 * time.Millisecond}[irng.IntN(4)]
	pl.nestRate = []float64{0, 0.002, 0.01, 0.05}[rng.IntN(4)]
	early := rng.IntN(100)
	pl.earlyClose = time.Duration(float64(pl.length) * (0.2 + 0.7*rng.Float64()))
	pl.earlyCloseCtx = []time.Duration{0, 50 * time.Millisecond, 300 * time.Millisecond}[rng.IntN(3)]
	if early >= 15 {
		pl.earlyClose = 0
	}
	pl.callbackClose = rng.IntN(100) < 15
	pl.shortEnds = []int{0, 5, 20}[rng.IntN(3)]
	pl.finalCloseCtx = []time.Duration{0, 0, 100 * time.Millisecond, time.Second}[rng.IntN(4)]
	pl.tooLarge = rng.IntN(2) == 0
	pl.explicitParts = rng.IntN(3) != 0
	pl.pacePerSend = time.Duration(200+rng.IntN(800)) * time.Microsecond
	pl.faultEvery = ms(30, 120)
	pl.maxPartitions = int32(4 + rng.IntN(3))
	pl.recreateShrink = rng.IntN(4) != 0
	pl.closeInDial = rng.IntN(4) == 0
	pl.fatalAt = time.Duration(float64(pl.length) * (0.1 + 0.4*rng.Float64()))
	if rng.IntN(100) >= 12 || pl.mode == chaosPlain {
		pl.fatalAt = 0
	}

	if *chaosModeFlag != "" {
		for m, n := range chaosModeNames {
			if n == *chaosModeFlag {
				pl.mode = chaosMode(m)
			}
		}
	}
	if *chaosProfFlag != "" {
		for p, n := range chaosProfileNames {
			if n == *chaosProfFlag {
				pl.profile = chaosProfile(p)
			}
		}
	}
	if *chaosRunFlag > 0 {
		pl.earlyClose = time.Duration(float64(pl.earlyClose) * float64(*chaosRunFlag) / float64(pl.length))
		pl.length = *chaosRunFlag
	}

	switch pl.mode {
	case chaosIdempotent:
		cfg.Idempotence = Enabled
	case chaosPlain:
		cfg.Idempotence, cfg.Acks = Disabled, AcksLeader
		if chaosRNG(seed, rngAcks).IntN(3) == 0 {
			cfg.Acks = AcksNone // sent is written: no answer, no offset, maybe lost
		}
	default:
		cfg.TransactionalID = fmt.Sprintf("chaos-%d", seed)
		cfg.MaxInFlight = min(cfg.MaxInFlight, 5)
	}
	if pl.profile != profileMixed {
		// Time enough to ride out every fault: nothing may fail.
		cfg.DeliveryTimeout = 10 * time.Second
		cfg.MaxBlock = 10 * time.Second
		cfg.BufferMemory = 32 << 20
		cfg.Retries = 0
		cfg.RequestTimeout = min(cfg.RequestTimeout, time.Second)
		pl.earlyClose, pl.callbackClose, pl.shortEnds, pl.tooLarge, pl.closeInDial, pl.fatalAt = 0, false, 0, false, false, 0
	}
	if pl.closeInDial {
		// A hung dial lasts request.timeout.ms: longer than the slack, so that a Close that
		// waits for it shows.
		cfg.RequestTimeout = 4 * time.Second
		cfg.DeliveryTimeout = max(cfg.DeliveryTimeout, max(cfg.Linger, 0)+cfg.RequestTimeout)
		pl.finalCloseCtx = 100 * time.Millisecond
	}
	if pl.profile == profileUnreachable {
		cfg.Retries = 2
	}
	pl.cfg = cfg
	if pl.mode.txn() {
		// Kafka's coordinator writes a transaction's markers after answering its EndTxn: in
		// two runs of three here too, for up to 40 ms.
		mrng := chaosRNG(seed, rngMarkers)
		switch mrng.IntN(3) {
		case 1:
			pl.markerDelay = time.Duration(1+mrng.IntN(5)) * time.Millisecond
		case 2:
			pl.markerDelay = time.Duration(5+mrng.IntN(36)) * time.Millisecond
		}
		pl.offsets = []int{0, 50, 90}[chaosRNG(seed, rngOffsetsPlan).IntN(3)]
	}
	return pl
}

// chaosTally sums up the runs of one TestChaos.
type chaosTally struct {
	mu       sync.Mutex
	runs     int
	modes    map[string]int
	excused  map[string]int // by defect
	violated map[string]int // by invariant
}

// Topics of a run: a and b may gain partitions and be deleted and created again; s is never
// touched, so that the checks after the faults have a topic that only the producer can fail.
const (
	chaosTopicA = "chaos-a"
	chaosTopicB = "chaos-b"
	chaosTopicS = "chaos-s"
)

// runChaos runs one schedule and checks it.
func runChaos(t *testing.T, plan chaosPlan, tally *chaosTally) {
	testutil.CheckNoLeaks(t) // registered first: runs after the cluster and producer are gone
	c, err := kafkatest.NewCluster(
		kafkatest.AutoCreateTopics(false),
		kafkatest.TransactionsV2(plan.mode == chaosTxnV2),
		kafkatest.MarkerDelay(plan.markerDelay),
		kafkatest.SeedTopic(chaosTopicA, 3),
		kafkatest.SeedTopic(chaosTopicB, 2),
		kafkatest.SeedTopic(chaosTopicS, 2),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	r := newChaosRun(t, plan, c)
	if plan.fatalAt > 0 && plan.mode == chaosIdempotent {
		r.refuseProducerID()
	}
	cfg := plan.cfg
	cfg.BootstrapServers = c.Addrs()
	cfg.Hooks = (*chaosHooks)(r)
	cfg.Logger = slog.New((*chaosLog)(r))
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	r.p = p
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	t.Logf("plan: %s", r.describePlan())

	watchdogDone := make(chan struct{})
	go r.watchdog(watchdogDone)
	defer close(watchdogDone)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if plan.mode.txn() {
		ictx, icancel := context.WithTimeout(ctx, 20*time.Second)
		err := p.InitTransactions(ictx)
		icancel()
		if err != nil {
			t.Fatalf("InitTransactions before any fault: %v", err)
		}
	}
	r.tracef("chaos phase starts")
	pollCtx, stopPoll := context.WithCancel(ctx)
	pollDone := make(chan struct{})
	go func() { defer close(pollDone); r.pollRefreshes(pollCtx) }()
	defer func() { stopPoll(); <-pollDone }()
	var workers sync.WaitGroup
	workers.Add(1)
	go func() { defer workers.Done(); r.chaos() }()
	driverDone := make(chan struct{})
	if plan.mode.txn() {
		go func() { defer close(driverDone); r.txnDriver() }()
	} else {
		close(driverDone)
	}
	for k := 0; k < plan.streams; k++ {
		workers.Add(1)
		go func() { defer workers.Done(); r.stream(ctx, k) }()
	}
	timer := time.NewTimer(plan.length)
	<-timer.C
	r.tracef("chaos phase ends")
	close(r.stopping)
	r.waitStreams(&workers, cancel)
	// The chaos goroutine removed every fault, restarted the brokers and recreated deleted
	// topics before returning: from here the cluster is healthy.
	r.tracef("faults cleared")
	r.mu.Lock()
	r.clearedAt = time.Now()
	r.mu.Unlock()
	close(r.cleared)
	<-driverDone
	if !plan.mode.txn() {
		r.healthPlain()
	}
	r.placementProbe()
	if plan.closeInDial {
		r.stallDials()
	}
	r.finalClose()
	r.c.WriteMarkers() // what the coordinator still holds back is decided: settle it
	r.collect()
	r.check()
	r.report(tally)
}

// waitStreams waits for the stream and chaos goroutines, then cancels their context.
func (r *chaosRun) waitStreams(wg *sync.WaitGroup, cancel context.CancelFunc) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	<-done // the watchdog reports a stream that never returns
	cancel()
}

// newChaosRun prepares the state of one run.
func newChaosRun(t *testing.T, plan chaosPlan, c *kafkatest.Cluster) *chaosRun {
	r := &chaosRun{
		t:        t,
		plan:     plan,
		c:        c,
		slack:    *chaosSlack,
		stopping: make(chan struct{}),
		cleared:  make(chan struct{}),
		topics:   map[string]*chaosTopic{},
		calls:    map[*chaosCall]bool{},
		gate:     newTxnGate(),
		start:    time.Now(), // before the producer, whose logger reads it
	}
	for _, name := range []string{chaosTopicA, chaosTopicB, chaosTopicS} {
		id, _ := c.TopicID(name)
		r.topics[name] = &chaosTopic{name: name, count: int32(c.Partitions(name)), incarnations: []chaosIncarnation{{id: id, partitions: int32(c.Partitions(name))}}}
	}
	return r
}

// describePlan returns the plan in one line.
func (r *chaosRun) describePlan() string {
	pl, c := r.plan, r.plan.cfg
	return fmt.Sprintf("%s, %d streams for %v; acks %v linger %v batch %d retries %d backoff %v-%v request.timeout %v delivery.timeout %v max.block %v buffer %d in-flight %d %v metadata.max.age %v metadata.max.idle %v connections.max.idle %v availability %v; nest %.3f early close %v (ctx %v) callback close %v short ends %d%% final close ctx %v too-large %v explicit %v close in dial %v fatal at %v marker delay %v offsets %d%%",
		pl.name(), pl.streams, pl.length, c.Acks, c.Linger, c.BatchSize, c.Retries, c.RetryBackoff, c.RetryBackoffMax, c.RequestTimeout, c.DeliveryTimeout,
		c.MaxBlock, c.BufferMemory, c.MaxInFlight, c.Compression, c.MetadataMaxAge, c.MetadataMaxIdle, c.ConnectionsMaxIdle, c.PartitionerAvailabilityTimeout, pl.nestRate, pl.earlyClose, pl.earlyCloseCtx, pl.callbackClose,
		pl.shortEnds, pl.finalCloseCtx, pl.tooLarge, pl.explicitParts, pl.closeInDial, pl.fatalAt, pl.markerDelay, pl.offsets)
}

// tracef notes an event of the run, for the log of a failing seed.
func (r *chaosRun) tracef(format string, args ...any) {
	at := time.Duration(0)
	if !r.start.IsZero() {
		at = time.Since(r.start)
	}
	line := fmt.Sprintf("%8.3fs %s", at.Seconds(), fmt.Sprintf(format, args...))
	r.mu.Lock()
	r.trace = append(r.trace, line)
	r.mu.Unlock()
}

// pollRefreshes follows Stats().MetadataRefreshes, so that the oracle knows which sends
// came after the producer had fetched metadata at least once since a topic changed.
func (r *chaosRun) pollRefreshes(ctx context.Context) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		r.refreshes.Store(r.p.Stats().MetadataRefreshes)
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// watchdog reports a call that never returns: it prints the trace and every goroutine's
// stack and panics, since a hung producer cannot be cleaned up.
func (r *chaosRun) watchdog(done <-chan struct{}) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	const hang = 15 * time.Second
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		r.mu.Lock()
		var stuck *chaosCall
		for call := range r.calls {
			if time.Since(call.start) > call.limit+hang {
				stuck = call
			}
		}
		r.mu.Unlock()
		if stuck == nil {
			continue
		}
		buf := make([]byte, 8<<20)
		buf = buf[:runtime.Stack(buf, true)]
		hint := ""
		switch stacks := string(buf); {
		case strings.Contains(stacks, "(*chaosHooks).OnBatchDone") && strings.Contains(stacks, "nestedCall"):
			hint = " (a producer call from OnBatchDone, under the partition lock: issue 16 defect 7)"
		case strings.Contains(stacks, "nestedCall") && strings.Contains(stacks, "closeProducer"):
			hint = " (Close from a callback: issue 16 defect 6)"
		}
		fmt.Fprintf(os.Stderr, "\nTestChaos %s: %s from %s has not returned after %v (bound %v)%s\nreplay: go test -race -run TestChaos -chaos.seed %d%s\ntrace:\n%s\n\ngoroutines:\n%s\n",
			r.plan.name(), stuck.what, stuck.who, time.Since(stuck.start).Round(time.Millisecond), stuck.limit, hint, r.plan.seed, r.plan.flags(),
			strings.Join(r.lastTrace(400), "\n"), buf)
		panic(fmt.Sprintf("TestChaos %s: %s from %s hangs%s", r.plan.name(), stuck.what, stuck.who, hint))
	}
}

func (r *chaosRun) lastTrace(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	tr := r.trace
	if len(tr) > n {
		tr = append([]string{fmt.Sprintf("... %d earlier events", len(tr)-n)}, tr[len(tr)-n:]...)
	}
	return append([]string(nil), tr...)
}

// chaosCall is a producer call in progress, for the bound checks and the watchdog.
type chaosCall struct {
	who, what string
	start     time.Time
	limit     time.Duration // bound plus slack, before time spent in callbacks
}

// bounded runs fn, a producer call that must return within bound (plus slack and the time
// spent meanwhile in our callbacks and hooks), and reports a violation naming defects
// otherwise. A bound of 0 is checked only by the watchdog.
func (r *chaosRun) bounded(who, what string, bound time.Duration, defects []string, fn func() error) error {
	call := &chaosCall{who: who, what: what, start: time.Now(), limit: bound + r.slack}
	r.mu.Lock()
	r.calls[call] = true
	r.mu.Unlock()
	user := r.userNanos.Load()
	err := fn()
	took := time.Since(call.start)
	r.mu.Lock()
	delete(r.calls, call)
	r.mu.Unlock()
	if bound > 0 {
		inUser := time.Duration(r.userNanos.Load() - user)
		if took > call.limit+inUser {
			r.violate("bounded-calls", defects, "%s from %s took %v: its bound is %v (+%v slack, +%v in callbacks meanwhile); it returned %v",
				what, who, took.Round(time.Millisecond), bound, r.slack, inUser.Round(time.Millisecond), err)
		}
	}
	return err
}

// stream is one goroutine calling the producer at random until the chaos phase ends.
func (r *chaosRun) stream(ctx context.Context, k int) {
	rng := chaosRNG(r.plan.seed, rngStream+uint64(k))
	who := fmt.Sprintf("stream %d", k)
	seq := 0
	var futures []*chaosRecord
	closer := r.plan.earlyClose > 0 && k == 0
	for {
		select {
		case <-r.stopping:
			return
		default:
		}
		if r.plan.mode.txn() && rng.IntN(10) != 0 && !r.gate.wait(r.stopping) {
			return
		}
		if closer && time.Since(r.start) >= r.plan.earlyClose {
			closer = false
			r.closeProducer(who, r.plan.earlyCloseCtx)
		}
		if r.closed.Load() {
			// Calls still go on, refused with ErrClosed, but slower.
			time.Sleep(time.Millisecond)
		}
		switch x := rng.IntN(1000); {
		case x < 880:
			cr, rec := r.newRecord(rng, k, seq, "stream")
			seq++
			r.send(ctx, who, cr, rec)
			if cr.how == howFuture && rng.IntN(8) == 0 {
				futures = append(futures, cr)
			}
		case x < 930:
			if len(futures) > 0 {
				cr := futures[0]
				futures = futures[1:]
				r.waitFuture(who, cr)
			}
		case x < 965:
			d := time.Duration(5+rng.IntN(500)) * time.Millisecond
			if rng.IntN(6) == 0 {
				d = 0
			}
			r.flush(who, d)
		default:
			st := r.p.Stats()
			if st.BufferedBytes < 0 || st.RecordsSent < 0 || st.RecordsFailed < 0 {
				r.violate("stats", nil, "Stats from %s: %+v", who, st)
			}
		}
		if pause := r.plan.pacePerSend; pause > 0 && rng.IntN(2) == 0 {
			time.Sleep(time.Duration(rng.Int64N(int64(2 * pause))))
		}
	}
}

// flush calls Flush with a deadline d from now (none for 0) and checks its bound.
func (r *chaosRun) flush(who string, d time.Duration) {
	ctx := context.Background()
	bound := r.plan.cfg.DeliveryTimeout + r.plan.cfg.RequestTimeout + r.plan.cfg.RetryBackoffMax
	if d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
		bound = d
	}
	_ = r.bounded(who, fmt.Sprintf("Flush(deadline %v)", d), bound, nil, func() error { return r.p.Flush(ctx) })
}

// waitFuture waits for a record's Future: it must complete within delivery.timeout.ms.
func (r *chaosRun) waitFuture(who string, cr *chaosRecord) {
	r.mu.Lock()
	f := cr.fut
	r.mu.Unlock()
	if f == nil {
		return
	}
	bound := r.plan.cfg.DeliveryTimeout + r.plan.cfg.RequestTimeout + r.plan.cfg.RetryBackoffMax
	ctx, cancel := context.WithTimeout(context.Background(), bound+r.slack)
	defer cancel()
	_ = r.bounded(who, fmt.Sprintf("Future.Get of record %d", cr.id), bound, nil, func() error {
		_, err := f.Get(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("record %d: no outcome within delivery.timeout.ms", cr.id)
		}
		return nil
	})
}

// closeProducer closes the producer with a deadline d from now (none for 0).
func (r *chaosRun) closeProducer(who string, d time.Duration) {
	ctx := context.Background()
	bound := r.plan.cfg.DeliveryTimeout + r.plan.cfg.RequestTimeout + r.plan.cfg.RetryBackoffMax
	if d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
		bound = d
	}
	r.mu.Lock()
	if r.closeAt.IsZero() {
		r.closeAt = time.Now()
	}
	r.mu.Unlock()
	r.closed.Store(true)
	r.closing.Add(1)
	defer r.closing.Add(-1)
	r.tracef("%s: Close(deadline %v)", who, d)
	err := r.bounded(who, fmt.Sprintf("Close(deadline %v)", d), bound, []string{"12"}, func() error { return r.p.Close(ctx) })
	r.tracef("%s: Close returned %v", who, err)
}

// finalClose closes the producer at the end of the run, unless a stream or callback did.
func (r *chaosRun) finalClose() {
	if r.closed.Load() {
		r.tracef("final Close: already closed")
	}
	r.closeProducer("main", r.plan.finalCloseCtx)
	// A Close from a stream or a callback may still be delivering outcomes: wait for it.
	deadline := time.Now().Add(r.plan.cfg.DeliveryTimeout + 2*r.slack)
	for r.closing.Load() > 0 || r.nested.Load() > 0 {
		if time.Now().After(deadline) {
			r.violate("bounded-calls", []string{"6"}, "a Close or a call from a callback is still running %v after the final Close", r.plan.cfg.DeliveryTimeout+2*r.slack)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// report logs the run's summary and excused violations, fails the test with the others, and
// adds the run to tally.
func (r *chaosRun) report(tally *chaosTally) {
	r.mu.Lock()
	viols := append([]chaosViolation(nil), r.viols...)
	r.mu.Unlock()
	sort.SliceStable(viols, func(i, j int) bool { return viols[i].inv < viols[j].inv })
	excused := map[string]int{}
	var failing []chaosViolation
	for _, v := range viols {
		if v.excusedBy != "" {
			excused[v.excusedBy]++
		} else {
			failing = append(failing, v)
		}
	}
	tally.mu.Lock()
	tally.runs++
	tally.modes[r.plan.mode.String()+"/"+r.plan.profile.String()]++
	for d, n := range excused {
		tally.excused[d] += n
	}
	for _, v := range failing {
		tally.violated[v.inv]++
	}
	tally.mu.Unlock()

	t := r.t
	t.Logf("%s", r.summary())
	if len(excused) > 0 {
		t.Logf("violations excused by known defects: %s", defectList(excused))
		shown := map[string]int{}
		for _, v := range viols {
			if v.excusedBy != "" && shown[v.excusedBy] < 3 {
				shown[v.excusedBy]++
				t.Logf("  known defect %s: [%s] %s", v.excusedBy, v.inv, v.msg)
			}
		}
	}
	if len(failing) > 0 || *chaosVerbose {
		t.Logf("trace:\n%s", strings.Join(r.lastTrace(600), "\n"))
	}
	for i, v := range failing {
		if i == 40 {
			t.Errorf("... and %d more violations", len(failing)-i)
			break
		}
		t.Errorf("[%s] %s", v.inv, v.msg)
	}
}

// txnGate tells the streams of a transactional run when a transaction is open.
type txnGate struct {
	mu   sync.Mutex
	open bool
	ch   chan struct{} // closed while open
}

func newTxnGate() *txnGate { return &txnGate{ch: make(chan struct{})} }

func (g *txnGate) set(open bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if open == g.open {
		return
	}
	g.open = open
	if open {
		close(g.ch)
	} else {
		g.ch = make(chan struct{})
	}
}

// wait waits until the gate is open; false when stop came first.
func (g *txnGate) wait(stop <-chan struct{}) bool {
	g.mu.Lock()
	ch := g.ch
	g.mu.Unlock()
	select {
	case <-ch:
		return true
	case <-stop:
		return false
	}
}
