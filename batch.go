package producer

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gregor-kafka/producer/compress"
	"github.com/gregor-kafka/producer/wire"
)

// An uncompressed batch's records are summed for its CRC as they are appended, crcChunk
// bytes at a time: a chunk just written is in the cache, while a whole batch summed when it
// is sent has mostly left it (at 1 KiB records that pass cost a fifth of the CPU). Joining
// the sum to the header's costs about a microsecond (wire.FinishBatchCRC), so batches with
// less than crcJoinMin summed are summed whole when stamped. A value of crcCopyMin bytes or
// more is summed as it is copied in (wire.AppendRecordSummed): it comes from the caller's
// memory, likely not in the cache, and is then read once instead of twice (below 512 bytes
// the chunks measured faster: 100- and 256-byte values cost 6–13% more CPU summed one by one).
const (
	crcChunk   = 4 << 10
	crcJoinMin = 16 << 10
	crcCopyMin = 512
)

// recordOverhead bounds what a record's offset and timestamp deltas can add to the size
// wire.RecordSize gives with both at zero (5-byte varint, 10-byte varlong, less 2).
const recordOverhead = 13

// completion is what to do when one record of a batch completes: call cb or, when cb is
// nil, fill the batch's next future (futs), if not nil. It is kept small, as a batch holds
// one per record: 16 bytes.
type completion struct {
	cb      Callback
	index   int32 // the record's offset delta in its batch
	tsDelta int32 // the record's timestamp less the batch's first, ms (see maxTsSpread)
}

// maxTsSpread bounds how far a record's timestamp may be from its batch's first: a record
// farther (only explicit timestamps can be) starts a new batch, so that every completion's
// tsDelta, and the difference of any two, fits an int32.
const maxTsSpread = 1 << 30

// batch is one RecordBatch of one partition: open while records are appended to it, then
// sealed, sent (maybe several times), and completed.
type batch struct {
	part *partition
	// buf holds the 61 reserved header bytes and the records, uncompressed.
	buf     []byte
	count   int32
	firstTs int64
	maxTs   int64
	created time.Time
	comps   []completion
	futs    []*Future // for the comps with a nil cb, in order

	// wireBuf is buf, or its compressed form, with the header written by stamp. It is
	// built once; a retry resends the same bytes, restamped only after an epoch bump.
	wireBuf []byte
	// sum is the CRC-32C of buf[RecordBatchHeaderSize:summed], summed by appendRecord in
	// chunks of crcChunk bytes while they are in the cache (uncompressed batches only).
	sum    uint32
	summed int

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
	// sink is the sink of the leader, as assignPartitions last set it (nil: none), so that
	// a send wakes it without the producer-wide sinksMu.
	sink atomic.Pointer[sink]

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
	// bufHint is the capacity the next batch's buffer starts with (memPool.get rounds it to
	// a class): that of the last batch sealed full, halved for each batch started since.
	bufHint int
	// compHint is how many completions the last batch sealed full held: the next batch's
	// completions start at about that capacity rather than grow by doubling to the next
	// power of two (up to half of it spare capacity, held on the heap).
	compHint int
	// stickyTurn and stickyBytes count the bytes of unkeyed records sent to the partition
	// in the sticky partitioner's turn stickyTurn (see countStickyLocked).
	stickyTurn  int64
	stickyBytes int
	// created and completed count batches, for Flush.
	created   uint64
	completed uint64
	// backlog is created - completed, readable without the lock: the partition's load for
	// the adaptive partitioner (KIP-794); lastDrain is when a batch of it was last taken
	// for sending, or when its backlog began (Unix ns), for partitioner.availability.timeout.ms.
	backlog   atomic.Int64
	lastDrain atomic.Int64
	// compRatio is the size of the partition's last compressed batch over its records'
	// uncompressed size, in 1/1024ths (0: none compressed yet): the next compressed copy
	// takes a buffer of about that size rather than one of the uncompressed size.
	compRatio atomic.Uint32
}

