// Package producer is gregor, a Kafka producer client: records go in through [Producer.Send]
// (synchronous with [Future.Get], asynchronous with [Producer.SendAsync] and a callback, or
// fire-and-forget), are batched per partition and written to the partition leaders with a
// hand-written implementation of the Kafka protocol.
//
// The configuration mirrors the Java producer's properties ([Config],
// [ConfigFromProperties]), keys are partitioned as the Java client does ([Murmur2]), and
// package kafkatest provides an in-memory cluster for tests.
package producer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gregor-kafka/producer/compress"
	"github.com/gregor-kafka/producer/wire"
)

// Callback receives the outcome of one record sent with [Producer.SendAsync]: its metadata,
// or the error that failed it. Callbacks of one partition run in record order, on a
// goroutine of the producer that is not a network reader; they must not block for long,
// since later callbacks wait for them.
type Callback func(RecordMetadata, error)

// Producer sends records to Kafka. It is safe for concurrent use. Create it with [New] and
// end it with [Producer.Close].
type Producer struct {
	cfg        settings
	compressor *compress.Compressor
	mem        memLimiter
	bufs       bufPool
	batches    sync.Pool // *batch

	topics sync.Map // name -> *topicState
	meta   *metadata
	idem   *idempotence
	txn    *transactions // nil without transactional.id

	sinksMu sync.Mutex
	sinks   map[int32]*sink
	addrs   map[int32]string

	clock    clock
	stats    counters
	done     completionQueue
	draining atomic.Int32 // > 0 while Flush or Close wants everything sent now
	progress notifier     // notified after each batch completes

	closed   atomic.Bool
	closing  chan struct{} // closed when Close starts: blocked sends give up
	stop     chan struct{} // closed when the goroutines must end
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// New validates cfg and starts a producer. It does not wait for the cluster: the first
// sends wait, up to max.block.ms, for the metadata of their topics.
func New(cfg Config) (*Producer, error) {
	s, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	p := &Producer{
		cfg:     s,
		sinks:   map[int32]*sink{},
		closing: make(chan struct{}),
		stop:    make(chan struct{}),
	}
	if s.Compression != compress.None {
		if p.compressor, err = compress.NewCompressor(s.Compression, s.level); err != nil {
			return nil, fmt.Errorf("producer: %w", err)
		}
	}
	p.clock.reanchor()
	p.mem.limit = s.BufferMemory
	// batch.size is where a batch is sealed; buffers start no larger than a request can be
	// (batch.size may be up to 2 GiB) and grow by append if a batch needs more.
	p.bufs.size = min(s.BatchSize, s.MaxRequestSize) + wire.RecordBatchHeaderSize + recordOverhead
	p.batches.New = func() any { return new(batch) }
	p.done.wake = make(chan struct{}, 1)
	p.meta = newMetadata(p)
	p.idem = newIdempotence(s.TransactionalID != "")
	if s.TransactionalID != "" {
		p.txn = newTransactions(p)
	}
	p.wg.Add(2)
	go p.meta.run()
	go p.complete()
	p.meta.requestRefresh()
	return p, nil
}

// Future is the outcome of one record sent with [Producer.Send]. The record's delivery does
// not depend on anyone waiting for the Future.
type Future struct {
	done chan struct{}
	md   RecordMetadata
	err  error
}

func failedFuture(err error) *Future {
	f := &Future{done: make(chan struct{}), err: err}
	close(f.done)
	return f
}

// Get waits for the record to be acknowledged or to fail, or for ctx to end. When ctx ends
// first, Get returns ctx's error and the record stays in flight: it is still delivered or
// failed (within delivery.timeout.ms), and a later Get or [Future.Done] tells which. ctx
// bounds the wait, not the delivery.
func (f *Future) Get(ctx context.Context) (RecordMetadata, error) {
	select {
	case <-f.done:
		return f.md, f.err
	case <-ctx.Done():
		return RecordMetadata{}, ctx.Err()
	}
}

// Wait is [Future.Get] without the metadata.
func (f *Future) Wait(ctx context.Context) error {
	_, err := f.Get(ctx)
	return err
}

// Done is closed when the outcome is known.
func (f *Future) Done() <-chan struct{} { return f.done }

// Send sends rec and returns its [Future]. It blocks only while buffer.memory is full or the
// topic's metadata is unknown, up to max.block.ms or until ctx ends; ctx does not bound the
// delivery itself (delivery.timeout.ms does). Errors found before the record is enqueued
// (too large, closed producer, full buffer) are in the Future at once. Once Send has
// returned, the record is enqueued: ctx ending later does not withdraw it.
func (p *Producer) Send(ctx context.Context, rec Record) *Future {
	f := &Future{done: make(chan struct{})}
	if err := p.send(ctx, &rec, nil, f); err != nil {
		f.err = err
		f.md = RecordMetadata{Topic: rec.Topic, Partition: -1, Offset: -1}
		close(f.done)
	}
	return f
}

// SendAsync sends rec and calls cb, if not nil, exactly once with its outcome. When the
// record cannot be enqueued, SendAsync calls cb with the error before returning it, as the
// Java client does; otherwise it returns nil and cb runs later. With a nil cb this is
// fire-and-forget, the fastest mode: the record costs no allocation, and a failure to
// deliver it is seen only in [Producer.Stats] (RecordsFailed).
//
// SendAsync is asynchronous about delivery, not about enqueuing: like Send, it blocks while
// the topic's metadata is unknown (the first send to a topic) or buffer.memory is full, up
// to max.block.ms ([Config.MaxBlock], 60 s by default) or until ctx ends. [NoBlock] makes
// such a send fail at once instead. ctx bounds only that wait.
func (p *Producer) SendAsync(ctx context.Context, rec Record, cb Callback) error {
	err := p.send(ctx, &rec, cb, nil)
	if err != nil && cb != nil {
		cb(RecordMetadata{Topic: rec.Topic, Partition: -1, Offset: -1}, err)
	}
	return err
}

// send validates rec, picks its partition, reserves buffer memory and appends it to the
// partition's open batch.
func (p *Producer) send(ctx context.Context, rec *Record, cb Callback, fut *Future) error {
	if p.closed.Load() {
		return ErrClosed
	}
	if rec.Topic == "" {
		return fmt.Errorf("%w: empty topic", ErrInvalidRecord)
	}
	if p.txn != nil {
		if err := p.txn.checkSend(); err != nil {
			return err
		}
	}
	for i := range rec.Headers {
		if !utf8.ValidString(rec.Headers[i].Key) {
			return fmt.Errorf("%w: header key %q is not valid UTF-8", ErrInvalidRecord, rec.Headers[i].Key)
		}
	}
	size := wire.RecordSize(0, 0, rec.Key, rec.Value, rec.Headers)
	if total := size + recordOverhead + wire.RecordBatchHeaderSize; total > p.cfg.MaxRequestSize || int64(total) > p.cfg.BufferMemory {
		return fmt.Errorf("%w: %d bytes encoded, max.request.size is %d and buffer.memory %d",
			ErrRecordTooLarge, total, p.cfg.MaxRequestSize, p.cfg.BufferMemory)
	}
	var ts int64
	if rec.Timestamp.IsZero() {
		ts = p.clock.nowMs()
	} else {
		ts = rec.Timestamp.UnixMilli()
	}

	t, parts, err := p.topicParts(ctx, rec.Topic)
	if err != nil {
		return err
	}
	var idx int32
	if n, ok := rec.Partition.Get(); ok {
		idx = n
	} else if p.cfg.Partitioner != nil {
		r := *rec // a copy: a custom partitioner must not make every record escape
		idx = p.cfg.Partitioner.Partition(&r, len(parts))
	} else if rec.Key != nil && !p.cfg.PartitionerIgnoreKeys {
		idx = KeyPartition(rec.Key, len(parts))
	} else {
		idx = t.sticky.Load().partition(size, p.cfg.BatchSize, len(parts))
	}
	if idx < 0 || int(idx) >= len(parts) {
		return fmt.Errorf("%w: partition %d of topic %q, which has %d", ErrInvalidRecord, idx, rec.Topic, len(parts))
	}
	if err := p.mem.acquire(ctx, int64(size), p.cfg.MaxBlock, p.closing); err != nil {
		if errors.Is(err, ErrBufferFull) {
			return fmt.Errorf("%w: %d bytes buffered after waiting max.block.ms (%v)", ErrBufferFull, p.mem.used.Load(), p.cfg.MaxBlock)
		}
		return err
	}
	pa := parts[idx]
	if p.txn != nil {
		p.txn.addPartition(pa)
	}
	wake, ok := pa.appendRecord(p, rec, ts, size, cb, fut)
	if !ok {
		p.mem.release(int64(size))
		return ErrClosed
	}
	if wake {
		p.wakeLeader(pa)
	}
	return nil
}

// topicParts returns the topic's state and partitions, waiting for its metadata up to
// max.block.ms when it is not known yet.
func (p *Producer) topicParts(ctx context.Context, name string) (*topicState, []*partition, error) {
	v, ok := p.topics.Load(name)
	if !ok {
		v, _ = p.topics.LoadOrStore(name, &topicState{name: name})
	}
	t := v.(*topicState)
	if parts := t.parts.Load(); parts != nil {
		return t, *parts, nil
	}
	var timeout <-chan time.Time
	if p.cfg.MaxBlock > 0 {
		timer := time.NewTimer(p.cfg.MaxBlock)
		defer timer.Stop()
		timeout = timer.C
	}
	for {
		updated := p.meta.updated.wait()
		if parts := t.parts.Load(); parts != nil {
			return t, *parts, nil
		}
		if e := t.err.Load(); e != nil {
			return t, nil, *e
		}
		if err := p.lastAuthError(); err != nil { // as Java: no waiting on metadata that cannot come
			return t, nil, &PartitionError{Topic: name, Partition: -1, Err: err}
		}
		p.meta.requestRefresh()
		if p.cfg.MaxBlock <= 0 {
			return t, nil, fmt.Errorf("%w: no metadata for topic %q and max.block.ms is 0", ErrTimeout, name)
		}
		select {
		case <-updated:
		case <-timeout:
			return t, nil, fmt.Errorf("%w: topic %q not present in metadata after max.block.ms (%v)", ErrTimeout, name, p.cfg.MaxBlock)
		case <-ctx.Done():
			return t, nil, ctx.Err()
		case <-p.closing:
			return t, nil, ErrClosed
		}
	}
}

// wakeLeader pokes the sink of pa's leader, if it has one.
func (p *Producer) wakeLeader(pa *partition) {
	leader := pa.leader.Load()
	if leader < 0 {
		return
	}
	p.sinksMu.Lock()
	s := p.sinks[leader]
	p.sinksMu.Unlock()
	if s != nil {
		s.poke()
	}
}

// brokerAddrs returns the known broker addresses, then the bootstrap servers.
func (p *Producer) brokerAddrs() []string {
	p.sinksMu.Lock()
	out := make([]string, 0, len(p.addrs)+len(p.cfg.BootstrapServers))
	for _, a := range p.addrs {
		out = append(out, a)
	}
	p.sinksMu.Unlock()
	return append(out, p.cfg.BootstrapServers...)
}

// blockCtx bounds ctx by max.block.ms.
func (p *Producer) blockCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if p.cfg.MaxBlock <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, p.cfg.MaxBlock)
}

