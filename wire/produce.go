package wire

// ProduceRequest (key 0) carries record batches to the leader of each partition. gregor
// speaks v3+ (RecordBatch v2); v7 is needed for zstd, v12 for transactions V2 (KIP-890) and
// v13 addresses topics by id.
type ProduceRequest struct {
	// TransactionalID is the producer's transactional.id, nil when not transactional.
	TransactionalID *string
	// Acks is the acks setting: 0, 1 or -1 (all in-sync replicas). With 0 the broker sends
	// no response.
	Acks int16
	// TimeoutMs is how long the broker waits for the acks it was asked for.
	TimeoutMs int32
	// Topics lists the topics produced to.
	Topics []ProduceTopic
}

// ProduceTopic is the data for one topic of a [ProduceRequest].
type ProduceTopic struct {
	// Name is the topic's name (v0–12).
	Name string
	// TopicID is the topic's id (v13+), which replaces Name.
	TopicID UUID
	// Partitions lists the partitions produced to.
	Partitions []ProducePartition
}

// ProducePartition is the data for one partition of a [ProduceTopic].
type ProducePartition struct {
	// Index is the partition's number.
	Index int32
	// Records holds the partition's encoded RecordBatch v2 data (brokers accept exactly one
	// batch per partition from Produce v3), written as raw nullable bytes: nil is written as
	// null. A decoded Records aliases the decoded input and is not parsed.
	Records []byte
}

// Key returns [KeyProduce].
func (*ProduceRequest) Key() int16 { return KeyProduce }

// AppendTo appends the request body encoded at version. It allocates nothing beyond growing
// dst, so a producer reusing its buffer encodes requests without allocating.
func (q *ProduceRequest) AppendTo(dst []byte, version int16) []byte {
	dst, _, _ = q.appendBody(dst, version, false, nil, nil)
	return dst
}

// PieceMin is the size from which [ProduceRequest.AppendPieces] leaves a partition's
// records out of the encoded bytes; smaller ones are cheaper to copy than to write as a
// piece of their own.
const PieceMin = 4 << 10

// AppendPieces is [ProduceRequest.AppendTo] for vectored writes ([PiecewiseRequest]): a
// partition's Records of at least PieceMin bytes is not copied into dst; its length prefix
// is, then the offset in dst where its bytes belong is appended to cuts and the slice to
// refs.
func (q *ProduceRequest) AppendPieces(dst []byte, version int16, cuts []int, refs [][]byte) ([]byte, []int, [][]byte) {
	return q.appendBody(dst, version, true, cuts, refs)
}

func (q *ProduceRequest) appendBody(dst []byte, version int16, split bool, cuts []int, refs [][]byte) ([]byte, []int, [][]byte) {
	flex := IsFlexible(KeyProduce, version)
	if version >= 3 {
		dst = AppendNullableString(dst, q.TransactionalID, flex)
	}
	dst = AppendInt16(dst, q.Acks)
	dst = AppendInt32(dst, q.TimeoutMs)
	dst = AppendArrayLen(dst, len(q.Topics), flex)
	for i := range q.Topics {
		t := &q.Topics[i]
		if version >= 13 {
			dst = AppendUUID(dst, t.TopicID)
		} else {
			dst = AppendString(dst, t.Name, flex)
		}
		dst = AppendArrayLen(dst, len(t.Partitions), flex)
		for j := range t.Partitions {
			pt := &t.Partitions[j]
			dst = AppendInt32(dst, pt.Index)
			if split && len(pt.Records) >= PieceMin {
				if flex { // AppendBytes's length prefix, without the bytes
					dst = AppendUvarint(dst, uint32(len(pt.Records))+1)
				} else {
					dst = AppendInt32(dst, int32(len(pt.Records)))
				}
				cuts = append(cuts, len(dst))
				refs = append(refs, pt.Records)
			} else {
				dst = AppendBytes(dst, pt.Records, flex)
			}
			dst = AppendEmptyTags(dst, flex)
		}
		dst = AppendEmptyTags(dst, flex)
	}
	return AppendEmptyTags(dst, flex), cuts, refs
}