// appendRecord encodes one record into the partition's open batch, sealing the batch and
// starting a new one as batch.size says. A batch's buffer is counted against buffer.memory
// by its capacity: when the record needs a new buffer, or a larger one, and spare (a buffer
// from p.mem, or nil) is too small, nothing is appended and need is the capacity to get
// from p.mem (which may wait, so not under pa.mu) before calling again with it. A spare
// not used is given back. wake reports whether the partition's sink should be woken (a batch
// was sealed, or a new batch started and its linger timer must be armed); ok is false when
// the producer closed meanwhile and nothing was appended. locked says that the caller holds
// pa.mu already. turn is the sticky partitioner's turn the record is counted in (-1: none);
// switchSticky reports that the turn has had its bytes.
func (pa *partition) appendRecord(p *Producer, rec *Record, ts int64, body int, cb Callback, fut *Future, spare []byte, locked bool, turn int64) (wake bool, need int, ok, switchSticky bool) {
	if !locked {
		pa.mu.Lock()
	}
	defer func() {
		if spare != nil {
			p.mem.put(spare)
		}
		pa.mu.Unlock()
	}()
	if p.closed.Load() || pa.gone.Load() {
		return false, 0, false, false
	}
	b := pa.open
	size := wire.RecordSizeOfBody(body)
	room := size + recordOverhead
	// batch.size bounds the whole batch, its 61-byte header included, as in the Java client:
	// only a batch of one record may be larger.
	if b != nil && (len(b.buf)+room > p.cfg.BatchSize || ts-b.firstTs > maxTsSpread || b.firstTs-ts > maxTsSpread) {
		pa.bufHint, pa.compHint = cap(b.buf), len(b.comps) // full batches: the next starts as large
		pa.sealLocked()
		b = nil
		wake = true
	}
	if b != nil && len(b.buf)+room > cap(b.buf) {
		// Grow by doubling, up to the pool's largest buffer (the batch is sealed before it
		// would need more).
		want := max(min(2*cap(b.buf), p.mem.top), len(b.buf)+room)
		if cap(spare) < want {
			return wake, want, true, false
		}
		spare = append(spare[:0], b.buf...)
		p.mem.put(b.buf)
		b.buf, spare = spare, nil
		pa.bufHint = cap(b.buf)
	}
	if b == nil {
		first := room + wire.RecordBatchHeaderSize
		if cap(spare) < first {
			return wake, p.mem.startSize(first, pa.bufHint), true, false
		}
		b = p.newBatch(pa, spare, pa.compHint+pa.compHint/8)
		spare = nil
		// A partition whose batches are sealed before they fill (linger.ms) starts the
		// next ones smaller, halving down to the smallest buffer.
		pa.bufHint = max(pa.bufHint/2, minBufClass)
		pa.open = b
		pa.created++
		if pa.backlog.Add(1) == 1 {
			pa.lastDrain.Store(time.Now().UnixNano())
		}
		b.firstTs, b.maxTs = ts, ts
		wake = true
	}
	switch {
	case p.cfg.Compression != compress.None:
		b.buf = wire.AppendRecordBody(b.buf, b.count, ts-b.firstTs, rec.Key, rec.Value, rec.Headers, body)
	case len(rec.Value) >= crcCopyMin:
		b.buf, b.summed, b.sum = wire.AppendRecordSummed(b.buf, b.summed, b.sum, b.count, ts-b.firstTs, rec.Key, rec.Value, rec.Headers, body)
	default:
		b.buf = wire.AppendRecordBody(b.buf, b.count, ts-b.firstTs, rec.Key, rec.Value, rec.Headers, body)
		if len(b.buf)-b.summed >= crcChunk {
			b.sum = wire.UpdateRecordsCRC(b.sum, b.buf[b.summed:])
			b.summed = len(b.buf)
		}
	}
	if cb != nil || fut != nil || p.cfg.Hooks != nil {
		b.comps = append(b.comps, completion{cb: cb, index: b.count, tsDelta: int32(ts - b.firstTs)})
		if cb == nil {
			b.futs = append(b.futs, fut)
		}
	}
	b.count++
	b.maxTs = max(b.maxTs, ts)
	if len(b.buf) >= p.cfg.BatchSize {
		pa.bufHint, pa.compHint = cap(b.buf), len(b.comps)
		pa.sealLocked()
		wake = true
	}
	if turn >= 0 {
		switchSticky = pa.countStickyLocked(turn, size, p.cfg.BatchSize)
	}
	return wake, 0, true, switchSticky
}