// setBrokers records the broker addresses from a metadata answer.
func (p *Producer) setBrokers(addrs map[int32]string) {
	p.sinksMu.Lock()
	defer p.sinksMu.Unlock()
	p.addrs = addrs
	for node, s := range p.sinks {
		if a, ok := addrs[node]; ok && a != *s.addr.Load() {
			s.addr.Store(&a)
		}
	}
}

// assignPartitions gives each sink the list of partitions its broker leads, creating sinks
// for new leaders, and wakes them all.
func (p *Producer) assignPartitions() {
	byNode := map[int32][]*partition{}
	p.forEachPartition(func(pa *partition) {
		if l := pa.leader.Load(); l >= 0 {
			byNode[l] = append(byNode[l], pa)
		}
	})
	p.sinksMu.Lock()
	defer p.sinksMu.Unlock()
	select {
	case <-p.stop:
		return
	default:
	}
	for node, parts := range byNode {
		if _, ok := p.sinks[node]; !ok {
			addr, known := p.addrs[node]
			if !known {
				continue
			}
			s := newSink(p, node, addr)
			p.sinks[node] = s
			p.wg.Add(1)
			go s.run()
		}
		p.sinks[node].parts.Store(&parts)
	}
	for node, s := range p.sinks {
		if _, ok := byNode[node]; !ok {
			empty := []*partition{}
			s.parts.Store(&empty)
		}
		s.poke()
	}
}

