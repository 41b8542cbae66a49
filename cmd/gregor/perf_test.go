package main

import (
	"context"
	"github.com/gregor-kafka/producer/internal/testutil"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

const num = `\d+\.\d+`

var (
	totalRE  = regexp.MustCompile(`^(\d+) records sent, ` + num + ` records/sec \(` + num + ` MB/sec\), ` + num + ` ms avg latency, ` + num + ` ms max latency, ` + num + ` ms 50th, ` + num + ` ms 95th, ` + num + ` ms 99th, ` + num + ` ms 99\.9th\.$`)
	windowRE = regexp.MustCompile(`^(\d+) records sent, \d+\.\d records/sec \(` + num + ` MB/sec\), \d+\.\d ms avg latency, \d+\.\d ms max latency\.$`)
)

// lines splits output into its lines.
func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

func TestPerf(t *testing.T) {
	testutil.CheckNoLeaks(t)
	c := newCluster(t, kafkatest.SeedTopic("p", 3))
	r := runCmd(t, "", "perf", "-b", bootstrap(c), "--topic", "p", "--num-records", "5000", "--record-size", "50", "--throughput", "-1",
		"-X", "linger.ms=1")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	out := lines(r.stdout)
	m := totalRE.FindStringSubmatch(out[len(out)-1])
	if m == nil || m[1] != "5000" {
		t.Fatalf("final line %q does not match %s", out[len(out)-1], totalRE)
	}
	if r.stderr != "" {
		t.Errorf("stderr: %q", r.stderr)
	}
	recs, err := c.WaitForRecords(ctxTimeout(t, 10*time.Second), "p", 5000)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5000 {
		t.Fatalf("%d records stored, want 5000", len(recs))
	}
	letters := regexp.MustCompile(`^[A-Z]{50}$`)
	distinct := map[string]bool{}
	for _, rec := range recs {
		if rec.Key != nil || !letters.Match(rec.Value) {
			t.Fatalf("record %+v: want a null key and 50 upper-case letters", rec)
		}
		distinct[string(rec.Value)] = true
	}
	if len(distinct) < 4990 {
		t.Errorf("only %d distinct values of 5000: the payload is not random per record", len(distinct))
	}
}

func TestPerfWindowsAndThrottle(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("p", 1))
	e, stdout, stderr := testEnv(nil)
	e.reportEvery = 40 * time.Millisecond
	start := time.Now()
	code := e.run(ctxTimeout(t, 30*time.Second), []string{"perf", "-b", bootstrap(c), "-t", "p",
		"--num-records", "600", "--throughput", "2000", "-X", "linger.ms=0"})
	elapsed := time.Since(start)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// 600 records at 2000/s cannot take less than 299.5 ms.
	if elapsed < 299*time.Millisecond {
		t.Errorf("600 records at 2000/s took only %v", elapsed)
	}
	out := lines(stdout.String())
	if len(out) < 3 {
		t.Fatalf("want window lines and a final line, got %q", out)
	}
	windowed := 0
	for _, l := range out[:len(out)-1] {
		m := windowRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("window line %q does not match %s", l, windowRE)
		}
		n, _ := strconv.Atoi(m[1])
		windowed += n
	}
	if windowed == 0 || windowed > 600 {
		t.Errorf("window lines count %d records", windowed)
	}
	if m := totalRE.FindStringSubmatch(out[len(out)-1]); m == nil || m[1] != "600" {
		t.Errorf("final line %q", out[len(out)-1])
	}
	if n := len(c.Records("p", 0)); n != 600 {
		t.Errorf("%d records stored", n)
	}
}

func TestPerfPayloadFile(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("p", 1))
	file := filepath.Join(t.TempDir(), "payloads")
	os.WriteFile(file, []byte("alpha;beta;;gamma;"), 0o600)
	r := runCmd(t, "", "perf", "-b", bootstrap(c), "-t", "p", "--num-records", "300", "--payload-file", file, "--payload-delimiter", ";")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "3 payloads read from "+file) {
		t.Errorf("stderr %q", r.stderr)
	}
	seen := map[string]int{}
	for _, rec := range c.Records("p", 0) {
		seen[string(rec.Value)]++
	}
	if len(seen) != 3 || seen["alpha"] == 0 || seen["beta"] == 0 || seen["gamma"] == 0 {
		t.Errorf("values sent: %v", seen)
	}
	if m := totalRE.FindStringSubmatch(strings.TrimSpace(r.stdout)); m == nil || m[1] != "300" {
		t.Errorf("stdout %q", r.stdout)
	}

	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, []byte("\n\n"), 0o600)
	if r := runCmd(t, "", "perf", "-b", bootstrap(c), "--payload-file", empty); r.code != exitFailed || !strings.Contains(r.stderr, "holds no payload") {
		t.Errorf("empty payload file: exit %d, %q", r.code, r.stderr)
	}
}

