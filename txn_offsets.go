package producer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gregor-kafka/producer/internal/conn"
	"github.com/gregor-kafka/producer/wire"
)

// Offset is the position to commit for one partition a consumer group read, Java's
// OffsetAndMetadata.
type Offset struct {
	// Offset is the next record the group will consume: the offset of the last record
	// processed, plus one.
	Offset int64
	// LeaderEpoch is the partition leader epoch of the last record processed, as the consumer
	// read it from its batch (KIP-320), or nil when unknown. A consumer that fetches the
	// committed offset uses it to detect log truncation.
	LeaderEpoch *int32
	// Metadata is any string to keep with the offset ("" for none). Brokers refuse more than
	// offset.metadata.max.bytes (4096 by default).
	Metadata string
}

// ConsumerGroupMetadata names the consumer whose offsets a transaction commits, Java's
// ConsumerGroupMetadata: the group coordinator checks it, so that a consumer that lost its
// partitions in a rebalance (a zombie) cannot commit (KIP-447). Take it from the consumer
// after it got its assignment. With only GroupID set, the offsets are committed whatever the
// group's membership, as with Java's deprecated sendOffsetsToTransaction(offsets, groupId).
type ConsumerGroupMetadata struct {
	// GroupID is the consumer's group.id.
	GroupID string
	// GenerationID is the generation of the group (classic protocol) or the member epoch
	// (KIP-848) the consumer got its assignment in. Real generations start at 1; 0 and below
	// are sent as -1, Kafka's "no generation".
	GenerationID int32
	// MemberID is the member id the group coordinator gave the consumer, or "".
	MemberID string
	// GroupInstanceID is the consumer's group.instance.id (static membership), or "".
	GroupInstanceID string
}

// txnOffsets is the state of SendOffsetsToTransaction within [transactions]: busy, idle and
// joined are guarded by transactions.mu, the group coordinator connection by calls.
type txnOffsets struct {
	busy   int           // SendOffsetsToTransaction calls under way
	idle   chan struct{} // closed when busy drops to 0; a new one when it rises from 0
	joined bool          // the ongoing transaction holds offsets: EndTxn must be sent to end it

	// calls holds one group coordinator request at a time; it guards group and coord.
	calls callLock
	group string
	coord *conn.Conn // to the coordinator of group
	// live is coord, for closeOffsets to abort without waiting for a request under calls.
	live atomic.Pointer[conn.Conn]
}

// offsetsIdleLocked returns nil when no SendOffsetsToTransaction is under way, or else a
// channel closed once none is: an end waits for it before it sends EndTxn. t.mu is held.
func (t *transactions) offsetsIdleLocked() <-chan struct{} {
	if t.offsets.busy == 0 {
		return nil
	}
	return t.offsets.idle
}

// offsetsBeginLocked and offsetsDoneLocked count a SendOffsetsToTransaction call under way.
// t.mu is held.
func (t *transactions) offsetsBeginLocked() {
	if t.offsets.busy == 0 {
		t.offsets.idle = make(chan struct{})
	}
	t.offsets.busy++
}

func (t *transactions) offsetsDoneLocked() {
	t.offsets.busy--
	if t.offsets.busy == 0 {
		close(t.offsets.idle)
	}
}

// offsetsJoinedLocked reports whether offsets joined the ongoing transaction, which then
// needs an EndTxn even without records. t.mu is held.
func (t *transactions) offsetsJoinedLocked() bool { return t.offsets.joined }

// offsetsEndedLocked forgets the ended transaction's offsets. t.mu is held.
func (t *transactions) offsetsEndedLocked() { t.offsets.joined = false }

// closeOffsets closes the group coordinator connection.
func (t *transactions) closeOffsets() {
	if c := t.offsets.live.Load(); c != nil {
		c.Abort(ErrClosed) // a TxnOffsetCommit in flight fails now, releasing calls
	}
	t.offsets.calls.lockNow()
	c := t.offsets.coord
	t.offsets.coord, t.offsets.group = nil, ""
	t.offsets.live.Store(nil)
	t.offsets.calls.unlock()
	if c != nil {
		c.Close()
	}
}

