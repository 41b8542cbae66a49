package kafkatest

import (
	"fmt"
	"sync"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// CommittedOffset is a consumer group's committed offset for one partition, as
// [Cluster.CommittedOffsets] returns it.
type CommittedOffset struct {
	// Offset is the next offset the group will consume.
	Offset int64
	// LeaderEpoch is the leader epoch of the last consumed record, or -1.
	LeaderEpoch int32
	// Metadata is the string committed with the offset ("" for none, as Kafka keeps null).
	Metadata string
}

// GroupMember is a member of a consumer group, for [Cluster.SetGroupMembers].
type GroupMember struct {
	// MemberID is the member id the coordinator gave the consumer.
	MemberID string
	// InstanceID is the consumer's group.instance.id (static membership), or "".
	InstanceID string
}

// offsetMetadataMaxBytes is Kafka's offset.metadata.max.bytes default: longer metadata is
// OFFSET_METADATA_TOO_LARGE.
const offsetMetadataMaxBytes = 4096

// groupKey names a partition whose offset a group commits.
type groupKey struct {
	topic     string
	partition int32
}

// group is what the group coordinator knows of one consumer group: its committed offsets,
// the offsets transactions staged and have not settled yet, and the membership a test set.
type group struct {
	committed map[groupKey]CommittedOffset
	pending   map[int64]map[groupKey]CommittedOffset // by producer id
	// generation is the generation of the membership SetGroupMembers set, -1 for none.
	generation int32
	members    map[string]string // member id -> instance id
}

// groups is the group coordinator of the whole cluster, whichever broker coordinates each
// group. Its mu is taken after the transaction coordinator's.
type groups struct {
	mu    sync.Mutex
	m     map[string]*group
	moved map[string]int32 // coordinators placed by MoveGroupCoordinator
}

// getLocked returns group id, creating it when create is set; nil when it does not exist.
func (gs *groups) getLocked(id string, create bool) *group {
	g := gs.m[id]
	if g == nil && create {
		if gs.m == nil {
			gs.m = make(map[string]*group)
		}
		g = &group{committed: map[groupKey]CommittedOffset{}, pending: map[int64]map[groupKey]CommittedOffset{}, generation: -1}
		gs.m[id] = g
	}
	return g
}

// settle makes the offsets that producer pid staged for group id the group's committed
// offsets (commit) or drops them, as the markers of a transaction do on the group's
// __consumer_offsets partition.
func (gs *groups) settle(id string, pid int64, commit bool) {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	g := gs.m[id]
	if g == nil {
		return
	}
	if commit {
		for k, o := range g.pending[pid] {
			g.committed[k] = o
		}
	}
	delete(g.pending, pid)
}

// CommittedOffsets returns the offsets consumer group has committed, by topic and partition:
// those of committed transactions (TxnOffsetCommit), not those still in an open transaction
// nor those of aborted ones. It is empty for a group with none.
func (c *Cluster) CommittedOffsets(group string) map[string]map[int32]CommittedOffset {
	c.expireTransactions(time.Now())
	c.groups.mu.Lock()
	defer c.groups.mu.Unlock()
	out := map[string]map[int32]CommittedOffset{}
	g := c.groups.m[group]
	if g == nil {
		return out
	}
	for k, o := range g.committed {
		if out[k.topic] == nil {
			out[k.topic] = map[int32]CommittedOffset{}
		}
		out[k.topic][k.partition] = o
	}
	return out
}

// SetGroupMembers stands in for a completed rebalance of consumer group, since kafkatest
// answers no group membership APIs: from now on the group has these members at generation,
// and a TxnOffsetCommit naming a member (v3+, KIP-447) is checked against them as Kafka does:
// another instance's member id is FENCED_INSTANCE_ID, an unknown member UNKNOWN_MEMBER_ID, a
// generation other than -1 or generation ILLEGAL_GENERATION. A generation below 0 empties the
// group.
func (c *Cluster) SetGroupMembers(group string, generation int32, members ...GroupMember) {
	c.groups.mu.Lock()
	defer c.groups.mu.Unlock()
	g := c.groups.getLocked(group, true)
	g.generation, g.members = -1, nil
	if generation < 0 {
		return
	}
	g.generation, g.members = generation, make(map[string]string, len(members))
	for _, m := range members {
		g.members[m.MemberID] = m.InstanceID
	}
}

// GroupCoordinator returns the node id of the broker coordinating consumer group: the one
// FindCoordinator names and the only one that answers TxnOffsetCommit for it (the others
// answer NOT_COORDINATOR). It is a hash of the group id, as [Cluster.TransactionCoordinator]
// is of a transactional id, until [Cluster.MoveGroupCoordinator] places it elsewhere.
func (c *Cluster) GroupCoordinator(group string) int32 { return c.groupCoordinator(group) }

// MoveGroupCoordinator makes broker to the coordinator of group, as a new leader of its
// __consumer_offsets partition would be; the group's offsets move with it. From then on the
// old coordinator answers NOT_COORDINATOR and FindCoordinator names the new one.
func (c *Cluster) MoveGroupCoordinator(group string, to int32) error {
	if c.broker(to) == nil {
		return fmt.Errorf("kafkatest: MoveGroupCoordinator: no broker %d", to)
	}
	c.groups.mu.Lock()
	defer c.groups.mu.Unlock()
	if c.groups.moved == nil {
		c.groups.moved = make(map[string]int32)
	}
	c.groups.moved[group] = to
	return nil
}

// movedGroupCoordinator returns where MoveGroupCoordinator placed group, if it did.
func (c *Cluster) movedGroupCoordinator(group string) (int32, bool) {
	c.groups.mu.Lock()
	defer c.groups.mu.Unlock()
	id, ok := c.groups.moved[group]
	return id, ok
}

// maxTxnOffsetCommitTxnV1 is the highest TxnOffsetCommit version of a broker without
// transactions V2 (Kafka's LAST_STABLE_VERSION_BEFORE_TRANSACTION_V2): v5 adds the group to
// the transaction implicitly.
const maxTxnOffsetCommitTxnV1 = 4

// handleTxnOffsetCommit answers TxnOffsetCommit (key 28, v0–6) on the group's coordinator
// (NOT_COORDINATOR elsewhere): it stages the offsets in the producer's transaction, to become
// the group's committed offsets ([Cluster.CommittedOffsets]) when EndTxn commits it and to be
// dropped when it aborts. The group must have joined the transaction through AddOffsetsToTxn
// (INVALID_TXN_STATE otherwise), except from v5 (transactions V2, KIP-890), where the
// coordinator adds it. The transactional id must have an ongoing or startable transaction of
// this producer id (INVALID_PRODUCER_ID_MAPPING) and epoch (PRODUCER_FENCED). An empty group
// id is INVALID_GROUP_ID; from v3 the member, instance and generation are checked
// ([Cluster.SetGroupMembers]); a generation of 0 or more for a group with no members is
// ILLEGAL_GENERATION (GROUP_ID_NOT_FOUND at v6 for a group never seen); metadata longer than
// 4096 bytes is OFFSET_METADATA_TOO_LARGE for its partition; at v6 a topic id the cluster
// does not know is UNKNOWN_TOPIC_ID. The answer has one error code per partition of the
// request; a fault's ErrorCode answers for every partition.
func handleTxnOffsetCommit(cn *conn, ex *exchange) (wire.Response, error) {
	v := ex.hdr.APIVersion
	var req wire.TxnOffsetCommitRequest
	if err := req.Decode(ex.body, v); err != nil {
		return nil, err
	}
	c := cn.b.c
	names := make([]string, len(req.Topics))
	for i, t := range req.Topics {
		names[i] = t.Name
		if v >= 6 {
			names[i] = c.topicName(t.TopicID)
		}
	}
	if stand := ex.standIn(); stand != 0 {
		return txnOffsetResults(&req, func(int, int) int16 { return stand }), nil
	}
	codes := c.txnOffsetCommit(cn.b.id, &req, names, v)
	if code := ex.faultCode(); code != 0 {
		return txnOffsetResults(&req, func(int, int) int16 { return code }), nil
	}
	return txnOffsetResults(&req, func(i, j int) int16 { return codes[i][j] }), nil
}

// topicName returns the name of the topic with id, or "" when there is none.
func (c *Cluster) topicName(id wire.UUID) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if t := c.topicIDs[id]; t != nil {
		return t.name
	}
	return ""
}

