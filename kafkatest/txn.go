package kafkatest

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf16"

	"github.com/gregor-kafka/producer/wire"
)

// txnState is where a transactional id's transaction stands (Kafka's TransactionState). The
// coordinator here completes a transaction within the request that ends it, unless the
// cluster has a [MarkerDelay]: then an EndTxn leaves it in PrepareCommit or PrepareAbort
// until the markers are written. Kafka's PrepareEpochFence never lasts past a request.
type txnState int8

const (
	txnEmpty          txnState = iota // no transaction since InitProducerId
	txnOngoing                        // partitions added, not ended yet
	txnPrepareCommit                  // committed by EndTxn, markers not written yet
	txnPrepareAbort                   // aborted by EndTxn, markers not written yet
	txnCompleteCommit                 // the last transaction committed
	txnCompleteAbort                  // the last transaction aborted
)

// preparing reports whether t's markers are being written: Kafka's coordinator answers
// CONCURRENT_TRANSACTIONS to what would change the transactional id meanwhile.
func (t *transaction) preparing() bool {
	return t.state == txnPrepareCommit || t.state == txnPrepareAbort
}

// preparingCode is the answer to an EndTxn while t's markers are being written: the same
// end again (a retry) is to wait, CONCURRENT_TRANSACTIONS; the other one cannot be.
func (t *transaction) preparingCode(commit bool) int16 {
	if commit == (t.state == txnPrepareCommit) {
		return wire.ErrConcurrentTransactions.Code
	}
	return wire.ErrInvalidTxnState.Code
}

// States of a txnOutcome.
const (
	outcomeOpen int32 = iota
	outcomeCommitted
	outcomeAborted
)

// txnOutcome is the fate of one transaction, shared by every batch written in it: open until
// its markers are written, then committed or aborted for good. Readers load it without a
// lock.
type txnOutcome struct {
	state atomic.Int32
	// ended is when the transaction was decided (its EndTxn, or its fencing). It is written
	// once, before state leaves outcomeOpen, and read only after a load of state saw it
	// settled, which orders the two.
	ended time.Time
}

// transaction is what the coordinator knows of one transactional id (Kafka's
// TransactionMetadata).
type transaction struct {
	id         string
	producerID int64
	// prevProducerID is the producer id before the last rotation (epoch exhausted), or -1,
	// so that a retry across the rotation is recognised.
	prevProducerID int64
	// epoch is -1 until the first InitProducerId completes.
	epoch int16
	// lastEpoch is the epoch before the last bump that a retry may still carry, or -1.
	lastEpoch  int16
	timeout    time.Duration
	state      txnState
	started    time.Time       // when the ongoing transaction began
	partitions []*partition    // of the ongoing transaction, in the order added
	outcome    *txnOutcome     // of the ongoing transaction
	groups     []string        // consumer groups whose offsets are in the ongoing transaction
	pending    *pendingMarkers // in PrepareCommit or PrepareAbort: the markers to write
}

// coordinator is the transaction coordinator of the whole cluster: one state per
// transactional id, whichever broker coordinates it. Its mu is taken before any partition's.
type coordinator struct {
	mu    sync.Mutex
	txns  map[string]*transaction
	moved map[string]int32 // coordinators placed by MoveTransactionCoordinator
}

// epochExhausted reports whether epoch is too high to be bumped twice more, the point where
// Kafka gives a transactional id a new producer id (TransactionMetadata.isEpochExhausted).
func epochExhausted(epoch int16) bool { return epoch >= math.MaxInt16-1 }

// javaHashIndex returns abs(s.hashCode()) % n with Java's String.hashCode (over UTF-16 code
// units) and Kafka's Utils.abs, as Kafka places a transactional id or group on a partition
// of its internal topic.
func javaHashIndex(s string, n int) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	switch {
	case h == math.MinInt32:
		h = 0
	case h < 0:
		h = -h
	}
	return int32(int(h) % n)
}

