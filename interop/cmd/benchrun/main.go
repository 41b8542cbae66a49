// Command benchrun runs gregor's side-by-side producer benchmark and prints one markdown
// table: it builds cmd/sinkbroker and cmd/benchclient, starts the sink brokers as their own
// process, runs every scenario × client × run with each client in a process of its own
// (reading its CPU time and peak RSS from rusage), and prints the medians and the ratios to
// franz-go.
//
//	cd interop && go run ./cmd/benchrun -records 2000000 -runs 3
//
// A quick check takes well under two minutes:
//
//	go run ./cmd/benchrun -records 200000 -latency-records 2000 -runs 1
//
// The scenarios of issue 14 (every codec, 1 KiB and 10 KiB values, 1,000 partitions, 8 and
// 64 goroutines sending, latency), gregor and franz-go only:
//
//	go run ./cmd/benchrun -set round2 -clients franz,gregor,gregor-ff -records 500000 -runs 3
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gregor-kafka/producer/interop/bench"
)

// sinkStats is what the sink's stats endpoint answers (cmd/sinkbroker).
type sinkStats struct {
	Records           int64 `json:"records"`
	IdempotentBatches int64 `json:"idempotent_batches"`
	UserCPUNs         int64 `json:"user_cpu_ns"`
	SysCPUNs          int64 `json:"sys_cpu_ns"`
}

type options struct {
	records, latencyRecords, runs int
	clients                       []string
	set                           string
	filter                        *regexp.Regexp
	sizes, keys                   []int
	acks, codecs                  []string
	linger, latencyLinger         time.Duration
	brokers, partitions           int
	timeout                       time.Duration
	out                           string
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("benchrun: ")
	var o options
	flag.IntVar(&o.records, "records", bench.DefaultRecords, "records per throughput run")
	flag.IntVar(&o.latencyRecords, "latency-records", bench.DefaultLatencyRecords, "synchronous sends per latency run")
	flag.IntVar(&o.runs, "runs", 3, "runs of every scenario and client; the table shows medians")
	clients := flag.String("clients", strings.Join(bench.ClientNames(), ","), "comma-separated clients")
	flag.StringVar(&o.set, "set", "headline", "scenarios: headline (100 B, null keys: acks=1 none/lz4/zstd, idempotent none, latency), round2 (issue 14: 100 B with every codec, 1 KiB and 10 KiB values (-records/2 and /10 records), 1,000 partitions with 16-byte keys, 8 and 64 goroutines sending, latency), full (every size, key, acks and codec, and latency), or custom (from -sizes, -keys, -acks, -codecs)")
	filter := flag.String("filter", "", "run only the scenarios whose name matches this regexp")
	sizes := flag.String("sizes", "100,1024", "custom set: value sizes")
	keys := flag.String("keys", "0,16", "custom set: key sizes (0 = null keys)")
	acks := flag.String("acks", "1,idem", "custom set: 1, all and/or idem (acks=all with idempotence)")
	codecs := flag.String("codecs", "none,lz4,zstd,snappy,gzip", "custom set: codecs")
	flag.DurationVar(&o.linger, "linger", bench.DefaultLinger, "linger.ms of throughput runs")
	flag.DurationVar(&o.latencyLinger, "latency-linger", 0, "linger.ms of latency runs")
	flag.IntVar(&o.brokers, "brokers", 3, "sink brokers")
	flag.IntVar(&o.partitions, "partitions", 6, "partitions per topic")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "limit of one client run")
	flag.StringVar(&o.out, "out", "", "also write the report to this file")
	flag.Parse()

	o.clients = split(*clients)
	for _, c := range o.clients {
		if _, err := bench.Lookup(c); err != nil {
			log.Fatal(err)
		}
	}
	if *filter != "" {
		re, err := regexp.Compile(*filter)
		if err != nil {
			log.Fatalf("-filter: %v", err)
		}
		o.filter = re
	}
	var err error
	if o.sizes, err = ints(*sizes); err != nil {
		log.Fatalf("-sizes: %v", err)
	}
	if o.keys, err = ints(*keys); err != nil {
		log.Fatalf("-keys: %v", err)
	}
	o.acks, o.codecs = split(*acks), split(*codecs)
	scenarios, err := o.scenarios()
	if err != nil {
		log.Fatal(err)
	}
	if len(scenarios) == 0 {
		log.Fatal("no scenario selected")
	}

	dir, err := os.MkdirTemp("", "benchrun")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	for _, cmd := range []string{"sinkbroker", "benchclient"} {
		if err := build(dir, cmd); err != nil {
			log.Fatal(err)
		}
	}
	sink, err := startSink(filepath.Join(dir, "sinkbroker"), o.brokers, o.partitions)
	if err != nil {
		log.Fatal(err)
	}
	defer sink.stop()

	start := time.Now()
	var results []bench.Result
	for run := 1; run <= o.runs; run++ {
		for _, s := range scenarios {
			for _, c := range o.clients {
				if s.Latency && c == "gregor-ff" {
					continue // its synchronous sends are gregor's
				}
				r := runClient(filepath.Join(dir, "benchclient"), sink, c, s, run, o.timeout)
				results = append(results, r)
				log.Print(progress(r))
			}
		}
	}
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = s.Name()
	}
	report := header(o, time.Since(start)) + bench.Table(results, names, o.clients)
	fmt.Print(report)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(report), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// scenarios returns the scenarios of the chosen set, filtered.