// SendOffsetsToTransaction commits offsets, the positions a consumer group reached, as part
// of the ongoing transaction, for exactly-once consume-transform-produce: they become the
// group's committed offsets when CommitTransaction commits the records produced from what was
// consumed, and are dropped if the transaction aborts. offsets maps topic and partition to the
// position to commit. It returns once the group coordinator has the offsets (Java's
// sendOffsetsToTransaction), retrying retriable errors and dropped connections, and finding
// the coordinators again when they move, until ctx ends or max.block.ms passes.
//
// As in the Java client it sends AddOffsetsToTxn to the transaction coordinator, then
// TxnOffsetCommit to the group's coordinator; with transactions V2 (KIP-890) the
// TxnOffsetCommit (v5+) alone adds the group to the transaction.
//
// It must be called within a transaction (ErrTransactionState otherwise, with nothing sent).
// A CommitTransaction or AbortTransaction called from another goroutine while it runs waits
// for it to return before it ends the transaction, as the Java client sends EndTxn after the
// offsets: a commit then commits them, or fails if they failed. An empty group id, an empty topic name, a negative
// partition or offset is an error, and after Close it is ErrClosed, with nothing sent; empty
// offsets send nothing. Any other error makes the transaction abortable, as a failed send
// does, or fatal for fencing and authorization errors: a consumer whose generation or member
// id the group no longer knows gets wire.ErrIllegalGeneration, wire.ErrUnknownMemberID or
// wire.ErrFencedInstanceID, and must abort.
func (p *Producer) SendOffsetsToTransaction(ctx context.Context, offsets map[string]map[int32]Offset, group ConsumerGroupMetadata) error {
	t := p.txn
	if t == nil {
		return fmt.Errorf("%w: SendOffsetsToTransaction without transactional.id", ErrTransactionState)
	}
	if err := checkOffsets(offsets, group); err != nil {
		return err
	}
	if p.closed.Load() {
		return ErrClosed
	}
	t.mu.Lock()
	if t.state != txnInTransaction {
		defer t.mu.Unlock()
		return t.stateErrLocked("SendOffsetsToTransaction")
	}
	t.offsetsBeginLocked()
	t.mu.Unlock()
	defer func() { // after a failure made the transaction abortable: an end waiting sees it
		t.mu.Lock()
		t.offsetsDoneLocked()
		t.mu.Unlock()
	}()
	if len(offsets) == 0 {
		return nil
	}
	ctx, cancel := p.blockCtx(ctx)
	defer cancel()
	if err := t.sendOffsets(ctx, offsets, group); err != nil {
		err = fmt.Errorf("producer: SendOffsetsToTransaction: %w", err)
		t.fail(err)
		return err
	}
	return nil
}

// checkOffsets returns an error for arguments no broker could accept.
func checkOffsets(offsets map[string]map[int32]Offset, group ConsumerGroupMetadata) error {
	if group.GroupID == "" {
		return errors.New("producer: SendOffsetsToTransaction: empty group id")
	}
	for topic, parts := range offsets {
		if topic == "" {
			return errors.New("producer: SendOffsetsToTransaction: empty topic name")
		}
		for pa, o := range parts {
			if o.Offset < 0 || pa < 0 {
				return fmt.Errorf("producer: SendOffsetsToTransaction: %s-%d: negative offset %d or partition", topic, pa, o.Offset)
			}
		}
	}
	return nil
}

// Highest TxnOffsetCommit version for each transaction protocol: v5 asks the group
// coordinator to add the group to the transaction itself (KIP-890), which only a client of
// transactions V2 may (Java's LAST_STABLE_VERSION_BEFORE_TRANSACTION_V2 is 4); v6 names topics
// by id, which the producer does not know for topics it only consumed, so it stays at v5.
const (
	maxTxnOffsetCommitV1 = 4
	maxTxnOffsetCommitV2 = 5
)

// sendOffsets is SendOffsetsToTransaction after its checks.
func (t *transactions) sendOffsets(ctx context.Context, offsets map[string]map[int32]Offset, group ConsumerGroupMetadata) error {
	// The transaction coordinator first: InitTransactions found it, and with it whether the
	// cluster runs transactions V2.
	if _, err := t.offsetsCoordinator(ctx); err != nil {
		return err
	}
	maxVersion := int16(maxTxnOffsetCommitV2)
	if !t.isV2() {
		maxVersion = maxTxnOffsetCommitV1
		if err := t.addOffsets(ctx, group.GroupID); err != nil {
			return err
		}
	}
	// The group is in the transaction now, or (V2) will be with the TxnOffsetCommit, maybe
	// even if it fails: the transaction needs an EndTxn.
	t.mu.Lock()
	t.offsets.joined = true
	t.mu.Unlock()
	return t.commitOffsets(ctx, offsets, group, maxVersion)
}

// offsetsCoordinator returns the transaction coordinator connection, finding it if needed,
// retrying as the other coordinator calls do.
func (t *transactions) offsetsCoordinator(ctx context.Context) (*conn.Conn, error) {
	for attempt := 1; ; attempt++ {
		if err := t.offsetsStateErr(); err != nil {
			return nil, err
		}
		err := t.calls.lock(ctx)
		var c *conn.Conn
		if err == nil {
			c, err = t.coordinator(ctx)
			t.calls.unlock()
		}
		if err == nil {
			return c, nil
		}
		if err := t.offsetsBackoff(ctx, attempt, err); err != nil {
			return nil, err
		}
	}
}

