package wire

// TxnOffsetCommitRequest is the body of a TxnOffsetCommit request (key 28, versions 0–6,
// flexible from 3). A transactional producer sends it to a consumer group's coordinator to
// stage offsets for the group in its ongoing transaction: they become the group's committed
// offsets when the transaction commits and are dropped when it aborts. v2 adds each
// partition's leader epoch; v3 the consumer's generation, member id and group instance id,
// so that the coordinator can fence a zombie member (KIP-447); v5 marks a client of
// transactions V2, for which the coordinator adds the group to the transaction itself
// (KIP-890); v6 names topics by id instead of name (KIP-1319).
type TxnOffsetCommitRequest struct {
	// TransactionalID is the producer's transactional.id.
	TransactionalID string
	// GroupID is the consumer group whose offsets are committed.
	GroupID string
	// ProducerID is the producer id from InitProducerId.
	ProducerID int64
	// ProducerEpoch is the producer's current epoch.
	ProducerEpoch int16
	// GenerationID is the consumer's generation (or member epoch), or -1 (v3+).
	GenerationID int32
	// MemberID is the consumer's member id, or "" (v3+).
	MemberID string
	// GroupInstanceID is the consumer's group.instance.id (static membership), or nil (v3+).
	GroupInstanceID *string
	// Topics are the offsets to commit, by topic.
	Topics []TxnOffsetCommitTopic
}

// TxnOffsetCommitTopic holds the offsets of one topic in a [TxnOffsetCommitRequest].
type TxnOffsetCommitTopic struct {
	// Name is the topic name (v0–5).
	Name string
	// TopicID is the topic id (v6+).
	TopicID UUID
	// Partitions are the offsets, by partition.
	Partitions []TxnOffsetCommitPartition
}

// TxnOffsetCommitPartition is the offset of one partition in a [TxnOffsetCommitRequest].
type TxnOffsetCommitPartition struct {
	// PartitionIndex is the partition index.
	PartitionIndex int32
	// CommittedOffset is the offset to commit: the next record the group will consume.
	CommittedOffset int64
	// CommittedLeaderEpoch is the leader epoch of the last consumed record, or -1 (v2+).
	CommittedLeaderEpoch int32
	// CommittedMetadata is any string the client keeps with the offset, or nil.
	CommittedMetadata *string
}

// Key returns [KeyTxnOffsetCommit].
func (*TxnOffsetCommitRequest) Key() int16 { return KeyTxnOffsetCommit }

// AppendTo appends the request body encoded at version to dst. GenerationID, MemberID and
// GroupInstanceID are written only from v3, CommittedLeaderEpoch from v2; topics are named by
// Name up to v5 and by TopicID from v6.
func (m *TxnOffsetCommitRequest) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeyTxnOffsetCommit, version)
	dst = AppendString(dst, m.TransactionalID, flex)
	dst = AppendString(dst, m.GroupID, flex)
	dst = AppendInt64(dst, m.ProducerID)
	dst = AppendInt16(dst, m.ProducerEpoch)
	if version >= 3 {
		dst = AppendInt32(dst, m.GenerationID)
		dst = AppendString(dst, m.MemberID, flex)
		dst = AppendNullableString(dst, m.GroupInstanceID, flex)
	}
	dst = AppendArrayLen(dst, len(m.Topics), flex)
	for i := range m.Topics {
		t := &m.Topics[i]
		if version >= 6 {
			dst = AppendUUID(dst, t.TopicID)
		} else {
			dst = AppendString(dst, t.Name, flex)
		}
		dst = AppendArrayLen(dst, len(t.Partitions), flex)
		for j := range t.Partitions {
			p := &t.Partitions[j]
			dst = AppendInt32(dst, p.PartitionIndex)
			dst = AppendInt64(dst, p.CommittedOffset)
			if version >= 2 {
				dst = AppendInt32(dst, p.CommittedLeaderEpoch)
			}
			dst = AppendNullableString(dst, p.CommittedMetadata, flex)
			dst = AppendEmptyTags(dst, flex)
		}
		dst = AppendEmptyTags(dst, flex)
	}
	return AppendEmptyTags(dst, flex)
}

