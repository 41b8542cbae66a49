package main

import (
	"context"
	"fmt"
	"github.com/gregor-kafka/producer/internal/testutil"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

func bootstrap(c *kafkatest.Cluster) string { return strings.Join(c.Addrs(), ",") }

// show renders records as key=value[headers] for comparisons; a null key shows as <nil>.
func show(recs []kafkatest.Record) string {
	var b strings.Builder
	for _, r := range recs {
		key := "<nil>"
		if r.Key != nil {
			key = string(r.Key)
		}
		fmt.Fprintf(&b, "%s=%s", key, r.Value)
		for _, h := range r.Headers {
			fmt.Fprintf(&b, "[%s:%s]", h.Key, h.Value)
		}
		b.WriteString(" ")
	}
	return strings.TrimSpace(b.String())
}

func TestProduceKeysHeadersPartition(t *testing.T) {
	testutil.CheckNoLeaks(t)
	c := newCluster(t, kafkatest.SeedTopic("t", 3))
	in := "k1:v1\nk2:v:2\r\n:empty key\nk4:\n"
	r := runCmd(t, in, "produce", "-b", bootstrap(c), "-t", "t", "-K:", "-H", "a=1", "-Hb=x=y", "-H", "a=2", "-p1")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "gregor produce: 4 records sent, 0 failed in ") {
		t.Errorf("summary: %q", r.stderr)
	}
	// Every record in partition 1, in input order, with the headers in flag order.
	hdrs := "[a:1][b:x=y][a:2]"
	want := "k1=v1" + hdrs + " k2=v:2" + hdrs + " =empty key" + hdrs + " k4=" + hdrs
	if got := show(c.Records("t", 1)); got != want {
		t.Errorf("partition 1 holds %q, want %q", got, want)
	}
	for _, p := range []int32{0, 2} {
		if n := len(c.Records("t", p)); n != 0 {
			t.Errorf("partition %d holds %d records", p, n)
		}
	}
	// The key of ":empty key" is empty, not null; the value of "k4:" empty, not null.
	recs := c.Records("t", 1)
	if recs[2].Key == nil || len(recs[2].Key) != 0 || recs[3].Value == nil || len(recs[3].Value) != 0 {
		t.Errorf("empty key/value sent as null: %+v %+v", recs[2], recs[3])
	}
}

func TestProduceKeyedPartitioning(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("keyed", 6))
	var in strings.Builder
	for i := range 60 {
		fmt.Fprintf(&in, "user-%d|event %d\n", i%10, i)
	}
	r := runCmd(t, in.String(), "produce", "--bootstrap-server", bootstrap(c), "--topic", "keyed", "--key-delimiter", "|")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	total := 0
	for p := range int32(6) {
		for _, rec := range c.Records("keyed", p) {
			total++
			if want := producer.KeyPartition(rec.Key, 6); want != p {
				t.Errorf("key %s in partition %d, murmur2 says %d", rec.Key, p, want)
			}
		}
	}
	if total != 60 {
		t.Errorf("%d records stored, want 60", total)
	}
}

func TestProduceLinesFilesAndDelimiter(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("files", 1))
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, []byte("a1||||a2||"), 0o600)
	os.WriteFile(b, []byte("b1||b\n2"), 0o600)
	r := runCmd(t, "s1||s2", "produce", "-b", bootstrap(c), "-t", "files", "-D", "||", "-l", a, "-", b)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want := "<nil>=a1 <nil>= <nil>=a2 <nil>=s1 <nil>=s2 <nil>=b1 <nil>=b\n2"
	if got := show(c.Records("files", 0)); got != want {
		t.Errorf("stored %q, want %q", got, want)
	}
}

// TestProduceFileIsOneRecord: without -l a FILE is one record, as kcat sends it; stdin is
// still split, -K splits lines only, and -k keys every record.
func TestProduceFileIsOneRecord(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("files", 1))
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.bin")
	os.WriteFile(a, []byte("{\n  \"k\": 1\n}\n"), 0o600)
	os.WriteFile(b, []byte("\x00\x01:\n\xff"), 0o600)
	r := runCmd(t, "s1\ns2\n", "produce", "-b", bootstrap(c), "-t", "files", "-k", "key", a, "-", b)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want := "key={\n  \"k\": 1\n}\n key=s1 key=s2 key=\x00\x01:\n\xff"
	if got := show(c.Records("files", 0)); got != want {
		t.Errorf("stored %q, want %q", got, want)
	}
	if !strings.Contains(r.stderr, "gregor produce: 4 records sent, 0 failed") {
		t.Errorf("summary: %s", r.stderr)
	}

	// -K splits the lines of stdin but not a whole file.
	r = runCmd(t, "k:v\n", "produce", "-b", bootstrap(c), "-t", "files", "-K:", "-", b)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	recs := c.Records("files", 0)[4:]
	if got := show(recs); got != "k=v <nil>=\x00\x01:\n\xff" {
		t.Errorf("with -K stored %q", got)
	}
}

