package producer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gregor-kafka/producer/internal/conn"
	"github.com/gregor-kafka/producer/wire"
)

// ErrTransactionState is returned when a transactional call is made in the wrong state:
// sending outside a transaction, committing without one, beginning twice, using a
// non-transactional producer, or anything after a fatal error.
var ErrTransactionState = errors.New("producer: invalid transaction state")

// Transaction states. Only this file changes a transaction's state, through the named
// operations below: InitTransactions (uninitialized → ready), BeginTransaction (ready → in
// transaction), markFailed (in transaction or committing → abortable; anything → fatal for
// fencing and authorization errors), endTransaction (in transaction → committing → ready;
// in transaction or abortable → aborting → ready).
const (
	txnUninitialized = iota
	txnReady
	txnInTransaction
	txnCommitting // CommitTransaction under way, or interrupted before its outcome was known
	txnAborting   // AbortTransaction likewise
	txnAbortable  // a send failed: the transaction can only be aborted
	txnFatal      // fenced or not authorized: the producer can only be closed
)

var txnStateNames = [...]string{"uninitialized", "ready", "in transaction", "committing", "aborting", "abortable", "fatal"}

// transactions is the transactional state of a producer with a transactional.id (KIP-98):
// the coordinator, the state machine, and the partitions added to the ongoing transaction.
type transactions struct {
	p  *Producer
	id string

	// admit orders sends against the end of a transaction without a producer-wide mutex per
	// send: a send holds it for reading from its check (open) to its append (beginSend to
	// endSend); an end takes it for writing once, after its state is set, so that every
	// send that found the transaction open has appended by then, and later ones find it
	// closed.
	admit sync.RWMutex
	open  atomic.Bool // state is txnInTransaction; written with state, under mu

	mu       sync.Mutex
	state    int
	err      error      // why the state is abortable or fatal
	v2       bool       // the coordinator speaks transactions V2 (KIP-890): partitions join implicitly
	failing  int        // failUnsentBecause calls due or under way
	sendDone *sync.Cond // on mu: signalled when failing drops to 0
	endSent  bool       // the ending transaction's EndTxn was answered (an interrupted end resumes after it)
	endTried bool       // its EndTxn was sent at least once (an interrupted end may have happened)
	pending  map[*partition]bool
	inTxn    []*partition
	adding   bool // an AddPartitionsToTxn is under way
	coord    *conn.Conn
	offsets  txnOffsets // SendOffsetsToTransaction: txn_offsets.go
	// ending is the CommitTransaction or AbortTransaction call under way, nil if none: one
	// call at a time drives an end; calls made meanwhile wait for its outcome. initing is
	// likewise the InitTransactions call under way.
	ending  *endCall
	initing *pendingCall

	// calls holds one transaction coordinator request at a time.
	calls callLock
}

func newTransactions(p *Producer) *transactions {
	t := &transactions{p: p, id: p.cfg.TransactionalID, pending: map[*partition]bool{},
		calls: newCallLock("the transaction coordinator")}
	t.offsets.calls = newCallLock("the group coordinator")
	t.sendDone = sync.NewCond(&t.mu)
	return t
}

// stateErrLocked is the error for op in the current state; t.mu is held.
func (t *transactions) stateErrLocked(op string) error {
	err := fmt.Errorf("%w: %s while %s", ErrTransactionState, op, txnStateNames[t.state])
	if t.err != nil {
		err = fmt.Errorf("%w (because of: %w)", err, t.err)
	}
	return err
}

// fail moves to the abortable state (or fatal, for fencing and authorization errors) and
// fails the records of the transaction not sent yet: they could never commit. No partition
// lock may be held.
func (t *transactions) fail(err error) {
	if t.markFailed(err) {
		t.failUnsentBecause(err)
	}
}

