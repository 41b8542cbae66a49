package wire

import "math"

// Isolation levels of Fetch and ListOffsets requests (KIP-98).
const (
	// ReadUncommitted makes every record up to the high watermark visible.
	ReadUncommitted int8 = 0
	// ReadCommitted makes records visible only up to the last stable offset, and has the
	// broker list the aborted transactions so the consumer can drop their records.
	ReadCommitted int8 = 1
)

// FetchRequest (key 1) asks partition leaders for record batches from given offsets. This
// package speaks v4–18, the versions Kafka 4 accepts: v4 reads RecordBatch v2 and has the
// isolation level, v7 fetch sessions (KIP-227), v12 is flexible, v13 addresses topics by id.
type FetchRequest struct {
	// ClusterID is the cluster the requester believes it talks to, nil when unknown (v12+,
	// tag 0).
	ClusterID *string
	// ReplicaID is the fetching follower's broker id, -1 for a consumer (v4–14; -1 from v15).
	ReplicaID int32
	// ReplicaState is the fetching follower's id and broker epoch (v15+, tag 1); {-1, -1}
	// for a consumer, and written only when it differs from that.
	ReplicaState FetchReplicaState
	// MaxWaitMs is how long the broker may wait for MinBytes to become available.
	MaxWaitMs int32
	// MinBytes is the least data the broker should gather before it answers.
	MinBytes int32
	// MaxBytes bounds the whole response's record data (KIP-74; the first batch is sent
	// even when larger).
	MaxBytes int32
	// IsolationLevel is [ReadUncommitted] or [ReadCommitted].
	IsolationLevel int8
	// SessionID is the fetch session (v7+, KIP-227), 0 for none.
	SessionID int32
	// SessionEpoch is the fetch session epoch (v7+): -1 for a full fetch without a session,
	// 0 to ask for a new session. It is -1 below v7.
	SessionEpoch int32
	// Topics lists the topics fetched.
	Topics []FetchTopic
	// ForgottenTopics lists partitions an incremental fetch removes from its session (v7+).
	ForgottenTopics []FetchForgottenTopic
	// RackID is the consumer's rack (v11+), for follower fetching (KIP-392).
	RackID string
}

// FetchReplicaState is the state of a fetching follower (KIP-903).
type FetchReplicaState struct {
	ReplicaID    int32
	ReplicaEpoch int64
}

// FetchTopic is one topic of a [FetchRequest].
type FetchTopic struct {
	// Name is the topic's name (v4–12).
	Name string
	// TopicID is the topic's id (v13+), which replaces Name.
	TopicID UUID
	// Partitions lists the partitions fetched.
	Partitions []FetchPartition
}

// FetchPartition is one partition of a [FetchTopic].
type FetchPartition struct {
	// Index is the partition's number.
	Index int32
	// CurrentLeaderEpoch is the leader epoch the client knows (v9+, KIP-320), -1 for none.
	CurrentLeaderEpoch int32
	// FetchOffset is the offset to read from.
	FetchOffset int64
	// LastFetchedEpoch is the leader epoch of the last batch fetched (v12+), -1 for none.
	LastFetchedEpoch int32
	// LogStartOffset is a follower's log start offset (v5+), -1 from a consumer.
	LogStartOffset int64
	// PartitionMaxBytes bounds this partition's record data (the first batch is sent even
	// when larger).
	PartitionMaxBytes int32
	// ReplicaDirectoryID is a follower's log directory (v17+, tag 0), zero when unset.
	ReplicaDirectoryID UUID
	// HighWatermark is the high watermark a follower knows (v18+, tag 1, KIP-1166);
	// math.MaxInt64, its default, is not written.
	HighWatermark int64
}

// FetchForgottenTopic lists partitions removed from a fetch session.
type FetchForgottenTopic struct {
	// Name is the topic's name (v7–12).
	Name string
	// TopicID is the topic's id (v13+).
	TopicID UUID
	// Partitions are the partitions removed.
	Partitions []int32
}

