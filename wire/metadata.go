package wire

// MetadataRequest (key 3) asks a broker for the cluster's brokers and the partition leaders
// of some or all topics.
type MetadataRequest struct {
	// Topics lists the topics wanted. From v1 nil asks for all topics and an empty non-nil
	// slice for none; v0 has no null, so nil and empty are both written as the empty array,
	// which at v0 means all topics (and decodes to nil).
	Topics []MetadataRequestTopic
	// AllowAutoTopicCreation lets the broker create missing topics if it is configured to
	// (v4+). Kafka's default, and the value decoded below v4, is true; Go's zero value is
	// false, so set it explicitly.
	AllowAutoTopicCreation bool
	// IncludeClusterAuthorizedOperations asks for the cluster's authorized operations (v8–10;
	// KIP-700 moved them to DescribeCluster).
	IncludeClusterAuthorizedOperations bool
	// IncludeTopicAuthorizedOperations asks for each topic's authorized operations (v8+).
	IncludeTopicAuthorizedOperations bool
}

// MetadataRequestTopic names one topic of a [MetadataRequest].
type MetadataRequestTopic struct {
	// TopicID is the topic's id (v10+); brokers honour lookups by id from v12.
	TopicID UUID
	// Name is the topic's name, nullable from v10 (when looking up by id). Below v10 a nil
	// Name is written as the empty string.
	Name *string
}

// Key returns [KeyMetadata].
func (*MetadataRequest) Key() int16 { return KeyMetadata }

// AppendTo appends the request body encoded at version.
func (q *MetadataRequest) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeyMetadata, version)
	if q.Topics == nil && version >= 1 {
		dst = AppendArrayLen(dst, -1, flex)
	} else {
		dst = AppendArrayLen(dst, len(q.Topics), flex)
	}
	for i := range q.Topics {
		t := &q.Topics[i]
		if version >= 10 {
			dst = AppendUUID(dst, t.TopicID)
			dst = AppendNullableString(dst, t.Name, flex)
		} else {
			dst = appendStringPtr(dst, t.Name, flex)
		}
		dst = AppendEmptyTags(dst, flex)
	}
	if version >= 4 {
		dst = AppendBool(dst, q.AllowAutoTopicCreation)
	}
	if version >= 8 && version <= 10 {
		dst = AppendBool(dst, q.IncludeClusterAuthorizedOperations)
	}
	if version >= 8 {
		dst = AppendBool(dst, q.IncludeTopicAuthorizedOperations)
	}
	return AppendEmptyTags(dst, flex)
}

// Decode replaces q with the request body decoded from b at version.
func (q *MetadataRequest) Decode(b []byte, version int16) error {
	if err := CheckVersion(KeyMetadata, version); err != nil {
		return err
	}
	flex := IsFlexible(KeyMetadata, version)
	var r Reader
	r.Reset(b)
	minTopic := 2 // a name's length, or its compact length and the tags
	if version >= 10 {
		minTopic += 16
	}
	var n int
	if version >= 1 {
		n = r.ArrayLen(flex, minTopic)
	} else {
		n = r.ArrayLenNonNull(flex, minTopic)
	}
	switch {
	case n < 0:
		q.Topics = nil
	case n == 0 && version >= 1:
		q.Topics = q.Topics[:0]
		if q.Topics == nil {
			q.Topics = []MetadataRequestTopic{}
		}
	default:
		q.Topics = reuseSlice(q.Topics, n)
	}
	for i := range q.Topics {
		t := &q.Topics[i]
		t.TopicID = UUID{}
		if version >= 10 {
			t.TopicID = r.UUID()
			t.Name = r.NullableString(flex)
		} else {
			s := r.String(flex)
			t.Name = &s
		}
		r.Tags(flex, nil)
	}
	q.AllowAutoTopicCreation = true
	if version >= 4 {
		q.AllowAutoTopicCreation = r.Bool()
	}
	q.IncludeClusterAuthorizedOperations = false
	if version >= 8 && version <= 10 {
		q.IncludeClusterAuthorizedOperations = r.Bool()
	}
	q.IncludeTopicAuthorizedOperations = false
	if version >= 8 {
		q.IncludeTopicAuthorizedOperations = r.Bool()
	}
	r.Tags(flex, nil)
	return decodeError(KeyMetadata, version, "request", r.Complete())
}

// AuthorizedOperationsOmitted is the value of MetadataResponse.ClusterAuthorizedOperations
// and MetadataTopic.TopicAuthorizedOperations when they were not requested or not sent: the
// Kafka default, -2147483648.
const AuthorizedOperationsOmitted int32 = -2147483648

