package producer

import (
	"errors"
	"fmt"

	"github.com/gregor-kafka/producer/wire"
)

// Errors for local conditions. Errors from brokers are [wire.Error] values (see [KafkaError]),
// wrapped with the topic and partition they concern; test them with errors.Is.
var (
	// ErrClosed is returned by sends on a closed producer, and given to records that were
	// still buffered when Close gave up waiting.
	ErrClosed = errors.New("producer: closed")
	// ErrRecordTooLarge is returned when a record, encoded, is larger than max.request.size
	// or buffer.memory. Nothing is enqueued.
	ErrRecordTooLarge = errors.New("producer: record too large")
	// ErrBufferFull is returned when buffer.memory stayed full for max.block.ms.
	ErrBufferFull = errors.New("producer: buffer.memory full")
	// ErrTimeout is returned when a record could not be delivered within delivery.timeout.ms,
	// or topic metadata did not arrive within max.block.ms.
	ErrTimeout = errors.New("producer: timed out")
	// ErrInvalidRecord is returned for a record the producer refuses before sending it: an
	// empty topic, a header key that is not valid UTF-8, a partition out of range.
	ErrInvalidRecord = errors.New("producer: invalid record")
	// ErrInCallback is returned by Flush, CommitTransaction and AbortTransaction called
	// from a callback or a hook: they wait for callbacks to run, and the callbacks' goroutine
	// would be waiting for itself (Java's flush from a callback fails the same way).
	ErrInCallback = errors.New("producer: called from a callback or hook, where it would wait for itself")
)

// KafkaError is the type of the error codes brokers return, such as
// [wire.ErrNotLeaderOrFollower]. It is an alias so that callers need not import wire:
//
//	var kerr *producer.KafkaError
//	if errors.As(err, &kerr) && kerr.Retriable { ... }
type KafkaError = wire.Error

// PartitionError is the error of a record that failed: the partition it was for and why.
type PartitionError struct {
	Topic     string
	Partition int32
	Err       error
}

// Error returns a message naming the topic and partition.
func (e *PartitionError) Error() string {
	return fmt.Sprintf("producer: topic %q partition %d: %v", e.Topic, e.Partition, e.Err)
}

// Unwrap returns the cause.
func (e *PartitionError) Unwrap() error { return e.Err }
