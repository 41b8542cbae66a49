package producer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gregor-kafka/producer/internal/conn"
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
	// ErrTransactionCommitted is returned by AbortTransaction called after a
	// CommitTransaction that was interrupted (its ctx ended) once EndTxn had been sent: the
	// abort learned that the commit happened. The transaction stands committed; do not redo
	// its work. The producer is ready for the next transaction.
	ErrTransactionCommitted = errors.New("producer: the transaction was committed")
	// ErrTransactionOutcomeUnknown is returned by CommitTransaction when an EndTxn of the
	// commit was written but its answer lost, and a retry then failed for good (typically
	// PRODUCER_FENCED: another producer with the same transactional.id initialized
	// meanwhile). The commit may have happened or not, and this producer can no longer
	// learn which: the transaction's records are either all committed or all aborted. The
	// error also wraps the retry's, which says why the producer cannot go on.
	ErrTransactionOutcomeUnknown = errors.New("producer: the transaction's outcome is unknown")
	// ErrInCallback is returned by Flush, CommitTransaction and AbortTransaction called
	// from a callback or a hook: they wait for callbacks to run, and the callbacks' goroutine
	// would be waiting for itself (Java's flush from a callback fails the same way).
	ErrInCallback = errors.New("producer: called from a callback or hook, where it would wait for itself")
)

// Errors of connections to an address that is not a Kafka listener for the client's
// security.protocol. A send that waits max.block.ms for metadata while the bootstrap
// servers answer so fails with [ErrTimeout] and, as its cause, one of these.
var (
	// ErrNotKafka matches, with errors.Is, the error of a connection whose peer answered
	// with something other than a Kafka response (an HTTP server, say).
	ErrNotKafka = conn.ErrNotKafka
	// ErrBrokerSpeaksTLS matches the error of a plaintext connection answered with TLS: the
	// listener is SSL or SASL_SSL, and security.protocol should say so.
	ErrBrokerSpeaksTLS = conn.ErrBrokerSpeaksTLS
)

// KafkaError is the type of the error codes brokers return, such as
// [wire.ErrNotLeaderOrFollower]. It is an alias of [wire.Error], so that callers need not
// import wire. Its fields:
//
//	Code            int16  // the Kafka error code, such as 6
//	Name            string // the name Kafka gives the code, such as NOT_LEADER_OR_FOLLOWER
//	Retriable       bool   // whether the Java client retries a request that met it
//	RefreshMetadata bool   // whether it means the client's metadata is stale
//	Description     string // Kafka's description of the error
//
// Two KafkaErrors match with errors.Is when their codes are equal:
//
//	if errors.Is(err, wire.ErrTopicAuthorizationFailed) { ... }
//	var kerr *producer.KafkaError
//	if errors.As(err, &kerr) && kerr.Retriable { ... }
type KafkaError = wire.Error

// PartitionError is the error of a record that failed: the partition it was for and why.
// Partition is -1 when the error concerns the whole topic (its metadata could not be had).
// Err is the cause: a [KafkaError], or one of the errors above ([ErrTimeout],
// [ErrClosed], ...), to be tested with errors.Is.
type PartitionError struct {
	Topic     string
	Partition int32
	Err       error
}

// Error returns a message naming the topic, the partition and the cause, saying
// "producer: " once.
func (e *PartitionError) Error() string {
	if e.Partition < 0 {
		return fmt.Sprintf("producer: topic %q: %s", e.Topic, causeText(e.Err))
	}
	return fmt.Sprintf("producer: topic %q partition %d: %s", e.Topic, e.Partition, causeText(e.Err))
}

// Unwrap returns the cause.
func (e *PartitionError) Unwrap() error { return e.Err }

// causeText is err's message without its "producer: " prefix, for a message that has one
// already.
func causeText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return strings.TrimPrefix(err.Error(), "producer: ")
}

// wrappedError is an error of the producer with a cause: its message says "producer: "
// once, and errors.Is and errors.As see the cause.
type wrappedError struct {
	msg   string // starts with "producer: "
	cause error
}

// wrapError returns cause under msg, which starts with "producer: ".
func wrapError(msg string, cause error) error { return &wrappedError{msg, cause} }

func (e *wrappedError) Error() string { return e.msg + ": " + causeText(e.cause) }

func (e *wrappedError) Unwrap() error { return e.cause }