// offsetsStateErr returns an error when the transaction can no longer take offsets: a send
// failed meanwhile, or the producer was fenced.
func (t *transactions) offsetsStateErr() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state != txnInTransaction {
		return t.stateErrLocked("SendOffsetsToTransaction")
	}
	return nil
}

// offsetsBackoff waits before retry number attempt after err, or returns an error when err
// is not retriable, the producer is closing or ctx ends first.
func (t *transactions) offsetsBackoff(ctx context.Context, attempt int, err error) error {
	if !isRetriableTxnError(err) {
		return err
	}
	t.p.logDebug("producer: SendOffsetsToTransaction will retry", "attempt", attempt, "err", err)
	timer := time.NewTimer(t.p.backoff(attempt))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
	case <-t.p.closing:
		return fmt.Errorf("%w (last error: %w)", ErrClosed, err)
	}
}

// addOffsets sends AddOffsetsToTxn until the transaction coordinator has added the group to
// the transaction (transactions V1).
func (t *transactions) addOffsets(ctx context.Context, group string) error {
	for attempt := 1; ; attempt++ {
		if err := t.offsetsStateErr(); err != nil {
			return err
		}
		pid, epoch, _, _ := t.p.idem.current()
		req := &wire.AddOffsetsToTxnRequest{TransactionalID: t.id, ProducerID: pid, ProducerEpoch: epoch, GroupID: group}
		var resp wire.AddOffsetsToTxnResponse
		err := t.call(ctx, req, &resp, -1)
		if err == nil {
			err = wire.ErrorForCode(resp.ErrorCode)
			t.dropCoordinatorOn(err)
		}
		if err == nil {
			return nil
		}
		err = fmt.Errorf("AddOffsetsToTxn: %w", fencedIfOldEpoch(err))
		if err := t.offsetsBackoff(ctx, attempt, err); err != nil {
			return err
		}
	}
}

// fencedIfOldEpoch turns INVALID_PRODUCER_EPOCH from a coordinator into PRODUCER_FENCED, as
// the Java client does: another producer took the transactional id over.
func fencedIfOldEpoch(err error) error {
	if errors.Is(err, wire.ErrInvalidProducerEpoch) {
		return fmt.Errorf("%w (%w)", wire.ErrProducerFenced, err)
	}
	return err
}

// pendingOffset is one partition's offset not yet accepted by the group coordinator.
type pendingOffset struct {
	topic     string
	partition int32
	offset    Offset
}

// commitOffsets sends TxnOffsetCommit to the group's coordinator until it has accepted every
// offset: partitions that fail with a retriable error are sent again, and NOT_COORDINATOR,
// COORDINATOR_NOT_AVAILABLE, REQUEST_TIMED_OUT or a lost connection look the coordinator up
// again (Java's TxnOffsetCommitHandler).
func (t *transactions) commitOffsets(ctx context.Context, offsets map[string]map[int32]Offset, group ConsumerGroupMetadata, maxVersion int16) error {
	var pending []pendingOffset
	for topic, parts := range offsets {
		for pa, o := range parts {
			pending = append(pending, pendingOffset{topic, pa, o})
		}
	}
	sort.Slice(pending, func(i, j int) bool {
		a, b := pending[i], pending[j]
		return a.topic < b.topic || a.topic == b.topic && a.partition < b.partition
	})
	for attempt := 1; ; attempt++ {
		if err := t.offsetsStateErr(); err != nil {
			return err
		}
		var err error
		if pending, err = t.txnOffsetCommit(ctx, pending, group, maxVersion); err == nil {
			return nil
		}
		if err := t.offsetsBackoff(ctx, attempt, err); err != nil {
			return err
		}
	}
}

