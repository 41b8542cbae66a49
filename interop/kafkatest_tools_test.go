package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	producer "github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/compress"
	"github.com/gregor-kafka/producer/kafkatest"
)

// Tests of kafkatest against clients written by others, run as programs: kcat (librdkafka)
// and kafka-python. They skip when the tool is missing; .ci/run installs both (Debian
// packages kcat and python3-kafka).

// needKcat returns kcat's path, or skips the test.
func needKcat(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (Debian package kcat; .ci/run installs it)")
	}
	return path
}

// run runs a program with stdin and returns its standard output, failing the test with its
// standard error when it fails or takes more than a minute.
func run(t *testing.T, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	return stdout.Bytes()
}

// kcatRecord is one record of kcat -C -J's output.
type kcatRecord struct {
	Partition int32   `json:"partition"`
	Offset    int64   `json:"offset"`
	Ts        int64   `json:"ts"`
	Key       *string `json:"key"`
	Payload   *string `json:"payload"`
}

// kcatConsume reads topic from the beginning to its end with kcat -C -e.
func kcatConsume(t *testing.T, kcat string, c *kafkatest.Cluster, topic string, extra ...string) []kcatRecord {
	t.Helper()
	args := append([]string{"-C", "-b", strings.Join(c.Addrs(), ","), "-t", topic, "-o", "beginning", "-e", "-J", "-q"}, extra...)
	var out []kcatRecord
	sc := bufio.NewScanner(bytes.NewReader(run(t, nil, kcat, args...)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r kcatRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("kcat output %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

func strOrNil(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}

func eqStrPtr(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// TestKafkatestKcatConsume has kcat read back what gregor's producer wrote with each codec.
func TestKafkatestKcatConsume(t *testing.T) {
	kcat := needKcat(t)
	c, err := kafkatest.NewCluster(kafkatest.DefaultPartitions(3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, codec := range []compress.Codec{compress.None, compress.Gzip, compress.Snappy, compress.LZ4, compress.Zstd} {
		t.Run(codec.String(), func(t *testing.T) {
			topic := "kcat-read-" + codec.String()
			sent := produceWithGregor(t, c.Addrs(), topic, 300, codec)
			got := kcatConsume(t, kcat, c, topic)
			if len(got) != len(sent) {
				t.Fatalf("kcat read %d records, gregor wrote %d", len(got), len(sent))
			}
			type at struct {
				p   int32
				off int64
			}
			byPos := map[at]kcatRecord{}
			for _, r := range got {
				byPos[at{r.Partition, r.Offset}] = r
			}
			for i, s := range sent {
				r, ok := byPos[at{s.md.Partition, s.md.Offset}]
				if !ok || !eqStrPtr(r.Key, strOrNil(s.rec.Key)) || !eqStrPtr(r.Payload, strOrNil(s.rec.Value)) || r.Ts != s.rec.Timestamp.UnixMilli() {
					t.Fatalf("record %d (partition %d offset %d): kcat read %+v, wrote %+v", i, s.md.Partition, s.md.Offset, r, s.rec)
				}
			}
		})
	}
}

// TestKafkatestKcatProduce has kcat write into kafkatest with each codec, with and without
// idempotence, and reads the records from the cluster and back with kcat.
func TestKafkatestKcatProduce(t *testing.T) {
	kcat := needKcat(t)
	c, err := kafkatest.NewCluster(kafkatest.DefaultPartitions(2))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		for _, idempotent := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/idempotent=%v", codec, idempotent), func(t *testing.T) {
				topic := fmt.Sprintf("kcat-write-%s-%v", codec, idempotent)
				var in bytes.Buffer
				want := map[string]string{}
				for i := range 200 {
					k, v := fmt.Sprintf("k%d", i), fmt.Sprintf("%s-value-%d", codec, i)
					want[k] = v
					fmt.Fprintf(&in, "%s:%s\n", k, v)
				}
				args := []string{"-P", "-b", strings.Join(c.Addrs(), ","), "-t", topic, "-K:", "-z", codec, "-q"}
				if idempotent {
					args = append(args, "-X", "enable.idempotence=true")
				}
				run(t, in.Bytes(), kcat, args...)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				recs, err := c.WaitForRecords(ctx, topic, len(want))
				if err != nil {
					t.Fatalf("kafkatest stored %d of %d records: %v", len(recs), len(want), err)
				}
				compressed := 0
				for _, r := range recs {
					if want[string(r.Key)] != string(r.Value) {
						t.Fatalf("stored %q=%q, kcat wrote %q", r.Key, r.Value, want[string(r.Key)])
					}
					if (r.ProducerID >= 0) != idempotent {
						t.Fatalf("record %s has producer id %d, idempotence %v", r.Key, r.ProducerID, idempotent)
					}
					if r.Codec != 0 {
						compressed++
					}
				}
				// librdkafka sends a batch uncompressed when compressing does not shrink it.
				if (codec == "none") != (compressed == 0) {
					t.Fatalf("%d of %d records came in compressed batches, kcat was asked for %s", compressed, len(recs), codec)
				}
				got := kcatConsume(t, kcat, c, topic)
				if len(got) != len(want) {
					t.Fatalf("kcat read back %d records, wrote %d", len(got), len(want))
				}
				for _, r := range got {
					if r.Key == nil || r.Payload == nil || want[*r.Key] != *r.Payload {
						t.Fatalf("kcat read back %+v", r)
					}
				}
			})
		}
	}
}

// TestKafkatestKcatReadCommitted checks that kcat, which reads committed records only by
// default (librdkafka's isolation.level), reaches the end of a partition that has a
// transaction open, and sees neither its records nor aborted ones.
func TestKafkatestKcatReadCommitted(t *testing.T) {
	kcat := needKcat(t)
	const topic = "kcat-txn"
	c, err := kafkatest.NewCluster(kafkatest.SeedTopic(topic, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := producer.New(producer.Config{BootstrapServers: c.Addrs(), TransactionalID: "kcat-reader"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if err := p.InitTransactions(ctx); err != nil {
		t.Fatal(err)
	}
	send := func(values ...string) {
		for _, v := range values {
			if err := p.SendAsync(ctx, producer.Record{Topic: topic, Value: []byte(v)}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, commit := range []bool{true, false, true} {
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		send(fmt.Sprintf("commit=%v-1", commit), fmt.Sprintf("commit=%v-2", commit))
		if commit {
			err = p.CommitTransaction(ctx)
		} else {
			err = p.AbortTransaction(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	send("open")
	var got []string
	for _, r := range kcatConsume(t, kcat, c, topic) {
		got = append(got, *r.Payload)
	}
	if want := []string{"commit=true-1", "commit=true-2", "commit=true-1", "commit=true-2"}; !slices.Equal(got, want) {
		t.Fatalf("kcat read %q, want %q", got, want)
	}
	if all := kcatConsume(t, kcat, c, topic, "-X", "isolation.level=read_uncommitted"); len(all) != 7 {
		t.Fatalf("kcat read_uncommitted read %d records, want 7", len(all))
	}
}

// kafkaPython returns a Python interpreter that can import kafka-python, or skips the test.
func kafkaPython(t *testing.T) string {
	t.Helper()
	// Debian's python3-kafka installs for the system interpreter, which may not be the first
	// python3 on PATH.
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if path, err := exec.LookPath(py); err == nil && exec.Command(path, "-c", "import kafka").Run() == nil {
			return path
		}
	}
	t.Skip("kafka-python is not installed (Debian package python3-kafka; .ci/run installs it)")
	return ""
}

// TestKafkatestKafkaPython has kafka-python read back what gregor's producer wrote.
func TestKafkatestKafkaPython(t *testing.T) {
	py := kafkaPython(t)
	c, err := kafkatest.NewCluster(kafkatest.DefaultPartitions(3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, codec := range []compress.Codec{compress.None, compress.Gzip, compress.LZ4} {
		t.Run(codec.String(), func(t *testing.T) {
			topic := "python-" + codec.String()
			sent := produceWithGregor(t, c.Addrs(), topic, 200, codec)
			out := run(t, nil, py, "testdata/kafka_python_consume.py", strings.Join(c.Addrs(), ","), topic, "3", fmt.Sprint(len(sent)))
			type pyRecord struct {
				Partition int32       `json:"partition"`
				Offset    int64       `json:"offset"`
				Timestamp int64       `json:"timestamp"`
				Key       *string     `json:"key"`
				Value     *string     `json:"value"`
				Headers   [][]*string `json:"headers"`
			}
			type at struct {
				p   int32
				off int64
			}
			got := map[at]pyRecord{}
			for line := range bytes.Lines(out) {
				var r pyRecord
				if err := json.Unmarshal(line, &r); err != nil {
					t.Fatalf("kafka-python output %q: %v", line, err)
				}
				got[at{r.Partition, r.Offset}] = r
			}
			if len(got) != len(sent) {
				t.Fatalf("kafka-python read %d records, gregor wrote %d", len(got), len(sent))
			}
			hexOrNil := func(b []byte) *string {
				if b == nil {
					return nil
				}
				s := hex.EncodeToString(b)
				return &s
			}
			for i, s := range sent {
				r, ok := got[at{s.md.Partition, s.md.Offset}]
				if !ok || !eqStrPtr(r.Key, hexOrNil(s.rec.Key)) || !eqStrPtr(r.Value, hexOrNil(s.rec.Value)) ||
					r.Timestamp != s.rec.Timestamp.UnixMilli() || len(r.Headers) != len(s.rec.Headers) {
					t.Fatalf("record %d (partition %d offset %d): kafka-python read %+v, wrote %+v", i, s.md.Partition, s.md.Offset, r, s.rec)
				}
				for j, h := range s.rec.Headers {
					if len(r.Headers[j]) != 2 || r.Headers[j][0] == nil || *r.Headers[j][0] != h.Key || !eqStrPtr(r.Headers[j][1], hexOrNil(h.Value)) {
						t.Fatalf("record %d header %d: kafka-python read %v, wrote %+v", i, j, r.Headers[j], h)
					}
				}
			}
		})
	}
}