// txnOffsetResults answers every partition of req with code(topic index, partition index).
func txnOffsetResults(req *wire.TxnOffsetCommitRequest, code func(i, j int) int16) *wire.TxnOffsetCommitResponse {
	resp := &wire.TxnOffsetCommitResponse{Topics: make([]wire.TxnOffsetCommitTopicResult, len(req.Topics))}
	for i, t := range req.Topics {
		rt := &resp.Topics[i]
		rt.Name, rt.TopicID = t.Name, t.TopicID
		rt.Partitions = make([]wire.TxnOffsetCommitPartitionResult, len(t.Partitions))
		for j, p := range t.Partitions {
			rt.Partitions[j] = wire.TxnOffsetCommitPartitionResult{PartitionIndex: p.PartitionIndex, ErrorCode: code(i, j)}
		}
	}
	return resp
}

// txnOffsetCommit makes the checks of Kafka's group and transaction coordinators, in their
// order, then stages the offsets; it returns one error code per partition of req, by topic.
// names are the topics' names (resolved from ids at v6, "" when unknown).
func (c *Cluster) txnOffsetCommit(broker int32, req *wire.TxnOffsetCommitRequest, names []string, version int16) [][]int16 {
	codes := make([][]int16, len(req.Topics))
	all := func(code int16) [][]int16 {
		for i, t := range req.Topics {
			codes[i] = make([]int16, len(t.Partitions))
			for j := range codes[i] {
				codes[i][j] = code
			}
		}
		return codes
	}
	if req.GroupID == "" {
		return all(wire.ErrInvalidGroupID.Code)
	}
	if req.TransactionalID == "" {
		return all(wire.ErrInvalidRequest.Code)
	}
	if c.groupCoordinator(req.GroupID) != broker {
		return all(wire.ErrNotCoordinator.Code)
	}
	now := time.Now()
	c.coord.mu.Lock()
	defer c.coord.mu.Unlock()
	c.expireLocked(now)
	t := c.coord.txns[req.TransactionalID]
	if t == nil {
		return all(wire.ErrInvalidProducerIDMapping.Code)
	}
	if code := t.check(req.ProducerID, req.ProducerEpoch); code != 0 {
		return all(code)
	}
	joined := t.state == txnOngoing && t.hasGroup(req.GroupID)
	if !joined && (version < 5 || !c.txnV2) {
		return all(wire.ErrInvalidTxnState.Code)
	}

	c.groups.mu.Lock()
	defer c.groups.mu.Unlock()
	g := c.groups.getLocked(req.GroupID, false)
	if code := g.validate(req, version); code != 0 {
		return all(code)
	}
	if !joined { // v5+, transactions V2: the coordinator adds the group itself (KIP-890)
		if code := c.addPartitionsLocked(t, req.ProducerID, req.ProducerEpoch, nil, now); code != 0 {
			return all(code)
		}
		t.groups = append(t.groups, req.GroupID)
	}
	g = c.groups.getLocked(req.GroupID, true)
	staged := g.pending[req.ProducerID]
	if staged == nil {
		staged = map[groupKey]CommittedOffset{}
		g.pending[req.ProducerID] = staged
	}
	for i, rt := range req.Topics {
		codes[i] = make([]int16, len(rt.Partitions))
		for j, p := range rt.Partitions {
			switch {
			case names[i] == "":
				codes[i][j] = wire.ErrUnknownTopicID.Code
			case p.CommittedMetadata != nil && len(*p.CommittedMetadata) > offsetMetadataMaxBytes:
				codes[i][j] = wire.ErrOffsetMetadataTooLarge.Code
			default:
				o := CommittedOffset{Offset: p.CommittedOffset, LeaderEpoch: p.CommittedLeaderEpoch}
				if p.CommittedMetadata != nil {
					o.Metadata = *p.CommittedMetadata
				}
				staged[groupKey{names[i], p.PartitionIndex}] = o
			}
		}
	}
	return codes
}

// validate checks the consumer metadata of a TxnOffsetCommit against g (nil: a group never
// seen), as Kafka's group coordinator does, and returns the error code or 0.
func (g *group) validate(req *wire.TxnOffsetCommitRequest, version int16) int16 {
	if version < 3 || (req.GenerationID < 0 && req.MemberID == "" && req.GroupInstanceID == nil) {
		return 0 // no member named: an offset commit from outside group management
	}
	if g == nil || g.generation < 0 {
		if req.GenerationID < 0 {
			return 0
		}
		if g == nil && version >= 6 {
			return wire.ErrGroupIDNotFound.Code // KIP-1319; ILLEGAL_GENERATION before
		}
		return wire.ErrIllegalGeneration.Code
	}
	if req.GroupInstanceID != nil {
		for member, instance := range g.members {
			if instance == *req.GroupInstanceID && member != req.MemberID {
				return wire.ErrFencedInstanceID.Code
			}
		}
	}
	if _, ok := g.members[req.MemberID]; !ok && req.MemberID != "" {
		return wire.ErrUnknownMemberID.Code
	}
	if req.GenerationID >= 0 && req.GenerationID != g.generation {
		return wire.ErrIllegalGeneration.Code
	}
	return 0
}