// TransactionCoordinator returns the node id of the broker coordinating transactionalID: the
// one FindCoordinator names, and the only one that answers InitProducerId, AddPartitionsToTxn
// and EndTxn for it (the others answer NOT_COORDINATOR). As in Kafka it is a hash of the id
// (Java's String.hashCode modulo the number of brokers, as if __transaction_state had one
// partition per broker) until [Cluster.MoveTransactionCoordinator] places it elsewhere. A
// stopped broker stays the coordinator of its ids: move them to model a failover.
func (c *Cluster) TransactionCoordinator(transactionalID string) int32 {
	c.coord.mu.Lock()
	defer c.coord.mu.Unlock()
	return c.coordinatorLocked(transactionalID)
}

func (c *Cluster) coordinatorLocked(transactionalID string) int32 {
	if id, ok := c.coord.moved[transactionalID]; ok {
		return id
	}
	return javaHashIndex(transactionalID, len(c.brokers))
}

// MoveTransactionCoordinator makes broker to the coordinator of transactionalID, as a new
// leader of its __transaction_state partition would be; the transaction's state moves with
// it. From then on the old coordinator answers NOT_COORDINATOR and FindCoordinator names the
// new one.
func (c *Cluster) MoveTransactionCoordinator(transactionalID string, to int32) error {
	if c.broker(to) == nil {
		return fmt.Errorf("kafkatest: MoveTransactionCoordinator: no broker %d", to)
	}
	c.coord.mu.Lock()
	defer c.coord.mu.Unlock()
	if c.coord.moved == nil {
		c.coord.moved = make(map[string]int32)
	}
	c.coord.moved[transactionalID] = to
	return nil
}

// groupCoordinator returns the node id of the broker coordinating a consumer group.
func (c *Cluster) groupCoordinator(group string) int32 {
	if id, ok := c.movedGroupCoordinator(group); ok {
		return id
	}
	return javaHashIndex(group, len(c.brokers))
}

// expireTransactions aborts every transaction that outlived its timeout.
func (c *Cluster) expireTransactions(now time.Time) {
	c.coord.mu.Lock()
	c.expireLocked(now)
	c.coord.mu.Unlock()
}

// expireLocked aborts every ongoing transaction started more than its timeout ago, as
// Kafka's coordinator does (transaction.timeout.ms): the epoch is fenced, so the producer's
// next request with it fails. Kafka looks every 10 s
// (transaction.abort.timed.out.transaction.cleanup.interval.ms); kafkatest looks lazily,
// whenever a transactional request or a read of records comes.
func (c *Cluster) expireLocked(now time.Time) {
	for _, t := range c.coord.txns {
		if t.state == txnOngoing && now.Sub(t.started) > t.timeout {
			c.fenceLocked(t, now)
		}
	}
}

// fenceLocked bumps the epoch of t and aborts its ongoing transaction, as Kafka does when a
// new producer initialises the same transactional id or the transaction times out
// (prepareFenceProducerEpoch, then an abort at the cluster's transaction version: with
// transactions V2 the abort bumps the epoch once more).
func (c *Cluster) fenceLocked(t *transaction, now time.Time) {
	if t.epoch < math.MaxInt16 {
		t.epoch++
	}
	t.lastEpoch = -1
	c.completeLocked(t, false, c.txnV2, true, now)
}

// completeLocked ends t's transaction: it writes a commit or abort marker to every partition
// in it, settles the outcome its batches see and the offsets it staged for consumer groups,
// and records the result. bump is transactions
// V2, whose coordinator bumps the epoch at every transaction end and writes the markers with
// the new epoch, so that a late batch of the old epoch is fenced (KIP-890); once the epoch is
// exhausted the producer id is replaced (not after a fence, as in Kafka).
func (c *Cluster) completeLocked(t *transaction, commit, bump, fence bool, now time.Time) {
	m := c.prepareLocked(t, commit, bump, fence, now)
	c.writeMarkersLocked(t, m, now)
}

// pendingMarkers is a transaction ended and not yet completed: the markers to write, with
// the producer id and epoch they carry, and what the transaction held.
type pendingMarkers struct {
	commit     bool
	producerID int64
	epoch      int16
	partitions []*partition
	groups     []string
	outcome    *txnOutcome
	decided    time.Time     // when the transaction was ended: its records' TxnEnded
	timer      *time.Timer   // with a MarkerDelay
	done       chan struct{} // closed once the markers are written
}

