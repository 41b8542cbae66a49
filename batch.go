package producer

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gregor-kafka/producer/compress"
	"github.com/gregor-kafka/producer/wire"
)

// recordOverhead bounds what a record's offset and timestamp deltas can add to the size
// wire.RecordSize gives with both at zero (5-byte varint, 10-byte varlong, less 2).
const recordOverhead = 13

// completion is what to do when one record of a batch completes: call cb, or fill fut.
type completion struct {
	index int32 // the record's offset delta in its batch
	ts    int64 // the record's timestamp, ms
	cb    Callback
	fut   *Future
}

// batch is one RecordBatch of one partition: open while records are appended to it, then
// sealed, sent (maybe several times), and completed.
type batch struct {
	part *partition
	// buf holds the 61 reserved header bytes and the records, uncompressed.
	buf      []byte
	count    int32
	firstTs  int64
	maxTs    int64
	created  time.Time
	memBytes int64
	comps    []completion

	// wireBuf is buf, or its compressed form, with the header written by stamp. It is
	// built once; a retry resends the same bytes, restamped only after an epoch bump.
	wireBuf []byte

	// Guarded by the partition's mu.
	state    uint8
	attempts int       // sends that failed and were retried
	retryAt  time.Time // not before then
	stamped  bool      // pid, epoch and baseSeq are in wireBuf
	// maybeWritten: an attempt ended without proof that the broker did not append the
	// batch (a lost or late answer, REQUEST_TIMED_OUT). Such a batch keeps its stamp
	// across an epoch bump, so that the broker can still recognize it as a duplicate.
	maybeWritten bool
	pid          int64
	epoch        int16
	baseSeq      int32

	// splitPart marks a piece of a split batch other than its last (see splitBatch): its
	// completion does not count in the partition's completed, which counts the batches
	// sealed; the last piece, completed after the others, counts for the batch split.
	splitPart bool

	// Results, written by the response handler before the batch is done.
	err           error
	baseOffset    int64
	logAppendTime int64
}

// partition is the accumulator of one topic partition: the open batch and the sealed
// batches not yet completed, in order. Each has its own mutex; there is no producer-wide
// lock on the send path.
type partition struct {
	topic *topicState
	id    int32

	// leader is the node id of the partition leader, -1 when unknown.
	leader atomic.Int32
	// leaderEpoch is the leader's epoch as last learned (metadata or a KIP-951 hint), -1
	// when unknown; written with leader, under Producer.leaderMu.
	leaderEpoch atomic.Int32
	// txnAdded is set once the partition is part of the ongoing transaction.
	txnAdded atomic.Bool
	// gone is set when the topic was recreated without this partition.
	gone atomic.Bool

	mu    sync.Mutex
	open  *batch
	queue []*batch // sealed and not completed, oldest first
	// inFlight counts batches of queue in flight. At most one without idempotence (so a
	// retry cannot reorder), up to max.in.flight with it (sequence numbers keep order).
	inFlight int
	// rewind is set when an attempt failed: nothing new is sent until every batch in flight
	// has its answer, then sending resumes from the oldest queued batch.
	rewind bool
	// Sequence numbering for idempotence: the next base sequence, and the epoch it counts in.
	nextSeq  int32
	seqPID   int64
	seqEpoch int16
	// seqAcked is set once a batch numbered in the current (id, epoch) was acknowledged.
	// Until then one batch at a time goes out: a broker with no state for the producer
	// accepts any first sequence (KIP-360), so a later batch overtaking a failed first one
	// would be written out of order (KAFKA-15591).
	seqAcked bool
	// created and completed count batches, for Flush.
	created   uint64
	completed uint64
}

