package producer

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// This file owns a batch's life. Every change of a batch's state, and of the partition
// fields that track it (queue, inFlight, rewind, sequence numbering), is one of the named
// transitions below; the sink, the answer handler, the expiry sweep, the transaction code and
// Close call them and write no state themselves.
//
//	open ──seal──▶ queued ──take──▶ in flight ──attemptDone──▶ done ──popDone──▶ completed
//	                 ▲  │               │  │                     ▲
//	                 │  │               │  └──unsend (not sent)──┘ (back to queued)
//	                 │  │               └──attemptDone (retry)───▶ queued
//	                 │  └──failBatches (expired, fatal, abort, close)──▶ done
//	in flight ──splitBatch (too large)──▶ its pieces, queued in its place
//	open ──failBatches──▶ done
//
// A batch is done when its outcome is known, and completed (callbacks run, Stats and hooks
// told, memory released) once every earlier batch of its partition is: completion happens in
// partition order on the completion goroutine, the only goroutine that runs user code.

// Batch states.
const (
	batchQueued   uint8 = iota // sealed, waiting to be sent (or sent again)
	batchInFlight              // in a Produce request awaiting its answer
	batchDone                  // outcome known; completed once every earlier batch is
)

// sealLocked moves the open batch, if any, to the queue. pa.mu is held.
func (pa *partition) sealLocked() {
	if pa.open != nil {
		pa.queue = append(pa.queue, pa.open)
		pa.open = nil
	}
}

// takeBatch is the take transition: it picks the batch of pa to send next, if any may go
// now, marks it in flight and numbers it. perPartition is how many batches of pa may be in
// flight; pid and epoch are the producer id and epoch to stamp with (-1 without
// idempotence). It returns the batch, whether its header must be (re)written and with which
// base sequence; or nil, noting in later when to look again.
func (p *Producer) takeBatch(pa *partition, now time.Time, flushing bool, perPartition int, pid int64, epoch int16,
	size int, later func(time.Time)) (b *batch, restamp bool, seq int32) {
	pa.mu.Lock()
	defer pa.mu.Unlock()
	if pa.rewind {
		if pa.inFlight > 0 {
			return nil, false, 0
		}
		pa.rewind = false
	}
	if pa.inFlight >= perPartition || pa.inFlight > 0 && !pa.seqAcked {
		return nil, false, 0
	}
	// Only the oldest perPartition batches of the queue may be out: then no more than four
	// batches can be written after the oldest unacknowledged one, and a retry of it is still
	// in the broker's window of five for deduplication.
	for i, q := range pa.queue {
		if i >= perPartition {
			break
		}
		if q.state == batchQueued {
			b = q
			break
		}
	}
	if b == nil && pa.open != nil && len(pa.queue) < perPartition {
		if deadline := pa.open.created.Add(p.cfg.Linger); flushing || !deadline.After(now) {
			b = pa.open
			pa.sealLocked()
		} else {
			later(deadline)
		}
	}
	if b == nil {
		return nil, false, 0
	}
	if b.retryAt.After(now) {
		later(b.retryAt)
		return nil, false, 0
	}
	n := len(b.buf)
	if b.wireBuf != nil {
		n = len(b.wireBuf)
	}
	if size > 0 && size+n+64 > p.cfg.MaxRequestSize {
		return nil, false, 0
	}
	// Sequences count per (producer id, epoch) and restart at 0 after a bump, once the
	// batches stamped before it are answered. A batch that may have been written keeps its
	// stamp, as in the Java client: restamped, the broker could not tell it is a duplicate.
	// It keeps it only while its partition still numbers in its epoch: once an earlier batch
	// moved the partition to the new epoch, the broker refuses the old one (47).
	//
	// A piece of a split batch is numbered (splitBatch) but has no wire bytes yet: it keeps
	// its number and is stamped on its first take. (Such a piece was never sent, so it is not
	// maybeWritten: kept, its stamp is in the current pid and epoch.)
	restamp = !b.stamped || b.wireBuf == nil
	seq = -1
	keep := b.stamped && (b.pid == pid && b.epoch == epoch ||
		b.maybeWritten && b.pid == pa.seqPID && b.epoch == pa.seqEpoch)
	if keep {
		seq = b.baseSeq
	}
	if p.cfg.idempotent && !keep {
		if pa.seqPID != pid || pa.seqEpoch != epoch {
			if pa.inFlight > 0 {
				return nil, false, 0
			}
			pa.seqPID, pa.seqEpoch, pa.nextSeq, pa.seqAcked = pid, epoch, 0, false
		}
		seq = pa.nextSeq
		pa.nextSeq = nextSequence(pa.nextSeq, b.count)
		restamp = true
	}
	b.state = batchInFlight
	pa.inFlight++
	pa.lastDrain.Store(now.UnixNano())
	return b, restamp, seq
}

