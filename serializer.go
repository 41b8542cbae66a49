package producer

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// Serializer turns a key or value of type T into bytes, as the Java client's
// key.serializer and value.serializer. A nil result is sent as null.
type Serializer[T any] interface {
	Serialize(topic string, v T) ([]byte, error)
}

// SerializerFunc adapts a function to [Serializer].
type SerializerFunc[T any] func(topic string, v T) ([]byte, error)

// Serialize calls f.
func (f SerializerFunc[T]) Serialize(topic string, v T) ([]byte, error) { return f(topic, v) }

// BytesSerializer passes bytes through (ByteArraySerializer); nil stays null.
func BytesSerializer() Serializer[[]byte] {
	return SerializerFunc[[]byte](func(_ string, v []byte) ([]byte, error) { return v, nil })
}

// StringSerializer encodes a string as its UTF-8 bytes (StringSerializer). "" is an empty
// key or value, not null: for a null key use [NullKey] or [Nullable].
func StringSerializer() Serializer[string] {
	return SerializerFunc[string](func(_ string, v string) ([]byte, error) { return []byte(v), nil })
}

// Int32Serializer encodes 4 bytes big-endian (IntegerSerializer).
func Int32Serializer() Serializer[int32] {
	return SerializerFunc[int32](func(_ string, v int32) ([]byte, error) {
		return binary.BigEndian.AppendUint32(make([]byte, 0, 4), uint32(v)), nil
	})
}

// Int64Serializer encodes 8 bytes big-endian (LongSerializer).
func Int64Serializer() Serializer[int64] {
	return SerializerFunc[int64](func(_ string, v int64) ([]byte, error) {
		return binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(v)), nil
	})
}

// JSONSerializer encodes values with encoding/json.
func JSONSerializer[T any]() Serializer[T] {
	return SerializerFunc[T](func(_ string, v T) ([]byte, error) { return json.Marshal(v) })
}

// Nullable makes a serializer of T into one of *T that sends a nil pointer as null: a null
// key (the partitioner then spreads records, as for a Java record without a key) or a null
// value (a tombstone on compacted topics). A non-nil pointer is serialized by s.
func Nullable[T any](s Serializer[T]) Serializer[*T] {
	return SerializerFunc[*T](func(topic string, v *T) ([]byte, error) {
		if v == nil {
			return nil, nil
		}
		return s.Serialize(topic, *v)
	})
}

// Typed sends keys of type K and values of type V through serializers, so that call sites
// need no conversions:
//
//	events := producer.NewTyped(p, producer.StringSerializer(), producer.JSONSerializer[Event]())
//	err := events.Send(ctx, "sample", "user-42", Event{...}).Wait(ctx)
//
// [RecordOption]s set the rest of the record: [NullKey], [WithPartition], [WithTimestamp],
// [WithHeaders].
type Typed[K, V any] struct {
	p     *Producer
	key   Serializer[K]
	value Serializer[V]
}

// NewTyped returns a typed front for p using the given key and value serializers.
func NewTyped[K, V any](p *Producer, key Serializer[K], value Serializer[V]) *Typed[K, V] {
	return &Typed[K, V]{p: p, key: key, value: value}
}

// RecordOption sets a field of a record sent through a [Typed] front, besides its topic,
// key and value. Later options win over earlier ones, except [WithHeaders], which add up.
type RecordOption func(*recordOptions)

// recordOptions are the fields RecordOptions set.
type recordOptions struct {
	nullKey bool
	rec     Record // Partition, Timestamp and Headers
}

// NullKey sends the record with a null key, whatever the key argument: the key serializer
// is not called. A null key is not an empty one: the partitioner spreads null-keyed
// records (sticky, KIP-794), while every record with an empty key goes to one partition.
func NullKey() RecordOption { return func(o *recordOptions) { o.nullKey = true } }

// WithPartition sends the record to partition n, bypassing the partitioner, as
// [Record.Partition] with [ToPartition].
func WithPartition(n int32) RecordOption {
	return func(o *recordOptions) { o.rec.Partition = ToPartition(n) }
}

// WithTimestamp sets the record's timestamp ([Record.Timestamp]); without it, the time of
// the send.
func WithTimestamp(ts time.Time) RecordOption {
	return func(o *recordOptions) { o.rec.Timestamp = ts }
}

// WithHeaders adds headers to the record ([Record.Headers]), in order.
func WithHeaders(headers ...Header) RecordOption {
	return func(o *recordOptions) { o.rec.Headers = append(o.rec.Headers, headers...) }
}

// Record serializes key and value into a Record for topic, with the options applied. The
// error names the topic and whether the key or the value failed.
func (t *Typed[K, V]) Record(topic string, key K, value V, opts ...RecordOption) (Record, error) {
	var o recordOptions
	for _, opt := range opts {
		opt(&o)
	}
	rec := o.rec
	rec.Topic = topic
	if !o.nullKey {
		kb, err := t.key.Serialize(topic, key)
		if err != nil {
			return Record{}, fmt.Errorf("producer: serializing key for topic %q: %w", topic, err)
		}
		rec.Key = kb
	}
	vb, err := t.value.Serialize(topic, value)
	if err != nil {
		return Record{}, fmt.Errorf("producer: serializing value for topic %q: %w", topic, err)
	}
	rec.Value = vb
	return rec, nil
}

// Send serializes and sends one record, as [Producer.Send]. A serializer error fails the
// returned Future and nothing is enqueued.
func (t *Typed[K, V]) Send(ctx context.Context, topic string, key K, value V, opts ...RecordOption) *Future {
	rec, err := t.Record(topic, key, value, opts...)
	if err != nil {
		t.p.stats.recordsFailed.Add(1)
		return failedFuture(err)
	}
	return t.p.Send(ctx, rec)
}

// SendAsync serializes and sends one record, as [Producer.SendAsync]: it may block up to
// max.block.ms. A serializer error is given to cb and returned, and nothing is enqueued.
func (t *Typed[K, V]) SendAsync(ctx context.Context, topic string, key K, value V, cb Callback, opts ...RecordOption) error {
	rec, err := t.Record(topic, key, value, opts...)
	if err != nil {
		t.p.stats.recordsFailed.Add(1)
		if cb != nil {
			cb(RecordMetadata{Topic: topic, Partition: -1, Offset: -1}, err)
		}
		return err
	}
	return t.p.SendAsync(ctx, rec, cb)
}