// TestProduceKcatFlags: -z, -c, -T, -v and --producer-property, and the plurals of the
// summary.
func TestProduceKcatFlags(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("t", 2))
	r := runCmd(t, "a\nb\nc\nd\n", "produce", "-b", bootstrap(c), "-t", "t", "-p", "1", "-z", "zstd", "-c", "3", "-T", "-v",
		"--producer-property", "acks=1")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	recs := c.Records("t", 1)
	if got := show(recs); got != "<nil>=a <nil>=b <nil>=c" {
		t.Errorf("stored %q, want the first 3 records", got)
	}
	for _, rec := range recs {
		if rec.Codec != 4 {
			t.Errorf("record %q stored with codec %d, want zstd (4)", rec.Value, rec.Codec)
		}
	}
	if r.stdout != "a\nb\nc\n" {
		t.Errorf("-T wrote %q", r.stdout)
	}
	for i, v := range []string{"a", "b", "c"} {
		want := fmt.Sprintf("gregor produce: stdin record %d: delivered to topic \"t\" partition 1 at offset %d\n", i+1, i)
		if !strings.Contains(r.stderr, want) {
			t.Errorf("no delivery report for %s (%q) in:\n%s", v, want, r.stderr)
		}
	}
	if !strings.Contains(r.stderr, "gregor produce: 3 records sent, 0 failed in ") {
		t.Errorf("summary:\n%s", r.stderr)
	}

	// One record: "1 record".
	r = runCmd(t, "only\n", "produce", "-b", bootstrap(c), "-t", "t", "-p", "0")
	if r.code != 0 || !strings.Contains(r.stderr, "gregor produce: 1 record sent, 0 failed in ") {
		t.Errorf("exit %d, summary:\n%s", r.code, r.stderr)
	}
	if r.stdout != "" || strings.Contains(r.stderr, "delivered") {
		t.Errorf("without -T and -v: stdout %q, stderr %q", r.stdout, r.stderr)
	}

	// acks=0 has no offsets to report.
	r = runCmd(t, "x\n", "produce", "-b", bootstrap(c), "-t", "t", "-p", "0", "-v", "-X", "acks=0")
	if r.code != 0 || !strings.Contains(r.stderr, `gregor produce: stdin record 1: delivered to topic "t" partition 0 (offset unknown: acks=0)`) {
		t.Errorf("acks=0: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// TestProduceCountStopsReading: -c ends the run once N records are read, without waiting
// for more input.
func TestProduceCountStopsReading(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("t", 1))
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	e, _, stderr := testEnv(pr)
	code := make(chan int, 1)
	go func() {
		code <- e.run(ctxTimeout(t, 30*time.Second), []string{"produce", "-b", bootstrap(c), "-t", "t", "-c", "2"})
	}()
	fmt.Fprint(pw, "one\ntwo\n") // and nothing more, but the pipe stays open
	select {
	case got := <-code:
		if got != 0 {
			t.Fatalf("exit %d: %s", got, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("produce -c 2 still waits for input after 2 records")
	}
	if got := show(c.Records("t", 0)); got != "<nil>=one <nil>=two" {
		t.Errorf("stored %q", got)
	}
}

func TestProduceMissingFileSendsNothing(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("t", 1))
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	os.WriteFile(good, []byte("x\n"), 0o600)
	r := runCmd(t, "", "produce", "-b", bootstrap(c), "-t", "t", good, filepath.Join(dir, "missing"))
	if r.code != exitFailed || !strings.Contains(r.stderr, "missing: no such file") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if n := len(c.Records("t", 0)); n != 0 {
		t.Errorf("%d records sent", n)
	}
}

func TestProduceRecordErrors(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("t", 1))
	big := strings.Repeat("x", 3000)
	in := "k:good\nno separator\nk:" + big + "\nk:also good\n"
	r := runCmd(t, in, "produce", "-b", bootstrap(c), "-t", "t", "-K:", "-X", "max.request.size=2000")
	if r.code != exitFailed {
		t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		`gregor produce: stdin record 2: no key delimiter ":" in it; not sent`,
		"gregor produce: stdin record 3: record too large",
		"gregor produce: 2 records sent, 2 failed in ",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if got := show(c.Records("t", 0)); got != "k=good k=also good" {
		t.Errorf("stored %q", got)
	}
}

func TestProduceDeliveryErrors(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("t", 2))
	c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "t", Partition: 1,
		ErrorCode: wire.ErrTopicAuthorizationFailed.Code, Times: -1})
	r := runCmd(t, "a\nb\nc\n", "produce", "-b", bootstrap(c), "-t", "t", "-p", "1")
	if r.code != exitFailed {
		t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
	}
	for i := 1; i <= 3; i++ {
		want := fmt.Sprintf("gregor produce: stdin record %d: topic \"t\" partition 1: kafka: TOPIC_AUTHORIZATION_FAILED", i)
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if !strings.Contains(r.stderr, "TOPIC_AUTHORIZATION_FAILED") || !strings.Contains(r.stderr, "0 records sent, 3 failed") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

// TestProduceStopsWithoutMetadata: a topic that cannot be produced to fails every record
// the same way; produce stops at the first instead of waiting max.block.ms for each.
func TestProduceStopsWithoutMetadata(t *testing.T) {
	c := newCluster(t, kafkatest.AutoCreateTopics(false))
	in := strings.Repeat("v\n", 1000)
	r := runCmd(t, in, "produce", "-b", bootstrap(c), "-t", "absent", "-X", "max.block.ms=200")
	if r.code != exitFailed {
		t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "stopped reading at stdin record 1: the records after it would fail the same way") ||
		!strings.Contains(r.stderr, "0 records sent, 1 failed") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if n := strings.Count(r.stderr, `topic "absent"`); n != 1 {
		t.Errorf("the error is shown %d times:\n%s", n, r.stderr)
	}
}

func TestProduceEmbedded(t *testing.T) {
	testutil.CheckNoLeaks(t)
	r := runCmd(t, "k1=a\nk2=b\nk3=c\n", "produce", "-t", "demo", "-K=")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"gregor produce: no --bootstrap-server given: started an embedded in-memory cluster (kafkatest, 3 brokers at 127.0.0.1:",
		"3 records sent, 0 failed",
		`the embedded cluster's topic "demo" holds 3 records (by partition: 0:`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

// TestProduceInterrupt: Ctrl-C while stdin has more to come (a terminal, a pipe) ends the
// run at once; what was read is delivered.
func TestProduceInterrupt(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("t", 1))
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() }) // releases the abandoned reading goroutine
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, _, stderr := testEnv(pr)
	code := make(chan int, 1)
	go func() { code <- e.run(ctx, []string{"produce", "-b", bootstrap(c), "-t", "t"}) }()
	fmt.Fprint(pw, "one\ntwo\n")
	if _, err := c.WaitForRecords(ctxTimeout(t, 10*time.Second), "t", 2); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case got := <-code:
		if got != exitInterrupted {
			t.Errorf("exit %d, want %d", got, exitInterrupted)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("produce did not stop after the interrupt")
	}
	if s := stderr.String(); !strings.Contains(s, "2 records sent, 0 failed") || !strings.Contains(s, "interrupted") {
		t.Errorf("stderr:\n%s", s)
	}
	if got := show(c.Records("t", 0)); got != "<nil>=one <nil>=two" {
		t.Errorf("stored %q", got)
	}
}

