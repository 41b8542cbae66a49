package producer

import (
	"math"
	"sync"
)

// idempotence holds the producer id and epoch that batches are stamped with when
// enable.idempotence is on, and runs epoch bumps (KIP-360): when a partition's sequence
// numbers can no longer be trusted (a batch failed for good after being numbered, or the
// broker reported OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID for the oldest
// unacknowledged batch), the producer waits until nothing is in flight, bumps its epoch
// locally, and every partition numbers again from 0. InitProducerId is asked again only
// when the epoch would pass 32767. A transactional producer cannot renumber inside a
// transaction: the bump waits for the transaction to end (bumpAtEnd), and the abort asks the
// coordinator for it with InitProducerId; sending goes on meanwhile.
type idempotence struct {
	// boundary keeps a drain from spanning a change of producer id or epoch, or the end of a
	// transaction: every collect holds it for reading from its look at the id and epoch to
	// its last stamp; initialized and a transaction's end hold it for writing. Without it a
	// collect that read the old epoch could stamp a batch of the next transaction with it
	// (INVALID_PRODUCER_EPOCH), or send one before its partition joined that transaction.
	// Order: boundary before mu, and before the transaction's mu.
	boundary   sync.RWMutex
	mu         sync.Mutex
	pid        int64 // -1 until InitProducerId answered
	epoch      int16
	needInit   bool  // InitProducerId is wanted
	bumpWanted bool  // sends wait until the bump is done
	inFlight   int   // batches in flight, over every partition
	fatal      error // InitProducerId failed for good
	// transactional producers bump with InitProducerId (after the transaction ends), never
	// locally.
	transactional bool
	bumpAtEnd     bool // transactional: a bump is due when the transaction ends
}

func newIdempotence(transactional bool) *idempotence {
	return &idempotence{pid: -1, needInit: true, transactional: transactional}
}

// current returns the id and epoch to stamp new sends with, and whether sending may go on.
func (s *idempotence) current() (pid int64, epoch int16, ok bool, fatal error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pid, s.epoch, s.pid >= 0 && !s.bumpWanted && !s.needInit, s.fatal
}

// wantsInit reports whether InitProducerId must be sent.
func (s *idempotence) wantsInit() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.needInit && s.inFlight == 0 && s.fatal == nil
}

// initialized installs InitProducerId's answer.
func (s *idempotence) initialized(pid int64, epoch int16) {
	s.boundary.Lock()
	defer s.boundary.Unlock()
	s.mu.Lock()
	s.pid, s.epoch, s.needInit, s.bumpWanted, s.bumpAtEnd = pid, epoch, false, false, false
	s.mu.Unlock()
}

// failed records a fatal InitProducerId error.
func (s *idempotence) failed(err error) {
	s.mu.Lock()
	s.fatal = err
	s.mu.Unlock()
}

// sent counts a batch going out.
func (s *idempotence) sent() {
	s.mu.Lock()
	s.inFlight++
	s.mu.Unlock()
}

// answered counts a batch's answer. It reports whether a bump happened, so the caller wakes
// the sinks.
func (s *idempotence) answered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight--
	return s.maybeBumpLocked()
}

// bumpPending reports whether an epoch bump was asked for and has not happened yet.
func (s *idempotence) bumpPending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bumpWanted || s.needInit
}

// requestBump asks for an epoch bump. It reports whether it happened at once.
func (s *idempotence) requestBump() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.transactional {
		s.bumpAtEnd = true
		return false
	}
	s.bumpWanted = true
	return s.maybeBumpLocked()
}

func (s *idempotence) maybeBumpLocked() bool {
	if !s.bumpWanted || s.inFlight > 0 || s.needInit {
		return false
	}
	s.bumpWanted = false
	if s.epoch == math.MaxInt16 {
		s.needInit = true // the metadata goroutine asks for a new id
		return false
	}
	s.epoch++
	return true
}

// txnBumpDue reports whether a transactional producer must bump its epoch with
// InitProducerId before its next transaction.
func (s *idempotence) txnBumpDue() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bumpAtEnd
}

// nextSequence returns seq advanced by n records; sequences wrap from 2147483647 to 0, as
// the broker expects.
func nextSequence(seq, n int32) int32 {
	if seq > math.MaxInt32-n {
		return n - (math.MaxInt32 - seq) - 1
	}
	return seq + n
}