// MetadataResponse (key 3) describes the cluster's brokers and the partitions of the topics
// asked for, with their leaders.
type MetadataResponse struct {
	// ThrottleTimeMs is how long the broker throttles this client for a quota violation (v3+).
	ThrottleTimeMs int32
	// Brokers lists the live brokers.
	Brokers []MetadataBroker
	// ClusterID is the id of the cluster (v2+, KIP-78); nil when absent.
	ClusterID *string
	// ControllerID is the id of the controller broker (v1+); -1, the default, when unknown.
	ControllerID int32
	// Topics describes each topic asked for.
	Topics []MetadataTopic
	// ClusterAuthorizedOperations is a bit field of the operations the client may perform on
	// the cluster (v8–10), or [AuthorizedOperationsOmitted].
	ClusterAuthorizedOperations int32
	// ErrorCode is a top-level error (v13+, KIP-1102), such as REBOOTSTRAP_REQUIRED (129).
	ErrorCode int16
}

// MetadataBroker is one broker of a [MetadataResponse].
type MetadataBroker struct {
	NodeID int32
	Host   string
	Port   int32
	// Rack is the broker's rack (v1+), nil when it has none.
	Rack *string
}

// MetadataTopic is one topic of a [MetadataResponse].
type MetadataTopic struct {
	// ErrorCode is the topic-level error.
	ErrorCode int16
	// Name is the topic's name; nullable from v12, for a topic looked up by an unknown id.
	// Below v12 a nil Name is written as the empty string.
	Name *string
	// TopicID is the topic's id (v10+).
	TopicID UUID
	// IsInternal reports an internal topic such as __consumer_offsets (v1+).
	IsInternal bool
	// Partitions describes each partition.
	Partitions []MetadataPartition
	// TopicAuthorizedOperations is a bit field of the operations the client may perform on
	// the topic (v8+), or [AuthorizedOperationsOmitted].
	TopicAuthorizedOperations int32
}

// MetadataPartition is one partition of a [MetadataTopic].
type MetadataPartition struct {
	// ErrorCode is the partition-level error.
	ErrorCode int16
	// PartitionIndex is the partition's number.
	PartitionIndex int32
	// LeaderID is the id of the leader broker, or -1 when there is none.
	LeaderID int32
	// LeaderEpoch is the leader's epoch (v7+); -1, the default, when unknown.
	LeaderEpoch int32
	// ReplicaNodes lists every replica; IsrNodes the in-sync ones.
	ReplicaNodes, IsrNodes []int32
	// OfflineReplicas lists the offline replicas (v5+).
	OfflineReplicas []int32
}

// Key returns [KeyMetadata].
func (*MetadataResponse) Key() int16 { return KeyMetadata }

// AppendTo appends the response body encoded at version.
func (p *MetadataResponse) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeyMetadata, version)
	if version >= 3 {
		dst = AppendInt32(dst, p.ThrottleTimeMs)
	}
	dst = AppendArrayLen(dst, len(p.Brokers), flex)
	for i := range p.Brokers {
		br := &p.Brokers[i]
		dst = AppendInt32(dst, br.NodeID)
		dst = AppendString(dst, br.Host, flex)
		dst = AppendInt32(dst, br.Port)
		if version >= 1 {
			dst = AppendNullableString(dst, br.Rack, flex)
		}
		dst = AppendEmptyTags(dst, flex)
	}
	if version >= 2 {
		dst = AppendNullableString(dst, p.ClusterID, flex)
	}
	if version >= 1 {
		dst = AppendInt32(dst, p.ControllerID)
	}
	dst = AppendArrayLen(dst, len(p.Topics), flex)
	for i := range p.Topics {
		t := &p.Topics[i]
		dst = AppendInt16(dst, t.ErrorCode)
		if version >= 12 {
			dst = AppendNullableString(dst, t.Name, flex)
		} else {
			dst = appendStringPtr(dst, t.Name, flex)
		}
		if version >= 10 {
			dst = AppendUUID(dst, t.TopicID)
		}
		if version >= 1 {
			dst = AppendBool(dst, t.IsInternal)
		}
		dst = AppendArrayLen(dst, len(t.Partitions), flex)
		for j := range t.Partitions {
			pt := &t.Partitions[j]
			dst = AppendInt16(dst, pt.ErrorCode)
			dst = AppendInt32(dst, pt.PartitionIndex)
			dst = AppendInt32(dst, pt.LeaderID)
			if version >= 7 {
				dst = AppendInt32(dst, pt.LeaderEpoch)
			}
			dst = appendInt32Array(dst, pt.ReplicaNodes, flex)
			dst = appendInt32Array(dst, pt.IsrNodes, flex)
			if version >= 5 {
				dst = appendInt32Array(dst, pt.OfflineReplicas, flex)
			}
			dst = AppendEmptyTags(dst, flex)
		}
		if version >= 8 {
			dst = AppendInt32(dst, t.TopicAuthorizedOperations)
		}
		dst = AppendEmptyTags(dst, flex)
	}
	if version >= 8 && version <= 10 {
		dst = AppendInt32(dst, p.ClusterAuthorizedOperations)
	}
	if version >= 13 {
		dst = AppendInt16(dst, p.ErrorCode)
	}
	return AppendEmptyTags(dst, flex)
}

