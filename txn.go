package producer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gregor-kafka/producer/internal/conn"
	"github.com/gregor-kafka/producer/wire"
)

// ErrTransactionState is returned when a transactional call is made in the wrong state:
// sending outside a transaction, committing without one, beginning twice, using a
// non-transactional producer, or anything after a fatal error.
var ErrTransactionState = errors.New("producer: invalid transaction state")

// Transaction states.
const (
	txnUninitialized = iota
	txnReady
	txnInTransaction
	txnEnding
	txnAbortable // a send failed: the transaction can only be aborted
	txnFatal     // fenced or not authorized: the producer can only be closed
)

var txnStateNames = [...]string{"uninitialized", "ready", "in transaction", "ending", "abortable", "fatal"}

// transactions is the transactional state of a producer with a transactional.id (KIP-98):
// the coordinator, the state machine, and the partitions added to the ongoing transaction.
type transactions struct {
	p  *Producer
	id string

	mu      sync.Mutex
	state   int
	err     error // why the state is abortable or fatal
	v2      bool  // the coordinator speaks transactions V2 (KIP-890): partitions join implicitly
	pending map[*partition]bool
	inTxn   []*partition
	adding  bool // an AddPartitionsToTxn is under way
	coord   *conn.Conn
	offsets txnOffsets // SendOffsetsToTransaction: txn_offsets.go

	callMu sync.Mutex // one coordinator request at a time
}

func newTransactions(p *Producer) *transactions {
	return &transactions{p: p, id: p.cfg.TransactionalID, pending: map[*partition]bool{}}
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

// failUnsentBecause fails the unsent batches because the transaction must abort for cause.
func (t *transactions) failUnsentBecause(cause error) {
	t.failUnsent(fmt.Errorf("%w: the transaction must abort because of: %w", ErrTransactionState, cause))
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
		return true
	case t.state == txnInTransaction || t.state == txnEnding:
		t.state, t.err = txnAbortable, err
		return true
	}
	return false
}

// failUnsent fails every batch of the producer that is not in flight.
func (t *transactions) failUnsent(err error) {
	t.p.forEachPartition(func(pa *partition) {
		pa.mu.Lock()
		pa.sealLocked()
		for _, b := range pa.queue {
			if b.state == batchQueued {
				b.state = batchDone
				b.err = &PartitionError{Topic: pa.topic.name, Partition: pa.id, Err: err}
				t.p.batchStats(b, b.err)
			}
		}
		t.p.popDoneLocked(pa)
		pa.mu.Unlock()
	})
}

func isFatalTxnError(err error) bool {
	return errors.Is(err, wire.ErrProducerFenced) || errors.Is(err, wire.ErrTransactionalIDAuthorizationFailed) ||
		errors.Is(err, wire.ErrClusterAuthorizationFailed) || errors.Is(err, wire.ErrUnsupportedVersion)
}

// InitTransactions prepares a transactional producer: it finds the transaction coordinator
// and gets a producer id and epoch for transactional.id, fencing any older producer with the
// same id and aborting its unfinished transaction. Call it once, before the first
// transaction. Retriable coordinator errors are retried until ctx ends or max.block.ms passes.
func (p *Producer) InitTransactions(ctx context.Context) error {
	t := p.txn
	if t == nil {
		return fmt.Errorf("%w: InitTransactions without transactional.id", ErrTransactionState)
	}
	t.mu.Lock()
	if t.state != txnUninitialized {
		defer t.mu.Unlock()
		return t.stateErrLocked("InitTransactions")
	}
	t.mu.Unlock()
	ctx, cancel := p.blockCtx(ctx)
	defer cancel()
	if err := t.initProducerID(ctx, -1, -1); err != nil {
		t.fail(err)
		return err
	}
	t.mu.Lock()
	t.state = txnReady
	t.mu.Unlock()
	return nil
}

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
	return nil
}

// CommitTransaction sends every record of the transaction, then commits it. If a record
// failed, the transaction cannot commit: the error is returned and only AbortTransaction is
// possible.
func (p *Producer) CommitTransaction(ctx context.Context) error {
	return p.endTransaction(ctx, true)
}

// AbortTransaction ends the transaction without committing: its records are never seen by
// read_committed consumers. Records not yet acknowledged are still sent first.
func (p *Producer) AbortTransaction(ctx context.Context) error {
	return p.endTransaction(ctx, false)
}