// txnOffsetCommit sends one TxnOffsetCommit for pending. It returns nil when the coordinator
// took every offset; otherwise the partitions to send again and why: a retriable error for a
// retry, any other to give up.
func (t *transactions) txnOffsetCommit(ctx context.Context, pending []pendingOffset, group ConsumerGroupMetadata, maxVersion int16) ([]pendingOffset, error) {
	if err := t.offsets.calls.lock(ctx); err != nil {
		return pending, err
	}
	defer t.offsets.calls.unlock()
	c, err := t.groupCoordinator(ctx, group.GroupID)
	if err != nil {
		return pending, err
	}
	pid, epoch, _, _ := t.p.idem.current()
	req := &wire.TxnOffsetCommitRequest{
		TransactionalID: t.id,
		GroupID:         group.GroupID,
		ProducerID:      pid,
		ProducerEpoch:   epoch,
		GenerationID:    group.GenerationID,
		MemberID:        group.MemberID,
	}
	if req.GenerationID <= 0 {
		req.GenerationID = -1 // no generation: generations start at 1
	}
	if group.GroupInstanceID != "" {
		req.GroupInstanceID = &group.GroupInstanceID
	}
	for _, po := range pending {
		if n := len(req.Topics); n == 0 || req.Topics[n-1].Name != po.topic {
			req.Topics = append(req.Topics, wire.TxnOffsetCommitTopic{Name: po.topic})
		}
		wp := wire.TxnOffsetCommitPartition{PartitionIndex: po.partition, CommittedOffset: po.offset.Offset, CommittedLeaderEpoch: -1}
		if po.offset.LeaderEpoch != nil {
			wp.CommittedLeaderEpoch = *po.offset.LeaderEpoch
		}
		if po.offset.Metadata != "" {
			wp.CommittedMetadata = &po.offset.Metadata
		}
		tp := &req.Topics[len(req.Topics)-1]
		tp.Partitions = append(tp.Partitions, wp)
	}
	var resp wire.TxnOffsetCommitResponse
	if err := c.CallMax(ctx, req, &resp, maxVersion); err != nil {
		t.dropGroupCoordinatorLocked(err)
		if ctx.Err() == nil { // the connection failed: sent again, as t.call's requests are
			err = fmt.Errorf("%w: %w", errCoordinatorLost, err)
		}
		return pending, fmt.Errorf("TxnOffsetCommit: %w", err)
	}
	answered := map[pendingOffset]int16{}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			answered[pendingOffset{topic: rt.Name, partition: rp.PartitionIndex}] = rp.ErrorCode
		}
	}
	var retry []pendingOffset
	var retryErr error
	for _, po := range pending {
		code, ok := answered[pendingOffset{topic: po.topic, partition: po.partition}]
		err := wire.ErrorForCode(code)
		switch {
		case !ok:
			return nil, fmt.Errorf("TxnOffsetCommit %s-%d for group %q: the coordinator's answer leaves the partition out", po.topic, po.partition, group.GroupID)
		case err == nil:
			continue
		case errors.Is(err, wire.ErrNotCoordinator), errors.Is(err, wire.ErrCoordinatorNotAvailable), errors.Is(err, wire.ErrRequestTimedOut):
			t.dropGroupCoordinatorLocked(err)
		case !isRetriableTxnError(err):
			return nil, fmt.Errorf("TxnOffsetCommit %s-%d for group %q: %w", po.topic, po.partition, group.GroupID, fencedIfOldEpoch(err))
		}
		retry = append(retry, po)
		retryErr = fmt.Errorf("TxnOffsetCommit %s-%d for group %q: %w", po.topic, po.partition, group.GroupID, err)
	}
	return retry, retryErr
}

// groupCoordinator returns a connection to the coordinator of group, finding it with
// FindCoordinator (key type group) through the transaction coordinator's connection.
// t.offsets.calls is held.
func (t *transactions) groupCoordinator(ctx context.Context, group string) (*conn.Conn, error) {
	o := &t.offsets
	if o.coord != nil && o.group == group && o.coord.Err() == nil {
		return o.coord, nil
	}
	t.dropGroupCoordinatorLocked(nil)
	req := &wire.FindCoordinatorRequest{CoordinatorKey: group, KeyType: wire.CoordinatorKeyGroup, CoordinatorKeys: []string{group}}
	var resp wire.FindCoordinatorResponse
	if err := t.call(ctx, req, &resp, -1); err != nil {
		return nil, fmt.Errorf("FindCoordinator(group %q): %w", group, err)
	}
	code, host, port, node := resp.ErrorCode, resp.Host, resp.Port, resp.NodeID
	if len(resp.Coordinators) > 0 {
		co := resp.Coordinators[0]
		code, host, port, node = co.ErrorCode, co.Host, co.Port, co.NodeID
	}
	if err := wire.ErrorForCode(code); err != nil {
		return nil, fmt.Errorf("FindCoordinator(group %q): %w", group, err)
	}
	c, _, err := t.p.connectBroker(ctx, node, net.JoinHostPort(host, strconv.Itoa(int(port))))
	if err != nil {
		return nil, fmt.Errorf("%w: group %q, node %d: %w", errNoCoordinator, group, node, err)
	}
	if t.p.closed.Load() { // Close may have passed closeOffsets, which waits for o.calls
		c.Close()
		return nil, ErrClosed
	}
	o.coord, o.group = c, group
	o.live.Store(c)
	return c, nil
}

// dropGroupCoordinatorLocked forgets the group coordinator connection, closing it because of
// err (nil: it is replaced). t.offsets.calls is held.
func (t *transactions) dropGroupCoordinatorLocked(err error) {
	o := &t.offsets
	if o.coord == nil {
		return
	}
	if err == nil {
		err = conn.ErrClosed
	}
	o.coord.Abort(err)
	o.coord, o.group = nil, ""
	o.live.Store(nil)
}
