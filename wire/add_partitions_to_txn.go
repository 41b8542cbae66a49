package wire

// AddPartitionsToTxnRequest is the body of an AddPartitionsToTxn request (key 24, versions
// 0–5, flexible from 3). A transactional producer sends it to its transaction coordinator
// before the first Produce to a partition in a transaction (without transactions V2, KIP-890).
// Kafka reserves v0–3 for clients, which name one transaction in top-level fields; v4+ is the
// batched form brokers use to verify partitions, with one [AddPartitionsToTxnTransaction] per
// transaction.
type AddPartitionsToTxnRequest struct {
	// TransactionalID is the producer's transactional.id (v0–3).
	TransactionalID string
	// ProducerID is the producer id from InitProducerId (v0–3).
	ProducerID int64
	// ProducerEpoch is the epoch from InitProducerId (v0–3).
	ProducerEpoch int16
	// Topics are the partitions to add, by topic (v0–3).
	Topics []AddPartitionsToTxnTopic

	// Transactions are the transactions to add partitions to (v4+).
	Transactions []AddPartitionsToTxnTransaction
}

// AddPartitionsToTxnTopic names partitions of one topic in an [AddPartitionsToTxnRequest].
type AddPartitionsToTxnTopic struct {
	// Name is the topic name.
	Name string
	// Partitions are the partition indexes.
	Partitions []int32
}

// AddPartitionsToTxnTransaction is one transaction of a v4+ [AddPartitionsToTxnRequest].
type AddPartitionsToTxnTransaction struct {
	// TransactionalID is the transaction's transactional.id.
	TransactionalID string
	// ProducerID is the producer id the transactional id uses.
	ProducerID int64
	// ProducerEpoch is the epoch that goes with ProducerID.
	ProducerEpoch int16
	// VerifyOnly asks the coordinator to check that the partitions are already in the
	// transaction instead of adding them.
	VerifyOnly bool
	// Topics are the partitions, by topic.
	Topics []AddPartitionsToTxnTopic
}

// Key returns [KeyAddPartitionsToTxn].
func (*AddPartitionsToTxnRequest) Key() int16 { return KeyAddPartitionsToTxn }

// AppendTo appends the request body encoded at version to dst: the client form (v0–3) or
// only Transactions (v4+).
func (m *AddPartitionsToTxnRequest) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeyAddPartitionsToTxn, version)
	if version >= 4 {
		dst = AppendArrayLen(dst, len(m.Transactions), flex)
		for i := range m.Transactions {
			t := &m.Transactions[i]
			dst = AppendString(dst, t.TransactionalID, flex)
			dst = AppendInt64(dst, t.ProducerID)
			dst = AppendInt16(dst, t.ProducerEpoch)
			dst = AppendBool(dst, t.VerifyOnly)
			dst = appendTxnTopics(dst, t.Topics, flex)
			dst = AppendEmptyTags(dst, flex)
		}
	} else {
		dst = AppendString(dst, m.TransactionalID, flex)
		dst = AppendInt64(dst, m.ProducerID)
		dst = AppendInt16(dst, m.ProducerEpoch)
		dst = appendTxnTopics(dst, m.Topics, flex)
	}
	return AppendEmptyTags(dst, flex)
}

func appendTxnTopics(dst []byte, topics []AddPartitionsToTxnTopic, flex bool) []byte {
	dst = AppendArrayLen(dst, len(topics), flex)
	for i := range topics {
		dst = AppendString(dst, topics[i].Name, flex)
		dst = appendInt32Array(dst, topics[i].Partitions, flex)
		dst = AppendEmptyTags(dst, flex)
	}
	return dst
}

// Decode replaces m with the request body decoded from b at version. The fields of the other
// form are left zero.
func (m *AddPartitionsToTxnRequest) Decode(b []byte, version int16) error {
	*m = AddPartitionsToTxnRequest{}
	if err := CheckVersion(KeyAddPartitionsToTxn, version); err != nil {
		return err
	}
	flex := IsFlexible(KeyAddPartitionsToTxn, version)
	r := NewReader(b)
	if version >= 4 {
		// transactional id, producer id, epoch, verify only, topics, tags
		n := r.ArrayLenNonNull(flex, minLenSize(flex, true)+8+2+1+minLenSize(flex, false)+tagsSize(flex))
		if n > 0 {
			m.Transactions = make([]AddPartitionsToTxnTransaction, n)
		}
		for i := 0; i < n && r.Err() == nil; i++ {
			t := &m.Transactions[i]
			t.TransactionalID = r.String(flex)
			t.ProducerID = r.Int64()
			t.ProducerEpoch = r.Int16()
			t.VerifyOnly = r.Bool()
			t.Topics = readTxnTopics(r, flex)
			r.Tags(flex, nil)
		}
	} else {
		m.TransactionalID = r.String(flex)
		m.ProducerID = r.Int64()
		m.ProducerEpoch = r.Int16()
		m.Topics = readTxnTopics(r, flex)
	}
	r.Tags(flex, nil)
	return decodeError(KeyAddPartitionsToTxn, version, "request", r.Complete())
}

func readTxnTopics(r *Reader, flex bool) []AddPartitionsToTxnTopic {
	// name, partitions, tags
	n := r.ArrayLenNonNull(flex, minLenSize(flex, true)+minLenSize(flex, false)+tagsSize(flex))
	if n == 0 {
		return nil
	}
	topics := make([]AddPartitionsToTxnTopic, n)
	for i := 0; i < n && r.Err() == nil; i++ {
		topics[i].Name = r.String(flex)
		topics[i].Partitions = readInt32Array(r, nil, flex)
		r.Tags(flex, nil)
	}
	return topics
}