// newBatch returns an empty batch for pa in buf, a buffer from p.mem, with room for about
// comps completions (a pooled batch's are kept unless far larger). It reads nothing of pa
// but its address: cutBatch calls it without pa.mu.
func (p *Producer) newBatch(pa *partition, buf []byte, comps int) *batch {
	b := p.batches.Get().(*batch)
	b.part = pa
	if cap(b.comps) < comps || cap(b.comps) > 2*comps+64 {
		b.comps = make([]completion, 0, comps)
	}
	b.created = time.Now()
	b.buf = buf[:wire.RecordBatchHeaderSize]
	b.summed = wire.RecordBatchHeaderSize
	return b
}

// recycle returns b's buffers to the pool (and their memory to buffer.memory) once it is
// completed.
func (p *Producer) recycle(b *batch) {
	if b.buf != nil {
		p.mem.put(b.buf)
	}
	if len(b.wireBuf) > 0 && &b.wireBuf[0] != &b.buf[0] {
		p.mem.put(b.wireBuf)
	}
	clear(b.comps)
	clear(b.futs)
	*b = batch{comps: b.comps[:0], futs: b.futs[:0]}
	p.batches.Put(b)
}

// cutBatch builds the batches that b, refused by the broker as too large, is split into
// (splitBatch): its records, decoded from b.buf, re-encoded in order into batches that
// each hold about half of b's record bytes (at least one record), so that repeated splits
// reach any limit; b's completions follow their records, re-indexed. A numbered b (idempotence) hands
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
		sizes[i] = wire.RecordSize(0, 0, r.Key, r.Value, r.Headers)
		total += sizes[i]
	}
	target := total / 2
	numbered := p.cfg.idempotent && b.stamped
	var pieces []*batch
	ci, fi := 0, 0 // b.comps[ci] and b.futs[fi] are the next to hand on
	for start := 0; start < len(recs); {
		end, n := start+1, sizes[start]
		for end < len(recs) && n+sizes[end] <= target {
			n += sizes[end]
			end++
		}
		// The pieces' buffers are counted in buffer.memory like any batch's, taken even
		// above the limit (this runs where memory cannot be waited for); b's go back when it
		// is recycled.
		buf := p.mem.getNow(n + (end-start)*recordOverhead + wire.RecordBatchHeaderSize)
		q := p.newBatch(b.part, buf, end-start)
		q.created, q.attempts = b.created, b.attempts
		q.firstTs = b.firstTs + recs[start].TimestampDelta
		q.maxTs = q.firstTs
		for i := start; i < end; i++ {
			r := &recs[i]
			ts := b.firstTs + r.TimestampDelta
			q.buf = wire.AppendRecord(q.buf, q.count, ts-q.firstTs, r.Key, r.Value, r.Headers)
			q.count++
			q.maxTs = max(q.maxTs, ts)
		}
		q.buf = p.mem.settle(buf, q.buf)
		for ; ci < len(b.comps) && int(b.comps[ci].index) < end; ci++ {
			c := b.comps[ci]
			c.index -= int32(start)
			c.tsDelta -= int32(recs[start].TimestampDelta)
			q.comps = append(q.comps, c)
			if c.cb == nil {
				q.futs = append(q.futs, b.futs[fi])
				fi++
			}
		}
		if numbered {
			q.stamped, q.pid, q.epoch, q.baseSeq = true, b.pid, b.epoch, nextSequence(b.baseSeq, int32(start))
		}
		q.splitPart = true
		pieces = append(pieces, q)
		start = end
	}
	pieces[len(pieces)-1].splitPart = b.splitPart
	return pieces, nil
}

// encode builds b.wireBuf: the records compressed when a codec is set, behind the 61
// header bytes that stamp fills in. It runs once per batch.
func (p *Producer) encode(b *batch) error {
	if p.cfg.Compression == compress.None {
		b.wireBuf = b.buf
		return nil
	}
	// The sink cannot wait for memory (what it sends frees it): the compressed copy is
	// counted, but taken even above buffer.memory.
	in := len(b.buf) - wire.RecordBatchHeaderSize
	want := len(b.buf)
	if r := b.part.compRatio.Load(); r != 0 {
		// The estimate, an eighth more, and room for a codec's framing; the buffer's class
		// (a power of two) rounds it up further. A batch that compresses worse than that
		// grows the buffer as it is appended to.
		est := int(int64(in) * int64(r) >> 10)
		want = min(want, wire.RecordBatchHeaderSize+est+est/8+1024)
	}
	buf := p.mem.getNow(want)
	out, err := p.compressor.AppendCompress(buf[:wire.RecordBatchHeaderSize], b.buf[wire.RecordBatchHeaderSize:])
	if err != nil {
		p.mem.put(buf)
		return err
	}
	if in > 0 {
		b.part.compRatio.Store(uint32(max(1, int64(len(out)-wire.RecordBatchHeaderSize)<<10/int64(in))))
	}
	b.wireBuf = p.mem.settle(buf, out) // a codec may have grown it (incompressible input)
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
	if b.summed-wire.RecordBatchHeaderSize >= crcJoinMin && p.cfg.Compression == compress.None {
		wire.FinishBatchCRC(b.wireBuf, &h, wire.UpdateRecordsCRC(b.sum, b.wireBuf[b.summed:]))
	} else {
		wire.FinishBatch(b.wireBuf, &h)
	}
	b.stamped, b.pid, b.epoch, b.baseSeq = true, pid, epoch, baseSeq
}

