package producer

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

var (
	soakFor  = flag.Duration("soak", 0, "how long BenchmarkSoak produces (0: 5 seconds)")
	soakRate = flag.Int("soak.rate", 2000, "records per second BenchmarkSoak sends")
	soakEach = flag.Duration("soak.report", 10*time.Second, "how often BenchmarkSoak reports")
)

// BenchmarkSoak produces continuously for -soak (at -soak.rate records/s, all send modes'
// hot path: SendAsync with a callback) to a kafkatest cluster in a child process (gregor
// broker, so that the broker's growing log is not in this heap), through proxies that inject
// a fault every few seconds: connections dropped, answers delayed past request.timeout.ms,
// garbled, truncated. Every -soak.report it logs records/s, the p99 send-to-callback
// latency, the live heap and the goroutine count; heap and goroutines must stay flat.
//
//	go test -run '^$' -bench Soak -benchtime 1x -soak 10m .
func BenchmarkSoak(b *testing.B) {
	dur := *soakFor
	if dur == 0 {
		dur = 5 * time.Second
	}
	addrs, stop := startBrokerProcess(b)
	defer stop()
	pn := proxiesFor(b, addrs)
	p, err := New(Config{BootstrapServers: pn.addrs(), Linger: 5 * time.Millisecond, RequestTimeout: 300 * time.Millisecond,
		DeliveryTimeout: 30 * time.Second, RetryBackoff: 10 * time.Millisecond, RetryBackoffMax: 200 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	ctx := context.Background()

	var (
		mu                   sync.Mutex
		lat                  []time.Duration
		acked, failed, total atomic.Int64
	)
	faults := []struct {
		name string
		hook func() hostileHook
	}{
		{"drop connections", nil},
		{"delay answers 400ms", func() hostileHook {
			return func(h wire.RequestHeader, a []byte) ([]byte, bool) {
				if h.APIKey == wire.KeyProduce && a != nil {
					time.Sleep(400 * time.Millisecond)
				}
				return a, false
			}
		}},
		{"garble every 3rd answer", func() hostileHook { return onKey(wire.KeyProduce, 3, garbageBody(7)) }},
		{"truncate every 5th answer and close", func() hostileHook { return onKey(wire.KeyProduce, 5, truncatedThenClose) }},
		{"wrong correlation id on every 4th answer", func() hostileHook { return onKey(wire.KeyProduce, 4, wrongCorrelation) }},
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the fault injector: a fault for 1 s every 3 s, on one broker in turn
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-time.After(2 * time.Second):
			}
			px := pn.proxies[i%len(pn.proxies)]
			f := faults[i%len(faults)]
			if f.hook == nil {
				px.dropAll()
				continue
			}
			px.setHook(f.hook())
			time.Sleep(time.Second)
			px.setHook(nil)
		}
	}()

	b.ResetTimer()
	start := time.Now()
	nextReport := start.Add(*soakEach)
	var heaps, gors []uint64
	lastAcked := int64(0)
	value := make([]byte, 64)
	interval := time.Second / time.Duration(*soakRate)
	sent := 0
	for time.Since(start) < dur {
		// Pace: as many records as the rate allows by now.
		due := int(time.Since(start) / interval)
		for ; sent < due; sent++ {
			t0 := time.Now()
			rec := Record{Topic: "soak", Value: value}
			if sent%2 == 0 {
				rec.Key = strconv.AppendInt(nil, int64(sent%100), 10)
			}
			total.Add(1)
			err := p.SendAsync(ctx, rec, func(_ RecordMetadata, err error) {
				if err != nil {
					failed.Add(1)
					return
				}
				acked.Add(1)
				d := time.Since(t0)
				mu.Lock()
				if len(lat) < 1<<20 {
					lat = append(lat, d)
				}
				mu.Unlock()
			})
			if err != nil {
				b.Fatalf("send: %v", err)
			}
		}
		time.Sleep(time.Millisecond)
		if now := time.Now(); now.After(nextReport) {
			nextReport = nextReport.Add(*soakEach)
			mu.Lock()
			l := lat
			lat = nil
			mu.Unlock()
			slices.Sort(l)
			var p99 time.Duration
			if len(l) > 0 {
				p99 = l[len(l)*99/100]
			}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			a := acked.Load()
			heaps = append(heaps, ms.HeapAlloc)
			gors = append(gors, uint64(runtime.NumGoroutine()))
			fmt.Fprintf(os.Stderr, "soak: t=%4.0fs  %7.0f records/s acked  p99 %8v  heap %6d KiB  goroutines %3d  failed %d",
				now.Sub(start).Seconds(), float64(a-lastAcked)/soakEach.Seconds(), p99.Round(time.Microsecond),
				ms.HeapAlloc>>10, runtime.NumGoroutine(), failed.Load())
			fmt.Fprintln(os.Stderr)
			lastAcked = a
		}
	}
	close(done)
	wg.Wait()
	fctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := p.Flush(fctx); err != nil {
		b.Fatalf("flush: %v", err)
	}
	b.StopTimer()
	el := time.Since(start)
	b.ReportMetric(float64(acked.Load())/el.Seconds(), "records/s")
	b.ReportMetric(float64(failed.Load()), "failed")
	if len(heaps) > 2 {
		b.ReportMetric(float64(heaps[1]>>10), "heapKiB-first")
		b.ReportMetric(float64(heaps[len(heaps)-1]>>10), "heapKiB-last")
		b.ReportMetric(float64(slices.Max(heaps)>>10), "heapKiB-max")
		b.ReportMetric(float64(slices.Max(gors)), "goroutines-max")
		b.ReportMetric(float64(slices.Min(gors)), "goroutines-min")
	}
	if acked.Load()+failed.Load() != total.Load() {
		b.Errorf("%d sent, %d acknowledged, %d failed", total.Load(), acked.Load(), failed.Load())
	}
}

// startBrokerProcess builds cmd/gregor and runs `gregor broker` with three brokers on free
// ports, returning their addresses.
func startBrokerProcess(tb testing.TB) ([]string, func()) {
	tb.Helper()
	dir := tb.TempDir()
	bin := filepath.Join(dir, "gregor")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/gregor").CombinedOutput(); err != nil {
		tb.Fatalf("building gregor: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "broker", "--ports", "0,0,0", "--topic", "soak:6")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		tb.Fatalf("gregor broker: %v", err)
	}
	return strings.Split(strings.TrimSpace(line), ","), func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
}

// proxiesFor starts a proxy in front of each address.
func proxiesFor(tb testing.TB, addrs []string) *proxyNet {
	pn := &proxyNet{}
	for _, up := range addrs {
		px := newProxy(tb, pn, up)
		pn.proxies = append(pn.proxies, px)
	}
	for _, px := range pn.proxies {
		px.wg.Add(1)
		go px.serve()
	}
	tb.Cleanup(pn.close)
	return pn
}
