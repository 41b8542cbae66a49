package producer

import (
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// Header is a record header: an ordered key/value pair. It is an alias of
// [wire.RecordHeader], whose fields are:
//
//	Key   string // valid UTF-8; need not be unique within a record
//	Value []byte // nil is sent as null, distinct from an empty value
//
// so a header is written producer.Header{Key: "source", Value: []byte("cli")}.
type Header = wire.RecordHeader

// Record is one record to send.
type Record struct {
	// Topic is required.
	Topic string
	// Partition, when set with [ToPartition], chooses the partition and bypasses the
	// partitioner. The zero value lets the partitioner choose.
	Partition PartitionChoice
	// Key is the record key; nil is a null key (distinct from an empty key). Keyed records
	// go to the partition murmur2(key) picks, as the Java client does.
	Key []byte
	// Value is the record value; nil is a null value (a tombstone on compacted topics),
	// distinct from an empty value.
	Value []byte
	// Headers are sent in order.
	Headers []Header
	// Timestamp is the record's CreateTime; the zero value means the time of the send, in
	// milliseconds. While the producer sends more than 200,000 records a second, that time
	// is read from a clock refreshed every millisecond rather than once per record, so it
	// may be up to a millisecond early (more when every CPU is busy).
	Timestamp time.Time
}

// PartitionChoice is an optional partition number; its zero value means "not chosen".
type PartitionChoice struct {
	n   int32
	set bool
}

// ToPartition returns a [PartitionChoice] for partition n.
func ToPartition(n int32) PartitionChoice { return PartitionChoice{n: n, set: true} }

// Get returns the partition and whether one was chosen.
func (c PartitionChoice) Get() (int32, bool) { return c.n, c.set }

// RecordMetadata tells where a record was written.
type RecordMetadata struct {
	Topic     string
	Partition int32
	// Offset is the record's offset in the partition, or -1 when acks=0 (the broker does
	// not answer) or when the broker reported the batch as a duplicate without its offset.
	Offset int64
	// Timestamp is the record's timestamp: its CreateTime, or the broker's LogAppendTime when
	// the topic uses message.timestamp.type=LogAppendTime.
	Timestamp time.Time
}