// AddPartitionsToTxnResponse is the body of an AddPartitionsToTxn response (key 24, versions
// 0–5). v0–3 answer the client form with per-topic results; v4+ answer the batched form with a
// top-level error and results per transaction.
type AddPartitionsToTxnResponse struct {
	// ThrottleTimeMs is how long the broker throttled the request for quota, or 0.
	ThrottleTimeMs int32
	// ErrorCode is 0 or a Kafka error code for the whole request (v4+).
	ErrorCode int16
	// ResultsByTransaction holds the results per transaction (v4+).
	ResultsByTransaction []AddPartitionsToTxnResult
	// ResultsByTopicV3AndBelow holds the results per topic (v0–3).
	ResultsByTopicV3AndBelow []AddPartitionsToTxnTopicResult
}

// AddPartitionsToTxnResult holds the results of one transaction in a v4+
// [AddPartitionsToTxnResponse].
type AddPartitionsToTxnResult struct {
	// TransactionalID is the transaction's transactional.id.
	TransactionalID string
	// TopicResults holds the results per topic.
	TopicResults []AddPartitionsToTxnTopicResult
}

// AddPartitionsToTxnTopicResult holds the results for the partitions of one topic.
type AddPartitionsToTxnTopicResult struct {
	// Name is the topic name.
	Name string
	// Results holds one result per partition (Kafka's ResultsByPartition).
	Results []AddPartitionsToTxnPartitionResult
}

// AddPartitionsToTxnPartitionResult is the result for one partition.
type AddPartitionsToTxnPartitionResult struct {
	// PartitionIndex is the partition index.
	PartitionIndex int32
	// ErrorCode is 0 or a Kafka error code for this partition (Kafka's PartitionErrorCode).
	ErrorCode int16
}

// Key returns [KeyAddPartitionsToTxn].
func (*AddPartitionsToTxnResponse) Key() int16 { return KeyAddPartitionsToTxn }

// AppendTo appends the response body encoded at version to dst: ResultsByTopicV3AndBelow up
// to v3, ErrorCode and ResultsByTransaction from v4.
func (m *AddPartitionsToTxnResponse) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeyAddPartitionsToTxn, version)
	dst = AppendInt32(dst, m.ThrottleTimeMs)
	if version >= 4 {
		dst = AppendInt16(dst, m.ErrorCode)
		dst = AppendArrayLen(dst, len(m.ResultsByTransaction), flex)
		for i := range m.ResultsByTransaction {
			t := &m.ResultsByTransaction[i]
			dst = AppendString(dst, t.TransactionalID, flex)
			dst = appendTxnTopicResults(dst, t.TopicResults, flex)
			dst = AppendEmptyTags(dst, flex)
		}
	} else {
		dst = appendTxnTopicResults(dst, m.ResultsByTopicV3AndBelow, flex)
	}
	return AppendEmptyTags(dst, flex)
}

func appendTxnTopicResults(dst []byte, topics []AddPartitionsToTxnTopicResult, flex bool) []byte {
	dst = AppendArrayLen(dst, len(topics), flex)
	for i := range topics {
		t := &topics[i]
		dst = AppendString(dst, t.Name, flex)
		dst = AppendArrayLen(dst, len(t.Results), flex)
		for _, p := range t.Results {
			dst = AppendInt32(dst, p.PartitionIndex)
			dst = AppendInt16(dst, p.ErrorCode)
			dst = AppendEmptyTags(dst, flex)
		}
		dst = AppendEmptyTags(dst, flex)
	}
	return dst
}

// Decode replaces m with the response body decoded from b at version. The fields of the
// other form are left zero.
func (m *AddPartitionsToTxnResponse) Decode(b []byte, version int16) error {
	*m = AddPartitionsToTxnResponse{}
	if err := CheckVersion(KeyAddPartitionsToTxn, version); err != nil {
		return err
	}
	flex := IsFlexible(KeyAddPartitionsToTxn, version)
	r := NewReader(b)
	m.ThrottleTimeMs = r.Int32()
	if version >= 4 {
		m.ErrorCode = r.Int16()
		// transactional id, topic results, tags
		n := r.ArrayLenNonNull(flex, minLenSize(flex, true)+minLenSize(flex, false)+tagsSize(flex))
		if n > 0 {
			m.ResultsByTransaction = make([]AddPartitionsToTxnResult, n)
		}
		for i := 0; i < n && r.Err() == nil; i++ {
			t := &m.ResultsByTransaction[i]
			t.TransactionalID = r.String(flex)
			t.TopicResults = readTxnTopicResults(r, flex)
			r.Tags(flex, nil)
		}
	} else {
		m.ResultsByTopicV3AndBelow = readTxnTopicResults(r, flex)
	}
	r.Tags(flex, nil)
	return decodeError(KeyAddPartitionsToTxn, version, "response", r.Complete())
}

func readTxnTopicResults(r *Reader, flex bool) []AddPartitionsToTxnTopicResult {
	// name, partition results, tags
	n := r.ArrayLenNonNull(flex, minLenSize(flex, true)+minLenSize(flex, false)+tagsSize(flex))
	if n == 0 {
		return nil
	}
	topics := make([]AddPartitionsToTxnTopicResult, n)
	for i := 0; i < n && r.Err() == nil; i++ {
		t := &topics[i]
		t.Name = r.String(flex)
		// partition index, error code, tags
		np := r.ArrayLenNonNull(flex, 4+2+tagsSize(flex))
		if np > 0 {
			t.Results = make([]AddPartitionsToTxnPartitionResult, np)
		}
		for j := 0; j < np && r.Err() == nil; j++ {
			t.Results[j].PartitionIndex = r.Int32()
			t.Results[j].ErrorCode = r.Int16()
			r.Tags(flex, nil)
		}
		r.Tags(flex, nil)
	}
	return topics
}
