package wire

// Special timestamps of a [ListOffsetsPartition], which ask for an offset other than the
// first at or after a time.
const (
	// ListOffsetsLatest asks for the log end: the high watermark, or the last stable offset
	// for read_committed.
	ListOffsetsLatest int64 = -1
	// ListOffsetsEarliest asks for the log start offset.
	ListOffsetsEarliest int64 = -2
	// ListOffsetsMaxTimestamp asks for the record with the largest timestamp (v7+, KIP-734).
	ListOffsetsMaxTimestamp int64 = -3
	// ListOffsetsEarliestLocal asks for the first offset in local storage (v8+, KIP-405).
	ListOffsetsEarliestLocal int64 = -4
	// ListOffsetsLatestTiered asks for the last offset in tiered storage (v9+, KIP-1005).
	ListOffsetsLatestTiered int64 = -5
	// ListOffsetsEarliestPendingUpload asks for the first offset not yet uploaded to tiered
	// storage (v11+, KIP-1023).
	ListOffsetsEarliestPendingUpload int64 = -6
)

// ListOffsetsRequest (key 2) asks partition leaders for the offset at a time, or for the
// start or end of their log. This package speaks v1–11, the versions Kafka 4 accepts: v2 adds
// the isolation level, v4 the current leader epoch, v6 is flexible, v10 adds TimeoutMs.
type ListOffsetsRequest struct {
	// ReplicaID is the requesting broker's id, -1 for a consumer.
	ReplicaID int32
	// IsolationLevel is [ReadUncommitted] or [ReadCommitted] (v2+).
	IsolationLevel int8
	// Topics lists the topics asked about.
	Topics []ListOffsetsTopic
	// TimeoutMs bounds a lookup in tiered storage (v10+, KIP-1075).
	TimeoutMs int32
}

// ListOffsetsTopic is one topic of a [ListOffsetsRequest].
type ListOffsetsTopic struct {
	Name       string
	Partitions []ListOffsetsPartition
}

// ListOffsetsPartition is one partition of a [ListOffsetsTopic].
type ListOffsetsPartition struct {
	// Index is the partition's number.
	Index int32
	// CurrentLeaderEpoch is the leader epoch the client knows (v4+), -1 for none.
	CurrentLeaderEpoch int32
	// Timestamp is the time (ms) whose first offset is wanted, or one of the special values
	// ([ListOffsetsLatest], [ListOffsetsEarliest], ...).
	Timestamp int64
}

// Key returns [KeyListOffsets].
func (*ListOffsetsRequest) Key() int16 { return KeyListOffsets }

// AppendTo appends the request body encoded at version.
func (q *ListOffsetsRequest) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeyListOffsets, version)
	dst = AppendInt32(dst, q.ReplicaID)
	if version >= 2 {
		dst = AppendInt8(dst, q.IsolationLevel)
	}
	dst = AppendArrayLen(dst, len(q.Topics), flex)
	for i := range q.Topics {
		t := &q.Topics[i]
		dst = AppendString(dst, t.Name, flex)
		dst = AppendArrayLen(dst, len(t.Partitions), flex)
		for _, pt := range t.Partitions {
			dst = AppendInt32(dst, pt.Index)
			if version >= 4 {
				dst = AppendInt32(dst, pt.CurrentLeaderEpoch)
			}
			dst = AppendInt64(dst, pt.Timestamp)
			dst = AppendEmptyTags(dst, flex)
		}
		dst = AppendEmptyTags(dst, flex)
	}
	if version >= 10 {
		dst = AppendInt32(dst, q.TimeoutMs)
	}
	return AppendEmptyTags(dst, flex)
}

// Decode replaces q with the request body decoded from b at version, reusing q's slices.
// Fields absent at version get Kafka's defaults. On error q's contents are unspecified.
func (q *ListOffsetsRequest) Decode(b []byte, version int16) error {
	if err := CheckVersion(KeyListOffsets, version); err != nil {
		return err
	}
	flex := IsFlexible(KeyListOffsets, version)
	var r Reader
	r.Reset(b)
	q.ReplicaID = r.Int32()
	q.IsolationLevel = 0
	if version >= 2 {
		q.IsolationLevel = r.Int8()
	}
	q.Topics = reuseSlice(q.Topics, r.ArrayLenNonNull(flex, 3))
	for i := range q.Topics {
		t := &q.Topics[i]
		t.Name = r.String(flex)
		// Smallest partition: index and timestamp.
		t.Partitions = reuseSlice(t.Partitions, r.ArrayLenNonNull(flex, 12))
		for j := range t.Partitions {
			pt := &t.Partitions[j]
			pt.Index = r.Int32()
			pt.CurrentLeaderEpoch = -1
			if version >= 4 {
				pt.CurrentLeaderEpoch = r.Int32()
			}
			pt.Timestamp = r.Int64()
			r.Tags(flex, nil)
		}
		r.Tags(flex, nil)
	}
	q.TimeoutMs = 0
	if version >= 10 {
		q.TimeoutMs = r.Int32()
	}
	r.Tags(flex, nil)
	return decodeError(KeyListOffsets, version, "request", r.Complete())
}