func TestPerfEmbedded(t *testing.T) {
	testutil.CheckNoLeaks(t)
	r := runCmd(t, "", "perf", "--num-records", "2000")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "started an embedded in-memory cluster") {
		t.Errorf("stderr %q", r.stderr)
	}
	if m := totalRE.FindStringSubmatch(strings.TrimSpace(r.stdout)); m == nil || m[1] != "2000" {
		t.Errorf("stdout %q", r.stdout)
	}
}

func TestPerfFailures(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("p", 2))
	c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "p", Partition: 1,
		ErrorCode: wire.ErrTopicAuthorizationFailed.Code, Times: -1})
	r := runCmd(t, "", "perf", "-b", bootstrap(c), "-t", "p", "--num-records", "1000", "-X", "partitioner.class=RoundRobinPartitioner")
	if r.code != exitFailed {
		t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
	}
	if m := totalRE.FindStringSubmatch(strings.TrimSpace(r.stdout)); m == nil || m[1] != "500" {
		t.Errorf("stdout %q: want the 500 records of partition 0 counted", r.stdout)
	}
	if got := strings.Count(r.stderr, "gregor perf: record failed: "); got != maxShownErrors {
		t.Errorf("%d errors shown, want %d:\n%s", got, maxShownErrors, r.stderr)
	}
	if !strings.Contains(r.stderr, "TOPIC_AUTHORIZATION_FAILED") || !strings.Contains(r.stderr, "gregor perf: 500 records failed") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