// Decode replaces q with the request body decoded from b at version, reusing q's slices.
// Records alias b; the batches are not parsed. On error q's contents are unspecified.
func (q *ProduceRequest) Decode(b []byte, version int16) error {
	if err := CheckVersion(KeyProduce, version); err != nil {
		return err
	}
	flex := IsFlexible(KeyProduce, version)
	var r Reader
	r.Reset(b)
	q.TransactionalID = nil
	if version >= 3 {
		q.TransactionalID = r.NullableString(flex)
	}
	q.Acks = r.Int16()
	q.TimeoutMs = r.Int32()
	q.Topics = reuseSlice(q.Topics, r.ArrayLenNonNull(flex, produceTopicMinSize(version)))
	for i := range q.Topics {
		t := &q.Topics[i]
		t.Name, t.TopicID = "", UUID{}
		if version >= 13 {
			t.TopicID = r.UUID()
		} else {
			t.Name = r.String(flex)
		}
		// Smallest partition: index, null records, tags.
		t.Partitions = reuseSlice(t.Partitions, r.ArrayLenNonNull(flex, 6))
		for j := range t.Partitions {
			pt := &t.Partitions[j]
			pt.Index = r.Int32()
			pt.Records = r.Bytes(flex)
			r.Tags(flex, nil)
		}
		r.Tags(flex, nil)
	}
	r.Tags(flex, nil)
	return decodeError(KeyProduce, version, "request", r.Complete())
}

// produceTopicMinSize is the smallest encoding of a topic of a Produce request or response:
// an empty name (or a topic id from v13) and an empty partition array, with tags if flexible.
func produceTopicMinSize(version int16) int {
	if version >= 13 {
		return 18
	}
	return 3
}

// ProduceResponse (key 0) reports, for each partition of a [ProduceRequest], where its batch
// was written or why it was not.
type ProduceResponse struct {
	// Topics lists the topics of the request.
	Topics []ProduceTopicResponse
	// ThrottleTimeMs is how long the broker throttles this client for a quota violation (v1+).
	ThrottleTimeMs int32
	// NodeEndpoints gives the address of every new leader named in a partition's
	// CurrentLeader (v10+, tag 0, KIP-951), so the client can move batches without waiting
	// for a metadata refresh.
	NodeEndpoints []NodeEndpoint
}

// ProduceTopicResponse is the result for one topic of a [ProduceResponse].
type ProduceTopicResponse struct {
	// Name is the topic's name (v0–12).
	Name string
	// TopicID is the topic's id (v13+), which replaces Name.
	TopicID UUID
	// Partitions lists the result of each partition.
	Partitions []ProducePartitionResponse
}

// ProducePartitionResponse is the result for one partition of a [ProduceTopicResponse].
type ProducePartitionResponse struct {
	// Index is the partition's number.
	Index int32
	// ErrorCode is the partition's error, 0 when the batch was written.
	ErrorCode int16
	// BaseOffset is the offset given to the batch's first record.
	BaseOffset int64
	// LogAppendTimeMs is the broker's append time when the topic uses LogAppendTime, else -1
	// (v2+; -1 is also the default).
	LogAppendTimeMs int64
	// LogStartOffset is the partition's log start offset (v5+; default -1).
	LogStartOffset int64
	// RecordErrors names the records that made the broker drop the batch (v8+, KIP-467).
	RecordErrors []ProduceRecordError
	// ErrorMessage summarizes why the batch was dropped (v8+), nil when none.
	ErrorMessage *string
	// CurrentLeader is the partition's new leader when ErrorCode is NOT_LEADER_OR_FOLLOWER
	// or FENCED_LEADER_EPOCH (v10+, tag 0, KIP-951). It defaults to {-1, -1}, and is
	// written only when it differs from that.
	CurrentLeader LeaderIDAndEpoch
}

// ProduceRecordError names one record that made a broker drop its batch.
type ProduceRecordError struct {
	// BatchIndex is the record's index within its batch.
	BatchIndex int32
	// BatchIndexErrorMessage says what is wrong with the record, nil when nothing is said.
	BatchIndexErrorMessage *string
}