// forEachPartition calls fn for every partition of every known topic.
func (p *Producer) forEachPartition(fn func(*partition)) {
	p.topics.Range(func(_, v any) bool {
		if parts := v.(*topicState).parts.Load(); parts != nil {
			for _, pa := range *parts {
				fn(pa)
			}
		}
		return true
	})
}

// batchDone ends one attempt to send b with err (nil for success). A failed attempt is
// retried when retriable, and retries and delivery.timeout.ms allow, with b keeping its
// place in its partition; otherwise b is done, and completes once every earlier batch of
// its partition has.
func (p *Producer) batchDone(b *batch, err error, retriable bool) {
	pa := b.part
	var ke *wire.Error
	isKafka := errors.As(err, &ke)
	refresh := err != nil && retriable && (!isKafka || ke.RefreshMetadata)
	bump := false
	pa.mu.Lock()
	pa.inFlight--
	b.state = batchDone
	if isKafka && ke.Code == wire.ErrDuplicateSequenceNumber.Code {
		err, b.baseOffset = nil, -1 // already written; its offset is unknown
	}
	switch {
	case err == nil:
	case isKafka && (ke.Code == wire.ErrOutOfOrderSequenceNumber.Code || ke.Code == wire.ErrUnknownProducerID.Code):
		b.maybeWritten = false // the broker holds nothing from this sequence on
	case !isKafka || ke.Code == wire.ErrRequestTimedOut.Code || ke.Code == wire.ErrNotEnoughReplicasAfterAppend.Code:
		b.maybeWritten = true
	}
	if isKafka && p.cfg.idempotent && (ke.Code == wire.ErrOutOfOrderSequenceNumber.Code || ke.Code == wire.ErrUnknownProducerID.Code) {
		// Behind an unfinished earlier batch the gap is expected: resend in order. At the
		// head, the broker lost or never had our sequence: bump the epoch (KIP-360).
		retriable = true
		bump = !pa.earlierUnfinishedLocked(b)
	}
	if err != nil && retriable && p.stopping() {
		err = fmt.Errorf("%w before delivery (last error: %w)", ErrClosed, err)
	} else if err != nil && retriable {
		b.attempts++
		if b.attempts <= p.cfg.Retries && time.Since(b.created) < p.cfg.DeliveryTimeout {
			b.state = batchQueued
			b.err = err
			p.stats.recordsRetried.Add(int64(b.count))
			b.retryAt = time.Now().Add(p.backoff(b.attempts))
			pa.rewind = true
			p.logDebug("retrying batch", "topic", pa.topic.name, "partition", pa.id, "attempt", b.attempts, "error", err)
		}
	}
	var failed error // b may be recycled as soon as it is handed over: keep what we need
	txnChanged := false
	if b.state == batchDone {
		p.batchStats(b, err)
		if err != nil {
			switch {
			case !retriable || p.stopping():
			case b.attempts > p.cfg.Retries:
				err = fmt.Errorf("%w (after %d retries)", err, p.cfg.Retries)
			default:
				err = fmt.Errorf("%w: delivery.timeout.ms (%v) passed; last error: %w", ErrTimeout, p.cfg.DeliveryTimeout, err)
			}
			b.err = &PartitionError{Topic: pa.topic.name, Partition: pa.id, Err: err}
			failed = b.err
			// The transaction must be abortable before anyone can see this failure.
			txnChanged = p.txn != nil && p.txn.markFailed(failed)
			// The partition's sequence numbers now have a gap, or an unknown outcome.
			bump = bump || p.cfg.idempotent && b.stamped
		} else {
			b.err = nil
			if b.pid == pa.seqPID && b.epoch == pa.seqEpoch {
				pa.seqAcked = true
			}
		}
		p.popDoneLocked(pa)
	}
	pa.mu.Unlock()
	if txnChanged {
		p.txn.failUnsentBecause(failed)
	}
	if bump {
		p.logWarn("producer epoch bump needed", "topic", pa.topic.name, "partition", pa.id, "error", err)
	}
	if p.cfg.idempotent {
		woke := p.idem.answered()
		if bump {
			woke = p.idem.requestBump() || woke
		}
		if woke {
			p.pokeAll()
		}
	}
	if refresh {
		p.meta.requestRefresh()
	}
}