// appendRecord encodes one record into the partition's open batch, sealing the batch and
// starting a new one as batch.size says. It reports whether the partition's sink should be
// woken (a batch was sealed, or a new batch started and its linger timer must be armed), and
// false in ok when the producer closed meanwhile and nothing was appended.
func (pa *partition) appendRecord(p *Producer, rec *Record, ts int64, size int, cb Callback, fut *Future) (wake, ok bool) {
	pa.mu.Lock()
	if p.closed.Load() {
		pa.mu.Unlock()
		return false, false
	}
	b := pa.open
	// batch.size bounds the whole batch, its 61-byte header included, as in the Java client:
	// only a batch of one record may be larger.
	if b != nil && len(b.buf)+size+recordOverhead > p.cfg.BatchSize {
		pa.sealLocked()
		b = nil
		wake = true
	}
	if b == nil {
		b = p.newBatch(pa, size)
		pa.open = b
		pa.created++
		b.firstTs, b.maxTs = ts, ts
		wake = true
	}
	b.buf = wire.AppendRecord(b.buf, b.count, ts-b.firstTs, rec.Key, rec.Value, rec.Headers)
	if cb != nil || fut != nil || p.cfg.Hooks != nil {
		b.comps = append(b.comps, completion{index: b.count, ts: ts, cb: cb, fut: fut})
	}
	b.count++
	b.maxTs = max(b.maxTs, ts)
	b.memBytes += int64(size)
	if len(b.buf) >= p.cfg.BatchSize {
		pa.sealLocked()
		wake = true
	}
	pa.mu.Unlock()
	return wake, true
}

// bufPool recycles batch buffers of the default capacity.
type bufPool struct {
	size int
	pool sync.Pool
}

func (bp *bufPool) get(need int) []byte {
	if need > bp.size {
		return make([]byte, 0, need)
	}
	if v := bp.pool.Get(); v != nil {
		return (*(v.(*[]byte)))[:0]
	}
	return make([]byte, 0, bp.size)
}

func (bp *bufPool) put(b []byte) {
	if cap(b) != bp.size {
		return
	}
	bp.pool.Put(&b)
}

// newBatch returns an empty batch for pa with room for a first record of size bytes.
func (p *Producer) newBatch(pa *partition, size int) *batch {
	b := p.batches.Get().(*batch)
	b.part = pa
	b.created = time.Now()
	b.buf = p.bufs.get(max(min(p.cfg.BatchSize, p.cfg.MaxRequestSize), size+recordOverhead+wire.RecordBatchHeaderSize))
	b.buf = b.buf[:wire.RecordBatchHeaderSize]
	return b
}

// recycle returns b's buffers to the pools once it is completed.
func (p *Producer) recycle(b *batch) {
	p.bufs.put(b.buf)
	if len(b.wireBuf) > 0 && &b.wireBuf[0] != &b.buf[0] {
		p.bufs.put(b.wireBuf)
	}
	clear(b.comps)
	*b = batch{comps: b.comps[:0]}
	p.batches.Put(b)
}

// cutBatch builds the batches that b, refused by the broker as too large, is split into
// (splitBatch): its records, decoded from b.buf, re-encoded in order into batches that
// each hold about half of b's record bytes (at least one record), so that repeated splits
// reach any limit; b's completions follow their records, re-indexed, and b's buffer.memory
// is shared out, each record's share as Send reserved it. A numbered b (idempotence) hands
// its sequence range on: each piece is numbered from b's base sequence plus the records
// before it, so the batches after b keep their numbers. b is not changed.
func (p *Producer) cutBatch(b *batch) ([]*batch, error) {
	h := wire.BatchHeader{NumRecords: b.count, LastOffsetDelta: b.count - 1}
	recs, err := wire.DecodeRecords(nil, &h, b.buf[wire.RecordBatchHeaderSize:])
	if err != nil {
		return nil, fmt.Errorf("decoding the records of a batch to split: %w", err)
	}
	sizes := make([]int, len(recs))
	total := 0
	for i := range recs {
		r := &recs[i]
		sizes[i] = wire.RecordSize(0, 0, r.Key, r.Value, r.Headers) // as Send reserved
		total += sizes[i]
	}
	target := total / 2
	numbered := p.cfg.idempotent && b.stamped
	var pieces []*batch
	var mem int64
	ci := 0 // b.comps[ci] is the next completion to hand on
	for start := 0; start < len(recs); {
		end, n := start+1, sizes[start]
		for end < len(recs) && n+sizes[end] <= target {
			n += sizes[end]
			end++
		}
		q := p.newBatch(b.part, n+(end-start)*recordOverhead)
		q.created, q.attempts = b.created, b.attempts
		q.firstTs = b.firstTs + recs[start].TimestampDelta
		q.maxTs = q.firstTs
		for i := start; i < end; i++ {
			r := &recs[i]
			ts := b.firstTs + r.TimestampDelta
			q.buf = wire.AppendRecord(q.buf, q.count, ts-q.firstTs, r.Key, r.Value, r.Headers)
			q.count++
			q.maxTs = max(q.maxTs, ts)
			q.memBytes += int64(sizes[i])
		}
		for ; ci < len(b.comps) && int(b.comps[ci].index) < end; ci++ {
			c := b.comps[ci]
			c.index -= int32(start)
			q.comps = append(q.comps, c)
		}
		if numbered {
			q.stamped, q.pid, q.epoch, q.baseSeq = true, b.pid, b.epoch, nextSequence(b.baseSeq, int32(start))
		}
		q.splitPart = true
		mem += q.memBytes
		pieces = append(pieces, q)
		start = end
	}
	last := pieces[len(pieces)-1]
	last.splitPart = b.splitPart
	last.memBytes += b.memBytes - mem // exact, whatever the sizes computed here
	return pieces, nil
}

