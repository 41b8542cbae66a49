package producer

import (
	"math"
	"math/bits"
	"sort"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of what the producer has done since it started, from [Producer.Stats].
type Stats struct {
	// RecordsSent counts records acknowledged (with acks=0: written).
	RecordsSent int64
	// RecordsFailed counts every record whose send failed, whether at the call or later:
	// records that Send, SendAsync or the typed front refused before enqueuing them (too
	// large, invalid, a serializer error, buffer.memory full or metadata missing after
	// max.block.ms, ctx ended, closed), and records enqueued that completed with an error.
	// Only the latter reach OnBatchDone and OnRecordDone, which are about enqueued records.
	RecordsFailed int64
	// RecordsRetried counts records of batches sent again after a retriable error (a record
	// retried twice counts twice).
	RecordsRetried int64
	// BatchesSent counts batches acknowledged; BatchBytes their bytes on the wire (after
	// compression) and UncompressedBytes the same batches before compression.
	BatchesSent       int64
	BatchBytes        int64
	UncompressedBytes int64
	// BatchesSplit counts batches that a broker refused as too large (MESSAGE_TOO_LARGE:
	// message.max.bytes, or the topic's max.message.bytes) and that were split into smaller
	// ones and sent again, as the Java client's batch-split-rate.
	BatchesSplit int64
	// Requests counts Produce requests written.
	Requests int64
	// AvgRecordsPerBatch and AvgBatchBytes describe the acknowledged batches.
	AvgRecordsPerBatch float64
	AvgBatchBytes      float64
	// CompressionRatio is BatchBytes / UncompressedBytes (1 without compression).
	CompressionRatio float64
	// BufferedBytes is the part of buffer.memory in use; InFlightRequests the Produce
	// requests awaiting an answer.
	BufferedBytes    int64
	InFlightRequests int64
	// MetadataRefreshes counts metadata answers applied; ConnectionErrors failed connection
	// attempts (of the senders, the metadata goroutine and the transaction and group
	// coordinator lookups) and sender and metadata connections that died (a dial the
	// authentication backoff holds back is no attempt and is not counted).
	MetadataRefreshes int64
	ConnectionErrors  int64
	// Rebootstraps counts the times metadata went back to bootstrap.servers
	// (metadata.recovery.strategy=rebootstrap).
	Rebootstraps int64
	// Brokers has the request latency of each broker the producer sent to, by node id.
	Brokers map[int32]BrokerStats
}

// BrokerStats is the Produce request latency to one broker: from the write of a request to
// its answer.
type BrokerStats struct {
	Requests                 int64
	P50, P95, P99, P999, Max time.Duration
}

// Hooks receives events of the producer, to feed a metrics or tracing system without a
// dependency. Set [Config.Hooks]; embed [NoHooks] to implement only some methods.
//
// Every method runs on the producer's completion goroutine, the one that runs callbacks, in
// the order the events happened, with no lock of the producer held; they must return
// quickly, since callbacks wait for them. They may call Send, SendAsync (a send that would
// have to wait for buffer.memory fails at once with [ErrBufferFull]), Stats and Close (which
// then does not wait); Flush, CommitTransaction and AbortTransaction fail there with
// [ErrInCallback].
type Hooks interface {
	// OnBrokerConnect is called after each connection attempt to a broker, for produce,
	// metadata and the transaction and group coordinators alike, with its error if it
	// failed; node is -1 for a bootstrap server whose id is not known yet.
	OnBrokerConnect(node int32, addr string, dialTime time.Duration, err error)
	// OnBrokerDisconnect is called when a connection to a broker dies or is closed.
	OnBrokerDisconnect(node int32, addr string, err error)
	// OnProduceRequest is called when a Produce request is answered or fails.
	OnProduceRequest(node int32, bytes int, latency time.Duration, err error)
	// OnBatchDone is called when a batch completes, with its error if it failed.
	OnBatchDone(topic string, partition int32, records int, bytes int, err error)
	// OnRecordDone is called for every record, acknowledged or failed, just before its
	// callback or future completes.
	OnRecordDone(md RecordMetadata, err error)
}

// NoHooks implements [Hooks] with methods that do nothing; embed it to implement a few.
type NoHooks struct{}

func (NoHooks) OnBrokerConnect(int32, string, time.Duration, error) {}
func (NoHooks) OnBrokerDisconnect(int32, string, error)             {}
func (NoHooks) OnProduceRequest(int32, int, time.Duration, error)   {}
func (NoHooks) OnBatchDone(string, int32, int, int, error)          {}
func (NoHooks) OnRecordDone(RecordMetadata, error)                  {}

// JoinHooks returns [Hooks] that pass every event to each of hs in turn, skipping
// nil ones: [Config.Hooks] takes one value, and a service may want the Prometheus
// plugin's metrics, OpenTelemetry's and its own hooks at once. It returns nil when every hs
// is nil, and the only non-nil one when there is one.
func JoinHooks(hs ...Hooks) Hooks {
	var j joinedHooks
	for _, h := range hs {
		if h != nil {
			j = append(j, h)
		}
	}
	switch len(j) {
	case 0:
		return nil
	case 1:
		return j[0]
	}
	return j
}

type joinedHooks []Hooks

func (j joinedHooks) OnBrokerConnect(node int32, addr string, dialTime time.Duration, err error) {
	for _, h := range j {
		h.OnBrokerConnect(node, addr, dialTime, err)
	}
}

func (j joinedHooks) OnBrokerDisconnect(node int32, addr string, err error) {
	for _, h := range j {
		h.OnBrokerDisconnect(node, addr, err)
	}
}

func (j joinedHooks) OnProduceRequest(node int32, bytes int, latency time.Duration, err error) {
	for _, h := range j {
		h.OnProduceRequest(node, bytes, latency, err)
	}
}

func (j joinedHooks) OnBatchDone(topic string, partition int32, records int, bytes int, err error) {
	for _, h := range j {
		h.OnBatchDone(topic, partition, records, bytes, err)
	}
}

func (j joinedHooks) OnRecordDone(md RecordMetadata, err error) {
	for _, h := range j {
		h.OnRecordDone(md, err)
	}
}

// counters are the producer's statistics, updated per batch or request, never per record.
type counters struct {
	recordsSent, recordsFailed, recordsRetried atomic.Int64
	batchesSent, batchBytes, uncompressedBytes atomic.Int64
	requests, inFlight, metadataRefreshes      atomic.Int64
	connErrors, batchesSplit, rebootstraps     atomic.Int64
}

// latencyHist is a lock-free latency histogram with buckets a quarter of a power of two
// wide, from 1 µs to about 70 minutes: percentiles are within 19% of the truth.
type latencyHist struct {
	count   atomic.Int64
	max     atomic.Int64
	buckets [4 * 33]atomic.Int64
}

func histBucket(d time.Duration) int {
	us := uint64(d / time.Microsecond)
	if us < 1 {
		return 0
	}
	exp := bits.Len64(us) - 1 // us in [2^exp, 2^(exp+1))
	frac := 0
	if exp >= 2 {
		frac = int((us >> (exp - 2)) & 3)
	}
	return min(exp*4+frac, 4*33-1)
}

// bucketUpper returns the upper bound of bucket i.
func bucketUpper(i int) time.Duration {
	exp, frac := i/4, i%4
	us := math.Ldexp(1+float64(frac+1)/4, exp)
	return time.Duration(us * float64(time.Microsecond))
}

func (h *latencyHist) observe(d time.Duration) {
	h.count.Add(1)
	h.buckets[histBucket(d)].Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// percentiles returns the latency below which the fraction q of requests fell, for each q.
func (h *latencyHist) percentiles(qs ...float64) []time.Duration {
	var counts [4 * 33]int64
	total := int64(0)
	for i := range h.buckets {
		counts[i] = h.buckets[i].Load()
		total += counts[i]
	}
	out := make([]time.Duration, len(qs))
	if total == 0 {
		return out
	}
	maxD := time.Duration(h.max.Load())
	for j, q := range qs {
		rank := int64(math.Ceil(q * float64(total)))
		seen := int64(0)
		for i, c := range counts {
			seen += c
			if seen >= rank {
				out[j] = min(bucketUpper(i), maxD)
				break
			}
		}
	}
	return out
}

// Stats returns a snapshot of the producer's statistics.
func (p *Producer) Stats() Stats {
	c := &p.stats
	s := Stats{
		RecordsSent:       c.recordsSent.Load(),
		RecordsFailed:     c.recordsFailed.Load(),
		RecordsRetried:    c.recordsRetried.Load(),
		BatchesSent:       c.batchesSent.Load(),
		BatchBytes:        c.batchBytes.Load(),
		UncompressedBytes: c.uncompressedBytes.Load(),
		BatchesSplit:      c.batchesSplit.Load(),
		Requests:          c.requests.Load(),
		BufferedBytes:     p.mem.inUse.Load(),
		InFlightRequests:  c.inFlight.Load(),
		MetadataRefreshes: c.metadataRefreshes.Load(),
		ConnectionErrors:  c.connErrors.Load(),
		Rebootstraps:      c.rebootstraps.Load(),
		CompressionRatio:  1,
		Brokers:           map[int32]BrokerStats{},
	}
	if s.BatchesSent > 0 {
		s.AvgRecordsPerBatch = float64(s.RecordsSent) / float64(s.BatchesSent)
		s.AvgBatchBytes = float64(s.BatchBytes) / float64(s.BatchesSent)
	}
	if s.UncompressedBytes > 0 {
		s.CompressionRatio = float64(s.BatchBytes) / float64(s.UncompressedBytes)
	}
	p.sinksMu.Lock()
	nodes := make([]int32, 0, len(p.sinks))
	for n := range p.sinks {
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i] < nodes[j] })
	for _, n := range nodes {
		h := &p.sinks[n].latency
		q := h.percentiles(0.5, 0.95, 0.99, 0.999)
		s.Brokers[n] = BrokerStats{Requests: h.count.Load(), P50: q[0], P95: q[1], P99: q[2], P999: q[3], Max: time.Duration(h.max.Load())}
	}
	p.sinksMu.Unlock()
	return s
}