// batchStats counts a batch that is done, and tells the hooks.
func (p *Producer) batchStats(b *batch, err error) {
	if err != nil {
		p.stats.recordsFailed.Add(int64(b.count))
	} else {
		p.stats.recordsSent.Add(int64(b.count))
		p.stats.batchesSent.Add(1)
		p.stats.batchBytes.Add(int64(len(b.wireBuf)))
		p.stats.uncompressedBytes.Add(int64(len(b.buf)))
	}
	if p.cfg.Hooks != nil {
		p.cfg.Hooks.OnBatchDone(b.part.topic.name, b.part.id, int(b.count), len(b.wireBuf), err)
	}
}

// earlierUnfinishedLocked reports whether a batch before b in its partition has no outcome
// yet. b.part.mu is held.
func (pa *partition) earlierUnfinishedLocked(b *batch) bool {
	for _, q := range pa.queue {
		if q == b {
			return false
		}
		if q.state != batchDone {
			return true
		}
	}
	return false
}

// stopping reports whether Close has given up on delivering.
func (p *Producer) stopping() bool {
	select {
	case <-p.stop:
		return true
	default:
		return false
	}
}

// completionQueue carries completed batches to the completion goroutine. It never blocks
// the pusher; its length is bounded by buffer.memory, which completed batches still hold.
type completionQueue struct {
	mu    sync.Mutex
	items []*batch
	wake  chan struct{}
}

