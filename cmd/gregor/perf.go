package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gregor-kafka/producer"
)

const perfUsage = `Usage: gregor perf [flags]

Measures the producer like kafka-producer-perf-test: sends --num-records records as
fast as --throughput allows, prints a line every 5 s for the records acknowledged in
that window, and a final line for the whole run:

  N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency,
  P ms 50th, P ms 95th, P ms 99th, P ms 99.9th.

Latency runs from the send to the record's callback; percentiles are within 1%.
Without --bootstrap-server an embedded in-memory cluster is the target, so
'gregor perf' alone measures the client and the loopback. Lines go to stdout, errors
to stderr; the exit code is 1 if any record failed, 130 after Ctrl-C (which stops
sending, waits for the records already sent, and prints the final line for them).

Flags:
  -t, --topic TOPIC
        topic to produce to (default perf-test)
  --num-records N
        records to send (default 1000000)
  --record-size BYTES
        size of each record's value, random upper-case letters (default 100)
  --payload-file FILE
        take values at random from FILE, split at --payload-delimiter (instead of
        --record-size)
  --payload-delimiter DELIM
        delimiter of --payload-file (default \n; \n \r \t \0 \\ \xHH understood)
  --throughput RATE
        at most RATE records per second; -1 for no limit (default -1)
` + producerFlagsUsage + `
Examples:
  gregor perf
  gregor perf -b localhost:9092 --topic t --num-records 5000000 --record-size 1024 \
      --throughput -1 -X acks=1 -X linger.ms=10 -X compression.type=lz4
`

// perfDefaults are the producer properties perf sets unless told otherwise.
var perfDefaults = map[string]string{"client.id": "gregor-perf"}

// perfOpts are the flags of perf.
type perfOpts struct {
	topic       string
	numRecords  int64
	recordSize  int
	payloadFile string
	payloadSep  string
	throughput  float64
	pf          producerFlags
}

func (o *perfOpts) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("perf", flag.ContinueOnError)
	fs.StringVar(&o.topic, "t", "perf-test", "")
	fs.StringVar(&o.topic, "topic", "perf-test", "")
	fs.Int64Var(&o.numRecords, "num-records", 1_000_000, "")
	fs.IntVar(&o.recordSize, "record-size", 100, "")
	fs.StringVar(&o.payloadFile, "payload-file", "", "")
	fs.StringVar(&o.payloadSep, "payload-delimiter", `\n`, "")
	fs.Float64Var(&o.throughput, "throughput", -1, "")
	o.pf.register(fs)
	return fs
}

// perf is the perf command.
func (e *env) perf(ctx context.Context, args []string) int {
	o := &perfOpts{}
	fs := o.flagSet()
	if done, code := e.parseFlags(fs, perfUsage, "", args); done {
		return code
	}
	const name = "perf"
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case fs.NArg() > 0:
		return e.usageError(name, "unexpected argument %q", fs.Arg(0))
	case o.topic == "":
		return e.usageError(name, "--topic is empty")
	case o.numRecords <= 0:
		return e.usageError(name, "--num-records %d: must be positive", o.numRecords)
	case set["record-size"] && set["payload-file"]:
		return e.usageError(name, "give --record-size or --payload-file, not both")
	case o.recordSize <= 0:
		return e.usageError(name, "--record-size %d: must be positive", o.recordSize)
	case o.throughput == 0 || math.IsNaN(o.throughput) || math.IsInf(o.throughput, 0):
		return e.usageError(name, "--throughput %v: want a positive rate, or -1 for no limit", o.throughput)
	}
	var payloads [][]byte
	if o.payloadFile != "" {
		sep, err := unescape(o.payloadSep)
		if err != nil {
			return e.usageError(name, "--payload-delimiter: %v", err)
		}
		if sep == "" {
			return e.usageError(name, "--payload-delimiter is empty")
		}
		if payloads, err = readPayloads(o.payloadFile, sep); err != nil {
			e.stderr.printf("gregor perf: %v\n", err)
			return exitFailed
		}
		e.stderr.printf("gregor perf: %d payloads read from %s\n", len(payloads), o.payloadFile)
		o.recordSize = math.MaxInt
		for _, p := range payloads {
			o.recordSize = min(o.recordSize, len(p))
		}
	}

	t, code := e.newProducer(name, &o.pf, perfDefaults)
	if t == nil {
		return code
	}
	defer t.closeCluster()
	bufferMemory := t.cfg.BufferMemory
	if bufferMemory <= 0 {
		bufferMemory = producer.DefaultBufferMemory
	}
	r := newPerfRun(ctx, e, t.p, o.topic, o.numRecords, o.recordSize, payloads, o.throughput, bufferMemory)
	return r.run()
}

