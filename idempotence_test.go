package producer

import (
	"github.com/gregor-kafka/producer/internal/testutil"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

// produceNumbered sends records numbered from to from+n-1, keyed over two partitions,
// flushes, and checks that the topic's log holds every record numbered below from+n exactly
// once, in send order per partition. It returns the stored records.
func produceNumbered(t *testing.T, c *kafkatest.Cluster, p *Producer, topic string, from, n int) []kafkatest.Record {
	t.Helper()
	ctx := ctxTimeout(t, 60*time.Second)
	for i := from; i < from+n; i++ {
		if err := p.SendAsync(ctx, Record{Topic: topic, Key: []byte{byte(i % 2)}, Value: []byte(strconv.Itoa(i))}, func(_ RecordMetadata, err error) {
			if err != nil {
				t.Errorf("record failed: %v", err)
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var all []kafkatest.Record
	count := make([]int, from+n)
	for pa := int32(0); pa < int32(c.Partitions(topic)); pa++ {
		last := -1
		for _, r := range c.Records(topic, pa) {
			v, _ := strconv.Atoi(string(r.Value))
			count[v]++
			if v <= last {
				t.Errorf("partition %d: %d after %d", pa, v, last)
			}
			last = v
			all = append(all, r)
		}
	}
	for i, c := range count {
		if c != 1 {
			t.Errorf("record %d stored %d times", i, c)
		}
	}
	return all
}

// TestIdempotentDeduplicatesLostAnswers: the broker appends, then the answer is lost (an
// error after the write, or a dropped connection); with 5 requests in flight the retries
// must be deduplicated and the log must keep send order.
func TestIdempotentDeduplicatesLostAnswers(t *testing.T) {
	for name, f := range map[string]kafkatest.Fault{
		"timeout after append":         {ErrorCode: wire.ErrRequestTimedOut.Code, AppendAnyway: true},
		"not enough replicas after":    {ErrorCode: wire.ErrNotEnoughReplicasAfterAppend.Code, AppendAnyway: true},
		"connection dropped after":     {DropConnection: true, AppendAnyway: true},
		"connection dropped before":    {DropConnection: true},
		"answer swallowed after write": {Swallow: true, AppendAnyway: true},
	} {
		t.Run(name, func(t *testing.T) {
			testutil.CheckNoLeaks(t)
			c := newCluster(t, kafkatest.SeedTopic("dedup", 2))
			f.Key, f.Broker, f.Partition, f.Times = wire.KeyProduce, kafkatest.AnyBroker, kafkatest.AnyPartition, 8
			h := c.InjectFault(f)
			p := newProducer(t, Config{BootstrapServers: c.Addrs(), Linger: time.Millisecond, BatchSize: 200,
				RetryBackoff: time.Millisecond, RetryBackoffMax: 5 * time.Millisecond, RequestTimeout: 500 * time.Millisecond})
			produceNumbered(t, c, p, "dedup", 0, 2000)
			if h.Hits() == 0 {
				t.Fatal("the fault never hit")
			}
		})
	}
}

func TestEpochBumpAfterSequenceErrors(t *testing.T) {
	for _, code := range []int16{wire.ErrOutOfOrderSequenceNumber.Code, wire.ErrUnknownProducerID.Code} {
		t.Run(wire.ErrorForCode(code).(*wire.Error).Name, func(t *testing.T) {
			c := newCluster(t, kafkatest.SeedTopic("bump", 2))
			p := newProducer(t, Config{BootstrapServers: c.Addrs(), Linger: time.Millisecond, BatchSize: 200, RetryBackoff: time.Millisecond})
			produceNumbered(t, c, p, "bump", 0, 100) // establish the partitions' producer state
			h := c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Partition: kafkatest.AnyPartition, ErrorCode: code, Times: 1})
			recs := produceNumbered(t, c, p, "bump", 100, 400)
			if h.Hits() != 1 {
				t.Fatalf("fault hits %d", h.Hits())
			}
			epochs := map[int16]bool{}
			for _, r := range recs {
				epochs[r.ProducerEpoch] = true
			}
			if !epochs[1] {
				t.Fatalf("no record written with the bumped epoch; epochs %v", epochs)
			}
		})
	}
}

// TestSequenceWrap starts a partition's sequence numbers just below 2^31-1 (a broker with no
// state for the producer accepts any first sequence, KIP-360) and checks they wrap to 0.
func TestSequenceWrap(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("wrap", 1))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Linger: time.Millisecond, BatchSize: 100})
	ctx := ctxTimeout(t, 20*time.Second)
	// Learn the producer id, then plant the sequence before anything reaches the broker.
	_, parts, err := p.topicParts(ctx, "wrap", 0, time.Now().Add(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var pid int64
	var epoch int16
	for ok := false; !ok; {
		if time.Now().After(deadline) {
			t.Fatal("no producer id")
		}
		pid, epoch, ok, _ = p.idem.current()
		time.Sleep(time.Millisecond)
	}
	pa := parts[0]
	pa.mu.Lock()
	pa.seqPID, pa.seqEpoch, pa.nextSeq = pid, epoch, math.MaxInt32-20
	pa.mu.Unlock()
	recs := produceNumbered(t, c, p, "wrap", 0, 200)
	sawWrap := false
	for i := 1; i < len(recs); i++ {
		prev, cur := recs[i-1].Sequence, recs[i].Sequence
		if prev == math.MaxInt32 && cur == 0 {
			sawWrap = true
		} else if cur != prev+1 {
			t.Fatalf("sequence %d after %d", cur, prev)
		}
	}
	if !sawWrap || recs[0].Sequence != math.MaxInt32-20 {
		t.Fatalf("sequences from %d, wrapped %v", recs[0].Sequence, sawWrap)
	}
}

func TestNextSequence(t *testing.T) {
	for _, c := range []struct{ seq, n, want int32 }{
		{0, 5, 5}, {math.MaxInt32 - 5, 5, math.MaxInt32}, {math.MaxInt32 - 5, 6, 0}, {math.MaxInt32, 1, 0}, {math.MaxInt32 - 1, 10, 8},
	} {
		if got := nextSequence(c.seq, c.n); got != c.want {
			t.Errorf("nextSequence(%d, %d) = %d, want %d", c.seq, c.n, got, c.want)
		}
	}
}

// TestEpochBumpDoesNotRestampUnresolvedBatch: a batch whose write is unknown (appended, but
// the answer was REQUEST_TIMED_OUT) must be retried under the producer id, epoch and
// sequence it was first sent with; when another partition's failure bumps the epoch before
// the retry, restamping it with the new epoch and sequence 0 writes it twice.
func TestEpochBumpDoesNotRestampUnresolvedBatch(t *testing.T) {
	c := newCluster(t, kafkatest.NumBrokers(1), kafkatest.SeedTopic("bump", 2))
	// One request carries both partitions: partition 1 is written but told it timed out,
	// partition 0 fails for good, which bumps the epoch before partition 1's retry.
	c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "bump", Partition: 1,
		ErrorCode: wire.ErrRequestTimedOut.Code, AppendAnyway: true})
	c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "bump", Partition: 0,
		ErrorCode: wire.ErrTopicAuthorizationFailed.Code})
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Linger: 50 * time.Millisecond,
		RetryBackoff: 100 * time.Millisecond, RetryBackoffMax: 100 * time.Millisecond})
	ctx := ctxTimeout(t, 20*time.Second)
	// Metadata first, so that both records go out in one request.
	if err := p.Send(ctx, Record{Topic: "bump", Partition: ToPartition(0), Value: []byte("warm")}).Wait(ctx); err == nil {
		t.Fatal("the fault on partition 0 did not bite")
	}
	c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "bump", Partition: 0,
		ErrorCode: wire.ErrTopicAuthorizationFailed.Code})
	f0 := p.Send(ctx, Record{Topic: "bump", Partition: ToPartition(0), Value: []byte("a")})
	f1 := p.Send(ctx, Record{Topic: "bump", Partition: ToPartition(1), Value: []byte("b")})
	if err := f0.Wait(ctx); err == nil {
		t.Fatal("partition 0 did not fail")
	}
	if err := f1.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if recs := c.Records("bump", 1); len(recs) != 1 {
		for _, r := range recs {
			t.Logf("offset %d %q pid %d epoch %d seq %d", r.Offset, r.Value, r.ProducerID, r.ProducerEpoch, r.Sequence)
		}
		t.Fatalf("partition 1 holds %d copies of one record", len(recs))
	}
}
