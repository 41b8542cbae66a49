package bench

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Reference is the client the ratios of the table compare with.
const Reference = "franz"

// RecordsPerSec returns the acknowledged records per second of r, 0 when nothing was.
func (r Result) RecordsPerSec() float64 {
	if r.ElapsedNs <= 0 {
		return 0
	}
	return float64(r.Acked) / (float64(r.ElapsedNs) / 1e9)
}

// MBPerSec returns the payload (key and value) megabytes (10^6) per second of r.
func (r Result) MBPerSec() float64 {
	if r.ElapsedNs <= 0 || r.Records == 0 {
		return 0
	}
	acked := float64(r.PayloadBytes) * float64(r.Acked) / float64(r.Records)
	return acked / 1e6 / (float64(r.ElapsedNs) / 1e9)
}

// CPUPerRecord returns the client process's CPU time (user and system, from the client's
// creation to the process's exit: the payloads made before are left out) per record sent,
// in ns.
func (r Result) CPUPerRecord() float64 {
	if r.Records == 0 {
		return 0
	}
	return float64(r.UserCPUNs+r.SysCPUNs-r.SetupCPUNs) / float64(r.Records)
}

// AllocsPerRecord returns the Go heap allocations of the measured phase per record sent.
func (r Result) AllocsPerRecord() float64 {
	if r.Records == 0 {
		return 0
	}
	return float64(r.Mallocs) / float64(r.Records)
}

// Median returns the median of v (the mean of the middle two for an even count), NaN for
// none.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// metric extracts one figure from a result.
type metric func(Result) float64

// Table renders results as one markdown table, one row per scenario and client (in the
// orders given), each figure the median over the row's runs. The ratio columns divide a
// client's figure by the reference client's of the same run and scenario, then take the
// median over runs, so that drift between runs cancels out.
func Table(results []Result, scenarios, clients []string) string {
	type key struct{ scenario, client string }
	runs := map[key][]Result{}
	for _, r := range results {
		k := key{r.Scenario, r.Client}
		runs[k] = append(runs[k], r)
	}
	var b strings.Builder
	b.WriteString("| client | scenario | records/s | MB/s | CPU ns/rec | allocs/rec | peak RSS MiB | p50 | p99 | p99.9 | ×franz rec/s | ×franz CPU/rec | ×franz p50 | ×franz p99 | notes |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
	for _, sc := range scenarios {
		latency := strings.HasPrefix(sc, "latency")
		ref := runs[key{sc, Reference}]
		for _, cl := range clients {
			rs := runs[key{sc, cl}]
			if len(rs) == 0 {
				continue
			}
			if rs[0].Unavailable != "" {
				fmt.Fprintf(&b, "| %s | %s | – | – | – | – | – | – | – | – | – | – | – | – | not run: %s |\n", cl, sc, cell(rs[0].Unavailable))
				continue
			}
			med := func(m metric) float64 {
				v := make([]float64, len(rs))
				for i, r := range rs {
					v[i] = m(r)
				}
				return Median(v)
			}
			ratio := func(m metric) string {
				var v []float64
				for _, r := range rs {
					for _, f := range ref {
						if f.Run == r.Run && m(f) > 0 && f.Error == "" && r.Error == "" {
							v = append(v, m(r)/m(f))
						}
					}
				}
				if len(v) == 0 {
					return "–"
				}
				return fmt.Sprintf("%.2f", Median(v))
			}
			p50 := func(r Result) float64 { return float64(r.P50Ns) }
			p99 := func(r Result) float64 { return float64(r.P99Ns) }
			p999 := func(r Result) float64 { return float64(r.P999Ns) }
			lat := [3]string{"", "", ""}
			latRatio := [2]string{"", ""}
			if latency {
				lat = [3]string{dur(med(p50)), dur(med(p99)), dur(med(p999))}
				latRatio = [2]string{ratio(p50), ratio(p99)}
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %.1f | %.0f | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				cl, sc, count(med(Result.RecordsPerSec)), med(Result.MBPerSec), med(Result.CPUPerRecord),
				allocs(med(Result.AllocsPerRecord)), med(func(r Result) float64 { return float64(r.MaxRSSKiB) / 1024 }),
				lat[0], lat[1], lat[2],
				ratio(Result.RecordsPerSec), ratio(Result.CPUPerRecord), latRatio[0], latRatio[1],
				notes(rs))
		}
	}
	return b.String()
}

// notes summarizes the errors and oddities of a row's runs.
func notes(rs []Result) string {
	var out []string
	var failed, short, idem int64
	var firstErr string
	unobserved := false
	for _, r := range rs {
		idem += r.SinkIdempotentBatches
		failed += r.Failed
		if r.Error != "" && firstErr == "" {
			firstErr = r.Error
		}
		if !r.AcksObserved {
			unobserved = true
		}
		// The sink saw the warm-up too, so it must have at least the acknowledged records.
		if r.SinkRecords < r.Acked {
			short += r.Acked - r.SinkRecords
		}
	}
	if failed > 0 {
		out = append(out, fmt.Sprintf("%d records failed", failed))
	}
	if firstErr != "" {
		if len(firstErr) > 120 {
			firstErr = firstErr[:120] + "…"
		}
		out = append(out, "error: "+firstErr)
	}
	if unobserved {
		out = append(out, "fire-and-forget: acks counted by the sink")
	}
	if strings.Contains(rs[0].Scenario, "+idem") && idem == 0 {
		out = append(out, "not idempotent: no batch carried a producer id")
	}
	if short > 0 {
		out = append(out, fmt.Sprintf("sink received %d fewer records than acknowledged", short))
	}
	return cell(strings.Join(out, "; "))
}

// cell makes s safe inside a markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}

// count formats a rate with a thousands separator.
func count(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func allocs(v float64) string {
	if v < 0.1 {
		return fmt.Sprintf("%.3f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// dur formats ns as µs or ms with three significant digits.
func dur(ns float64) string {
	if math.IsNaN(ns) || ns <= 0 {
		return "–"
	}
	d := time.Duration(ns)
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", ns/1e3)
	default:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	}
}