// readPayloads reads the non-empty payloads of path, split at sep.
func readPayloads(path, sep string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, p := range bytes.Split(data, []byte(sep)) {
		if len(p) > 0 {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no payload", path)
	}
	return out, nil
}

// perfRun is one run of the perf command. Each record in flight holds a slot, which
// carries its send time to its callback; slots and their callbacks are made once, so
// sending a record allocates nothing in the tool.
type perfRun struct {
	e          *env
	ctx        context.Context
	p          *producer.Producer
	topic      string
	numRecords int64
	throughput float64

	payloads [][]byte // from --payload-file, or nil
	value    []byte   // the random value, rewritten for each record
	rng      *rand.PCG

	base  time.Time // slot start times count from it
	slots []perfSlot
	free  chan int32 // indexes of free slots

	mu          sync.Mutex
	total       *histogram
	bytes       int64
	window      windowStats
	failed      int64
	interrupted int64
	shown       int // errors printed so far

	attempted atomic.Int64 // records handed to SendAsync
}

// perfSlot is one record in flight.
type perfSlot struct {
	start time.Duration // since base
	size  int
	cb    producer.Callback
}

// windowStats are the records acknowledged since the last progress line.
type windowStats struct {
	start     time.Time
	count     int64
	bytes     int64
	sumMicros uint64
	maxMicros uint64
}

// maxShownErrors bounds the per-record errors printed; the rest are only counted.
const maxShownErrors = 10

func newPerfRun(ctx context.Context, e *env, p *producer.Producer, topic string, numRecords int64, recordSize int,
	payloads [][]byte, throughput float64, bufferMemory int64) *perfRun {
	r := &perfRun{
		e: e, ctx: ctx, p: p, topic: topic, numRecords: numRecords, throughput: throughput,
		payloads: payloads,
		rng:      rand.NewPCG(0, 0), // fixed, as the Java tool's seed: runs send the same values
		total:    newHistogram(),
		base:     time.Now(),
	}
	if payloads == nil {
		r.value = make([]byte, recordSize)
	}
	// Records in flight are bounded by buffer.memory; beyond that many slots the producer
	// would block the sender anyway.
	n := bufferMemory/int64(recordSize+8) + 1
	n = min(max(n, 1024), 1<<20, numRecords)
	r.slots = make([]perfSlot, n)
	r.free = make(chan int32, n)
	for i := range r.slots {
		s, idx := &r.slots[i], int32(i)
		s.cb = func(_ producer.RecordMetadata, err error) { r.complete(s, idx, err) }
		r.free <- idx
	}
	return r
}

// run sends the records, waits for them and prints the final line.
func (r *perfRun) run() int {
	e := r.e
	start := time.Now()
	r.window.start = start
	stopReports := r.reportWindows()

	done := r.ctx.Done()
	var stopped error
	var throttle *time.Timer
	if r.throughput > 0 {
		throttle = time.NewTimer(time.Hour)
		defer throttle.Stop()
	}
send:
	for i := int64(0); i < r.numRecords; i++ {
		var idx int32
		select {
		case idx = <-r.free:
		case <-done:
			break send
		}
		select {
		case <-done:
			r.free <- idx
			break send
		default:
		}
		rec, cb := r.prepare(idx)
		r.attempted.Add(1)
		if err := r.p.SendAsync(r.ctx, rec, cb); err != nil && r.ctx.Err() == nil &&
			!errors.Is(err, producer.ErrRecordTooLarge) && !errors.Is(err, producer.ErrInvalidRecord) {
			stopped = err // metadata or buffer memory never came: the next records would wait as long
			break send
		}
		if throttle != nil {
			next := time.Duration(float64(i+1) * float64(time.Second) / r.throughput)
			if wait := next - time.Since(start); wait > time.Millisecond {
				throttle.Reset(wait)
				select {
				case <-throttle.C:
				case <-done:
					break send
				}
			}
		}
	}
	_ = r.p.Close(context.Background()) // waits for every record sent; delivery.timeout.ms bounds it
	elapsed := time.Since(start)
	stopReports()

	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintln(e.stdout, totalLine(r.total, r.bytes, elapsed))
	if stopped != nil {
		e.stderr.printf("gregor perf: stopped sending after %d of %d records: the next would fail the same way (%s)\n",
			r.attempted.Load(), r.numRecords, libError(stopped))
	}
	if r.failed > 0 {
		e.stderr.printf("gregor perf: %s failed\n", records(r.failed))
	}
	interrupted := r.ctx.Err() != nil
	if interrupted {
		e.stderr.printf("gregor perf: interrupted after sending %d of %d records\n", r.attempted.Load()-r.interrupted, r.numRecords)
	}
	switch {
	case r.failed > 0 || stopped != nil:
		return exitFailed
	case interrupted:
		return exitInterrupted
	}
	return exitOK
}

// prepare fills slot idx for the next record and returns the record and its callback.
func (r *perfRun) prepare(idx int32) (producer.Record, producer.Callback) {
	var value []byte
	if r.payloads != nil {
		value = r.payloads[r.rng.Uint64()%uint64(len(r.payloads))]
	} else {
		value = r.value
		fillLetters(value, r.rng)
	}
	s := &r.slots[idx]
	s.size = len(value)
	s.start = time.Since(r.base)
	return producer.Record{Topic: r.topic, Value: value}, s.cb
}

// fillLetters fills b with random upper-case letters, as kafka-producer-perf-test does, so
// that compression sees text-like data rather than one repeated value.
func fillLetters(b []byte, rng *rand.PCG) {
	for i := 0; i < len(b); i += 8 {
		x := rng.Uint64()
		for j := i; j < min(i+8, len(b)); j++ {
			b[j] = 'A' + byte(uint64(uint8(x))*26>>8)
			x >>= 8
		}
	}
}

// complete is the callback of slot s (index idx).
func (r *perfRun) complete(s *perfSlot, idx int32, err error) {
	micros := uint64(max(time.Since(r.base)-s.start, 0) / time.Microsecond)
	r.mu.Lock()
	switch {
	case err == nil:
		r.total.record(micros)
		r.bytes += int64(s.size)
		w := &r.window
		w.count++
		w.bytes += int64(s.size)
		w.sumMicros += micros
		w.maxMicros = max(w.maxMicros, micros)
	case r.ctx.Err() != nil && (errors.Is(err, producer.ErrClosed) || errors.Is(err, context.Canceled)):
		r.interrupted++
	default:
		r.failed++
		if r.shown < maxShownErrors {
			r.shown++
			r.e.stderr.printf("gregor perf: record failed: %s\n", libError(err))
			if r.shown == maxShownErrors {
				r.e.stderr.printf("gregor perf: further errors are counted, not shown\n")
			}
		}
	}
	r.mu.Unlock()
	r.free <- idx
}

// reportWindows prints a window line every e.reportEvery until the returned function is
// called.
func (r *perfRun) reportWindows() (stop func()) {
	every := r.e.reportEvery
	if every <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				r.mu.Lock()
				w := r.window
				r.window = windowStats{start: now}
				r.mu.Unlock()
				fmt.Fprintln(r.e.stdout, windowLine(w, now.Sub(w.start)))
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

const mib = 1024 * 1024

// windowLine formats a progress line as kafka-producer-perf-test does.
func windowLine(w windowStats, elapsed time.Duration) string {
	secs := elapsed.Seconds()
	avg := 0.0
	if w.count > 0 {
		avg = float64(w.sumMicros) / float64(w.count) / 1000
	}
	return fmt.Sprintf("%d records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency.",
		w.count, float64(w.count)/secs, float64(w.bytes)/secs/mib, avg, float64(w.maxMicros)/1000)
}

// totalLine formats the final line as kafka-producer-perf-test does, with the latencies
// in milliseconds to the microsecond.
func totalLine(h *histogram, bytes int64, elapsed time.Duration) string {
	secs := elapsed.Seconds()
	ms := func(micros uint64) float64 { return float64(micros) / 1000 }
	return fmt.Sprintf("%d records sent, %.1f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, "+
		"%.2f ms 50th, %.2f ms 95th, %.2f ms 99th, %.2f ms 99.9th.",
		h.n, float64(h.n)/secs, float64(bytes)/secs/mib, h.mean()/1000, ms(h.max),
		ms(h.percentile(0.5)), ms(h.percentile(0.95)), ms(h.percentile(0.99)), ms(h.percentile(0.999)))
}
