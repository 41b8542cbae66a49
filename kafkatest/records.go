package kafkatest

import (
	"bytes"
	"context"
	"encoding/binary"
	"sync"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// Record is one record as a broker stored it. Every slice is a copy: a test may keep and
// modify it.
type Record struct {
	Topic     string
	Partition int32
	// Offset is the record's offset in its partition.
	Offset int64
	// Key and Value are nil for a null key or value.
	Key, Value []byte
	Headers    []Header
	// Timestamp is the record's CreateTime: the batch's base timestamp plus the record's
	// delta, in milliseconds.
	Timestamp time.Time
	// ProducerID, ProducerEpoch and Sequence are those of an idempotent producer, -1 when
	// the batch had none; Sequence is the batch's base sequence plus the record's index,
	// wrapping at 2^31-1 as Kafka's sequences do.
	ProducerID    int64
	ProducerEpoch int16
	Sequence      int32
	// Transactional reports a record written inside a transaction.
	Transactional bool
	// Committed is true for non-transactional records, and for transactional ones once their
	// transaction committed: what a read_committed consumer may see.
	Committed bool
	// Aborted is true for transactional records whose transaction aborted, whether the
	// producer aborted it or the coordinator did (fencing, timeout). A transactional record
	// is neither Committed nor Aborted while its transaction is open.
	Aborted bool
	// TxnEnded is when the coordinator committed or aborted the record's transaction, by the
	// clock of this process (with its monotonic reading), so that a test can tell which of
	// its CommitTransaction or AbortTransaction calls settled it; zero for non-transactional
	// records and open transactions. With a [MarkerDelay] it is when the coordinator decided,
	// at the EndTxn, not when the markers made the outcome visible.
	TxnEnded time.Time
	// Codec is the compression codec of the batch that carried the record (wire.CodecNone...).
	Codec int8
}

// Header is one record header; a nil Value is null.
type Header struct {
	Key   string
	Value []byte
}

// storedBatch is one accepted batch, or a transaction marker: its header, and the batch as
// Fetch serves it (raw: uncompressed, with its offset, leader epoch and CRC, see sealBatch)
// whose records region is records. Records are decoded from it only when read, so appends
// stay cheap. It is never modified once appended; the outcome of the transaction a
// transactional batch belongs to is shared with the coordinator, which settles it.
type storedBatch struct {
	baseOffset int64
	hdr        wire.BatchHeader
	raw        []byte
	records    []byte      // raw[wire.RecordBatchHeaderSize:]
	outcome    *txnOutcome // nil unless transactional data
}

// appendLocked appends a validated batch, or a marker, sealed by sealBatch, at the end of the
// log and returns its base offset; p.mu must be held. It writes the base offset and the
// partition's leader epoch into raw, which the CRC does not cover, then drops the oldest
// batches the partition's retention no longer allows.
func (p *partition) appendLocked(h *wire.BatchHeader, raw []byte, outcome *txnOutcome) int64 {
	base := p.nextOffset
	binary.BigEndian.PutUint64(raw[0:], uint64(base))
	binary.BigEndian.PutUint32(raw[12:], uint32(p.leaderEpoch))
	p.batches = append(p.batches, storedBatch{baseOffset: base, hdr: *h, raw: raw, records: raw[wire.RecordBatchHeaderSize:], outcome: outcome})
	p.nextOffset += int64(h.NumRecords)
	p.log.bytes += int64(len(raw))
	if h.Attributes&wire.AttrControl == 0 {
		p.dataRecords += int64(h.NumRecords)
	}
	p.trimLocked()
	return base
}

// snapshot returns the partition's batches as of now. The slice may be read without the
// lock: its elements are never modified, and appends do not touch them.
func (p *partition) snapshot() []storedBatch {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.batches[:len(p.batches):len(p.batches)]
}

// count returns the number of records appended, transaction markers left out, including
// those retention dropped since.
func (p *partition) count() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dataRecords
}

// Records returns the records stored in the partition, in offset order; nil when the
// partition does not exist or is empty. Transactional records are included whatever became
// of their transaction (see [Record.Committed] and [Record.Aborted]); transaction markers
// are not, though each takes an offset, as in Kafka.
func (c *Cluster) Records(topic string, partition int32) []Record {
	p := c.partition(topic, partition)
	if p == nil {
		return nil
	}
	c.expireTransactions(time.Now())
	return c.appendRecords(nil, p, false)
}