// LeaderIDAndEpoch is a partition leader as a Produce response names it (KIP-951); -1 in
// either field means unknown.
type LeaderIDAndEpoch struct{ LeaderID, LeaderEpoch int32 }

// NodeEndpoint is the address of a broker named in a [ProduceResponse] (KIP-951).
type NodeEndpoint struct {
	NodeID int32
	Host   string
	Port   int32
	// Rack is the broker's rack, nil when it has none.
	Rack *string
}

// appendNodeEndpointsTag writes the top-level tagged fields of a Produce or Fetch response
// (KIP-951): tag 0, NodeEndpoints, when the version has it (want) and there are any.
func appendNodeEndpointsTag(dst []byte, flex, want bool, eps []NodeEndpoint) []byte {
	if !flex || !want || len(eps) == 0 {
		return AppendEmptyTags(dst, flex)
	}
	dst = AppendUvarint(dst, 1)
	dst = AppendUvarint(dst, 0)
	start := len(dst)
	dst = AppendArrayLen(dst, len(eps), true)
	for i := range eps {
		e := &eps[i]
		dst = AppendInt32(dst, e.NodeID)
		dst = AppendString(dst, e.Host, true)
		dst = AppendInt32(dst, e.Port)
		dst = AppendNullableString(dst, e.Rack, true)
		dst = AppendEmptyTags(dst, true)
	}
	return InsertUvarintLen(dst, start)
}

// readNodeEndpointsTag reads the top-level tagged fields of a Produce or Fetch response, of
// which tag 0 is NodeEndpoints when the version has it (want). It reuses eps' capacity and
// returns nil when there are none.
func readNodeEndpointsTag(r *Reader, flex, want bool, eps []NodeEndpoint) []NodeEndpoint {
	eps = eps[:0]
	r.Tags(flex, func(tag uint32, data []byte) {
		if tag != 0 || !want {
			return
		}
		var sub Reader
		sub.Reset(data)
		// Smallest endpoint: node id, empty host, port, null rack, tags.
		eps = reuseSlice(eps, sub.ArrayLenNonNull(true, 11))
		for i := range eps {
			e := &eps[i]
			e.NodeID = sub.Int32()
			e.Host = sub.String(true)
			e.Port = sub.Int32()
			e.Rack = sub.NullableString(true)
			sub.Tags(true, nil)
		}
		if err := sub.Complete(); err != nil {
			r.Failf("tag %d: %w", tag, err)
		}
	})
	if len(eps) == 0 {
		return nil
	}
	return eps
}

// Key returns [KeyProduce].
func (*ProduceResponse) Key() int16 { return KeyProduce }

// AppendTo appends the response body encoded at version.
func (p *ProduceResponse) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeyProduce, version)
	dst = AppendArrayLen(dst, len(p.Topics), flex)
	for i := range p.Topics {
		t := &p.Topics[i]
		if version >= 13 {
			dst = AppendUUID(dst, t.TopicID)
		} else {
			dst = AppendString(dst, t.Name, flex)
		}
		dst = AppendArrayLen(dst, len(t.Partitions), flex)
		for j := range t.Partitions {
			dst = t.Partitions[j].appendTo(dst, version, flex)
		}
		dst = AppendEmptyTags(dst, flex)
	}
	if version >= 1 {
		dst = AppendInt32(dst, p.ThrottleTimeMs)
	}
	if !flex {
		return dst
	}
	return appendNodeEndpointsTag(dst, flex, version >= 10, p.NodeEndpoints)
}