// failUnsentBecause fails the batches that got no sequence numbers yet, because the
// transaction must abort for cause. Numbered batches are still sent (and aborted with the
// transaction), so that no sequence gap is left behind.
// Every markFailed that reports a change is followed by one call, which the next
// commit or abort waits for (failing), so that it cannot fail the next transaction's batches.
func (t *transactions) failUnsentBecause(cause error) {
	defer func() {
		t.mu.Lock()
		t.failing--
		if t.failing == 0 {
			t.sendDone.Broadcast()
		}
		t.mu.Unlock()
	}()
	t.p.failBatches(failUnnumbered, fmt.Errorf("%w: the transaction must abort because of: %w", ErrTransactionState, cause), t.p.forEachPartitionAll)
}

// markFailed is the state change of fail, without failing unsent batches; it takes only
// t.mu, so it may run under a partition lock (which t.mu is never held across), before the
// failed batch is handed to its callbacks. It reports whether the state changed.
func (t *transactions) markFailed(err error) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.state == txnFatal:
		return false
	case isFatalTxnError(err):
		t.state, t.err = txnFatal, err
		t.open.Store(false)
		t.failing++
		return true
	case t.state == txnInTransaction || t.state == txnCommitting:
		t.state, t.err = txnAbortable, err
		t.open.Store(false)
		t.failing++
		return true
	}
	return false
}

func isFatalTxnError(err error) bool {
	return errors.Is(err, wire.ErrProducerFenced) || errors.Is(err, wire.ErrTransactionalIDAuthorizationFailed) ||
		errors.Is(err, wire.ErrClusterAuthorizationFailed) || errors.Is(err, wire.ErrUnsupportedVersion)
}

// InitTransactions prepares a transactional producer: it finds the transaction coordinator
// and gets a producer id and epoch for transactional.id, fencing any older producer with the
// same id and aborting its unfinished transaction. Call it once, before the first
// transaction. Retriable coordinator errors are retried until ctx ends or max.block.ms passes;
// a call that gave up that way may be made again. Called while another goroutine's
// InitTransactions is under way, it waits for that call and returns its outcome (or, if that
// call's ctx ended, goes on in its place), as the Java client hands a repeated call the
// pending result.
func (p *Producer) InitTransactions(ctx context.Context) error {
	t := p.txn
	if t == nil {
		return fmt.Errorf("%w: InitTransactions without transactional.id", ErrTransactionState)
	}
	ctx, cancel := p.blockCtx(ctx)
	defer cancel()
	for {
		t.mu.Lock()
		ic := t.initing
		if ic == nil {
			break // with t.mu held
		}
		t.mu.Unlock()
		select {
		case <-ic.done:
		case <-ctx.Done():
			return fmt.Errorf("%w: InitTransactions waited for the one under way in another goroutine: %w", ErrTimeout, ctx.Err())
		}
		if !errors.Is(ic.err, context.DeadlineExceeded) && !errors.Is(ic.err, context.Canceled) {
			return ic.err
		}
		// Its caller gave up: go on in its place.
	}
	if t.state != txnUninitialized {
		defer t.mu.Unlock()
		return t.stateErrLocked("InitTransactions")
	}
	// One InitProducerId at a time: two would each bump the epoch, and the producer could
	// keep the older answer.
	ic := new(newPendingCall())
	t.initing = ic
	t.mu.Unlock()
	err := t.initProducerID(ctx, -1, -1)
	if err != nil {
		t.fail(err)
	}
	t.mu.Lock()
	if err == nil && t.state == txnUninitialized {
		t.state = txnReady
	}
	ic.err, t.initing = err, nil
	t.mu.Unlock()
	close(ic.done)
	return err
}

// pendingCall is a call under way that calls made meanwhile wait for, rather than repeat it:
// done is closed once err, its outcome, is set.
type pendingCall struct {
	done chan struct{}
	err  error
}

func newPendingCall() pendingCall { return pendingCall{done: make(chan struct{})} }

