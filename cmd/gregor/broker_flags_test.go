package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/internal/testutil"
	"github.com/gregor-kafka/producer/wire"
)

// runningBroker is a `gregor broker` started by startBroker.
type runningBroker struct {
	addrs  []string
	stderr *testutil.SyncBuffer
	cancel context.CancelFunc
	code   chan int
	done   bool
}

// startBroker runs `gregor broker args...` until stop and returns its bootstrap addresses.
func startBroker(t *testing.T, args ...string) *runningBroker {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e, stdout, stderr := testEnv(nil)
	b := &runningBroker{stderr: stderr, cancel: cancel, code: make(chan int, 1)}
	go func() { b.code <- e.run(ctx, append([]string{"broker"}, args...)) }()
	t.Cleanup(func() { b.stop(t) })
	deadline := time.Now().Add(10 * time.Second)
	for !strings.HasSuffix(stdout.String(), "\n") {
		if time.Now().After(deadline) {
			t.Fatalf("no bootstrap line; stderr:\n%s", stderr.String())
		}
		time.Sleep(time.Millisecond)
	}
	b.addrs = strings.Split(strings.TrimSpace(stdout.String()), ",")
	return b
}

// stop stops the broker and returns what it wrote on stderr.
func (b *runningBroker) stop(t *testing.T) string {
	t.Helper()
	if b.done {
		return b.stderr.String()
	}
	b.done = true
	b.cancel()
	select {
	case got := <-b.code:
		if got != 0 {
			t.Errorf("gregor broker exited %d", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("gregor broker did not stop")
	}
	return b.stderr.String()
}

// roundTrip sends one request to addr and decodes its answer into resp.
func roundTrip(t *testing.T, addr string, version int16, req wire.Request, resp wire.Response) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write(wire.AppendRequest(nil, wire.RequestHeader{APIVersion: version, CorrelationID: 1}, req)); err != nil {
		t.Fatal(err)
	}
	frame, err := wire.ReadFrame(nc, nil, 64<<20)
	if err != nil {
		t.Fatalf("%s v%d: %v", wire.APIName(req.Key()), version, err)
	}
	_, body, err := wire.ParseResponseHeader(frame, req.Key(), version)
	if err == nil {
		err = resp.Decode(body, version)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestBrokerNoAutoCreate checks --no-auto-create: a Metadata request that allows creation
// does not create the topic, and a --topic topic still exists.
func TestBrokerNoAutoCreate(t *testing.T) {
	testutil.CheckNoLeaks(t)
	b := startBroker(t, "--ports", "0", "--no-auto-create", "--topic", "seeded:2")
	var md wire.MetadataResponse
	roundTrip(t, b.addrs[0], 12, &wire.MetadataRequest{
		Topics:                 []wire.MetadataRequestTopic{{Name: strp("missing")}, {Name: strp("seeded")}},
		AllowAutoTopicCreation: true,
	}, &md)
	if len(md.Topics) != 2 || md.Topics[0].ErrorCode != wire.ErrUnknownTopicOrPartition.Code ||
		md.Topics[1].ErrorCode != 0 || len(md.Topics[1].Partitions) != 2 {
		t.Fatalf("metadata %+v", md.Topics)
	}
	s := b.stop(t)
	if !strings.Contains(s, "topics are not created on first use") || strings.Contains(s, "topic missing") {
		t.Errorf("stderr:\n%s", s)
	}

	// Without the flag the same request creates the topic.
	b = startBroker(t, "--ports", "0")
	roundTrip(t, b.addrs[0], 12, &wire.MetadataRequest{Topics: []wire.MetadataRequestTopic{{Name: strp("missing")}}, AllowAutoTopicCreation: true}, &md)
	if md.Topics[0].ErrorCode != 0 || len(md.Topics[0].Partitions) != 3 {
		t.Fatalf("auto-created: %+v", md.Topics)
	}
}

func strp(s string) *string { return &s }

// TestBrokerRetain checks --retain-records and --retain-bytes: after many records the
// oldest are gone, ListOffsets' earliest offset and Fetch's log start offset say so, and
// the exit summary counts what was written and what was kept.
func TestBrokerRetain(t *testing.T) {
	testutil.CheckNoLeaks(t)
	for _, tc := range []struct {
		flag     string
		value    int
		maxBytes int // bound on the bytes kept, 0 for a record bound
	}{
		{"--retain-records", 100, 0},
		{"--retain-bytes", 4000, 4000},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			b := startBroker(t, "--ports", "0", "--topic", "kept:1", tc.flag, fmt.Sprint(tc.value))
			ctx := ctxTimeout(t, 30*time.Second)
			p, err := producer.New(producer.Config{BootstrapServers: b.addrs})
			if err != nil {
				t.Fatal(err)
			}
			const n = 2000
			for i := range n {
				if err := p.SendAsync(ctx, producer.Record{Topic: "kept", Value: fmt.Appendf(nil, "value-%04d", i)}, nil); err != nil {
					t.Fatal(err)
				}
				if i%100 == 99 { // several batches
					if err := p.Flush(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := p.Close(ctx); err != nil {
				t.Fatal(err)
			}
			var lo wire.ListOffsetsResponse
			roundTrip(t, b.addrs[0], 7, &wire.ListOffsetsRequest{ReplicaID: -1, Topics: []wire.ListOffsetsTopic{{Name: "kept",
				Partitions: []wire.ListOffsetsPartition{{CurrentLeaderEpoch: -1, Timestamp: wire.ListOffsetsEarliest}}}}}, &lo)
			start := lo.Topics[0].Partitions[0].Offset
			if start <= 0 || start >= n {
				t.Fatalf("earliest offset %d after %d records", start, n)
			}
			var f wire.FetchResponse
			roundTrip(t, b.addrs[0], 12, &wire.FetchRequest{ReplicaID: -1, ReplicaState: wire.FetchReplicaState{ReplicaID: -1, ReplicaEpoch: -1},
				MaxBytes: 1 << 20, SessionEpoch: -1, Topics: []wire.FetchTopic{{Name: "kept", Partitions: []wire.FetchPartition{
					{Index: 0, CurrentLeaderEpoch: -1, FetchOffset: 0, LastFetchedEpoch: -1, LogStartOffset: -1, PartitionMaxBytes: 1 << 20, HighWatermark: math.MaxInt64},
				}}}}, &f)
			if pr := f.Topics[0].Partitions[0]; pr.ErrorCode != wire.ErrOffsetOutOfRange.Code {
				t.Fatalf("fetch from offset 0: error %d", pr.ErrorCode)
			}
			s := b.stop(t)
			var kept int
			if _, err := fmt.Sscanf(s[strings.Index(s, "  topic kept: "):], "  topic kept: 2000 records in 1 partition, %d kept\n", &kept); err != nil {
				t.Fatalf("summary: %v\n%s", err, s)
			}
			if kept != n-int(start) {
				t.Errorf("%d kept, but the log starts at %d", kept, start)
			}
			if tc.maxBytes == 0 && kept > tc.value+100 || kept > 1000 {
				t.Errorf("%d kept with %s %d", kept, tc.flag, tc.value)
			}
			if want := fmt.Sprintf("each partition keeps at most %d", tc.value); !strings.Contains(s, want) {
				t.Errorf("stderr lacks %q:\n%s", want, s)
			}
		})
	}
	r := runCmd(t, "", "broker", "--retain-records", "-1")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--retain-records -1: must not be negative") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestBrokerVerboseRefusedBatch checks that -v logs a refused batch with its reason.
func TestBrokerVerboseRefusedBatch(t *testing.T) {
	testutil.CheckNoLeaks(t)
	b := startBroker(t, "--ports", "0", "--topic", "t:1", "-v")
	region := wire.AppendRecord(nil, 0, 0, nil, []byte("v"), nil)
	batch := append(make([]byte, wire.RecordBatchHeaderSize), region...)
	wire.FinishBatch(batch, &wire.BatchHeader{PartitionLeaderEpoch: -1, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, NumRecords: 1})
	batch[len(batch)-1] ^= 1 // break the CRC
	var resp wire.ProduceResponse
	roundTrip(t, b.addrs[0], 9, &wire.ProduceRequest{Acks: -1, TimeoutMs: 1000, Topics: []wire.ProduceTopic{{Name: "t",
		Partitions: []wire.ProducePartition{{Index: 0, Records: batch}}}}}, &resp)
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != wire.ErrCorruptMessage.Code {
		t.Fatalf("error %d", code)
	}
	s := b.stop(t)
	for _, want := range []string{`msg="kafkatest: batch refused" broker=0`, `topic=t partition=0 error="CORRUPT_MESSAGE (2)" reason="batch is corrupt: `} {
		if !strings.Contains(s, want) {
			t.Errorf("stderr lacks %q:\n%s", want, s)
		}
	}
}

// TestBrokerKcat follows the README: kcat writes into `gregor broker` and reads back.
func TestBrokerKcat(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (Debian package kcat; .ci/run installs it)")
	}
	b := startBroker(t, "--ports", "0,0")
	bootstrap := strings.Join(b.addrs, ",")
	ctx := ctxTimeout(t, 60*time.Second)
	produce := exec.CommandContext(ctx, kcat, "-P", "-b", bootstrap, "-t", "sample", "-K:", "-z", "gzip")
	produce.Stdin = strings.NewReader("k1:one\nk2:two\nk3:three\n")
	if out, err := produce.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	consume := exec.CommandContext(ctx, kcat, "-C", "-b", bootstrap, "-t", "sample", "-o", "beginning", "-e", "-q", "-f", "%k=%s\n")
	var stderr bytes.Buffer
	consume.Stderr = &stderr
	out, err := consume.Output()
	if err != nil {
		t.Fatalf("kcat -C: %v\n%s", err, stderr.Bytes())
	}
	lines := strings.Fields(string(out))
	if len(lines) != 3 || !strings.Contains(string(out), "k1=one\n") || !strings.Contains(string(out), "k3=three\n") {
		t.Fatalf("kcat -C printed %q", out)
	}
	if s := b.stop(t); !strings.Contains(s, "topic sample: 3 records in 3 partitions") {
		t.Errorf("stderr:\n%s", s)
	}
}