// ListOffsetsResponse (key 2) answers a [ListOffsetsRequest] partition by partition.
type ListOffsetsResponse struct {
	// ThrottleTimeMs is how long the broker throttles this client for a quota violation (v2+).
	ThrottleTimeMs int32
	// Topics lists the topics answered.
	Topics []ListOffsetsTopicResponse
}

// ListOffsetsTopicResponse is one topic of a [ListOffsetsResponse].
type ListOffsetsTopicResponse struct {
	Name       string
	Partitions []ListOffsetsPartitionResponse
}

// ListOffsetsPartitionResponse is one partition of a [ListOffsetsTopicResponse].
type ListOffsetsPartitionResponse struct {
	// Index is the partition's number.
	Index int32
	// ErrorCode is the partition's error, 0 when Offset is valid.
	ErrorCode int16
	// Timestamp is the timestamp of the record at Offset, -1 for none.
	Timestamp int64
	// Offset is the offset found, -1 for none.
	Offset int64
	// LeaderEpoch is the leader epoch of the record at Offset (v4+), -1 for none.
	LeaderEpoch int32
}

// Key returns [KeyListOffsets].
func (*ListOffsetsResponse) Key() int16 { return KeyListOffsets }

// AppendTo appends the response body encoded at version.
func (p *ListOffsetsResponse) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeyListOffsets, version)
	if version >= 2 {
		dst = AppendInt32(dst, p.ThrottleTimeMs)
	}
	dst = AppendArrayLen(dst, len(p.Topics), flex)
	for i := range p.Topics {
		t := &p.Topics[i]
		dst = AppendString(dst, t.Name, flex)
		dst = AppendArrayLen(dst, len(t.Partitions), flex)
		for _, pt := range t.Partitions {
			dst = AppendInt32(dst, pt.Index)
			dst = AppendInt16(dst, pt.ErrorCode)
			dst = AppendInt64(dst, pt.Timestamp)
			dst = AppendInt64(dst, pt.Offset)
			if version >= 4 {
				dst = AppendInt32(dst, pt.LeaderEpoch)
			}
			dst = AppendEmptyTags(dst, flex)
		}
		dst = AppendEmptyTags(dst, flex)
	}
	return AppendEmptyTags(dst, flex)
}

// Decode replaces p with the response body decoded from b at version, reusing p's slices.
// On error p's contents are unspecified.
func (p *ListOffsetsResponse) Decode(b []byte, version int16) error {
	if err := CheckVersion(KeyListOffsets, version); err != nil {
		return err
	}
	flex := IsFlexible(KeyListOffsets, version)
	var r Reader
	r.Reset(b)
	p.ThrottleTimeMs = 0
	if version >= 2 {
		p.ThrottleTimeMs = r.Int32()
	}
	p.Topics = reuseSlice(p.Topics, r.ArrayLenNonNull(flex, 3))
	for i := range p.Topics {
		t := &p.Topics[i]
		t.Name = r.String(flex)
		// Smallest partition: index, error, timestamp, offset.
		t.Partitions = reuseSlice(t.Partitions, r.ArrayLenNonNull(flex, 22))
		for j := range t.Partitions {
			pt := &t.Partitions[j]
			pt.Index = r.Int32()
			pt.ErrorCode = r.Int16()
			pt.Timestamp = r.Int64()
			pt.Offset = r.Int64()
			pt.LeaderEpoch = -1
			if version >= 4 {
				pt.LeaderEpoch = r.Int32()
			}
			r.Tags(flex, nil)
		}
		r.Tags(flex, nil)
	}
	r.Tags(flex, nil)
	return decodeError(KeyListOffsets, version, "response", r.Complete())
}