func TestProduceProgressOnTerminal(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("t", 1))
	pr, pw := io.Pipe()
	e, _, stderr := testEnv(pr)
	e.terminal, e.progressEvery = true, 5*time.Millisecond
	code := make(chan int, 1)
	go func() {
		code <- e.run(ctxTimeout(t, 30*time.Second), []string{"produce", "-b", bootstrap(c), "-t", "t"})
	}()
	fmt.Fprint(pw, "a\nb\nc\n")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "3 records read, 3 sent, 0 failed") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	pw.Close()
	if got := <-code; got != 0 {
		t.Fatalf("exit %d: %s", got, stderr.String())
	}
	s := stderr.String()
	if !strings.Contains(s, "\rgregor produce: 3 records read, 3 sent, 0 failed, ") || !strings.Contains(s, " records/s\x1b[K") {
		t.Errorf("no progress line in %q", s)
	}
	// The progress line is cleared before the summary.
	if !strings.Contains(s, "\x1b[K\r\x1b[Kgregor produce: 3 records sent, 0 failed") {
		t.Errorf("summary not on a clean line: %q", s)
	}
}

func TestProgressLine(t *testing.T) {
	if got, want := progressLine(10, 8, 1, 1234.4), "gregor produce: 10 records read, 8 sent, 1 failed, 1234 records/s"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