func (p *Producer) endTransaction(ctx context.Context, commit bool) error {
	t := p.txn
	op := map[bool]string{true: "CommitTransaction", false: "AbortTransaction"}[commit]
	if t == nil {
		return fmt.Errorf("%w: %s without transactional.id", ErrTransactionState, op)
	}
	t.mu.Lock()
	switch {
	case t.offsetsBusyLocked():
		defer t.mu.Unlock()
		return t.stateErrLocked(op + " during SendOffsetsToTransaction")
	case t.state == txnInTransaction, t.state == txnAbortable && !commit:
	default:
		defer t.mu.Unlock()
		return t.stateErrLocked(op)
	}
	wasAbortable := t.state == txnAbortable
	t.state = txnEnding
	t.mu.Unlock()

	if !commit { // what was not sent is not sent: it would only be aborted
		t.failUnsent(fmt.Errorf("%w: transaction aborted", ErrTransactionState))
	}
	if err := p.Flush(ctx); err != nil {
		t.backTo(wasAbortable, nil)
		return err
	}
	t.mu.Lock()
	failed := t.err
	if commit && failed != nil {
		t.state = txnAbortable
		t.mu.Unlock()
		return fmt.Errorf("producer: transaction cannot commit: %w", failed)
	}
	added := len(t.inTxn) > 0 || t.offsetsJoinedLocked()
	t.mu.Unlock()

	if added {
		if err := t.endTxn(ctx, commit); err != nil {
			t.fail(err)
			t.backTo(true, err)
			return err
		}
	}
	// A sequence problem during the transaction needs a new epoch before the next one
	// (KIP-360): InitProducerId with the current id and epoch.
	if p.idem.wantsInit() {
		pid, epoch, _, _ := p.idem.current()
		if err := t.initProducerID(ctx, pid, epoch); err != nil {
			t.fail(err)
			return err
		}
	}
	t.mu.Lock()
	for _, pa := range t.inTxn {
		pa.txnAdded.Store(false)
	}
	t.inTxn = t.inTxn[:0]
	clear(t.pending)
	t.offsetsEndedLocked()
	t.state, t.err = txnReady, nil
	t.mu.Unlock()
	return nil
}

// backTo returns to in-transaction or abortable after an interrupted end.
func (t *transactions) backTo(abortable bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state != txnEnding {
		return
	}
	t.state = txnInTransaction
	if abortable {
		t.state = txnAbortable
		if err != nil {
			t.err = err
		}
	}
}

// checkSend reports whether a record may be sent now.
func (t *transactions) checkSend() error {
	t.mu.Lock()
	state, err := t.state, t.err
	t.mu.Unlock()
	switch state {
	case txnInTransaction:
		return nil
	case txnAbortable, txnFatal:
		return fmt.Errorf("%w: sending while %s (because of: %w)", ErrTransactionState, txnStateNames[state], err)
	}
	return fmt.Errorf("%w: sending outside a transaction (call BeginTransaction)", ErrTransactionState)
}

// addPartition makes sure pa joins the ongoing transaction before its first batch is sent:
// with transactions V2 the Produce request adds it, otherwise AddPartitionsToTxn does.
func (t *transactions) addPartition(pa *partition) {
	if pa.txnAdded.Load() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if pa.txnAdded.Load() || t.pending[pa] {
		return
	}
	if t.v2 {
		pa.txnAdded.Store(true)
		t.inTxn = append(t.inTxn, pa)
		return
	}
	t.pending[pa] = true
	if !t.adding {
		t.adding = true
		t.p.wg.Add(1)
		go t.addPending()
	}
}

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

		ctx, cancel := context.WithTimeout(context.Background(), t.p.cfg.RequestTimeout)
		err := t.addPartitions(ctx, batch)
		cancel()
		switch {
		case err == nil:
			attempt = 0
		case isRetriableTxnError(err) && !t.p.stopping():
			select {
			case <-time.After(t.p.backoff(attempt)):
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

func isRetriableTxnError(err error) bool {
	var ke *wire.Error
	if errors.As(err, &ke) {
		return ke.Retriable
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, conn.ErrClosed) || errors.Is(err, conn.ErrRequestTimeout) || errors.Is(err, errNoCoordinator)
}

var errNoCoordinator = errors.New("producer: transaction coordinator not available")

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
	for attempt := 1; ; attempt++ {
		pid, epoch, _, _ := t.p.idem.current()
		req := &wire.EndTxnRequest{TransactionalID: t.id, ProducerID: pid, ProducerEpoch: epoch, Committed: commit}
		var resp wire.EndTxnResponse
		err := t.call(ctx, req, &resp, -1)
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
			return fmt.Errorf("producer: EndTxn: %w", err)
		}
		select {
		case <-time.After(t.p.backoff(attempt)):
		case <-ctx.Done():
			return fmt.Errorf("producer: EndTxn: %w (last error: %w)", ctx.Err(), err)
		}
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
	t.callMu.Lock()
	defer t.callMu.Unlock()
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
		return err
	}
	return nil
}

// coordinator returns a connection to the transaction coordinator, finding it with
// FindCoordinator (key type transaction) through any broker. t.callMu is held.
func (t *transactions) coordinator(ctx context.Context) (*conn.Conn, error) {
	t.mu.Lock()
	c := t.coord
	t.mu.Unlock()
	if c != nil && c.Err() == nil {
		return c, nil
	}
	var lastErr error
	for _, addr := range t.p.brokerAddrs() {
		bc, err := t.p.dial(addr)
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
		cc, err := t.p.dial(net.JoinHostPort(host, strconv.Itoa(int(port))))
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