func (pt *ProducePartitionResponse) appendTo(dst []byte, version int16, flex bool) []byte {
	dst = AppendInt32(dst, pt.Index)
	dst = AppendInt16(dst, pt.ErrorCode)
	dst = AppendInt64(dst, pt.BaseOffset)
	if version >= 2 {
		dst = AppendInt64(dst, pt.LogAppendTimeMs)
	}
	if version >= 5 {
		dst = AppendInt64(dst, pt.LogStartOffset)
	}
	if version >= 8 {
		dst = AppendArrayLen(dst, len(pt.RecordErrors), flex)
		for k := range pt.RecordErrors {
			e := &pt.RecordErrors[k]
			dst = AppendInt32(dst, e.BatchIndex)
			dst = AppendNullableString(dst, e.BatchIndexErrorMessage, flex)
			dst = AppendEmptyTags(dst, flex)
		}
		dst = AppendNullableString(dst, pt.ErrorMessage, flex)
	}
	if !flex {
		return dst
	}
	if version < 10 || pt.CurrentLeader == (LeaderIDAndEpoch{-1, -1}) {
		return AppendEmptyTags(dst, flex)
	}
	dst = AppendUvarint(dst, 1)
	dst = AppendUvarint(dst, 0)
	dst = AppendUvarint(dst, 9) // two int32 and an empty tag section
	dst = AppendInt32(dst, pt.CurrentLeader.LeaderID)
	dst = AppendInt32(dst, pt.CurrentLeader.LeaderEpoch)
	return AppendEmptyTags(dst, true)
}

// Decode replaces p with the response body decoded from b at version. It reuses p's slices
// and keeps a topic's Name string when the name is unchanged, so a producer decoding every
// response into one ProduceResponse does not allocate in the steady state; anything taken
// from a previous decode must therefore be copied before the next. On error p's contents are
// unspecified.
func (p *ProduceResponse) Decode(b []byte, version int16) error {
	if err := CheckVersion(KeyProduce, version); err != nil {
		return err
	}
	flex := IsFlexible(KeyProduce, version)
	var r Reader
	r.Reset(b)
	p.Topics = reuseSlice(p.Topics, r.ArrayLenNonNull(flex, produceTopicMinSize(version)))
	for i := range p.Topics {
		t := &p.Topics[i]
		if version >= 13 {
			t.Name = ""
			t.TopicID = r.UUID()
		} else {
			if name := r.StringBytes(flex); t.Name != string(name) {
				t.Name = string(name)
			}
			t.TopicID = UUID{}
		}
		// Smallest partition: index, error code, base offset, log append time (v2+).
		t.Partitions = reuseSlice(t.Partitions, r.ArrayLenNonNull(flex, 22))
		for j := range t.Partitions {
			t.Partitions[j].decode(&r, version, flex)
		}
		r.Tags(flex, nil)
	}
	p.ThrottleTimeMs = 0
	if version >= 1 {
		p.ThrottleTimeMs = r.Int32()
	}
	p.NodeEndpoints = readNodeEndpointsTag(&r, flex, version >= 10, p.NodeEndpoints)
	return decodeError(KeyProduce, version, "response", r.Complete())
}

func (pt *ProducePartitionResponse) decode(r *Reader, version int16, flex bool) {
	pt.Index = r.Int32()
	pt.ErrorCode = r.Int16()
	pt.BaseOffset = r.Int64()
	pt.LogAppendTimeMs = -1
	if version >= 2 {
		pt.LogAppendTimeMs = r.Int64()
	}
	pt.LogStartOffset = -1
	if version >= 5 {
		pt.LogStartOffset = r.Int64()
	}
	pt.ErrorMessage = nil
	if version >= 8 {
		// Smallest record error: batch index, null message, tags if flexible.
		pt.RecordErrors = reuseSlice(pt.RecordErrors, r.ArrayLenNonNull(flex, 5))
		for k := range pt.RecordErrors {
			e := &pt.RecordErrors[k]
			e.BatchIndex = r.Int32()
			e.BatchIndexErrorMessage = r.NullableString(flex)
			r.Tags(flex, nil)
		}
		pt.ErrorMessage = r.NullableString(flex)
	} else {
		pt.RecordErrors = nil
	}
	pt.CurrentLeader = LeaderIDAndEpoch{-1, -1}
	r.Tags(flex, func(tag uint32, data []byte) {
		if tag != 0 || version < 10 {
			return
		}
		var sub Reader
		sub.Reset(data)
		pt.CurrentLeader.LeaderID = sub.Int32()
		pt.CurrentLeader.LeaderEpoch = sub.Int32()
		sub.Tags(true, nil)
		if err := sub.Complete(); err != nil {
			r.Failf("tag %d: %w", tag, err)
		}
	})
}
