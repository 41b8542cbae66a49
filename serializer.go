package producer

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
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

// StringSerializer encodes a string as its UTF-8 bytes (StringSerializer).
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

// Typed sends keys of type K and values of type V through serializers, so that call sites
// need no conversions:
//
//	events := producer.NewTyped(p, producer.StringSerializer(), producer.JSONSerializer[Event]())
//	err := events.Send(ctx, "sample", "user-42", Event{...}).Wait(ctx)
type Typed[K, V any] struct {
	p     *Producer
	key   Serializer[K]
	value Serializer[V]
}

// NewTyped returns a typed front for p using the given key and value serializers.
func NewTyped[K, V any](p *Producer, key Serializer[K], value Serializer[V]) *Typed[K, V] {
	return &Typed[K, V]{p: p, key: key, value: value}
}

// Record serializes key and value into a Record for topic. The error names the topic and
// whether the key or the value failed.
func (t *Typed[K, V]) Record(topic string, key K, value V, headers ...Header) (Record, error) {
	kb, err := t.key.Serialize(topic, key)
	if err != nil {
		return Record{}, fmt.Errorf("producer: serializing key for topic %q: %w", topic, err)
	}
	vb, err := t.value.Serialize(topic, value)
	if err != nil {
		return Record{}, fmt.Errorf("producer: serializing value for topic %q: %w", topic, err)
	}
	return Record{Topic: topic, Key: kb, Value: vb, Headers: headers}, nil
}

// Send serializes and sends one record, as [Producer.Send]. A serializer error fails the
// returned Future and nothing is enqueued.
func (t *Typed[K, V]) Send(ctx context.Context, topic string, key K, value V, headers ...Header) *Future {
	rec, err := t.Record(topic, key, value, headers...)
	if err != nil {
		return failedFuture(err)
	}
	return t.p.Send(ctx, rec)
}

// SendAsync serializes and sends one record, as [Producer.SendAsync].
func (t *Typed[K, V]) SendAsync(ctx context.Context, topic string, key K, value V, cb Callback, headers ...Header) error {
	rec, err := t.Record(topic, key, value, headers...)
	if err != nil {
		if cb != nil {
			cb(RecordMetadata{Topic: topic, Partition: -1, Offset: -1}, err)
		}
		return err
	}
	return t.p.SendAsync(ctx, rec, cb)
}