// Decode replaces p with the response body decoded from b at version, reusing p's slices.
// On error p's contents are unspecified.
func (p *MetadataResponse) Decode(b []byte, version int16) error {
	if err := CheckVersion(KeyMetadata, version); err != nil {
		return err
	}
	flex := IsFlexible(KeyMetadata, version)
	var r Reader
	r.Reset(b)
	p.ThrottleTimeMs = 0
	if version >= 3 {
		p.ThrottleTimeMs = r.Int32()
	}
	// Smallest broker: node id, empty host, port, null rack (v1+), tags.
	p.Brokers = reuseSlice(p.Brokers, r.ArrayLenNonNull(flex, 10))
	for i := range p.Brokers {
		br := &p.Brokers[i]
		br.NodeID = r.Int32()
		br.Host = r.String(flex)
		br.Port = r.Int32()
		br.Rack = nil
		if version >= 1 {
			br.Rack = r.NullableString(flex)
		}
		r.Tags(flex, nil)
	}
	p.ClusterID = nil
	if version >= 2 {
		p.ClusterID = r.NullableString(flex)
	}
	p.ControllerID = -1
	if version >= 1 {
		p.ControllerID = r.Int32()
	}
	// Smallest topic: error code, empty name, partition count.
	p.Topics = reuseSlice(p.Topics, r.ArrayLenNonNull(flex, 4))
	for i := range p.Topics {
		t := &p.Topics[i]
		t.ErrorCode = r.Int16()
		if version >= 12 {
			t.Name = r.NullableString(flex)
		} else {
			s := r.String(flex)
			t.Name = &s
		}
		t.TopicID = UUID{}
		if version >= 10 {
			t.TopicID = r.UUID()
		}
		t.IsInternal = false
		if version >= 1 {
			t.IsInternal = r.Bool()
		}
		// Smallest partition: error code, index, leader, two replica counts.
		t.Partitions = reuseSlice(t.Partitions, r.ArrayLenNonNull(flex, 12))
		for j := range t.Partitions {
			pt := &t.Partitions[j]
			pt.ErrorCode = r.Int16()
			pt.PartitionIndex = r.Int32()
			pt.LeaderID = r.Int32()
			pt.LeaderEpoch = -1
			if version >= 7 {
				pt.LeaderEpoch = r.Int32()
			}
			pt.ReplicaNodes = readInt32Array(&r, pt.ReplicaNodes, flex)
			pt.IsrNodes = readInt32Array(&r, pt.IsrNodes, flex)
			if version >= 5 {
				pt.OfflineReplicas = readInt32Array(&r, pt.OfflineReplicas, flex)
			} else {
				pt.OfflineReplicas = nil
			}
			r.Tags(flex, nil)
		}
		t.TopicAuthorizedOperations = AuthorizedOperationsOmitted
		if version >= 8 {
			t.TopicAuthorizedOperations = r.Int32()
		}
		r.Tags(flex, nil)
	}
	p.ClusterAuthorizedOperations = AuthorizedOperationsOmitted
	if version >= 8 && version <= 10 {
		p.ClusterAuthorizedOperations = r.Int32()
	}
	p.ErrorCode = 0
	if version >= 13 {
		p.ErrorCode = r.Int16()
	}
	r.Tags(flex, nil)
	return decodeError(KeyMetadata, version, "response", r.Complete())
}

// appendStringPtr appends *s as a non-null string, or the empty string when s is nil: the
// encoding of a field that is nullable only in later versions.
func appendStringPtr(dst []byte, s *string, flexible bool) []byte {
	if s == nil {
		return AppendString(dst, "", flexible)
	}
	return AppendString(dst, *s, flexible)
}

// appendInt32Array appends a non-nullable array of int32.
func appendInt32Array(dst []byte, a []int32, flexible bool) []byte {
	dst = AppendArrayLen(dst, len(a), flexible)
	for _, v := range a {
		dst = AppendInt32(dst, v)
	}
	return dst
}

// readInt32Array reads a non-nullable array of int32 into s's backing array when it fits.
func readInt32Array(r *Reader, s []int32, flexible bool) []int32 {
	s = reuseSlice(s, r.ArrayLenNonNull(flexible, 4))
	for i := range s {
		s[i] = r.Int32()
	}
	return s
}