// prepareLocked is the first half of an end: t leaves its transaction (PrepareCommit or
// PrepareAbort) and, with bump, moves to its next epoch, or to a new producer id once the
// epoch is exhausted. The markers it returns carry the epoch after the bump and the producer
// id before the rotation.
func (c *Cluster) prepareLocked(t *transaction, commit, bump, fence bool, now time.Time) *pendingMarkers {
	rotate := false
	if bump {
		rotate = !fence && epochExhausted(t.epoch)
		if t.epoch < math.MaxInt16 {
			t.lastEpoch = t.epoch
			t.epoch++
		}
	}
	m := &pendingMarkers{commit: commit, producerID: t.producerID, epoch: t.epoch,
		partitions: t.partitions, groups: t.groups, outcome: t.outcome, decided: now, done: make(chan struct{})}
	t.partitions, t.groups, t.outcome = nil, nil, nil
	t.state = txnPrepareAbort
	if commit {
		t.state = txnPrepareCommit
	}
	if rotate {
		t.prevProducerID, t.producerID, t.epoch = t.producerID, c.newProducerID(), 0
	}
	return m
}

// writeMarkersLocked is the second half: it writes m's markers to every partition of the
// transaction, settles the outcome its batches see and the offsets it staged for consumer
// groups, and completes t.
func (c *Cluster) writeMarkersLocked(t *transaction, m *pendingMarkers, now time.Time) {
	for _, p := range m.partitions {
		p.writeMarker(m.producerID, m.epoch, m.commit, now)
	}
	for _, g := range m.groups {
		c.groups.settle(g, m.producerID, m.commit)
	}
	if m.outcome != nil {
		s := outcomeAborted
		if m.commit {
			s = outcomeCommitted
		}
		m.outcome.ended = m.decided
		m.outcome.state.Store(s)
	}
	if len(m.partitions) > 0 {
		// After the outcome settles, so that a read_committed Fetch woken here sees the
		// last stable offset move.
		c.waits.notify()
	}
	t.state = txnCompleteAbort
	if m.commit {
		t.state = txnCompleteCommit
	}
	t.pending = nil
	close(m.done)
}

// awaitMarkers waits until the markers of transactional id's last EndTxn, if they are held
// back (MarkerDelay), are written: a transactions V2 Produce for the next transaction waits
// for them, as Kafka 4's partition leader retries adding its partition to the transaction
// while the coordinator answers CONCURRENT_TRANSACTIONS (KAFKA-18654), instead of failing
// the batch. The timer or WriteMarkers ends the wait.
func (c *Cluster) awaitMarkers(id string) {
	c.coord.mu.Lock()
	var done chan struct{}
	if t := c.coord.txns[id]; t != nil && t.pending != nil {
		done = t.pending.done
	}
	c.coord.mu.Unlock()
	if done != nil {
		<-done
	}
}

// endLocked ends t's transaction for EndTxn: at once, or, with a MarkerDelay, by writing its
// markers that long after the answer.
func (c *Cluster) endLocked(t *transaction, commit, bump bool, now time.Time) {
	if c.markerDelay <= 0 {
		c.completeLocked(t, commit, bump, false, now)
		return
	}
	m := c.prepareLocked(t, commit, bump, false, now)
	t.pending = m
	m.timer = time.AfterFunc(c.markerDelay, func() {
		c.coord.mu.Lock()
		defer c.coord.mu.Unlock()
		if t.pending == m {
			c.writeMarkersLocked(t, m, time.Now())
		}
	})
}

// WriteMarkers writes at once the markers that a [MarkerDelay] still holds back, completing
// every transaction ended by EndTxn: what a test checks after the producer is done then
// holds every transaction's outcome.
func (c *Cluster) WriteMarkers() {
	c.coord.mu.Lock()
	defer c.coord.mu.Unlock()
	now := time.Now()
	for _, t := range c.coord.txns {
		if m := t.pending; m != nil {
			m.timer.Stop()
			c.writeMarkersLocked(t, m, now)
		}
	}
}