func TestPerfStopsWithoutMetadata(t *testing.T) {
	c := newCluster(t, kafkatest.AutoCreateTopics(false))
	r := runCmd(t, "", "perf", "-b", bootstrap(c), "-t", "absent", "--num-records", "1000", "-X", "max.block.ms=200")
	if r.code != exitFailed {
		t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
	}
	if m := totalRE.FindStringSubmatch(strings.TrimSpace(r.stdout)); m == nil || m[1] != "0" {
		t.Errorf("stdout %q", r.stdout)
	}
	for _, want := range []string{
		`gregor perf: record failed: topic "absent": timed out: not present in metadata`,
		"auto.create.topics.enable is off?", // the cause
		"gregor perf: stopped sending after 1 of 1000 records: the next would fail the same way",
		"gregor perf: 1 record failed",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

func TestPerfInterrupt(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("p", 1))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, stdout, stderr := testEnv(nil)
	code := make(chan int, 1)
	go func() {
		code <- e.run(ctx, []string{"perf", "-b", bootstrap(c), "-t", "p", "--num-records", "1000000", "--throughput", "5000",
			"-X", "buffer.memory=1000000"}) // fewer latency slots to make: quicker under -race
	}()
	if _, err := c.WaitForRecords(ctxTimeout(t, 10*time.Second), "p", 100); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case got := <-code:
		if got != exitInterrupted {
			t.Errorf("exit %d, want %d", got, exitInterrupted)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("perf did not stop after the interrupt")
	}
	m := totalRE.FindStringSubmatch(strings.TrimSpace(stdout.String()))
	if m == nil {
		t.Fatalf("stdout %q", stdout)
	}
	// Everything sent before the interrupt was waited for, and counted.
	if stored := len(c.Records("p", 0)); m[1] != strconv.Itoa(stored) {
		t.Errorf("final line counts %s records, the cluster holds %d", m[1], stored)
	}
	if !strings.Contains(stderr.String(), "gregor perf: interrupted after sending ") {
		t.Errorf("stderr %q", stderr)
	}
}

// TestPerfSendPathAllocs: preparing a record and completing it allocate nothing in the
// tool (the producer's own costs are the benchmark's business).
func TestPerfSendPathAllocs(t *testing.T) {
	e, _, _ := testEnv(nil)
	for _, payloads := range [][][]byte{nil, {[]byte("a"), []byte("bb")}} {
		r := newPerfRun(context.Background(), e, nil, "t", 10, 100, payloads, -1, 1<<20)
		md := producer.RecordMetadata{Topic: "t"}
		n := testing.AllocsPerRun(1000, func() {
			idx := <-r.free
			rec, cb := r.prepare(idx)
			if rec.Topic != "t" {
				panic("bad record")
			}
			cb(md, nil)
		})
		if n != 0 {
			t.Errorf("payloads %q: %v allocations per record", payloads, n)
		}
		if r.total.n != 1001 { // AllocsPerRun runs once more to warm up
			t.Errorf("%d latencies recorded", r.total.n)
		}
	}
}

func TestFillLetters(t *testing.T) {
	e, _, _ := testEnv(nil)
	r := newPerfRun(context.Background(), e, nil, "t", 1, 13, nil, -1, 1<<20)
	counts := map[byte]int{}
	for range 2000 {
		fillLetters(r.value, r.rng)
		for _, b := range r.value {
			if b < 'A' || b > 'Z' {
				t.Fatalf("byte %q in %q", b, r.value)
			}
			counts[b]++
		}
	}
	// 26,000 letters: each letter about 1,000 times.
	for l := byte('A'); l <= 'Z'; l++ {
		if counts[l] < 800 || counts[l] > 1200 {
			t.Errorf("letter %c drawn %d times of 26000", l, counts[l])
		}
	}
}

func TestLineFormats(t *testing.T) {
	h := newHistogram()
	for _, v := range []uint64{1500, 2511, 100_000} { // 2511 µs is the top of its bucket: exact
		h.record(v)
	}
	got := totalLine(h, 3*1024*1024, 2*time.Second)
	want := "3 records sent, 1.5 records/sec (1.50 MB/sec), 34.67 ms avg latency, 100.00 ms max latency, 2.51 ms 50th, 100.00 ms 95th, 100.00 ms 99th, 100.00 ms 99.9th."
	if got != want {
		t.Errorf("totalLine:\n%s\nwant\n%s", got, want)
	}
	w := windowStats{count: 10, bytes: 5 * 1024 * 1024, sumMicros: 25_000, maxMicros: 7_260}
	got = windowLine(w, 5*time.Second)
	want = "10 records sent, 2.0 records/sec (1.00 MB/sec), 2.5 ms avg latency, 7.3 ms max latency."
	if got != want {
		t.Errorf("windowLine:\n%s\nwant\n%s", got, want)
	}
	if got := windowLine(windowStats{}, time.Second); got != "0 records sent, 0.0 records/sec (0.00 MB/sec), 0.0 ms avg latency, 0.0 ms max latency." {
		t.Errorf("empty window: %s", got)
	}
}

// BenchmarkPerfSendPath is the tool's own cost per record: payload, slot, latency.
func BenchmarkPerfSendPath(b *testing.B) {
	e, _, _ := testEnv(nil)
	r := newPerfRun(context.Background(), e, nil, "t", 1024, 100, nil, -1, 1<<20)
	md := producer.RecordMetadata{Topic: "t"}
	b.ReportAllocs()
	for b.Loop() {
		idx := <-r.free
		_, cb := r.prepare(idx)
		cb(md, nil)
	}
}

// BenchmarkPerf runs perf for b.N records of 100 bytes against an in-process cluster: the
// tool, the producer and kafkatest together, allocations included.
func BenchmarkPerf(b *testing.B) {
	c, err := kafkatest.NewCluster(kafkatest.SeedTopic("bench", 3))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	e, stdout, stderr := testEnv(nil)
	e.reportEvery = 0
	b.ReportAllocs()
	b.ResetTimer()
	code := e.run(context.Background(), []string{"perf", "-b", bootstrap(c), "-t", "bench", "--num-records", strconv.Itoa(b.N)})
	b.StopTimer()
	if code != 0 {
		b.Fatalf("exit %d: %s", code, stderr)
	}
	b.Log(strings.TrimSpace(stdout.String()))
}