// encode builds b.wireBuf: the records compressed when a codec is set, behind the 61
// header bytes that stamp fills in. It runs once per batch.
func (p *Producer) encode(b *batch) error {
	if p.cfg.Compression == compress.None {
		b.wireBuf = b.buf
		return nil
	}
	out := p.bufs.get(len(b.buf))[:wire.RecordBatchHeaderSize]
	out, err := p.compressor.AppendCompress(out, b.buf[wire.RecordBatchHeaderSize:])
	if err != nil {
		p.bufs.put(out)
		return err
	}
	b.wireBuf = out
	return nil
}

// stamp writes b's header with the producer id, epoch and base sequence given (-1s without
// idempotence), and its length and CRC.
func (p *Producer) stamp(b *batch, pid int64, epoch int16, baseSeq int32) {
	h := wire.BatchHeader{
		PartitionLeaderEpoch: -1,
		Attributes:           int16(p.cfg.Compression),
		LastOffsetDelta:      b.count - 1,
		BaseTimestamp:        b.firstTs,
		MaxTimestamp:         b.maxTs,
		ProducerID:           pid,
		ProducerEpoch:        epoch,
		BaseSequence:         baseSeq,
		NumRecords:           b.count,
	}
	if p.cfg.TransactionalID != "" {
		h.Attributes |= wire.AttrTransactional
	}
	wire.FinishBatch(b.wireBuf, &h)
	b.stamped, b.pid, b.epoch, b.baseSeq = true, pid, epoch, baseSeq
}

// memLimiter is buffer.memory: the bytes of records accepted and not yet completed.
type memLimiter struct {
	limit   int64
	used    atomic.Int64
	waiters atomic.Int32
	mu      sync.Mutex
	freed   chan struct{} // closed and replaced when memory is released and someone waits
}

func (m *memLimiter) tryAcquire(n int64) bool {
	for {
		u := m.used.Load()
		if u+n > m.limit {
			return false
		}
		if m.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// acquire takes n bytes, waiting for releases until ctx ends, closing is closed, or the
// deadline (zero: no wait) passes. It does not wait when inCallback reports that the caller
// runs on the completion goroutine, the only one that releases memory.
func (m *memLimiter) acquire(ctx context.Context, n int64, deadline time.Time, closing <-chan struct{}, inCallback func() bool) error {
	if m.tryAcquire(n) {
		return nil
	}
	if deadline.IsZero() || inCallback() {
		return ErrBufferFull
	}
	m.waiters.Add(1)
	defer m.waiters.Add(-1)
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	for {
		m.mu.Lock()
		if m.freed == nil {
			m.freed = make(chan struct{})
		}
		ch := m.freed
		m.mu.Unlock()
		if m.tryAcquire(n) {
			return nil
		}
		select {
		case <-ch:
		case <-t.C:
			return ErrBufferFull
		case <-ctx.Done():
			return ctx.Err()
		case <-closing:
			return ErrClosed
		}
	}
}

func (m *memLimiter) release(n int64) {
	m.used.Add(-n)
	if m.waiters.Load() == 0 {
		return
	}
	m.mu.Lock()
	if m.freed != nil {
		close(m.freed)
		m.freed = nil
	}
	m.mu.Unlock()
}