// initLocked is InitProducerId for transactional id on its coordinator, after the request
// checks (Kafka's handleInitProducerId and prepareInitProducerIdTransit). expectPID and
// expectEpoch are the id and epoch the producer holds (v3+, KIP-360), -1 for none. It returns
// the producer id and epoch, or an error code: PRODUCER_FENCED for an id or epoch that is not
// the current one, and CONCURRENT_TRANSACTIONS after fencing an ongoing transaction, which is
// aborted meanwhile, so that the retry gets a fresh epoch.
func (c *Cluster) initLocked(id string, timeout time.Duration, expectPID int64, expectEpoch int16, now time.Time) (int64, int16, int16) {
	co := &c.coord
	if co.txns == nil {
		co.txns = make(map[string]*transaction)
	}
	t := co.txns[id]
	if t == nil {
		t = &transaction{id: id, producerID: c.newProducerID(), prevProducerID: -1, epoch: -1, lastEpoch: -1}
		co.txns[id] = t
	}
	expected := expectPID != -1
	if expected && t.epoch != -1 && expectPID != t.producerID && (expectPID != t.prevProducerID || !epochExhausted(expectEpoch)) {
		return -1, -1, wire.ErrProducerFenced.Code
	}
	if t.state == txnOngoing {
		c.fenceLocked(t, now)
		return -1, -1, wire.ErrConcurrentTransactions.Code
	}
	if t.preparing() {
		return -1, -1, wire.ErrConcurrentTransactions.Code
	}
	switch {
	case epochExhausted(t.epoch) && (!expected || expectEpoch == t.epoch):
		last := int16(-1)
		if expected {
			last = t.epoch
		}
		t.prevProducerID, t.producerID, t.epoch, t.lastEpoch = t.producerID, c.newProducerID(), 0, last
	case !expected:
		t.epoch, t.lastEpoch = t.epoch+1, -1
	case t.epoch == -1 || expectEpoch == t.epoch:
		t.epoch, t.lastEpoch = t.epoch+1, t.epoch
	case expectEpoch == t.lastEpoch:
		// A retry of a bump that succeeded: the same answer again.
	default:
		return -1, -1, wire.ErrProducerFenced.Code
	}
	t.timeout, t.state = timeout, txnEmpty
	return t.producerID, t.epoch, 0
}

// addPartitionsLocked adds parts to t's transaction, starting it if none is ongoing (Kafka's
// handleAddPartitionsToTransaction), and returns the error code for every partition:
// INVALID_PRODUCER_ID_MAPPING for another producer id, PRODUCER_FENCED for another epoch.
func (c *Cluster) addPartitionsLocked(t *transaction, pid int64, epoch int16, parts []*partition, now time.Time) int16 {
	if code := t.check(pid, epoch); code != 0 {
		return code
	}
	if t.preparing() {
		return wire.ErrConcurrentTransactions.Code
	}
	if t.state != txnOngoing {
		t.state, t.started, t.outcome = txnOngoing, now, &txnOutcome{}
	}
	for _, p := range parts {
		if !t.has(p) {
			t.partitions = append(t.partitions, p)
		}
	}
	return 0
}

// check returns the error for a request of producer id pid at epoch about t's transaction.
func (t *transaction) check(pid int64, epoch int16) int16 {
	switch {
	case pid != t.producerID:
		return wire.ErrInvalidProducerIDMapping.Code
	case epoch != t.epoch:
		return wire.ErrProducerFenced.Code
	}
	return 0
}

func (t *transaction) has(p *partition) bool {
	for _, q := range t.partitions {
		if q == p {
			return true
		}
	}
	return false
}

// verify checks that p is in t's ongoing transaction, as Kafka's coordinator does for a
// broker about to append a transactional batch (AddPartitionsToTxn v4+ VerifyOnly):
// TRANSACTION_ABORTABLE when it is not.
func (t *transaction) verify(pid int64, epoch int16, p *partition) int16 {
	if code := t.check(pid, epoch); code != 0 {
		return code
	}
	if t.state != txnOngoing || !t.has(p) {
		return wire.ErrTransactionAbortable.Code
	}
	return 0
}