// restartSequences makes pa number its next batch from 0 again, in whatever producer id and
// epoch that batch is taken in, because pa's topic was recreated (a new topic id): the new
// partition's log has no state for this producer, so its broker would refuse the next
// sequence of the old one (OUT_OF_ORDER_SEQUENCE_NUMBER, failing the next transaction),
// while it takes 0. If a batch numbered for the old topic is still unanswered, it does
// nothing: those answers decide, as without a recreation.
func restartSequences(pa *partition) {
	pa.mu.Lock()
	defer pa.mu.Unlock()
	if pa.inFlight > 0 {
		return
	}
	for _, b := range pa.queue {
		if b.stamped {
			return
		}
	}
	pa.seqPID, pa.seqAcked = -1, false
}

// unsend is the transition of a batch taken for a request that was never written (its
// broker could not be reached): back to queued, as if never taken. No attempt is counted
// and nothing may have been written; its stamp stays valid for the next take.
func (p *Producer) unsend(b *batch) {
	pa := b.part
	pa.mu.Lock()
	pa.inFlight--
	b.state = batchQueued
	pa.mu.Unlock()
	if p.cfg.idempotent && p.idem.answered() {
		p.pokeAll()
	}
	if pa.gone.Load() { // no sink takes it any more
		p.failBatches(failWaiting, errPartitionGone, func(fn func(*partition)) { fn(pa) })
	}
}