// Decode replaces m with the request body decoded from b at version. Fields absent at
// version get Kafka's defaults: GenerationID and CommittedLeaderEpoch -1, the others zero.
func (m *TxnOffsetCommitRequest) Decode(b []byte, version int16) error {
	*m = TxnOffsetCommitRequest{GenerationID: -1}
	if err := CheckVersion(KeyTxnOffsetCommit, version); err != nil {
		return err
	}
	flex := IsFlexible(KeyTxnOffsetCommit, version)
	r := NewReader(b)
	m.TransactionalID = r.String(flex)
	m.GroupID = r.String(flex)
	m.ProducerID = r.Int64()
	m.ProducerEpoch = r.Int16()
	if version >= 3 {
		m.GenerationID = r.Int32()
		m.MemberID = r.String(flex)
		m.GroupInstanceID = r.NullableString(flex)
	}
	// name or topic id, partitions, tags
	n := r.ArrayLenNonNull(flex, txnOffsetTopicMinSize(version, flex))
	if n > 0 {
		m.Topics = make([]TxnOffsetCommitTopic, n)
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		t := &m.Topics[i]
		if version >= 6 {
			t.TopicID = r.UUID()
		} else {
			t.Name = r.String(flex)
		}
		// partition index, offset, leader epoch (v2+), metadata, tags
		minSize := 4 + 8 + minLenSize(flex, true) + tagsSize(flex)
		if version >= 2 {
			minSize += 4
		}
		np := r.ArrayLenNonNull(flex, minSize)
		if np > 0 {
			t.Partitions = make([]TxnOffsetCommitPartition, np)
		}
		for j := 0; j < np && r.Err() == nil; j++ {
			p := &t.Partitions[j]
			p.PartitionIndex = r.Int32()
			p.CommittedOffset = r.Int64()
			p.CommittedLeaderEpoch = -1
			if version >= 2 {
				p.CommittedLeaderEpoch = r.Int32()
			}
			p.CommittedMetadata = r.NullableString(flex)
			r.Tags(flex, nil)
		}
		r.Tags(flex, nil)
	}
	r.Tags(flex, nil)
	return decodeError(KeyTxnOffsetCommit, version, "request", r.Complete())
}

// txnOffsetTopicMinSize is the fewest bytes a topic of a TxnOffsetCommit request or response
// takes: its name (or id from v6), its partition array and its tags.
func txnOffsetTopicMinSize(version int16, flex bool) int {
	name := minLenSize(flex, true)
	if version >= 6 {
		name = 16
	}
	return name + minLenSize(flex, false) + tagsSize(flex)
}

// TxnOffsetCommitResponse is the body of a TxnOffsetCommit response (key 28, versions 0–6):
// an error code per partition of the request.
type TxnOffsetCommitResponse struct {
	// ThrottleTimeMs is how long the broker throttled the request for quota, or 0.
	ThrottleTimeMs int32
	// Topics holds the results, by topic.
	Topics []TxnOffsetCommitTopicResult
}

// TxnOffsetCommitTopicResult holds the results for the partitions of one topic.
type TxnOffsetCommitTopicResult struct {
	// Name is the topic name (v0–5).
	Name string
	// TopicID is the topic id (v6+).
	TopicID UUID
	// Partitions holds one result per partition.
	Partitions []TxnOffsetCommitPartitionResult
}

// TxnOffsetCommitPartitionResult is the result for one partition.
type TxnOffsetCommitPartitionResult struct {
	// PartitionIndex is the partition index.
	PartitionIndex int32
	// ErrorCode is 0 or a Kafka error code for this partition; see [ErrorForCode].
	ErrorCode int16
}

// Key returns [KeyTxnOffsetCommit].
func (*TxnOffsetCommitResponse) Key() int16 { return KeyTxnOffsetCommit }

// AppendTo appends the response body encoded at version to dst: topics by Name up to v5, by
// TopicID from v6.
func (m *TxnOffsetCommitResponse) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeyTxnOffsetCommit, version)
	dst = AppendInt32(dst, m.ThrottleTimeMs)
	dst = AppendArrayLen(dst, len(m.Topics), flex)
	for i := range m.Topics {
		t := &m.Topics[i]
		if version >= 6 {
			dst = AppendUUID(dst, t.TopicID)
		} else {
			dst = AppendString(dst, t.Name, flex)
		}
		dst = AppendArrayLen(dst, len(t.Partitions), flex)
		for _, p := range t.Partitions {
			dst = AppendInt32(dst, p.PartitionIndex)
			dst = AppendInt16(dst, p.ErrorCode)
			dst = AppendEmptyTags(dst, flex)
		}
		dst = AppendEmptyTags(dst, flex)
	}
	return AppendEmptyTags(dst, flex)
}

// Decode replaces m with the response body decoded from b at version.
func (m *TxnOffsetCommitResponse) Decode(b []byte, version int16) error {
	*m = TxnOffsetCommitResponse{}
	if err := CheckVersion(KeyTxnOffsetCommit, version); err != nil {
		return err
	}
	flex := IsFlexible(KeyTxnOffsetCommit, version)
	r := NewReader(b)
	m.ThrottleTimeMs = r.Int32()
	n := r.ArrayLenNonNull(flex, txnOffsetTopicMinSize(version, flex))
	if n > 0 {
		m.Topics = make([]TxnOffsetCommitTopicResult, n)
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		t := &m.Topics[i]
		if version >= 6 {
			t.TopicID = r.UUID()
		} else {
			t.Name = r.String(flex)
		}
		// partition index, error code, tags
		np := r.ArrayLenNonNull(flex, 4+2+tagsSize(flex))
		if np > 0 {
			t.Partitions = make([]TxnOffsetCommitPartitionResult, np)
		}
		for j := 0; j < np && r.Err() == nil; j++ {
			t.Partitions[j].PartitionIndex = r.Int32()
			t.Partitions[j].ErrorCode = r.Int16()
			r.Tags(flex, nil)
		}
		r.Tags(flex, nil)
	}
	r.Tags(flex, nil)
	return decodeError(KeyTxnOffsetCommit, version, "response", r.Complete())
}