// Key returns [KeyFetch].
func (*FetchRequest) Key() int16 { return KeyFetch }

// AppendTo appends the request body encoded at version.
func (q *FetchRequest) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeyFetch, version)
	if version <= 14 {
		dst = AppendInt32(dst, q.ReplicaID)
	}
	dst = AppendInt32(dst, q.MaxWaitMs)
	dst = AppendInt32(dst, q.MinBytes)
	dst = AppendInt32(dst, q.MaxBytes)
	dst = AppendInt8(dst, q.IsolationLevel)
	if version >= 7 {
		dst = AppendInt32(dst, q.SessionID)
		dst = AppendInt32(dst, q.SessionEpoch)
	}
	dst = AppendArrayLen(dst, len(q.Topics), flex)
	for i := range q.Topics {
		t := &q.Topics[i]
		dst = appendTopicRef(dst, t.Name, t.TopicID, version, flex)
		dst = AppendArrayLen(dst, len(t.Partitions), flex)
		for j := range t.Partitions {
			dst = t.Partitions[j].appendTo(dst, version, flex)
		}
		dst = AppendEmptyTags(dst, flex)
	}
	if version >= 7 {
		dst = AppendArrayLen(dst, len(q.ForgottenTopics), flex)
		for i := range q.ForgottenTopics {
			t := &q.ForgottenTopics[i]
			dst = appendTopicRef(dst, t.Name, t.TopicID, version, flex)
			dst = AppendArrayLen(dst, len(t.Partitions), flex)
			for _, p := range t.Partitions {
				dst = AppendInt32(dst, p)
			}
			dst = AppendEmptyTags(dst, flex)
		}
	}
	if version >= 11 {
		dst = AppendString(dst, q.RackID, flex)
	}
	if !flex {
		return dst
	}
	n := 0
	if q.ClusterID != nil {
		n++
	}
	state := version >= 15 && q.ReplicaState != (FetchReplicaState{-1, -1})
	if state {
		n++
	}
	dst = AppendUvarint(dst, uint32(n))
	if q.ClusterID != nil {
		dst = AppendUvarint(dst, 0)
		start := len(dst)
		dst = AppendNullableString(dst, q.ClusterID, true)
		dst = InsertUvarintLen(dst, start)
	}
	if state {
		dst = AppendUvarint(dst, 1)
		dst = AppendUvarint(dst, 13) // int32, int64 and an empty tag section
		dst = AppendInt32(dst, q.ReplicaState.ReplicaID)
		dst = AppendInt64(dst, q.ReplicaState.ReplicaEpoch)
		dst = AppendEmptyTags(dst, true)
	}
	return dst
}

// appendTopicRef appends a topic's name, or from v13 its id, as Fetch messages refer to it.
func appendTopicRef(dst []byte, name string, id UUID, version int16, flex bool) []byte {
	if version >= 13 {
		return AppendUUID(dst, id)
	}
	return AppendString(dst, name, flex)
}

func (pt *FetchPartition) appendTo(dst []byte, version int16, flex bool) []byte {
	dst = AppendInt32(dst, pt.Index)
	if version >= 9 {
		dst = AppendInt32(dst, pt.CurrentLeaderEpoch)
	}
	dst = AppendInt64(dst, pt.FetchOffset)
	if version >= 12 {
		dst = AppendInt32(dst, pt.LastFetchedEpoch)
	}
	if version >= 5 {
		dst = AppendInt64(dst, pt.LogStartOffset)
	}
	dst = AppendInt32(dst, pt.PartitionMaxBytes)
	if !flex {
		return dst
	}
	dir := version >= 17 && pt.ReplicaDirectoryID != (UUID{})
	hw := version >= 18 && pt.HighWatermark != math.MaxInt64
	n := 0
	if dir {
		n++
	}
	if hw {
		n++
	}
	dst = AppendUvarint(dst, uint32(n))
	if dir {
		dst = AppendUvarint(dst, 0)
		dst = AppendUvarint(dst, 16)
		dst = AppendUUID(dst, pt.ReplicaDirectoryID)
	}
	if hw {
		dst = AppendUvarint(dst, 1)
		dst = AppendUvarint(dst, 8)
		dst = AppendInt64(dst, pt.HighWatermark)
	}
	return dst
}

