package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"
)

// Result is what one run of one client on one scenario measured. benchclient prints it as
// JSON; benchrun adds the process figures (CPU, RSS) and the sink's count.
type Result struct {
	Client   string `json:"client"`
	Scenario string `json:"scenario"`
	// Run numbers the runs of one benchmark from 1; the table's ratios compare results of
	// the same run.
	Run int `json:"run,omitempty"`
	// Unavailable says why the client could not run in this build; nothing else is set.
	Unavailable string `json:"unavailable,omitempty"`
	// Records is how many records the measured phase sent (the raw baseline rounds up to
	// whole requests).
	Records int64 `json:"records"`
	// Acked and Failed count the outcomes of those records.
	Acked  int64 `json:"acked"`
	Failed int64 `json:"failed"`
	// Error is the first error met, if any.
	Error string `json:"error,omitempty"`
	// AcksObserved is false for fire-and-forget clients, whose Acked is Records once a
	// flush succeeded.
	AcksObserved bool `json:"acks_observed"`
	// PayloadBytes is the key and value bytes of the records sent.
	PayloadBytes int64 `json:"payload_bytes"`
	// ElapsedNs is the measured phase's wall time: from the first send to the last
	// acknowledgement.
	ElapsedNs int64 `json:"elapsed_ns"`
	// EnqueueNs is how long the sends took before the flush (throughput runs).
	EnqueueNs int64 `json:"enqueue_ns"`
	// Mallocs and AllocBytes are the Go heap allocations of the measured phase (cgo
	// allocations are not seen).
	Mallocs    uint64 `json:"mallocs"`
	AllocBytes uint64 `json:"alloc_bytes"`
	// Latency percentiles of a latency run, in ns.
	P50Ns  int64 `json:"p50_ns,omitempty"`
	P99Ns  int64 `json:"p99_ns,omitempty"`
	P999Ns int64 `json:"p999_ns,omitempty"`
	MaxNs  int64 `json:"max_ns,omitempty"`

	// SetupCPUNs is the process's CPU time (user and system) once the payloads were made,
	// before the client is created: not the client's, and subtracted from its CPU time.
	SetupCPUNs int64 `json:"setup_cpu_ns,omitempty"`

	// Filled by benchrun from the client process and the sink.
	UserCPUNs   int64 `json:"user_cpu_ns,omitempty"`
	SysCPUNs    int64 `json:"sys_cpu_ns,omitempty"`
	MaxRSSKiB   int64 `json:"max_rss_kib,omitempty"`
	SinkRecords int64 `json:"sink_records,omitempty"`
	// SinkIdempotentBatches counts the batches the sink received with a producer id.
	SinkIdempotentBatches int64 `json:"sink_idempotent_batches,omitempty"`
	SinkCPUNs             int64 `json:"sink_cpu_ns,omitempty"`
}

// processCPU returns the CPU time (user and system) this process has used so far, in ns.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// latencyWarmup is how many synchronous sends precede the measured ones of a latency run.
const latencyWarmup = 200

// Run makes the client called name and runs scenario s against brokers in this process.
// The client is warmed up first (metadata fetched, connections open) with records that
// are not measured. Failures are reported in the Result, not as an error.
func Run(ctx context.Context, name string, brokers []string, s Scenario) Result {
	s = s.WithDefaults()
	res := Result{Client: name, Scenario: s.Name(), AcksObserved: true}
	fail := func(err error) Result {
		if res.Error == "" {
			res.Error = err.Error()
		}
		return res
	}
	if err := s.Validate(); err != nil {
		return fail(err)
	}
	factory, err := Lookup(name)
	if err != nil {
		return fail(err)
	}
	// The payloads first, so that making them (160 MiB of text for 10 KiB values) is not
	// counted as the client's CPU time.
	p := NewPayloads(s)
	res.SetupCPUNs = processCPU()
	counters := NewCounters()
	cl, err := factory(Options{Brokers: brokers, Scenario: s, Counters: counters})
	if errors.Is(err, ErrUnavailable) {
		res.Unavailable = err.Error()
		return res
	}
	if err != nil {
		return fail(fmt.Errorf("creating the client: %w", err))
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cl.Close(cctx); err != nil && res.Error == "" {
			res.Error = fmt.Sprintf("close: %v", err)
		}
	}()
	if s.Latency {
		return runLatency(ctx, cl, s, p, res)
	}
	return runThroughput(ctx, cl, s, p, res, counters)
}