func (o *options) scenarios() ([]bench.Scenario, error) {
	tp := func(size, key int, acks, codec string) bench.Scenario {
		s := bench.Scenario{Records: o.records, ValueSize: size, KeySize: key, Codec: codec, Linger: o.linger}
		switch acks {
		case "idem":
			s.Idempotent = true
		default:
			s.Acks = acks
		}
		return s
	}
	lat := func(acks string) bench.Scenario {
		s := tp(bench.DefaultValueSize, 0, acks, "none")
		s.Latency, s.Records, s.Linger = true, o.latencyRecords, o.latencyLinger
		return s
	}
	var out []bench.Scenario
	switch o.set {
	case "headline":
		for _, c := range []string{"none", "lz4", "zstd"} {
			out = append(out, tp(100, 0, "1", c))
		}
		out = append(out, tp(100, 0, "idem", "none"), lat("1"))
	case "round2":
		for _, c := range []string{"none", "lz4", "zstd", "snappy", "gzip"} {
			out = append(out, tp(100, 0, "1", c))
		}
		// Larger values send fewer records, for about the same time per run.
		kib, tenKiB := tp(1024, 0, "1", "none"), tp(10240, 0, "1", "none")
		kib.Records, tenKiB.Records = max(o.records/2, 1), max(o.records/10, 1)
		out = append(out, kib, tenKiB)
		many := tp(100, 16, "1", "none")
		many.Partitions = 1000
		out = append(out, many)
		for _, g := range []int{8, 64} {
			s := tp(100, 0, "1", "none")
			s.Goroutines = g
			out = append(out, s)
		}
		out = append(out, lat("1"))
	case "full":
		for _, size := range []int{100, 1024} {
			for _, key := range []int{0, 16} {
				for _, acks := range []string{"1", "idem"} {
					for _, c := range []string{"none", "lz4", "zstd", "snappy", "gzip"} {
						out = append(out, tp(size, key, acks, c))
					}
				}
			}
		}
		out = append(out, lat("1"), lat("idem"))
	case "custom":
		for _, size := range o.sizes {
			for _, key := range o.keys {
				for _, acks := range o.acks {
					for _, c := range o.codecs {
						out = append(out, tp(size, key, acks, c))
					}
				}
			}
		}
	default:
		return nil, fmt.Errorf("-set %q: want headline, round2, full or custom", o.set)
	}
	var kept []bench.Scenario
	for _, s := range out {
		s = s.WithDefaults()
		if err := s.Validate(); err != nil {
			return nil, err
		}
		if o.filter == nil || o.filter.MatchString(s.Name()) {
			kept = append(kept, s)
		}
	}
	return kept, nil
}

// build compiles interop/cmd/name into dir.
func build(dir, name string) error {
	modDir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/gregor-kafka/producer/interop").Output()
	if err != nil {
		return fmt.Errorf("finding the interop module (run benchrun from interop/): %w", err)
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), "./cmd/"+name)
	cmd.Dir = strings.TrimSpace(string(modDir))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s: %w", name, err)
	}
	return nil
}

// sink is the running sinkbroker process.
type sink struct {
	cmd     *exec.Cmd
	brokers string
	stats   string
}

func startSink(bin string, brokers, partitions int) (*sink, error) {
	cmd := exec.Command(bin, "-brokers", strconv.Itoa(brokers), "-partitions", strconv.Itoa(partitions))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("sinkbroker: %w", err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	var hello struct {
		Brokers []string `json:"brokers"`
		Stats   string   `json:"stats"`
	}
	if err := json.Unmarshal(line, &hello); err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("sinkbroker said %q: %w", line, err)
	}
	return &sink{cmd: cmd, brokers: strings.Join(hello.Brokers, ","), stats: hello.Stats}, nil
}