// endTxnLocked is EndTxn on t (Kafka's endTransaction): it commits or aborts the ongoing
// transaction and returns the producer id and epoch to continue with, or an error code. v2 is
// a client of transactions V2 (EndTxn v5), whose epoch every transaction end bumps and which
// may retry an EndTxn with the epoch before the bump; without it the epoch must match
// exactly, a repeated commit or abort of the last transaction succeeds, and anything else
// with no transaction ongoing is INVALID_TXN_STATE.
func (c *Cluster) endTxnLocked(t *transaction, pid int64, epoch int16, commit, v2 bool, now time.Time) (int64, int16, int16) {
	const invalid = -1
	repeated := (commit && t.state == txnCompleteCommit) || (!commit && t.state == txnCompleteAbort)
	if !v2 {
		if code := t.check(pid, epoch); code != 0 {
			return invalid, invalid, code
		}
		switch {
		case t.preparing():
			return invalid, invalid, t.preparingCode(commit)
		case t.state == txnOngoing:
			c.endLocked(t, commit, false, now)
			return t.producerID, t.epoch, 0
		case repeated:
			return t.producerID, t.epoch, 0
		}
		return invalid, invalid, wire.ErrInvalidTxnState.Code
	}
	retryOnOverflow := t.prevProducerID == pid && epoch == math.MaxInt16-1 && t.epoch == 0
	retryOnBump := int(t.epoch) == int(epoch)+1
	retry := retryOnBump || retryOnOverflow
	valid := epoch == t.epoch
	if t.state == txnCompleteCommit || t.state == txnCompleteAbort || t.preparing() {
		valid = valid || retry
	}
	switch {
	case pid != t.producerID && !retryOnOverflow:
		return invalid, invalid, wire.ErrInvalidProducerIDMapping.Code
	case !valid:
		return invalid, invalid, wire.ErrProducerFenced.Code
	case t.preparing():
		return invalid, invalid, t.preparingCode(commit)
	case t.state == txnOngoing:
	case repeated && retry:
		return t.producerID, t.epoch, 0
	case commit || retry:
		// A commit with nothing to commit, or an abort retried after a commit.
		return invalid, invalid, wire.ErrInvalidTxnState.Code
	}
	// Ongoing, or an abort with nothing ongoing, which transactions V2 allows to bump the
	// epoch (after a produce whose fate is unknown).
	c.endLocked(t, commit, true, now)
	return t.producerID, t.epoch, 0
}

// writeMarker appends a transaction marker of producer pid to p, as the partition leader does
// for Kafka's WriteTxnMarkers: a control batch of one record (key: version 0 and type, 0
// abort or 1 commit; value: version 0 and coordinator epoch 0). It takes an offset like any
// record; Records does not return it. It closes the producer's transaction on p and moves its
// state to epoch, forgetting its batches when the epoch changes, so that its next batch must
// start at sequence 0 and one of an older epoch gets INVALID_PRODUCER_EPOCH. A marker older
// than the epoch p knows of the producer is not written, as Kafka's leader refuses it
// (INVALID_PRODUCER_EPOCH) and the coordinator gives up on that partition.
func (p *partition) writeMarker(pid int64, epoch int16, commit bool, now time.Time) {
	typ := uint16(0)
	if commit {
		typ = 1
	}
	key := binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, 0), typ)
	value := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint16(nil, 0), 0)
	records := wire.AppendRecord(nil, 0, 0, key, value, nil)
	ts := now.UnixMilli()
	h := wire.BatchHeader{
		Magic:         2,
		Attributes:    wire.AttrControl | wire.AttrTransactional,
		BaseTimestamp: ts,
		MaxTimestamp:  ts,
		ProducerID:    pid,
		ProducerEpoch: epoch,
		BaseSequence:  -1,
		NumRecords:    1,
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.producers[pid]
	if s != nil && epoch < s.epoch {
		return
	}
	h.PartitionLeaderEpoch = p.leaderEpoch
	p.appendLocked(&h, sealBatch(&h, records), nil)
	if s == nil || s.epoch != epoch {
		s = &producerState{epoch: epoch}
		p.producers[pid] = s
	}
	s.open = nil
}