// fetchTopicMinSize is the smallest encoding of a topic of a Fetch request or response: an
// empty name (or a topic id from v13) and an empty partition array, with tags if flexible.
func fetchTopicMinSize(version int16) int {
	if version >= 13 {
		return 18
	}
	return 3
}

// Decode replaces q with the request body decoded from b at version, reusing q's slices.
// Fields absent at version get Kafka's defaults. On error q's contents are unspecified.
func (q *FetchRequest) Decode(b []byte, version int16) error {
	if err := CheckVersion(KeyFetch, version); err != nil {
		return err
	}
	flex := IsFlexible(KeyFetch, version)
	var r Reader
	r.Reset(b)
	q.ReplicaID = -1
	if version <= 14 {
		q.ReplicaID = r.Int32()
	}
	q.MaxWaitMs = r.Int32()
	q.MinBytes = r.Int32()
	q.MaxBytes = r.Int32()
	q.IsolationLevel = r.Int8()
	q.SessionID, q.SessionEpoch = 0, -1
	if version >= 7 {
		q.SessionID = r.Int32()
		q.SessionEpoch = r.Int32()
	}
	q.Topics = reuseSlice(q.Topics, r.ArrayLenNonNull(flex, fetchTopicMinSize(version)))
	for i := range q.Topics {
		t := &q.Topics[i]
		t.Name, t.TopicID = decodeTopicRef(&r, version, flex)
		// Smallest partition: index, fetch offset, partition max bytes (16 bytes at v4).
		t.Partitions = reuseSlice(t.Partitions, r.ArrayLenNonNull(flex, 16))
		for j := range t.Partitions {
			t.Partitions[j].decode(&r, version, flex)
		}
		r.Tags(flex, nil)
	}
	q.ForgottenTopics = q.ForgottenTopics[:0]
	if version >= 7 {
		q.ForgottenTopics = reuseSlice(q.ForgottenTopics, r.ArrayLenNonNull(flex, fetchTopicMinSize(version)))
		for i := range q.ForgottenTopics {
			t := &q.ForgottenTopics[i]
			t.Name, t.TopicID = decodeTopicRef(&r, version, flex)
			t.Partitions = reuseSlice(t.Partitions, r.ArrayLenNonNull(flex, 4))
			for j := range t.Partitions {
				t.Partitions[j] = r.Int32()
			}
			r.Tags(flex, nil)
		}
	}
	if len(q.ForgottenTopics) == 0 {
		q.ForgottenTopics = nil
	}
	q.RackID = ""
	if version >= 11 {
		q.RackID = r.String(flex)
	}
	q.ClusterID = nil
	q.ReplicaState = FetchReplicaState{-1, -1}
	r.Tags(flex, func(tag uint32, data []byte) {
		var sub Reader
		sub.Reset(data)
		switch {
		case tag == 0:
			q.ClusterID = sub.NullableString(true)
		case tag == 1 && version >= 15:
			q.ReplicaState.ReplicaID = sub.Int32()
			q.ReplicaState.ReplicaEpoch = sub.Int64()
			sub.Tags(true, nil)
		default:
			return
		}
		if err := sub.Complete(); err != nil {
			r.Failf("tag %d: %w", tag, err)
		}
	})
	return decodeError(KeyFetch, version, "request", r.Complete())
}

// decodeTopicRef reads a topic's name, or from v13 its id.
func decodeTopicRef(r *Reader, version int16, flex bool) (string, UUID) {
	if version >= 13 {
		return "", r.UUID()
	}
	return r.String(flex), UUID{}
}