func (q *completionQueue) push(b *batch) {
	q.mu.Lock()
	q.items = append(q.items, b)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// complete is the completion goroutine: it calls callbacks and fills futures in order,
// releases buffer memory and recycles batches.
func (p *Producer) complete() {
	defer p.wg.Done()
	var work []*batch
	for {
		select {
		case <-p.done.wake:
		case <-p.stop:
			// Close stops us only after every batch completed and was handed over.
			p.done.mu.Lock()
			work, p.done.items = p.done.items, work[:0]
			p.done.mu.Unlock()
			for _, b := range work {
				p.finishBatch(b)
			}
			return
		}
		p.done.mu.Lock()
		work, p.done.items = p.done.items, work[:0]
		p.done.mu.Unlock()
		for i, b := range work {
			p.finishBatch(b)
			work[i] = nil
		}
	}
}

// finishBatch delivers the outcome of every record of b.
func (p *Producer) finishBatch(b *batch) {
	p.mem.release(b.memBytes)
	topic, part := b.part.topic.name, b.part.id
	for i := range b.comps {
		c := &b.comps[i]
		md := RecordMetadata{Topic: topic, Partition: part, Offset: -1}
		if b.err == nil && b.baseOffset >= 0 {
			md.Offset = b.baseOffset + int64(c.index)
		}
		ts := c.ts
		if b.logAppendTime > 0 {
			ts = b.logAppendTime
		}
		md.Timestamp = time.UnixMilli(ts)
		if p.cfg.Hooks != nil {
			p.cfg.Hooks.OnRecordDone(md, b.err)
		}
		switch {
		case c.fut != nil:
			c.fut.md, c.fut.err = md, b.err
			close(c.fut.done)
		case c.cb != nil:
			c.cb(md, b.err)
		}
	}
	pa := b.part
	p.recycle(b)
	pa.mu.Lock()
	pa.completed++
	pa.mu.Unlock()
	p.progress.notify()
}

// expireStale fails batches that waited longer than delivery.timeout.ms without an
// answer: those of partitions without a reachable leader, or stuck behind retries. A
// partition with a batch in flight waits for its answer first, so order is kept.
func (p *Producer) expireStale() {
	now := time.Now()
	bump := false
	p.forEachPartition(func(pa *partition) {
		pa.mu.Lock()
		defer pa.mu.Unlock()
		if pa.inFlight > 0 {
			return
		}
		if pa.open != nil && now.Sub(pa.open.created) >= p.cfg.DeliveryTimeout {
			pa.sealLocked()
		}
		for _, b := range pa.queue {
			if now.Sub(b.created) < p.cfg.DeliveryTimeout {
				break
			}
			cause := fmt.Errorf("%w: delivery.timeout.ms (%v) passed", ErrTimeout, p.cfg.DeliveryTimeout)
			if b.err != nil {
				cause = fmt.Errorf("%w; last error: %w", cause, b.err)
			}
			b.state = batchDone
			b.err = &PartitionError{Topic: pa.topic.name, Partition: pa.id, Err: cause}
			p.batchStats(b, b.err)
			bump = bump || p.cfg.idempotent && b.stamped
		}
		p.popDoneLocked(pa)
	})
	if bump && p.idem.requestBump() {
		p.pokeAll()
	}
}

// Flush sends every record sent before it and waits until each is acknowledged or failed,
// or until ctx ends (then it returns ctx's error, and the records stay in flight).
//
// Flush returns nil once every record has an outcome, even when some records failed: a
// failure goes to the record's [Callback] or [Future], and is counted in [Producer.Stats]
// (RecordsFailed). To learn of failures, send with a callback or keep the Futures; with
// fire-and-forget sends, compare Stats().RecordsFailed before and after.
func (p *Producer) Flush(ctx context.Context) error {
	p.draining.Add(1)
	defer p.draining.Add(-1)
	type mark struct {
		pa     *partition
		target uint64
	}
	var marks []mark
	p.forEachPartition(func(pa *partition) {
		pa.mu.Lock()
		pa.sealLocked()
		if pa.completed < pa.created {
			marks = append(marks, mark{pa, pa.created})
		}
		pa.mu.Unlock()
	})
	p.pokeAll()
	for _, m := range marks {
		for {
			ch := p.progress.wait()
			m.pa.mu.Lock()
			done := m.pa.completed >= m.target
			m.pa.mu.Unlock()
			if done {
				break
			}
			select {
			case <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

func (p *Producer) pokeAll() {
	p.sinksMu.Lock()
	for _, s := range p.sinks {
		s.poke()
	}
	p.sinksMu.Unlock()
}

// Close flushes what was sent and stops the producer. Sends after Close fail with
// [ErrClosed]. When ctx ends before everything is delivered, records still buffered or in
// flight fail with ErrClosed. Close waits for every goroutine of the producer to end. It may
// be called more than once; later calls return nil.
func (p *Producer) Close(ctx context.Context) error {
	if !p.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(p.closing)
	// A send that passed the closed check before now may still be appending: taking every
	// partition's lock once orders those appends before the flush below, and later ones
	// see closed under the lock and refuse.
	p.forEachPartition(func(pa *partition) {
		pa.mu.Lock()
		//lint:ignore SA2001 the empty critical section is the barrier
		pa.mu.Unlock()
	})
	err := p.Flush(ctx)
	p.stopOnce.Do(func() { close(p.stop) })
	p.wg.Wait()
	if p.txn != nil {
		p.txn.close()
	}
	// Every goroutine is gone. Deliver the outcomes still queued, then fail what was not
	// delivered, in partition order.
	p.done.mu.Lock()
	finished := p.done.items
	p.done.items = nil
	p.done.mu.Unlock()
	for _, b := range finished {
		p.finishBatch(b)
	}
	var left []*batch
	p.forEachPartition(func(pa *partition) {
		pa.mu.Lock()
		pa.sealLocked()
		for _, b := range pa.queue {
			if b.state != batchDone {
				b.err = &PartitionError{Topic: pa.topic.name, Partition: pa.id, Err: ErrClosed}
				p.batchStats(b, b.err)
			}
		}
		left = append(left, pa.queue...)
		pa.queue = nil
		pa.mu.Unlock()
	})
	for _, b := range left {
		p.finishBatch(b)
	}
	return err
}

func (p *Producer) logWarn(msg string, args ...any) {
	if p.cfg.Logger != nil {
		p.cfg.Logger.Warn(msg, args...)
	}
}

func (p *Producer) logDebug(msg string, args ...any) {
	if p.cfg.Logger != nil && p.cfg.Logger.Enabled(context.Background(), slog.LevelDebug) {
		p.cfg.Logger.Debug(msg, args...)
	}
}