// CommittedRecords returns what a read_committed consumer of the partition sees: its
// non-transactional records and the records of committed transactions, in offset order;
// nil when there are none.
func (c *Cluster) CommittedRecords(topic string, partition int32) []Record {
	p := c.partition(topic, partition)
	if p == nil {
		return nil
	}
	c.expireTransactions(time.Now())
	return c.appendRecords(nil, p, true)
}

// appendRecords decodes the partition's batches into Records appended to dst, only the
// committed ones when committed is set.
func (c *Cluster) appendRecords(dst []Record, p *partition, committed bool) []Record {
	var scratch []wire.Record
	for _, b := range p.snapshot() {
		if b.hdr.Attributes&wire.AttrControl != 0 {
			continue
		}
		outcome := outcomeCommitted
		var ended time.Time
		if b.outcome != nil {
			outcome = b.outcome.state.Load()
			if outcome != outcomeOpen {
				ended = b.outcome.ended
			}
		}
		if committed && outcome != outcomeCommitted {
			continue
		}
		var err error
		scratch, err = wire.DecodeRecords(scratch[:0], &b.hdr, b.records)
		if err != nil { // cannot happen: the batch was decoded before it was stored
			c.log.Error("kafkatest: stored batch does not decode", "topic", p.topic.name, "partition", p.index, "offset", b.baseOffset, "err", err)
			continue
		}
		h := &b.hdr
		for i := range scratch {
			r := &scratch[i]
			rec := Record{
				Topic:         p.topic.name,
				Partition:     p.index,
				Offset:        b.baseOffset + int64(i),
				Key:           bytes.Clone(r.Key),
				Value:         bytes.Clone(r.Value),
				Timestamp:     time.UnixMilli(h.BaseTimestamp + r.TimestampDelta),
				ProducerID:    h.ProducerID,
				ProducerEpoch: h.ProducerEpoch,
				Sequence:      -1,
				Transactional: h.Attributes&wire.AttrTransactional != 0,
				Codec:         h.Codec(),
			}
			rec.Committed = outcome == outcomeCommitted
			rec.Aborted = outcome == outcomeAborted
			rec.TxnEnded = ended
			if h.BaseSequence >= 0 {
				rec.Sequence = addSequence(h.BaseSequence, int32(i))
			}
			if len(r.Headers) > 0 {
				rec.Headers = make([]Header, len(r.Headers))
				for j, rh := range r.Headers {
					rec.Headers[j] = Header{Key: rh.Key, Value: bytes.Clone(rh.Value)}
				}
			}
			dst = append(dst, rec)
		}
	}
	return dst
}

// topicRecords returns the records of every partition of topic, partition by partition.
func (c *Cluster) topicRecords(name string) []Record {
	t := c.topicByName(name)
	if t == nil {
		return nil
	}
	c.expireTransactions(time.Now())
	var out []Record
	for _, p := range t.partitions {
		out = c.appendRecords(out, p, false)
	}
	return out
}

// topicCount returns the number of records stored in topic.
func (c *Cluster) topicCount(name string) int64 {
	t := c.topicByName(name)
	if t == nil {
		return 0
	}
	var n int64
	for _, p := range t.partitions {
		n += p.count()
	}
	return n
}

// WaitForRecords waits until topic holds at least n records, over all its partitions, and
// returns them all, partition by partition, each in offset order. When ctx ends first it
// returns the records stored so far with ctx's error. The topic need not exist yet. Records
// of open and aborted transactions count and are returned, as by [Cluster.Records];
// transaction markers do not. With [RetainRecords] or [RetainBytes], records dropped since
// they were written count but are not returned.
func (c *Cluster) WaitForRecords(ctx context.Context, topic string, n int) ([]Record, error) {
	for {
		ch := c.waits.channel() // before counting, so no append goes unnoticed
		if c.topicCount(topic) >= int64(n) {
			return c.topicRecords(topic), nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return c.topicRecords(topic), ctx.Err()
		}
	}
}

// waiters wakes WaitForRecords callers when records are appended: each caller takes the
// current channel, which the next append closes.
type waiters struct {
	mu sync.Mutex
	ch chan struct{}
}

func (w *waiters) channel() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	return w.ch
}

func (w *waiters) notify() {
	w.mu.Lock()
	if w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
	w.mu.Unlock()
}