// memPool is buffer.memory, counted as the Java client's BufferPool counts it: by the
// capacity of the buffers that hold batches, in use or kept free for reuse, rather than by
// record bytes. Buffers come in classes of powers of two from minBufClass up to top
// (batch.size within max.request.size, plus a record's overhead), kept free per class for
// reuse; a buffer larger than that (one large record) or than an eighth of buffer.memory is
// allocated to size and dropped after.
// A send that needs a buffer waits (max.block.ms) while free buffers dropped cannot make
// room. Memory is taken per batch buffer, not per record: a record that fits its open
// batch touches nothing shared.
type memPool struct {
	limit int64
	top   int
	// inUse is used less the free buffers, for Stats.
	inUse atomic.Int64

	mu      sync.Mutex
	used    int64      // capacity of the buffers handed out and of the free ones
	freeCap int64      // capacity of the free ones
	free    [][][]byte // free buffers by class
	waiters int
	freed   chan struct{} // closed and replaced when a buffer comes back and someone waits
	// mapped holds the address of each buffer allocated outside the heap (mapBuf), to be
	// unmapped when dropped; closed is set by close, after which no buffer is kept free.
	mapped map[uintptr]struct{}
	closed bool
}

// newBufLocked allocates a buffer of capacity c, of class i (-1: none). A buffer of a class
// is mapped outside the heap where the platform allows (mapBuf).
func (m *memPool) newBufLocked(c, i int) []byte {
	if i >= 0 {
		if b := mapBuf(c); b != nil {
			if m.mapped == nil {
				m.mapped = make(map[uintptr]struct{})
			}
			m.mapped[bufAddr(b)] = struct{}{}
			return b[:0]
		}
	}
	return make([]byte, 0, c)
}

// dropLocked lets go of a buffer no longer counted: unmapped if mapped, else left to the
// garbage collector.
func (m *memPool) dropLocked(b []byte) {
	a := bufAddr(b)
	if _, ok := m.mapped[a]; ok {
		delete(m.mapped, a)
		unmapBuf(b[:cap(b)])
	}
}

// bufAddr is the address of b's storage.
func bufAddr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// minBufClass is the smallest batch buffer.
const minBufClass = 4 << 10

// class returns the capacity of the class of buffers that hold n bytes, and its index; -1
// for a buffer allocated to size (larger than top, or than the whole limit).
func (m *memPool) class(n int) (size, index int) {
	if n > m.top {
		return n, -1
	}
	c, i := minBufClass, 0
	for c < n && c < m.top {
		c <<= 1
		i++
	}
	c = min(c, m.top)
	if int64(c) > m.limit/8 {
		// A small buffer.memory is not spent in a few large buffers: beyond an eighth of
		// it, buffers are allocated to size.
		return n, -1
	}
	return c, i
}

// startSize is the capacity a new batch asks for: need, its first record's, or more as
// hint says (the capacity the partition's last full batch had), up to the largest buffer
// of a class. A hint never asks for more than an eighth of the limit, beyond which buffers
// are allocated to size (class): with a small buffer.memory, a batch starts no larger than
// its first record needs, and the memory holds as many batches as it can.
func (m *memPool) startSize(need, hint int) int {
	return max(need, int(min(int64(hint), int64(m.top), m.limit/8)))
}

// takeLocked returns a free buffer of class i, or nil.
func (m *memPool) takeLocked(i int) []byte {
	if i < 0 || i >= len(m.free) || len(m.free[i]) == 0 {
		return nil
	}
	l := m.free[i]
	b := l[len(l)-1]
	l[len(l)-1] = nil
	m.free[i] = l[:len(l)-1]
	m.freeCap -= int64(cap(b))
	m.inUse.Add(int64(cap(b)))
	return b[:0]
}

