package producer

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/compress"
	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

type recordingHooks struct {
	NoHooks
	mu                                   sync.Mutex
	connects, requests, batches, records int
	recordErrs                           int
}

func (h *recordingHooks) OnBrokerConnect(_ int32, _ string, _ time.Duration, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.connects++
	}
}
func (h *recordingHooks) OnProduceRequest(int32, int, time.Duration, error) {
	h.mu.Lock()
	h.requests++
	h.mu.Unlock()
}
func (h *recordingHooks) OnBatchDone(string, int32, int, int, error) {
	h.mu.Lock()
	h.batches++
	h.mu.Unlock()
}
func (h *recordingHooks) OnRecordDone(_ RecordMetadata, err error) {
	h.mu.Lock()
	h.records++
	if err != nil {
		h.recordErrs++
	}
	h.mu.Unlock()
}

func TestStatsAndHooks(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("observed", 2))
	c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Partition: kafkatest.AnyPartition,
		ErrorCode: wire.ErrNotLeaderOrFollower.Code, Times: 1})
	h := &recordingHooks{}
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Compression: compress.Gzip, BatchSize: 2000, Hooks: h, RetryBackoff: time.Millisecond})
	ctx := ctxTimeout(t, 20*time.Second)
	const n = 500
	for i := 0; i < n; i++ {
		if err := p.SendAsync(ctx, Record{Topic: "observed", Key: []byte{byte(i)}, Value: []byte("a fairly compressible value, a fairly compressible value")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	s := p.Stats()
	if s.RecordsSent != n || s.RecordsFailed != 0 {
		t.Fatalf("sent %d failed %d", s.RecordsSent, s.RecordsFailed)
	}
	if s.RecordsRetried == 0 {
		t.Error("the injected NOT_LEADER_OR_FOLLOWER was not counted as a retry")
	}
	if s.BatchesSent < 2 || s.AvgRecordsPerBatch*float64(s.BatchesSent) != n {
		t.Errorf("batches %d, %.1f records each", s.BatchesSent, s.AvgRecordsPerBatch)
	}
	if s.CompressionRatio <= 0 || s.CompressionRatio >= 0.8 {
		t.Errorf("gzip compression ratio %.2f", s.CompressionRatio)
	}
	if s.Requests == 0 || s.InFlightRequests != 0 || s.BufferedBytes != 0 || s.MetadataRefreshes == 0 {
		t.Errorf("requests %d in flight %d buffered %d refreshes %d", s.Requests, s.InFlightRequests, s.BufferedBytes, s.MetadataRefreshes)
	}
	var reqs int64
	for node, b := range s.Brokers {
		if b.Requests > 0 && (b.P50 <= 0 || b.P50 > b.P99 || b.P99 > b.Max) {
			t.Errorf("broker %d latencies %+v", node, b)
		}
		reqs += b.Requests
	}
	if reqs != s.Requests {
		t.Errorf("per-broker requests %d, total %d", reqs, s.Requests)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.connects == 0 || int64(h.requests) != s.Requests || int64(h.batches) != s.BatchesSent || h.records != n || h.recordErrs != 0 {
		t.Errorf("hooks saw %d connects, %d requests, %d batches, %d records (%d failed)", h.connects, h.requests, h.batches, h.records, h.recordErrs)
	}
}

func TestLatencyHistogram(t *testing.T) {
	var h latencyHist
	for i := 1; i <= 1000; i++ {
		h.observe(time.Duration(i) * time.Millisecond)
	}
	q := h.percentiles(0.5, 0.99, 1)
	check := func(name string, got, want time.Duration) {
		if got < want || float64(got) > float64(want)*1.25 {
			t.Errorf("%s = %v, want about %v", name, got, want)
		}
	}
	check("p50", q[0], 500*time.Millisecond)
	check("p99", q[1], 990*time.Millisecond)
	if q[2] != time.Second {
		t.Errorf("p100 = %v, want the max 1s", q[2])
	}
	var empty latencyHist
	if q := empty.percentiles(0.5); q[0] != 0 {
		t.Errorf("empty histogram p50 %v", q[0])
	}
}

func TestJoinHooks(t *testing.T) {
	if JoinHooks() != nil || JoinHooks(nil, nil) != nil {
		t.Fatal("JoinHooks of nothing is not nil")
	}
	var a, b atomic.Int64
	one := batchCounter{&a}
	if JoinHooks(nil, one) != Hooks(one) {
		t.Fatal("JoinHooks of one hook does not return it")
	}
	j := JoinHooks(one, nil, batchCounter{&b})
	j.OnBatchDone("t", 0, 1, 1, nil)
	j.OnBatchDone("t", 0, 1, 1, nil)
	if a.Load() != 2 || b.Load() != 2 {
		t.Fatalf("members saw %d and %d batches, want 2 each", a.Load(), b.Load())
	}
}