// BeginTransaction starts a transaction: the records sent until CommitTransaction or
// AbortTransaction are written atomically.
func (p *Producer) BeginTransaction() error {
	t := p.txn
	if t == nil {
		return fmt.Errorf("%w: BeginTransaction without transactional.id", ErrTransactionState)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state != txnReady {
		return t.stateErrLocked("BeginTransaction")
	}
	t.state = txnInTransaction
	t.open.Store(true)
	return nil
}

// CommitTransaction sends every record of the transaction, then commits it. If a record
// failed, the transaction cannot commit: the error is returned and only AbortTransaction is
// possible.
//
// When ctx ends or max.block.ms passes before the commit's outcome is known,
// CommitTransaction returns an [ErrTimeout] and the transaction stays committing: call
// CommitTransaction again to learn the outcome, as with the Java client. An
// AbortTransaction called instead aborts when the commit had not sent EndTxn yet; otherwise
// it finishes the commit first and, if it happened, fails with [ErrTransactionCommitted].
// When an EndTxn of the commit was written but its answer lost and the retry failed for good
// (another producer with the same transactional.id fenced this one meanwhile), the commit
// may or may not have happened and it returns [ErrTransactionOutcomeUnknown].
//
// Called while another goroutine's CommitTransaction or AbortTransaction is under way, it
// waits for that call and returns its outcome (ErrTransactionState if it aborted), without
// ending the transaction again. Called while a SendOffsetsToTransaction is under way, it
// waits for it first, and commits its offsets, or fails if they failed. From a callback or
// hook it fails with [ErrInCallback].
func (p *Producer) CommitTransaction(ctx context.Context) error {
	return p.endTransaction(ctx, true)
}

// AbortTransaction ends the transaction without committing: its records are never seen by
// read_committed consumers. Records that got no sequence numbers yet fail at once with
// [ErrTransactionState]; those already numbered are still sent first, so that the next
// transaction finds no gap. When a record's sequence was lost during the transaction, the
// abort bumps the producer epoch (KIP-360). As with CommitTransaction, an abort interrupted
// by ctx or max.block.ms is resumed by calling AbortTransaction again. Called while another
// goroutine's CommitTransaction or AbortTransaction is under way, it waits for that call;
// after a commit it returns [ErrTransactionCommitted]. It also waits for a
// SendOffsetsToTransaction under way, whose offsets it then aborts.
func (p *Producer) AbortTransaction(ctx context.Context) error {
	return p.endTransaction(ctx, false)
}

// endCall is a CommitTransaction (commit) or AbortTransaction call driving an end.
type endCall struct {
	pendingCall
	commit bool
}

// endTransaction commits or aborts. One call at a time drives the end (driveEnd); a call
// made meanwhile, from another goroutine, waits for that call's outcome, as the Java client's
// transaction manager hands a repeated call the pending one's result, rather than sending
// its own EndTxn: two drivers could each reset the state, the later one after the next
// transaction began. The same operation returns the driver's outcome; the opposite one
// reports what happened (ErrTransactionCommitted after a commit, ErrTransactionState after
// an abort), or, when the driver failed, goes on by the state it left (an abort after a
// failed commit aborts). If the driver gave up (its ctx ended), the waiter takes over.
func (p *Producer) endTransaction(ctx context.Context, commit bool) error {
	t := p.txn
	op := "AbortTransaction"
	if commit {
		op = "CommitTransaction"
	}
	if t == nil {
		return fmt.Errorf("%w: %s without transactional.id", ErrTransactionState, op)
	}
	if p.inCompletion() {
		return fmt.Errorf("%w: %s", ErrInCallback, op)
	}
	ctx, cancel := p.blockCtx(ctx) // as the Java client's commit and abort, max.block.ms
	defer cancel()
	for {
		t.mu.Lock()
		ec := t.ending
		if ec == nil && p.closed.Load() { // under t.mu: Close waits for an end it finds (waitEnd)
			t.mu.Unlock()
			return fmt.Errorf("%w: %s", ErrClosed, op)
		}
		if ec == nil {
			ec = &endCall{pendingCall: newPendingCall(), commit: commit}
			t.ending = ec
			t.mu.Unlock()
			err := p.driveEnd(ctx, commit)
			t.mu.Lock()
			ec.err, t.ending = err, nil
			t.mu.Unlock()
			close(ec.done)
			return err
		}
		t.mu.Unlock()
		select {
		case <-ec.done:
		case <-ctx.Done():
			return fmt.Errorf("%w: %s waited for the transaction's end under way in another goroutine: %w",
				ErrTimeout, op, ctx.Err())
		}
		switch {
		case errors.Is(ec.err, ErrTimeout): // its caller gave up: take over
		case ec.commit == commit:
			return ec.err
		case ec.err == nil && ec.commit:
			return fmt.Errorf("%w: AbortTransaction while CommitTransaction committed the transaction", ErrTransactionCommitted)
		case ec.err == nil:
			return fmt.Errorf("%w: CommitTransaction while AbortTransaction aborted the transaction", ErrTransactionState)
		}
	}
}

// driveEnd commits or aborts the transaction; the call that runs it is t.ending.
func (p *Producer) driveEnd(ctx context.Context, commit bool) error {
	t := p.txn
	op, ending := "AbortTransaction", txnAborting
	if commit {
		op, ending = "CommitTransaction", txnCommitting
	}
	t.mu.Lock()
	// Offsets under way join the transaction first (Java queues EndTxn behind them): a
	// commit commits them, or finds the transaction abortable if they failed.
	for idle := t.offsetsIdleLocked(); idle != nil; idle = t.offsetsIdleLocked() {
		t.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return fmt.Errorf("%w: %s waited for SendOffsetsToTransaction: %w", ErrTimeout, op, ctx.Err())
		}
		t.mu.Lock()
	}
	switch {
	case t.state == ending: // resuming an interrupted end
	case t.state == txnInTransaction, t.state == txnAbortable && !commit:
		t.state, t.endSent, t.endTried = ending, false, false
		t.open.Store(false)
		// Unsent batches being failed for this transaction are failed before it ends; sends
		// that passed their check append before the flush below (the admit barrier after
		// the switch), and later ones fail.
		for t.failing > 0 {
			t.sendDone.Wait()
		}
	case t.state == txnCommitting && !commit && !t.endTried:
		// The interrupted commit never sent EndTxn: nothing was committed. Abort instead.
		t.state = txnAborting
	case t.state == txnCommitting || t.state == txnAborting:
		// The other end was interrupted after sending EndTxn, before its outcome was known:
		// learn it first, by finishing that end. Its outcome stands; this call reports it as
		// an error (the caller must not believe the opposite happened) and leaves the
		// producer ready.
		other := t.state == txnCommitting
		t.mu.Unlock()
		err := p.driveEnd(ctx, other)
		switch {
		case err == nil && other:
			return fmt.Errorf("%w: AbortTransaction after an interrupted CommitTransaction", ErrTransactionCommitted)
		case err == nil:
			return fmt.Errorf("%w: CommitTransaction after an interrupted AbortTransaction: the transaction was aborted", ErrTransactionState)
		}
		t.mu.Lock()
		abortNow := !commit && t.state == txnAbortable // the commit failed: abort as asked
		t.mu.Unlock()
		if !abortNow {
			return err
		}
		return p.driveEnd(ctx, false)
	default:
		defer t.mu.Unlock()
		return t.stateErrLocked(op)
	}
	t.mu.Unlock()
	t.admit.Lock() // the barrier: every send admitted before the state changed has appended
	//lint:ignore SA2001 the empty critical section is the barrier
	t.admit.Unlock()

	if !commit { // what was not numbered is not sent: it would only be aborted
		p.failBatches(failUnnumbered, fmt.Errorf("%w: transaction aborted", ErrTransactionState), p.forEachPartitionAll)
	}
	if err := p.flush(ctx); err != nil {
		return fmt.Errorf("%w: %s interrupted before the transaction's records were all sent, so before EndTxn: nothing is committed; call it again (or AbortTransaction): %w",
			ErrTimeout, op, err)
	}
	t.mu.Lock()
	if commit && t.state != txnCommitting {
		defer t.mu.Unlock()
		return wrapError("producer: transaction cannot commit", t.stateErrLocked(op))
	}
	added, endSent := len(t.inTxn) > 0 || t.offsetsJoinedLocked(), t.endSent
	t.mu.Unlock()

	if added && !endSent {
		t.mu.Lock()
		t.endTried = true
		t.mu.Unlock()
		if err := t.endTxn(ctx, commit); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%w: %s: the outcome is not known yet; call it again to learn it: %w", ErrTimeout, op, err)
			}
			t.mu.Lock()
			if t.state == ending {
				t.state, t.err = txnAbortable, err
				t.open.Store(false)
			}
			t.mu.Unlock()
			t.fail(err) // fatal errors stay fatal
			return err
		}
		t.mu.Lock()
		t.endSent = true
		t.mu.Unlock()
	}
	// A sequence lost during the transaction needs a new epoch before the next one
	// (KIP-360): InitProducerId with the current id and epoch.
	if p.idem.txnBumpDue() {
		pid, epoch, _, _ := p.idem.current()
		if err := t.initProducerID(ctx, pid, epoch); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%w: %s: the epoch bump after the transaction did not finish; call it again: %w", ErrTimeout, op, err)
			}
			t.fail(err)
			return err
		}
	}
	p.idem.boundary.Lock() // no drain may look at txnAdded across the end
	defer p.idem.boundary.Unlock()
	t.mu.Lock()
	for _, pa := range t.inTxn {
		pa.txnAdded.Store(false)
	}
	t.inTxn = t.inTxn[:0]
	clear(t.pending)
	t.offsetsEndedLocked()
	t.state, t.err, t.endSent, t.endTried = txnReady, nil, false, false
	t.mu.Unlock()
	return nil
}

