package bench

import (
	"math"
	"strings"
	"testing"
)

func TestMedianAndPercentile(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median(nil) is not NaN")
	}
	v := make([]int64, 20000)
	for i := range v {
		v[i] = int64(i + 1)
	}
	for _, c := range []struct {
		q    float64
		want int64
	}{{50, 10000}, {99, 19800}, {99.9, 19980}, {100, 20000}, {0.001, 1}} {
		if got := Percentile(v, c.q); got != c.want {
			t.Errorf("Percentile(1..20000, %v) = %d, want %d", c.q, got, c.want)
		}
	}
	if Percentile(nil, 50) != 0 || Percentile([]int64{7}, 99.9) != 7 {
		t.Error("Percentile of nothing or one value")
	}
}

func TestTableMediansAndRatiosPerRun(t *testing.T) {
	mk := func(client, sc string, run int, acked, elapsedMs, cpuMs int64) Result {
		return Result{Client: client, Scenario: sc, Run: run, Records: acked, Acked: acked, AcksObserved: true,
			ElapsedNs: elapsedMs * 1e6, UserCPUNs: cpuMs * 1e6, PayloadBytes: acked * 100, Mallocs: uint64(acked) * 2,
			MaxRSSKiB: 10240, SinkRecords: acked + 1}
	}
	sc := "100B nokey acks=1 none"
	res := []Result{
		// franz: 1000 records in 1 s, 2 s, 4 s. gregor is twice as fast in each run, and the
		// ratio must be 2.00 even though the medians of the rates alone would say so too:
		// run 3 makes the per-run pairing matter for CPU (gregor 1/4 of franz there).
		mk("franz", sc, 1, 1000, 1000, 100), mk("franz", sc, 2, 1000, 2000, 100), mk("franz", sc, 3, 1000, 4000, 400),
		mk("gregor", sc, 1, 1000, 500, 50), mk("gregor", sc, 2, 1000, 1000, 50), mk("gregor", sc, 3, 1000, 2000, 100),
		{Client: "confluent", Scenario: sc, Unavailable: "no cgo"},
	}
	lat := Result{Client: "franz", Scenario: "latency 100B nokey acks=1 none", Run: 1, Records: 10, Acked: 10,
		ElapsedNs: 1e6, P50Ns: 50_000, P99Ns: 2_500_000, P999Ns: 3_000_000, AcksObserved: true, SinkRecords: 11}
	res = append(res, lat)
	out := Table(res, []string{sc, lat.Scenario}, []string{"franz", "gregor", "confluent"})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines:\n%s", len(lines), out)
	}
	cols := func(l string) []string {
		f := strings.Split(l, "|")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		return f[1 : len(f)-1]
	}
	franz, gregor := cols(lines[2]), cols(lines[3])
	// records/s: franz median 500; gregor 1,000; CPU ns/rec medians 100,000 and 50,000.
	if franz[2] != "500" || gregor[2] != "1,000" || franz[4] != "100000" || gregor[4] != "50000" {
		t.Fatalf("medians:\n%s", out)
	}
	// Ratios per run: rec/s 2, 2, 2 → 2.00; CPU 0.5, 0.5, 0.25 → 0.50.
	if gregor[10] != "2.00" || gregor[11] != "0.50" || franz[10] != "1.00" {
		t.Fatalf("ratios:\n%s", out)
	}
	if gregor[5] != "2.00" || gregor[6] != "10" || gregor[14] != "" {
		t.Fatalf("allocs, RSS or notes:\n%s", out)
	}
	if !strings.Contains(lines[4], "not run: no cgo") {
		t.Fatalf("unavailable row: %s", lines[4])
	}
	if l := cols(lines[5]); l[7] != "50 µs" || l[8] != "2.50 ms" || l[9] != "3.00 ms" || l[12] != "1.00" {
		t.Fatalf("latency row: %s", lines[5])
	}
}

func TestTableNotes(t *testing.T) {
	r := Result{Client: "gregor-ff", Scenario: "100B nokey acks=all+idem none", Run: 1, Records: 100, Acked: 100, Failed: 3, Error: "boom | bang",
		ElapsedNs: 1e9, SinkRecords: 90}
	out := Table([]Result{r}, []string{r.Scenario}, []string{"gregor-ff"})
	for _, want := range []string{"3 records failed", `error: boom \| bang`, "fire-and-forget", "sink received 10 fewer", "not idempotent"} {
		if !strings.Contains(out, want) {
			t.Errorf("notes lack %q:\n%s", want, out)
		}
	}
	r.SinkIdempotentBatches = 1
	if out := Table([]Result{r}, []string{r.Scenario}, []string{"gregor-ff"}); strings.Contains(out, "not idempotent") {
		t.Errorf("idempotent batches seen, still noted:\n%s", out)
	}
}
