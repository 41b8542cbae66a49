package kafkatest

import (
	"fmt"
	"sort"
	"sync/atomic"

	"github.com/gregor-kafka/producer/wire"
)

// retention bounds what a partition keeps in memory, as retention.bytes does on disk; 0 is
// no bound.
type retention struct {
	records int64 // offsets (records and transaction markers) kept per partition
	bytes   int64 // bytes of stored batches kept per partition
}

// partitionLog is what a partition knows of its log besides its batches: where it starts
// after retention dropped batches, and a lower bound of its last stable offset. Fields
// other than lso are guarded by the partition's mu.
type partitionLog struct {
	retain retention
	start  int64 // the log start offset: the base offset of the oldest batch kept
	bytes  int64 // bytes of the batches kept
	// lso is a last stable offset once computed; it only grows, so the next computation
	// starts there.
	lso atomic.Int64
}

// sealBatch returns the batch a Fetch serves for a validated batch with header h and
// uncompressed records: h's fields with the codec bits cleared, base offset 0 and leader
// epoch -1 (appendLocked writes both, which the CRC does not cover), the CRC computed over
// the records. The records are copied, so the caller's may alias a request.
func sealBatch(h *wire.BatchHeader, records []byte) []byte {
	raw := make([]byte, wire.RecordBatchHeaderSize+len(records))
	copy(raw[wire.RecordBatchHeaderSize:], records)
	sealed := *h
	sealed.BaseOffset = 0
	sealed.PartitionLeaderEpoch = -1
	sealed.Attributes &^= wire.CodecMask
	wire.FinishBatch(raw, &sealed)
	return raw
}

// trimLocked drops the oldest batches while the partition holds more than its retention
// allows, always keeping the newest batch, and moves the log start offset past them; p.mu
// must be held. Snapshots taken before keep seeing the dropped batches: the slice is
// resliced, never overwritten, and append moves it to a new array once it fills its own.
func (p *partition) trimLocked() {
	r := p.log.retain
	if r.records <= 0 && r.bytes <= 0 {
		return
	}
	n := 0
	for len(p.batches)-n > 1 {
		over := (r.records > 0 && p.nextOffset-p.log.start > r.records) || (r.bytes > 0 && p.log.bytes > r.bytes)
		if !over {
			break
		}
		p.log.bytes -= int64(len(p.batches[n].raw))
		n++
		p.log.start = p.batches[n].baseOffset
	}
	if n > 0 {
		p.batches = p.batches[n:]
	}
}

// logView is a partition's log as of one moment.
type logView struct {
	batches       []storedBatch // never modified; see snapshot
	start         int64         // log start offset
	highWatermark int64         // the log end: without replication, every record is committed
	leaderEpoch   int32
}

// view returns the partition's log as of now.
func (p *partition) view() logView {
	p.mu.Lock()
	defer p.mu.Unlock()
	return logView{
		batches:       p.batches[:len(p.batches):len(p.batches)],
		start:         p.log.start,
		highWatermark: p.nextOffset,
		leaderEpoch:   p.leaderEpoch,
	}
}

// find returns the index of the first batch holding an offset at or after offset.
func (v *logView) find(offset int64) int {
	return sort.Search(len(v.batches), func(i int) bool {
		b := &v.batches[i]
		return b.baseOffset+int64(b.hdr.LastOffsetDelta) >= offset
	})
}

// lastStableOffset returns the partition's last stable offset in v: the first offset of the
// oldest transaction still open, or the high watermark when none is (KIP-98). A
// read_committed consumer reads up to it. Outcomes only ever settle and batches are only
// appended, so it never decreases: the search starts where the last one ended.
func (p *partition) lastStableOffset(v *logView) int64 {
	from := max(p.log.lso.Load(), v.start)
	lso := v.highWatermark
	for i := v.find(from); i < len(v.batches); i++ {
		b := &v.batches[i]
		if b.outcome != nil && b.outcome.state.Load() == outcomeOpen {
			lso = b.baseOffset
			break
		}
	}
	for {
		old := p.log.lso.Load()
		if lso <= old || p.log.lso.CompareAndSwap(old, lso) {
			return lso
		}
	}
}

// RetainRecords bounds how many offsets (records and transaction markers) each partition
// keeps in memory, as a size-based retention policy would: once a partition holds more, its
// oldest batches are dropped, whole, and its log start offset moves past them, which
// ListOffsets (earliest) reports and below which Fetch answers OFFSET_OUT_OF_RANGE. The
// newest batch is always kept. 0, the default, keeps everything. [Cluster.Records] returns
// only the records kept; [Cluster.WaitForRecords] counts every record appended.
func RetainRecords(n int64) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("kafkatest: RetainRecords(%d): must not be negative", n)
		}
		c.retention.records = n
		return nil
	}
}

// RetainBytes bounds the bytes of record batches each partition keeps in memory (as they are
// served: uncompressed), as retention.bytes does on disk, dropping the oldest batches as
// [RetainRecords] does. 0, the default, keeps everything.
func RetainBytes(n int64) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("kafkatest: RetainBytes(%d): must not be negative", n)
		}
		c.retention.bytes = n
		return nil
	}
}

// logRefused logs, at Info level, a partition's batch that a Produce request had refused,
// with the error code and the reason (a real broker logs most of these at debug level).
func (cn *conn) logRefused(name string, t *topic, partition int32, berr *batchError) {
	if t != nil {
		name = t.name
	}
	code := fmt.Sprintf("error code %d", berr.code)
	if e, ok := wire.ErrorForCode(berr.code).(*wire.Error); ok {
		code = fmt.Sprintf("%s (%d)", e.Name, e.Code)
	}
	reason := berr.msg
	for _, re := range berr.recordErrors {
		if re.BatchIndexErrorMessage != nil {
			reason += "; " + *re.BatchIndexErrorMessage
		}
	}
	cn.b.c.log.Info("kafkatest: batch refused", "broker", cn.b.id, "remote", cn.nc.RemoteAddr().String(),
		"topic", name, "partition", partition, "error", code, "reason", reason)
}

// RecordsWritten returns the number of records written to topic since the cluster started,
// over all its partitions: records of open and aborted transactions included, transaction
// markers left out, and records that [RetainRecords] or [RetainBytes] dropped since counted
// too. It is 0 for a topic that does not exist.
func (c *Cluster) RecordsWritten(topic string) int64 { return c.topicCount(topic) }
