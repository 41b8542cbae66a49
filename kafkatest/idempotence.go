package kafkatest

import (
	"fmt"
	"math"

	"github.com/gregor-kafka/producer/wire"
)

// cachedBatches is how many of a producer's latest batches per partition a broker remembers
// to recognise retries (ProducerStateEntry.NUM_BATCHES_TO_RETAIN).
const cachedBatches = 5

// producerState is what a partition knows of one idempotent producer: its epoch, its
// latest batches, oldest first in a ring, and its transaction open on the partition.
type producerState struct {
	epoch   int16
	batches [cachedBatches]seqRange
	n       int // batches held, at most cachedBatches
	next    int // ring index of the next batch
	// open is the outcome of the producer's transaction with batches on the partition and
	// no marker yet, or nil.
	open *txnOutcome
}

// seqRange is one remembered batch: its sequence range and where it was written.
type seqRange struct {
	first, last int32
	baseOffset  int64
}

// addSequence returns seq advanced by n, wrapping from 2^31-1 to 0 as Kafka's sequences do.
func addSequence(seq, n int32) int32 {
	return int32((int64(seq) + int64(n)) % (math.MaxInt32 + 1))
}

// lastSequence returns the sequence of the last record of a batch.
func lastSequence(h *wire.BatchHeader) int32 {
	return addSequence(h.BaseSequence, h.NumRecords-1)
}

// nextSeq returns the sequence the producer's next batch must start at: after the newest
// batch, or 0 when a transaction marker of a new epoch left none.
func (s *producerState) nextSeq() int32 {
	if s.n == 0 {
		return 0
	}
	return addSequence(s.batches[(s.next+cachedBatches-1)%cachedBatches].last, 1)
}

func (s *producerState) push(r seqRange) {
	s.batches[s.next] = r
	s.next = (s.next + 1) % cachedBatches
	s.n = min(s.n+1, cachedBatches)
}

// checkProducerLocked judges the sequence of a batch from an idempotent producer (h.ProducerID
// >= 0) against the partition's state, as Kafka's ProducerStateManager does; p.mu must be
// held. A retry of one of the producer's last five batches (same epoch and sequence range)
// is a duplicate: it returns that batch's base offset and dup true, and nothing is to be
// appended. Otherwise a lower epoch is INVALID_PRODUCER_EPOCH, a higher epoch must start at
// sequence 0 and the same epoch must continue where the last batch ended, else
// OUT_OF_ORDER_SEQUENCE_NUMBER. A producer the partition has no state for is accepted at
// any sequence (KIP-360).
func (p *partition) checkProducerLocked(h *wire.BatchHeader) (dupOffset int64, dup bool, err *batchError) {
	s := p.producers[h.ProducerID]
	if s == nil {
		return 0, false, nil
	}
	last := lastSequence(h)
	if h.ProducerEpoch == s.epoch {
		for i := 0; i < s.n; i++ {
			b := &s.batches[i]
			if b.first == h.BaseSequence && b.last == last {
				return b.baseOffset, true, nil
			}
		}
	}
	switch {
	case h.ProducerEpoch < s.epoch:
		return 0, false, &batchError{code: wire.ErrInvalidProducerEpoch.Code,
			msg: fmt.Sprintf("epoch %d of producer %d is older than the current epoch %d", h.ProducerEpoch, h.ProducerID, s.epoch)}
	case h.ProducerEpoch > s.epoch:
		if h.BaseSequence != 0 {
			return 0, false, &batchError{code: wire.ErrOutOfOrderSequenceNumber.Code,
				msg: fmt.Sprintf("new epoch %d of producer %d starts at sequence %d, not 0", h.ProducerEpoch, h.ProducerID, h.BaseSequence)}
		}
	default:
		if want := s.nextSeq(); h.BaseSequence != want {
			return 0, false, &batchError{code: wire.ErrOutOfOrderSequenceNumber.Code,
				msg: fmt.Sprintf("producer %d epoch %d: sequence %d out of order, expected %d", h.ProducerID, h.ProducerEpoch, h.BaseSequence, want)}
		}
	}
	return 0, false, nil
}

// recordProducerLocked remembers an appended batch of an idempotent producer, and the
// transaction it belongs to if transactional (nil otherwise); a new epoch forgets the
// batches of the old one. p.mu must be held.
func (p *partition) recordProducerLocked(h *wire.BatchHeader, baseOffset int64, txn *txnOutcome) {
	s := p.producers[h.ProducerID]
	if s == nil || s.epoch != h.ProducerEpoch {
		ns := &producerState{epoch: h.ProducerEpoch}
		if s != nil {
			ns.open = s.open
		}
		s = ns
		p.producers[h.ProducerID] = s
	}
	s.push(seqRange{first: h.BaseSequence, last: lastSequence(h), baseOffset: baseOffset})
	if txn != nil {
		s.open = txn
	}
}

// openTxnLocked returns INVALID_TXN_STATE for a non-transactional batch of a producer whose
// transaction is open on p, as Kafka's ProducerAppendInfo does; p.mu must be held.
func (p *partition) openTxnLocked(h *wire.BatchHeader) *batchError {
	if s := p.producers[h.ProducerID]; s != nil && s.open != nil {
		return batchErrorf(wire.ErrInvalidTxnState.Code, "expected a transactional batch from producer %d, whose transaction is open", h.ProducerID)
	}
	return nil
}