// reserveLocked counts c more bytes if the limit allows, dropping free buffers (to the
// garbage collector) to make room; force counts them even above the limit.
func (m *memPool) reserveLocked(c int64, force bool) bool {
	for i := len(m.free) - 1; i >= 0 && m.used+c > m.limit; i-- {
		for l := m.free[i]; len(l) > 0 && m.used+c > m.limit; l = m.free[i] {
			n := int64(cap(l[len(l)-1]))
			m.dropLocked(l[len(l)-1])
			l[len(l)-1] = nil
			m.free[i] = l[:len(l)-1]
			m.used -= n
			m.freeCap -= n
		}
	}
	if m.used+c > m.limit && !force {
		return false
	}
	m.used += c
	m.inUse.Add(c)
	return true
}

// get returns an empty buffer that holds at least n bytes (n at most the limit), waiting
// for one until ctx ends, closing is closed, or deadline() passes (zero: no wait). It does
// not wait when inCallback reports that the caller runs on the completion goroutine, the
// only one that gives buffers back.
func (m *memPool) get(ctx context.Context, n int, deadline func() time.Time, closing <-chan struct{}, inCallback func() bool) ([]byte, error) {
	c, i := m.class(n)
	var timer *time.Timer
	for {
		m.mu.Lock()
		if b := m.takeLocked(i); b != nil {
			m.mu.Unlock()
			return b, nil
		}
		if m.reserveLocked(int64(c), false) {
			b := m.newBufLocked(c, i)
			m.mu.Unlock()
			return b, nil
		}
		if m.freed == nil {
			m.freed = make(chan struct{})
		}
		ch := m.freed
		m.waiters++
		m.mu.Unlock()
		var err error
		if timer == nil {
			if d := deadline(); d.IsZero() || inCallback() {
				err = ErrBufferFull
			} else {
				timer = time.NewTimer(time.Until(d))
				defer timer.Stop()
			}
		}
		if err == nil {
			select {
			case <-ch:
			case <-timer.C:
				err = ErrBufferFull
			case <-ctx.Done():
				err = ctx.Err()
			case <-closing:
				err = ErrClosed
			}
		}
		m.mu.Lock()
		m.waiters--
		m.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
}

// getNow is get without waiting: above the limit it allocates anyway, still counted.
func (m *memPool) getNow(n int) []byte {
	c, i := m.class(n)
	m.mu.Lock()
	defer m.mu.Unlock()
	if b := m.takeLocked(i); b != nil {
		return b
	}
	m.reserveLocked(int64(c), true)
	return m.newBufLocked(c, i)
}

// settle accounts for got, which is orig (a buffer handed out by get or getNow) after
// appends: if they outgrew orig, got is new storage, counted in orig's place (even above
// the limit), and orig goes back.
func (m *memPool) settle(orig, got []byte) []byte {
	if cap(got) == cap(orig) && bufAddr(got) == bufAddr(orig) {
		return got
	}
	m.put(orig)
	m.mu.Lock()
	m.reserveLocked(int64(cap(got)), true)
	m.mu.Unlock()
	return got
}

// close drops the free buffers; buffers given back later are dropped at once.
func (m *memPool) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for i, l := range m.free {
		for j, b := range l {
			m.dropLocked(b)
			m.used -= int64(cap(b))
			m.freeCap -= int64(cap(b))
			l[j] = nil
		}
		m.free[i] = l[:0]
	}
}

// put gives back a buffer handed out by get or getNow: kept free for reuse when it is of a
// class (free buffers stay counted, and are dropped when a buffer of another class needs the
// room), else dropped. Either way its capacity is no longer in use.
func (m *memPool) put(b []byte) {
	n := cap(b)
	c, i := m.class(n)
	m.mu.Lock()
	if i >= 0 && c == n && !m.closed {
		for len(m.free) <= i {
			m.free = append(m.free, nil)
		}
		m.free[i] = append(m.free[i], b[:0])
		m.freeCap += int64(n)
	} else {
		m.dropLocked(b)
		m.used -= int64(n)
	}
	if m.waiters > 0 && m.freed != nil {
		close(m.freed)
		m.freed = nil
	}
	m.mu.Unlock()
	m.inUse.Add(-int64(n))
}