func (s *sink) read() sinkStats {
	var st sinkStats
	resp, err := http.Get(s.stats)
	if err != nil {
		log.Printf("reading the sink's stats: %v", err)
		return st
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		log.Printf("reading the sink's stats: %v", err)
	}
	return st
}

func (s *sink) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
}

// runClient runs one benchclient process and completes its result with the process's
// rusage and the sink's counters.
func runClient(bin string, sk *sink, client string, s bench.Scenario, run int, timeout time.Duration) bench.Result {
	topic := fmt.Sprintf("%s-%s-r%d", strings.NewReplacer(" ", "_", "=", "", "+", "").Replace(s.Name()), client, run)
	args := []string{
		"-client", client, "-brokers", sk.brokers, "-topic", topic, "-run", strconv.Itoa(run),
		"-records", strconv.Itoa(s.Records), "-value-size", strconv.Itoa(s.ValueSize),
		"-key-size", strconv.Itoa(s.KeySize), "-acks", s.Acks, "-idempotent=" + strconv.FormatBool(s.Idempotent),
		"-codec", s.Codec, "-linger", s.Linger.String(), "-batch-bytes", strconv.Itoa(s.BatchBytes),
		"-max-in-flight", strconv.Itoa(s.MaxInFlight), "-buffer-bytes", strconv.Itoa(s.BufferBytes),
		"-latency=" + strconv.FormatBool(s.Latency), "-timeout", timeout.String(),
		"-partitions", strconv.Itoa(s.Partitions), "-goroutines", strconv.Itoa(s.Goroutines),
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	before := sk.read()
	runErr := cmd.Run()
	after := sk.read()

	res := bench.Result{Client: client, Scenario: s.Name(), Run: run}
	lines := bytes.Split(bytes.TrimSpace(stdout.Bytes()), []byte("\n"))
	if err := json.Unmarshal(lines[len(lines)-1], &res); err != nil {
		res.Error = fmt.Sprintf("no result (%v): %s", runErr, tail(stderr.String(), 300))
	}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			res.UserCPUNs = ru.Utime.Nano()
			res.SysCPUNs = ru.Stime.Nano()
			res.MaxRSSKiB = ru.Maxrss // KiB on Linux
		}
	}
	res.SinkRecords = after.Records - before.Records
	res.SinkIdempotentBatches = after.IdempotentBatches - before.IdempotentBatches
	res.SinkCPUNs = after.UserCPUNs + after.SysCPUNs - before.UserCPUNs - before.SysCPUNs
	return res
}

func progress(r bench.Result) string {
	if r.Unavailable != "" {
		return fmt.Sprintf("run %d %-28s %-9s unavailable: %s", r.Run, r.Scenario, r.Client, r.Unavailable)
	}
	s := fmt.Sprintf("run %d %-28s %-9s %12.0f rec/s %7.0f CPU ns/rec %6.2f allocs/rec %5d MiB sink %6.0f ns/rec",
		r.Run, r.Scenario, r.Client, r.RecordsPerSec(), r.CPUPerRecord(), r.AllocsPerRecord(), r.MaxRSSKiB/1024,
		float64(r.SinkCPUNs)/float64(max(r.Records, 1)))
	if r.P50Ns > 0 {
		s += fmt.Sprintf(" p50 %v p99 %v", time.Duration(r.P50Ns), time.Duration(r.P99Ns))
	}
	if r.Error != "" || r.Failed > 0 {
		s += fmt.Sprintf(" (%d failed; %s)", r.Failed, tail(r.Error, 200))
	}
	return s
}

// header describes the run above the table: command, date, machine.
func header(o options, took time.Duration) string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(l[strings.Index(l, ":")+1:])
				break
			}
		}
	}
	return fmt.Sprintf("Command: `go run ./cmd/benchrun %s`  \nDate: %s; took %v  \nMachine: %s, %d CPUs, %s %s/%s  \n"+
		"Settings: %d records per throughput run, %d per latency run, %d runs (medians shown), %d brokers, %d partitions (pN: N), linger %v (latency runs %v), batch.size 1 MiB, max in flight 5, buffer.memory 32 MiB\n\n",
		strings.Join(os.Args[1:], " "), time.Now().UTC().Format("2006-01-02 15:04 MST"), took.Round(time.Second),
		cpu, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH,
		o.records, o.latencyRecords, o.runs, o.brokers, o.partitions, o.linger, o.latencyLinger)
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range split(s) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