func (pt *FetchPartition) decode(r *Reader, version int16, flex bool) {
	pt.Index = r.Int32()
	pt.CurrentLeaderEpoch = -1
	if version >= 9 {
		pt.CurrentLeaderEpoch = r.Int32()
	}
	pt.FetchOffset = r.Int64()
	pt.LastFetchedEpoch = -1
	if version >= 12 {
		pt.LastFetchedEpoch = r.Int32()
	}
	pt.LogStartOffset = -1
	if version >= 5 {
		pt.LogStartOffset = r.Int64()
	}
	pt.PartitionMaxBytes = r.Int32()
	pt.ReplicaDirectoryID = UUID{}
	pt.HighWatermark = math.MaxInt64
	r.Tags(flex, func(tag uint32, data []byte) {
		var sub Reader
		sub.Reset(data)
		switch {
		case tag == 0 && version >= 17:
			pt.ReplicaDirectoryID = sub.UUID()
		case tag == 1 && version >= 18:
			pt.HighWatermark = sub.Int64()
		default:
			return
		}
		if err := sub.Complete(); err != nil {
			r.Failf("tag %d: %w", tag, err)
		}
	})
}

// FetchResponse (key 1) carries, for each partition of a [FetchRequest], its record batches
// and where its log stands.
type FetchResponse struct {
	// ThrottleTimeMs is how long the broker throttles this client for a quota violation.
	ThrottleTimeMs int32
	// ErrorCode is the error of the whole request (v7+), such as FETCH_SESSION_ID_NOT_FOUND.
	ErrorCode int16
	// SessionID is the fetch session (v7+), 0 when the broker created none.
	SessionID int32
	// Topics lists the topics answered.
	Topics []FetchTopicResponse
	// NodeEndpoints gives the address of every leader named in a partition's CurrentLeader
	// (v16+, tag 0, KIP-951).
	NodeEndpoints []NodeEndpoint
}

// FetchTopicResponse is one topic of a [FetchResponse].
type FetchTopicResponse struct {
	// Name is the topic's name (v4–12).
	Name string
	// TopicID is the topic's id (v13+), which replaces Name.
	TopicID UUID
	// Partitions lists the partitions answered.
	Partitions []FetchPartitionResponse
}

// FetchPartitionResponse is one partition of a [FetchTopicResponse].
type FetchPartitionResponse struct {
	// Index is the partition's number.
	Index int32
	// ErrorCode is the partition's error, 0 when its data follows.
	ErrorCode int16
	// HighWatermark is the offset after the last record a consumer may read uncommitted.
	HighWatermark int64
	// LastStableOffset is the offset below which every transaction is decided: the end of
	// what a read_committed consumer may read.
	LastStableOffset int64
	// LogStartOffset is the partition's first offset (v5+; default -1).
	LogStartOffset int64
	// DivergingEpoch tells a follower where its log diverges (v12+, tag 0); {-1, -1}, its
	// default, is not written.
	DivergingEpoch FetchEpochEndOffset
	// CurrentLeader is the partition's leader when ErrorCode is NOT_LEADER_OR_FOLLOWER or
	// FENCED_LEADER_EPOCH (v12+, tag 1, KIP-951); {-1, -1}, its default, is not written.
	CurrentLeader LeaderIDAndEpoch
	// SnapshotID names the snapshot a follower must fetch (v12+, tag 2); {-1, -1}, its
	// default, is not written.
	SnapshotID FetchSnapshotID
	// AbortedTransactions lists the aborted transactions with records in Records, for a
	// read_committed fetch; nil (null) for read_uncommitted.
	AbortedTransactions []FetchAbortedTransaction
	// PreferredReadReplica is the replica the consumer should fetch from instead (v11+,
	// KIP-392), -1 for the leader.
	PreferredReadReplica int32
	// Records holds the record batches, as raw nullable bytes: nil is written as null. A
	// decoded Records aliases the decoded input; the batches are not parsed, and the last may
	// be cut short (KIP-74), which a consumer must tolerate.
	Records []byte
}