func runThroughput(ctx context.Context, cl Client, s Scenario, p *Payloads, res Result, c *Counters) Result {
	_, unobserved := cl.(Unobserved)
	res.AcksObserved = !unobserved
	// Warm up with one record (one request for the raw baseline): metadata, connections,
	// producer id.
	bulk, isBulk := cl.(BulkClient)
	var err error
	warm := 1
	if isBulk {
		warm, err = bulk.SendAll(ctx, 1, p)
	} else {
		err = cl.Send(ctx, p.Key(0), p.Value(0))
	}
	if err != nil {
		res.Error = fmt.Sprintf("warm-up send: %v", err)
		return res
	}
	if err := cl.Flush(ctx); err != nil {
		res.Error = fmt.Sprintf("warm-up flush: %v", err)
		return res
	}
	if !unobserved {
		if err := c.Wait(ctx, int64(warm)); err != nil {
			res.Error = fmt.Sprintf("warm-up: %v", err)
			return res
		}
	}
	baseAcked, baseFailed := c.Acked(), c.Failed()
	if baseFailed > 0 {
		res.Error = fmt.Sprintf("warm-up record failed: %v", c.FirstErr())
		return res
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	sent := 0
	var sendErr error
	if isBulk {
		sent, sendErr = bulk.SendAll(ctx, s.Records, p)
	} else {
		sent, sendErr = sendConcurrently(ctx, cl, s, p, c)
	}
	res.EnqueueNs = time.Since(start).Nanoseconds()
	flushErr := cl.Flush(ctx)
	if unobserved {
		if flushErr == nil {
			c.Ack(int64(sent))
		} else {
			c.Fail(int64(sent), flushErr)
		}
	}
	waitErr := c.Wait(ctx, baseAcked+baseFailed+int64(sent))
	res.ElapsedNs = time.Since(start).Nanoseconds()
	runtime.ReadMemStats(&after)

	res.Records = int64(sent)
	res.Acked = c.Acked() - baseAcked
	res.Failed = c.Failed() - baseFailed
	res.Mallocs = after.Mallocs - before.Mallocs
	res.AllocBytes = after.TotalAlloc - before.TotalAlloc
	for i := range sent {
		res.PayloadBytes += int64(len(p.Key(i)) + len(p.Value(i)))
	}
	for _, err := range []error{sendErr, flushErr, waitErr, c.FirstErr()} {
		if err != nil {
			res.Error = err.Error()
			break
		}
	}
	return res
}

// sendConcurrently sends s.Records records from s.Goroutines goroutines into cl, goroutine g
// sending records g, g+G, g+2G, …, and returns how many it sent and the error that stopped
// a goroutine early (ctx ended).
func sendConcurrently(ctx context.Context, cl Client, s Scenario, p *Payloads, c *Counters) (int, error) {
	g := max(s.Goroutines, 1)
	sent := make([]int, g)
	errs := make([]error, g)
	var wg sync.WaitGroup
	for w := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0 // counted here, not in sent[w], which shares a cache line with the others
			defer func() { sent[w] = n }()
			for i := w; i < s.Records; i += g {
				if err := cl.Send(ctx, p.Key(i), p.Value(i)); err != nil {
					// Not accepted: count it as failed, as SendAsync's callback would.
					c.Fail(1, err)
					if ctx.Err() != nil {
						errs[w] = err
						return
					}
				}
				n++
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range sent {
		total += n
	}
	return total, errors.Join(errs...)
}

func runLatency(ctx context.Context, cl Client, s Scenario, p *Payloads, res Result) Result {
	for i := range latencyWarmup {
		if err := cl.SendSync(ctx, p.Key(i), p.Value(i)); err != nil {
			res.Error = fmt.Sprintf("warm-up: %v", err)
			return res
		}
	}
	lat := make([]int64, 0, s.Records)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	for i := range s.Records {
		t0 := time.Now()
		err := cl.SendSync(ctx, p.Key(i), p.Value(i))
		lat = append(lat, time.Since(t0).Nanoseconds())
		res.Records++
		res.PayloadBytes += int64(len(p.Key(i)) + len(p.Value(i)))
		if err != nil {
			res.Failed++
			if res.Error == "" {
				res.Error = err.Error()
			}
			if ctx.Err() != nil {
				break
			}
			continue
		}
		res.Acked++
	}
	res.ElapsedNs = time.Since(start).Nanoseconds()
	runtime.ReadMemStats(&after)
	res.Mallocs = after.Mallocs - before.Mallocs
	res.AllocBytes = after.TotalAlloc - before.TotalAlloc
	slices.Sort(lat)
	res.P50Ns = Percentile(lat, 50)
	res.P99Ns = Percentile(lat, 99)
	res.P999Ns = Percentile(lat, 99.9)
	if len(lat) > 0 {
		res.MaxNs = lat[len(lat)-1]
	}
	return res
}

// Percentile returns the q-th percentile (0 < q ≤ 100) of sorted by the nearest-rank
// method, or 0 for no values.
func Percentile(sorted []int64, q float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q/100*float64(len(sorted)) + 0.999999) // ceil, robust to float error
	return sorted[min(max(rank, 1), len(sorted))-1]
}