// checkSend reports whether a record may be sent now; beginSend decides, this fails fast.
func (t *transactions) checkSend() error {
	if t.open.Load() {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sendErrLocked()
}

func (t *transactions) sendErrLocked() error {
	switch t.state {
	case txnInTransaction:
		return nil
	case txnAbortable, txnFatal:
		return fmt.Errorf("%w: sending while %s (because of: %w)", ErrTransactionState, txnStateNames[t.state], t.err)
	case txnCommitting, txnAborting:
		return fmt.Errorf("%w: sending while %s (call BeginTransaction after it)", ErrTransactionState, txnStateNames[t.state])
	}
	return fmt.Errorf("%w: sending outside a transaction (call BeginTransaction)", ErrTransactionState)
}

// beginSend admits a send into the ongoing transaction and makes sure pa joins it before its
// first batch is sent: with transactions V2 the Produce request adds it, otherwise
// AddPartitionsToTxn does. Until endSend, commit and abort wait (admit), so the record cannot
// miss the transaction it was admitted to. A send to a partition already in the transaction
// takes no mutex: only admit, for reading.
func (t *transactions) beginSend(pa *partition) error {
	t.admit.RLock()
	if t.open.Load() && pa.txnAdded.Load() {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.open.Load() {
		if err := t.sendErrLocked(); err != nil {
			t.admit.RUnlock()
			return err
		}
	}
	// Admitted. The transaction may have begun to end since (its end waits for admit): pa
	// still joins it, as the record is in it.
	if pa.txnAdded.Load() || t.pending[pa] {
		return nil
	}
	if t.v2 {
		pa.txnAdded.Store(true)
		t.inTxn = append(t.inTxn, pa)
		return nil
	}
	t.pending[pa] = true
	if !t.adding {
		t.adding = true
		t.p.wg.Add(1)
		go t.addPending()
	}
	return nil
}

// endSend ends what beginSend admitted.
func (t *transactions) endSend() { t.admit.RUnlock() }

// addPending sends AddPartitionsToTxn for the pending partitions until none is left.
func (t *transactions) addPending() {
	defer t.p.wg.Done()
	for attempt := 1; ; attempt++ {
		t.mu.Lock()
		if len(t.pending) == 0 || t.state == txnFatal || t.state == txnAbortable {
			t.adding = false
			t.mu.Unlock()
			t.p.pokeAll()
			return
		}
		batch := make([]*partition, 0, len(t.pending))
		for pa := range t.pending {
			batch = append(batch, pa)
		}
		t.mu.Unlock()

		ctx, cancel := context.WithTimeout(t.p.ctx, t.p.cfg.RequestTimeout)
		err := t.addPartitions(ctx, batch)
		cancel()
		switch {
		case err == nil:
			attempt = 0
		case (isRetriableTxnError(err) || ctx.Err() != nil) && !t.p.stopping(): // ctx: this attempt's timeout
			select {
			case <-time.After(t.retryBackoff(err, attempt)):
			case <-t.p.stop:
			}
		default:
			t.mu.Lock()
			clear(t.pending)
			t.mu.Unlock()
			t.fail(err)
		}
	}
}

// isRetriableTxnError reports whether a coordinator request that failed with err may be
// sent again: retriable broker errors, and any failure of the connection (the coordinator
// is found again), as the Java client re-sends coordinator requests after a disconnect.
func isRetriableTxnError(err error) bool {
	var ke *wire.Error
	if errors.As(err, &ke) {
		return ke.Retriable
	}
	return errors.Is(err, errCoordinatorLost) || errors.Is(err, errNoCoordinator)
}

var (
	errNoCoordinator   = errors.New("producer: transaction coordinator not available")
	errCoordinatorLost = errors.New("producer: connection to the transaction coordinator lost")
)

// addPartitionsBackoff is the wait before retrying an AddPartitionsToTxn refused with
// CONCURRENT_TRANSACTIONS: the previous transaction's markers are being written, which
// takes milliseconds, so the Java client retries after 20 ms rather than retry.backoff.ms.
const addPartitionsBackoff = 20 * time.Millisecond

// retryBackoff is the wait before attempt+1 of a coordinator request that failed with err.
func (t *transactions) retryBackoff(err error, attempt int) time.Duration {
	d := t.p.backoff(attempt)
	if errors.Is(err, wire.ErrConcurrentTransactions) {
		d = min(d, addPartitionsBackoff)
	}
	return d
}

// addPartitions sends one AddPartitionsToTxn (v0–3, the client form) for parts.
func (t *transactions) addPartitions(ctx context.Context, parts []*partition) error {
	pid, epoch, _, _ := t.p.idem.current()
	req := &wire.AddPartitionsToTxnRequest{TransactionalID: t.id, ProducerID: pid, ProducerEpoch: epoch}
	byTopic := map[string]int{}
	for _, pa := range parts {
		i, ok := byTopic[pa.topic.name]
		if !ok {
			i = len(req.Topics)
			byTopic[pa.topic.name] = i
			req.Topics = append(req.Topics, wire.AddPartitionsToTxnTopic{Name: pa.topic.name})
		}
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, pa.id)
	}
	var resp wire.AddPartitionsToTxnResponse
	if err := t.call(ctx, req, &resp, 3); err != nil {
		return err
	}
	var firstErr error
	for _, tr := range resp.ResultsByTopicV3AndBelow {
		for _, r := range tr.Results {
			err := wire.ErrorForCode(r.ErrorCode)
			if err == nil || errors.Is(err, wire.ErrOperationNotAttempted) {
				continue
			}
			if firstErr == nil || errors.Is(firstErr, wire.ErrOperationNotAttempted) {
				firstErr = fmt.Errorf("AddPartitionsToTxn %s-%d: %w", tr.Name, r.PartitionIndex, err)
			}
		}
	}
	if firstErr != nil {
		t.dropCoordinatorOn(firstErr)
		return firstErr
	}
	t.mu.Lock()
	for _, pa := range parts {
		delete(t.pending, pa)
		pa.txnAdded.Store(true)
		t.inTxn = append(t.inTxn, pa)
	}
	t.mu.Unlock()
	t.p.pokeAll()
	return nil
}

// endTxn sends EndTxn until it succeeds or fails for good. With v5 (transactions V2) the
// answer carries the producer's next epoch.
func (t *transactions) endTxn(ctx context.Context, commit bool) error {
	unanswered := false // an attempt was written and got no answer: it may have taken effect
	for attempt := 1; ; attempt++ {
		pid, epoch, _, _ := t.p.idem.current()
		req := &wire.EndTxnRequest{TransactionalID: t.id, ProducerID: pid, ProducerEpoch: epoch, Committed: commit}
		var resp wire.EndTxnResponse
		err := t.call(ctx, req, &resp, -1)
		unanswered = unanswered || conn.Unanswered(err)
		if err == nil {
			err = wire.ErrorForCode(resp.ErrorCode)
			t.dropCoordinatorOn(err)
		}
		if err == nil {
			if resp.ProducerID >= 0 && resp.ProducerEpoch >= 0 {
				t.p.idem.initialized(resp.ProducerID, resp.ProducerEpoch)
			}
			return nil
		}
		if !isRetriableTxnError(err) {
			if commit && unanswered {
				// The commit written earlier may have happened; this answer cannot say (a
				// fenced retry is refused whatever became of the transaction).
				return fmt.Errorf("%w: an EndTxn of the commit was written and its answer lost, then: producer: EndTxn: %w", ErrTransactionOutcomeUnknown, err)
			}
			return fmt.Errorf("producer: EndTxn: %w", err)
		}
		select {
		case <-time.After(t.p.backoff(attempt)):
		case <-ctx.Done():
			return fmt.Errorf("producer: EndTxn: %w (last error: %w)", ctx.Err(), err)
		case <-t.p.stop:
			// Closed: the outcome can no longer be learned, nor the end resumed.
			if commit && unanswered {
				return fmt.Errorf("%w: an EndTxn of the commit was written and its answer lost, then: producer: EndTxn: %w (last error: %w)",
					ErrTransactionOutcomeUnknown, ErrClosed, err)
			}
			return fmt.Errorf("producer: EndTxn: %w (last error: %w)", ErrClosed, err)
		}
	}
}

// waitEnd waits, for Close, until the CommitTransaction or AbortTransaction under way, if
// any, has its outcome, as the Java client's close waits for its transactional requests; or
// until ctx ends. Ends begun after Close fail with ErrClosed.
func (t *transactions) waitEnd(ctx context.Context) error {
	t.mu.Lock()
	ec := t.ending
	t.mu.Unlock()
	if ec == nil {
		return nil
	}
	select {
	case <-ec.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// initProducerID sends InitProducerId with the transactional id to the coordinator, with
// the current id and epoch to bump them (KIP-360) when pid >= 0.
func (t *transactions) initProducerID(ctx context.Context, pid int64, epoch int16) error {
	for attempt := 1; ; attempt++ {
		id := t.id
		req := &wire.InitProducerIDRequest{TransactionalID: &id, TransactionTimeoutMs: int32(t.p.cfg.TransactionTimeout / time.Millisecond),
			ProducerID: pid, ProducerEpoch: epoch}
		var resp wire.InitProducerIDResponse
		err := t.call(ctx, req, &resp, -1)
		if err == nil {
			err = wire.ErrorForCode(resp.ErrorCode)
			t.dropCoordinatorOn(err)
		}
		if err == nil {
			t.p.idem.initialized(resp.ProducerID, resp.ProducerEpoch)
			t.p.pokeAll()
			return nil
		}
		if !isRetriableTxnError(err) {
			return fmt.Errorf("producer: InitProducerId: %w", err)
		}
		select {
		case <-time.After(t.p.backoff(attempt)):
		case <-ctx.Done():
			return fmt.Errorf("producer: InitProducerId: %w (last error: %w)", ctx.Err(), err)
		case <-t.p.stop:
			return fmt.Errorf("producer: InitProducerId: %w (last error: %w)", ErrClosed, err)
		}
	}
}

// dropCoordinatorOn forgets the coordinator when err says it moved.
func (t *transactions) dropCoordinatorOn(err error) {
	if errors.Is(err, wire.ErrNotCoordinator) || errors.Is(err, wire.ErrCoordinatorNotAvailable) {
		t.mu.Lock()
		if t.coord != nil {
			t.coord.Abort(err)
			t.coord = nil
		}
		t.mu.Unlock()
	}
}

// call sends req to the coordinator, finding it first if needed; maxVersion caps the
// version (-1: none).
func (t *transactions) call(ctx context.Context, req wire.Request, resp wire.Response, maxVersion int16) error {
	if err := t.calls.lock(ctx); err != nil {
		return err
	}
	defer t.calls.unlock()
	c, err := t.coordinator(ctx)
	if err != nil {
		return err
	}
	if maxVersion < 0 {
		maxVersion = 1<<15 - 1
	}
	if err := c.CallMax(ctx, req, resp, maxVersion); err != nil {
		t.mu.Lock()
		if t.coord == c {
			t.coord = nil
		}
		t.mu.Unlock()
		c.Abort(err)
		if ctx.Err() == nil {
			return fmt.Errorf("%w: %w", errCoordinatorLost, err)
		}
		return err
	}
	return nil
}

// callLock admits one request at a time to a coordinator: a semaphore rather than a mutex,
// so that a caller waiting for another's request gives up when its ctx ends.
type callLock struct {
	sem  chan struct{}
	name string // the coordinator, for the error of a caller that gave up
}

func newCallLock(name string) callLock { return callLock{sem: make(chan struct{}, 1), name: name} }

// lock waits for the request under way, or until ctx ends.
func (l callLock) lock(ctx context.Context) error {
	select {
	case l.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w while another request to %s was under way", ctx.Err(), l.name)
	}
}

// lockNow waits for the request under way, whatever the time.
func (l callLock) lockNow() { l.sem <- struct{}{} }

// unlock lets the next request go.
func (l callLock) unlock() { <-l.sem }

// coordinator returns a connection to the transaction coordinator, finding it with
// FindCoordinator (key type transaction) through any broker; its dials end with ctx.
// t.calls is held.
func (t *transactions) coordinator(ctx context.Context) (*conn.Conn, error) {
	t.mu.Lock()
	c := t.coord
	t.mu.Unlock()
	if c != nil && c.Err() == nil {
		return c, nil
	}
	var lastErr error
	for _, b := range t.p.brokerList() {
		bc, _, err := t.p.connectBroker(ctx, b.node, b.addr)
		if err != nil {
			lastErr = err
			continue
		}
		req := &wire.FindCoordinatorRequest{CoordinatorKey: t.id, KeyType: wire.CoordinatorKeyTransaction, CoordinatorKeys: []string{t.id}}
		var resp wire.FindCoordinatorResponse
		err = bc.Call(ctx, req, &resp)
		bc.Close()
		if err != nil {
			lastErr = err
			continue
		}
		code, host, port, node := resp.ErrorCode, resp.Host, resp.Port, resp.NodeID
		if len(resp.Coordinators) > 0 {
			co := resp.Coordinators[0]
			code, host, port, node = co.ErrorCode, co.Host, co.Port, co.NodeID
		}
		if err := wire.ErrorForCode(code); err != nil {
			return nil, fmt.Errorf("FindCoordinator: %w", err)
		}
		cc, _, err := t.p.connectBroker(ctx, node, net.JoinHostPort(host, strconv.Itoa(int(port))))
		if err != nil {
			return nil, fmt.Errorf("%w: node %d: %w", errNoCoordinator, node, err)
		}
		// Transactions V2 (KIP-890) is on when the cluster finalized transaction.version 2;
		// a Kafka 4 broker offers EndTxn v5 even when it is not.
		v, _ := cc.Version(wire.KeyEndTxn)
		t.mu.Lock()
		t.coord = cc
		t.v2 = v >= 5 && cc.FinalizedFeature("transaction.version") >= 2
		t.mu.Unlock()
		return cc, nil
	}
	return nil, fmt.Errorf("%w: %w", errNoCoordinator, lastErr)
}

// close closes the coordinator connection.
func (t *transactions) close() {
	t.mu.Lock()
	c := t.coord
	t.coord = nil
	t.mu.Unlock()
	if c != nil {
		c.Close()
	}
	t.closeOffsets()
}

// isV2 reports whether the coordinator speaks transactions V2.
func (t *transactions) isV2() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.v2
}