// FetchEpochEndOffset is a leader epoch and its end offset.
type FetchEpochEndOffset struct {
	Epoch     int32
	EndOffset int64
}

// FetchSnapshotID names a snapshot by its end offset and epoch.
type FetchSnapshotID struct {
	EndOffset int64
	Epoch     int32
}

// FetchAbortedTransaction is one aborted transaction of a [FetchPartitionResponse]: its
// producer and its first offset in the partition.
type FetchAbortedTransaction struct {
	ProducerID  int64
	FirstOffset int64
}

// Key returns [KeyFetch].
func (*FetchResponse) Key() int16 { return KeyFetch }

// AppendTo appends the response body encoded at version.
func (p *FetchResponse) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeyFetch, version)
	dst = AppendInt32(dst, p.ThrottleTimeMs)
	if version >= 7 {
		dst = AppendInt16(dst, p.ErrorCode)
		dst = AppendInt32(dst, p.SessionID)
	}
	dst = AppendArrayLen(dst, len(p.Topics), flex)
	for i := range p.Topics {
		t := &p.Topics[i]
		dst = appendTopicRef(dst, t.Name, t.TopicID, version, flex)
		dst = AppendArrayLen(dst, len(t.Partitions), flex)
		for j := range t.Partitions {
			dst = t.Partitions[j].appendTo(dst, version, flex)
		}
		dst = AppendEmptyTags(dst, flex)
	}
	return appendNodeEndpointsTag(dst, flex, version >= 16, p.NodeEndpoints)
}

func (pt *FetchPartitionResponse) appendTo(dst []byte, version int16, flex bool) []byte {
	dst = AppendInt32(dst, pt.Index)
	dst = AppendInt16(dst, pt.ErrorCode)
	dst = AppendInt64(dst, pt.HighWatermark)
	dst = AppendInt64(dst, pt.LastStableOffset)
	if version >= 5 {
		dst = AppendInt64(dst, pt.LogStartOffset)
	}
	if pt.AbortedTransactions == nil {
		dst = AppendArrayLen(dst, -1, flex)
	} else {
		dst = AppendArrayLen(dst, len(pt.AbortedTransactions), flex)
	}
	for _, a := range pt.AbortedTransactions {
		dst = AppendInt64(dst, a.ProducerID)
		dst = AppendInt64(dst, a.FirstOffset)
		dst = AppendEmptyTags(dst, flex)
	}
	if version >= 11 {
		dst = AppendInt32(dst, pt.PreferredReadReplica)
	}
	dst = AppendBytes(dst, pt.Records, flex)
	if !flex {
		return dst
	}
	diverging := pt.DivergingEpoch != (FetchEpochEndOffset{-1, -1})
	leader := pt.CurrentLeader != (LeaderIDAndEpoch{-1, -1})
	snapshot := pt.SnapshotID != (FetchSnapshotID{-1, -1})
	n := 0
	for _, set := range [...]bool{diverging, leader, snapshot} {
		if set {
			n++
		}
	}
	dst = AppendUvarint(dst, uint32(n))
	if diverging {
		dst = AppendUvarint(dst, 0)
		dst = AppendUvarint(dst, 13) // int32, int64 and an empty tag section
		dst = AppendInt32(dst, pt.DivergingEpoch.Epoch)
		dst = AppendInt64(dst, pt.DivergingEpoch.EndOffset)
		dst = AppendEmptyTags(dst, true)
	}
	if leader {
		dst = AppendUvarint(dst, 1)
		dst = AppendUvarint(dst, 9) // two int32 and an empty tag section
		dst = AppendInt32(dst, pt.CurrentLeader.LeaderID)
		dst = AppendInt32(dst, pt.CurrentLeader.LeaderEpoch)
		dst = AppendEmptyTags(dst, true)
	}
	if snapshot {
		dst = AppendUvarint(dst, 2)
		dst = AppendUvarint(dst, 13) // int64, int32 and an empty tag section
		dst = AppendInt64(dst, pt.SnapshotID.EndOffset)
		dst = AppendInt32(dst, pt.SnapshotID.Epoch)
		dst = AppendEmptyTags(dst, true)
	}
	return dst
}