// attemptDone ends one attempt to send b with err (nil for success). A failed attempt is
// retried when retriable, and retries and delivery.timeout.ms allow, with b keeping its
// place in its partition; otherwise b is done. moved says that the partition has moved to
// a leader that the answering broker named (KIP-951): the retry goes there at once, without
// backoff or a metadata refresh; without such a hint, an error that means stale metadata
// asks for a refresh and the retry waits the KIP-580 backoff.
func (p *Producer) attemptDone(b *batch, err error, retriable, moved bool) {
	pa := b.part
	var ke *wire.Error
	isKafka := errors.As(err, &ke)
	if isKafka && ke.Code == wire.ErrMessageTooLarge.Code && b.count > 1 && p.splitBatch(b) {
		return
	}
	refresh := err != nil && retriable && (!isKafka || ke.RefreshMetadata) && !moved
	seqLost := isKafka && (ke.Code == wire.ErrOutOfOrderSequenceNumber.Code || ke.Code == wire.ErrUnknownProducerID.Code)
	bump, retrying := false, false
	pa.mu.Lock()
	pa.inFlight--
	b.state = batchDone
	if isKafka && ke.Code == wire.ErrDuplicateSequenceNumber.Code {
		err, b.baseOffset = nil, -1 // already written; its offset is unknown
	}
	switch {
	case err == nil:
	case seqLost:
		b.maybeWritten = false // the broker holds nothing from this sequence on
	case !isKafka || ke.Code == wire.ErrRequestTimedOut.Code || ke.Code == wire.ErrNotEnoughReplicasAfterAppend.Code:
		b.maybeWritten = true
	}
	if seqLost && p.cfg.idempotent {
		// Behind an unfinished earlier batch the gap is expected: resend in order. At the
		// head, the broker lost or never had our sequence (KIP-360): an idempotent producer
		// bumps its epoch and resends; a transactional one cannot renumber inside a
		// transaction, so the batch fails, the transaction must abort, and the abort bumps.
		behind := pa.earlierUnfinishedLocked(b)
		retriable = behind || p.txn == nil
		bump = !behind
	}
	if err != nil && retriable && pa.gone.Load() {
		retriable = false
	}
	if err != nil && retriable && p.stopping() {
		err = fmt.Errorf("%w before delivery (last error: %w)", ErrClosed, err)
	} else if err != nil && retriable {
		b.attempts++
		if b.attempts <= p.cfg.Retries && time.Since(b.created) < p.cfg.DeliveryTimeout {
			b.state = batchQueued
			b.err = err
			p.stats.recordsRetried.Add(int64(b.count))
			b.retryAt = time.Now()
			if !moved {
				b.retryAt = b.retryAt.Add(p.backoff(b.attempts))
			}
			pa.rewind = true
			retrying = true
		}
	}
	txnChanged := false
	var failed error
	topic, part, attempts := pa.topic.name, pa.id, b.attempts // b may be recycled once handed over
	if b.state == batchDone {
		if err != nil {
			switch {
			case !retriable || p.stopping():
			case b.attempts > p.cfg.Retries:
				err = fmt.Errorf("%w (after %d retries)", err, p.cfg.Retries)
			default:
				err = fmt.Errorf("%w: delivery.timeout.ms (%v) passed; last error: %w", ErrTimeout, p.cfg.DeliveryTimeout, err)
			}
			failed = &PartitionError{Topic: pa.topic.name, Partition: pa.id, Err: err}
			b.err = failed
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

	if retrying {
		p.logDebug("retrying batch", "topic", topic, "partition", part, "attempt", attempts, "error", err)
	}
	if bump {
		// Once per bump: the batches failing while it is pending need the same one.
		if p.idem.bumpPending() {
			p.logDebug("producer epoch bump needed", "topic", topic, "partition", part, "error", err)
		} else {
			p.logWarn("producer epoch bump needed", "topic", topic, "partition", part, "error", err)
		}
	}
	if txnChanged {
		p.txn.failUnsentBecause(failed)
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

// splitBatch is the split transition (the Java client's splitAndReenqueue): b, in flight,
// was refused as larger than the broker or topic accepts (MESSAGE_TOO_LARGE, message.max.bytes
// or max.message.bytes), so it is cut into smaller batches (cutBatch) that take its place in
// its partition, queued, and go out at once, ahead of every later batch (rewind). A piece
// refused again is split again; a single record the broker refuses fails with
// MESSAGE_TOO_LARGE. No retry is counted: each split halves the bytes, so splits end.
//
// With idempotence the pieces share b's sequence range, so the batches after b keep their
// numbers: those in flight behind b are refused as out of order and resent after the
// pieces, as any retry behind an unfinished batch. The records of b keep their memory,
// completions and place; Stats and hooks count each piece as a batch when it completes, and
// each record once. Only b's buffers are released here.
//
// It reports false, changing nothing, when b must fail instead: it may have been written by
// an earlier attempt (maybeWritten: cut differently, a duplicate could not be recognized),
// its partition is gone, the producer is closing, or its records cannot be decoded.
func (p *Producer) splitBatch(b *batch) bool {
	pa := b.part
	// b is in flight: until this answer's handler (us) ends the attempt, no one else
	// touches its records.
	pieces, err := p.cutBatch(b)
	if err != nil {
		p.logWarn("cannot split a batch refused as too large", "topic", pa.topic.name, "partition", pa.id, "error", err)
		return false
	}
	pa.mu.Lock()
	i := slices.Index(pa.queue, b)
	if i < 0 || b.state != batchInFlight || b.maybeWritten || pa.gone.Load() || p.stopping() {
		pa.mu.Unlock()
		for _, q := range pieces {
			p.recycle(q)
		}
		return false
	}
	now := time.Now()
	for _, q := range pieces {
		q.state, q.retryAt = batchQueued, now
	}
	pa.queue = slices.Replace(pa.queue, i, i+1, pieces...)
	pa.inFlight--
	pa.rewind = true
	pa.mu.Unlock()

	p.stats.batchesSplit.Add(1)
	p.logDebug("batch too large for the broker, split", "topic", pa.topic.name, "partition", pa.id,
		"records", b.count, "bytes", len(b.wireBuf), "batches", len(pieces))
	p.recycle(b) // its completions were copied to the pieces
	if p.cfg.idempotent && p.idem.answered() {
		p.pokeAll()
	}
	return true
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

// failScope says which batches of a partition failBatches fails.
type failScope uint8

const (
	// failUnnumbered fails the batches that never got sequence numbers (never stamped),
	// the open batch included: a transaction that must abort. Numbered batches are still
	// sent, as Java's abortUndrainedBatches leaves them, so that no sequence gap is left.
	failUnnumbered failScope = iota
	// failWaiting fails every batch not in flight, the open batch included: errors that no
	// retry can heal (authentication, a fatal InitProducerId error), and Close giving up.
	failWaiting
	// failExpired fails the batches at the head of a partition that waited longer than
	// delivery.timeout.ms, when none of the partition is in flight (order is kept: an
	// answer may still come for a batch in flight).
	failExpired
	// failClosed fails every batch without an outcome, in flight included: Close, once
	// every goroutine that could answer one is gone.
	failClosed
)

// failBatches is the one way to fail batches that are not in flight: it ends them with
// cause (wrapped with their partition), makes the transaction abortable, asks for an epoch
// bump when a numbered batch fails, and hands them to completion, which tells Stats, hooks
// and callbacks. It is called by the expiry sweep (failExpired), a fatal idempotence error
// and an authentication failure (failWaiting, the sink's partitions), a transaction that
// must abort (failUnnumbered, every partition), a topic that lost partitions (failWaiting)
// and Close (failClosed). No lock may be held.
func (p *Producer) failBatches(scope failScope, cause error, each func(func(*partition))) {
	now := time.Now()
	bump := false
	var txnFailed error
	txnChanged := false
	each(func(pa *partition) {
		pa.mu.Lock()
		defer pa.mu.Unlock()
		if scope == failExpired {
			if pa.inFlight > 0 {
				return
			}
			if pa.open != nil && now.Sub(pa.open.created) >= p.cfg.DeliveryTimeout {
				pa.sealLocked()
			}
		} else {
			pa.sealLocked()
		}
		for _, b := range pa.queue {
			if b.state == batchInFlight && scope == failClosed {
				pa.inFlight--
			} else if b.state != batchQueued {
				continue // done already (kept for order), or in flight: its answer decides
			}
			err := cause
			switch scope {
			case failExpired:
				if now.Sub(b.created) < p.cfg.DeliveryTimeout {
					err = nil
					break
				}
				err = fmt.Errorf("%w: delivery.timeout.ms (%v) passed", ErrTimeout, p.cfg.DeliveryTimeout)
				if b.err != nil {
					err = fmt.Errorf("%w; last error: %w", err, b.err)
				}
			case failUnnumbered:
				if b.stamped {
					continue
				}
			}
			if err == nil {
				break // expiry: the first batch still in time ends the sweep of pa
			}
			b.state = batchDone
			b.err = &PartitionError{Topic: pa.topic.name, Partition: pa.id, Err: err}
			bump = bump || p.cfg.idempotent && b.stamped
			if p.txn != nil && !txnChanged {
				// Abortable before anyone can see the failure.
				txnChanged, txnFailed = p.txn.markFailed(b.err), b.err
			}
		}
		p.popDoneLocked(pa)
	})
	if txnChanged {
		p.txn.failUnsentBecause(txnFailed)
	}
	if bump && p.idem.requestBump() {
		p.pokeAll()
	}
}

// expireStale fails the batches that waited longer than delivery.timeout.ms without an
// answer: those of partitions without a reachable leader, or stuck behind retries.
func (p *Producer) expireStale() {
	p.failBatches(failExpired, nil, p.forEachPartitionAll)
	p.pruneGone()
}

// popDoneLocked hands the batches at the head of the queue whose outcome is known to the
// completion goroutine, in order. pa.mu is held.
func (p *Producer) popDoneLocked(pa *partition) {
	n := 0
	for n < len(pa.queue) && pa.queue[n].state == batchDone {
		p.done.pushBatch(pa.queue[n])
		pa.queue[n] = nil
		n++
	}
	if n > 0 {
		pa.queue = pa.queue[n:]
	}
}

// finishBatch completes b on the completion goroutine: Stats and OnBatchDone, then every
// record's OnRecordDone and callback or future, in order; then its buffers go back to
// buffer.memory (recycle).
func (p *Producer) finishBatch(b *batch) {
	p.batchStats(b)
	topic, part := b.part.topic.name, b.part.id
	futs := b.futs
	for i := range b.comps {
		c := &b.comps[i]
		md := RecordMetadata{Topic: topic, Partition: part, Offset: -1}
		if b.err == nil && b.baseOffset >= 0 {
			md.Offset = b.baseOffset + int64(c.index)
		}
		ts := b.firstTs + int64(c.tsDelta)
		if b.logAppendTime > 0 {
			ts = b.logAppendTime
		}
		md.Timestamp = time.UnixMilli(ts)
		if p.cfg.Hooks != nil {
			p.cfg.Hooks.OnRecordDone(md, b.err)
		}
		if c.cb != nil {
			c.cb(md, b.err)
			continue
		}
		fut := futs[0]
		futs = futs[1:]
		if fut != nil {
			fut.md, fut.err = md, b.err
			close(fut.done)
		}
	}
	pa, counted := b.part, !b.splitPart
	p.recycle(b)
	if counted {
		pa.mu.Lock()
		pa.completed++
		pa.mu.Unlock()
		pa.backlog.Add(-1)
	}
	p.progress.notify()
}

// batchStats counts a completed batch and tells the hooks.
func (p *Producer) batchStats(b *batch) {
	if b.err != nil {
		p.stats.recordsFailed.Add(int64(b.count))
	} else {
		p.stats.recordsSent.Add(int64(b.count))
		p.stats.batchesSent.Add(1)
		p.stats.batchBytes.Add(int64(len(b.wireBuf)))
		p.stats.uncompressedBytes.Add(int64(len(b.buf)))
	}
	if p.cfg.Hooks != nil {
		p.cfg.Hooks.OnBatchDone(b.part.topic.name, b.part.id, int(b.count), len(b.wireBuf), b.err)
	}
}