// Decode replaces p with the response body decoded from b at version, reusing p's slices.
// Records alias b. On error p's contents are unspecified.
func (p *FetchResponse) Decode(b []byte, version int16) error {
	if err := CheckVersion(KeyFetch, version); err != nil {
		return err
	}
	flex := IsFlexible(KeyFetch, version)
	var r Reader
	r.Reset(b)
	p.ThrottleTimeMs = r.Int32()
	p.ErrorCode, p.SessionID = 0, 0
	if version >= 7 {
		p.ErrorCode = r.Int16()
		p.SessionID = r.Int32()
	}
	p.Topics = reuseSlice(p.Topics, r.ArrayLenNonNull(flex, fetchTopicMinSize(version)))
	for i := range p.Topics {
		t := &p.Topics[i]
		t.Name, t.TopicID = decodeTopicRef(&r, version, flex)
		// Smallest partition: index, error, high watermark, last stable offset, null
		// aborted transactions (one byte when flexible) and null records.
		t.Partitions = reuseSlice(t.Partitions, r.ArrayLenNonNull(flex, 24))
		for j := range t.Partitions {
			t.Partitions[j].decode(&r, version, flex)
		}
		r.Tags(flex, nil)
	}
	p.NodeEndpoints = readNodeEndpointsTag(&r, flex, version >= 16, p.NodeEndpoints)
	return decodeError(KeyFetch, version, "response", r.Complete())
}

func (pt *FetchPartitionResponse) decode(r *Reader, version int16, flex bool) {
	pt.Index = r.Int32()
	pt.ErrorCode = r.Int16()
	pt.HighWatermark = r.Int64()
	pt.LastStableOffset = r.Int64()
	pt.LogStartOffset = -1
	if version >= 5 {
		pt.LogStartOffset = r.Int64()
	}
	n := r.ArrayLen(flex, 16)
	switch {
	case n < 0:
		pt.AbortedTransactions = nil
	case n == 0:
		pt.AbortedTransactions = pt.AbortedTransactions[:0]
		if pt.AbortedTransactions == nil {
			pt.AbortedTransactions = []FetchAbortedTransaction{}
		}
	default:
		pt.AbortedTransactions = reuseSlice(pt.AbortedTransactions, n)
		for k := range pt.AbortedTransactions {
			a := &pt.AbortedTransactions[k]
			a.ProducerID = r.Int64()
			a.FirstOffset = r.Int64()
			r.Tags(flex, nil)
		}
	}
	pt.PreferredReadReplica = -1
	if version >= 11 {
		pt.PreferredReadReplica = r.Int32()
	}
	pt.Records = r.Bytes(flex)
	pt.DivergingEpoch = FetchEpochEndOffset{-1, -1}
	pt.CurrentLeader = LeaderIDAndEpoch{-1, -1}
	pt.SnapshotID = FetchSnapshotID{-1, -1}
	r.Tags(flex, func(tag uint32, data []byte) {
		var sub Reader
		sub.Reset(data)
		switch tag {
		case 0:
			pt.DivergingEpoch.Epoch = sub.Int32()
			pt.DivergingEpoch.EndOffset = sub.Int64()
		case 1:
			pt.CurrentLeader.LeaderID = sub.Int32()
			pt.CurrentLeader.LeaderEpoch = sub.Int32()
		case 2:
			pt.SnapshotID.EndOffset = sub.Int64()
			pt.SnapshotID.Epoch = sub.Int32()
		default:
			return
		}
		sub.Tags(true, nil)
		if err := sub.Complete(); err != nil {
			r.Failf("tag %d: %w", tag, err)
		}
	})
}
