package schemaregistry

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/gregor-kafka/producer"
)

// SubjectNameStrategy names the subject that a topic's keys or values register their schema
// under, from the topic, whether it is for keys, and the schema's record name (an Avro
// record's full name, a Protobuf message's full name, a JSON Schema's title).
type SubjectNameStrategy func(topic string, key bool, recordName string) (string, error)

// TopicNameStrategy is "<topic>-key" or "<topic>-value", the default: one schema per topic
// (TopicNameStrategy in the Java serializers).
func TopicNameStrategy(topic string, key bool, _ string) (string, error) {
	if key {
		return topic + "-key", nil
	}
	return topic + "-value", nil
}

// RecordNameStrategy is the record name: a record type keeps one subject across topics
// (RecordNameStrategy). It fails with [ErrNoSubject] for a JSON Schema without a title.
func RecordNameStrategy(_ string, _ bool, recordName string) (string, error) {
	if recordName == "" {
		return "", ErrNoSubject
	}
	return recordName, nil
}

// TopicRecordNameStrategy is "<topic>-<record name>": several record types per topic, each
// with its own history (TopicRecordNameStrategy).
func TopicRecordNameStrategy(topic string, _ bool, recordName string) (string, error) {
	if recordName == "" {
		return "", ErrNoSubject
	}
	return topic + "-" + recordName, nil
}

// SerializerOption configures a serializer.
type SerializerOption func(*serializerConfig)

type serializerConfig struct {
	key          bool
	strategy     SubjectNameStrategy
	autoRegister bool
	timeout      time.Duration
}

// ForKeys makes the serializer one for record keys: with [TopicNameStrategy] the subject
// is "<topic>-key" instead of "<topic>-value".
func ForKeys() SerializerOption { return func(c *serializerConfig) { c.key = true } }

// WithSubjectNameStrategy sets how subjects are named (key.subject.name.strategy,
// value.subject.name.strategy). Default [TopicNameStrategy].
func WithSubjectNameStrategy(s SubjectNameStrategy) SerializerOption {
	return func(c *serializerConfig) {
		if s != nil {
			c.strategy = s
		}
	}
}

// AutoRegister sets whether the serializer registers its schema under the subject the first
// time a topic is used (auto.register.schemas, default true). Off, it looks the schema up
// under the subject instead, and fails with an error matching [ErrSubjectNotFound] or
// [ErrSchemaNotFound] if it was not registered beforehand.
func AutoRegister(on bool) SerializerOption { return func(c *serializerConfig) { c.autoRegister = on } }

// WithTimeout bounds the registry requests that [Serializer.Serialize] makes the first time
// it meets a topic; [producer.Serializer] has no context. Default 30 s.
func WithTimeout(d time.Duration) SerializerOption {
	return func(c *serializerConfig) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// Serializer encodes values of type T in the schema registry's wire format: the magic byte,
// the schema's id, (for Protobuf) the message indexes, then the payload. It implements
// [producer.Serializer], so it plugs into [producer.NewTyped]. The first value for a topic
// registers or looks up the schema (a request to the registry, at most WithTimeout); later
// ones use the cached id. Nil pointers serialize as null (a tombstone). A Serializer is safe
// for concurrent use.
type Serializer[T any] struct {
	client *Client
	cfg    serializerConfig
	kind   string // "Avro", "Protobuf", "JSON Schema", for errors

	// schemaKey returns what identifies v's schema: nil when the serializer has one schema,
	// the message descriptor for Protobuf.
	schemaKey func(v T) (any, error)
	// describe returns the schema that key stands for, ready to register.
	describe func(ctx context.Context, key any) (described, error)
	// appendPayload appends v's encoding.
	appendPayload func(dst []byte, v T) ([]byte, error)

	mu       sync.RWMutex
	prefixes map[prefixKey]prefix
}

type described struct {
	schema     Schema
	recordName string
	indexes    []int // Protobuf message indexes, nil otherwise
}

type prefixKey struct {
	topic  string
	schema any
}

type prefix struct {
	id     int
	header []byte // magic byte, id, message indexes
}

// maxPrefixes bounds the per-topic cache of a serializer.
const maxPrefixes = 10000

var _ producer.Serializer[int] = (*Serializer[int])(nil)

func newSerializer[T any](c *Client, kind string, opts []SerializerOption) (*Serializer[T], error) {
	if c == nil {
		return nil, fmt.Errorf("schemaregistry: New%sSerializer: nil Client", kind)
	}
	s := &Serializer[T]{
		client:   c,
		kind:     kind,
		cfg:      serializerConfig{strategy: TopicNameStrategy, autoRegister: true, timeout: 30 * time.Second},
		prefixes: map[prefixKey]prefix{},
	}
	for _, o := range opts {
		o(&s.cfg)
	}
	s.schemaKey = func(T) (any, error) { return nil, nil }
	return s, nil
}

// Serialize encodes v for topic, registering or looking up its schema the first time the
// topic is met, within the serializer's timeout.
func (s *Serializer[T]) Serialize(topic string, v T) ([]byte, error) {
	if isNil(v) {
		return nil, nil
	}
	key, err := s.schemaKey(v)
	if err != nil {
		return nil, err
	}
	p, ok := s.cached(topic, key)
	if !ok {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.timeout)
		p, err = s.resolve(ctx, topic, key)
		cancel()
		if err != nil {
			return nil, err
		}
	}
	return s.encode(p, v)
}

// SerializeContext is [Serializer.Serialize] with registry requests bounded by ctx instead
// of the serializer's timeout.
func (s *Serializer[T]) SerializeContext(ctx context.Context, topic string, v T) ([]byte, error) {
	if isNil(v) {
		return nil, nil
	}
	key, err := s.schemaKey(v)
	if err != nil {
		return nil, err
	}
	p, ok := s.cached(topic, key)
	if !ok {
		if p, err = s.resolve(ctx, topic, key); err != nil {
			return nil, err
		}
	}
	return s.encode(p, v)
}

// SchemaID registers or looks up the schema that v is written with for topic and returns
// its id. Call it at start-up to find registry problems before the first send; later
// Serialize calls for the topic need no request.
func (s *Serializer[T]) SchemaID(ctx context.Context, topic string, v T) (int, error) {
	key, err := s.schemaKey(v)
	if err != nil {
		return 0, err
	}
	if p, ok := s.cached(topic, key); ok {
		return p.id, nil
	}
	p, err := s.resolve(ctx, topic, key)
	return p.id, err
}

func (s *Serializer[T]) encode(p prefix, v T) ([]byte, error) {
	out, err := s.appendPayload(append(make([]byte, 0, len(p.header)+64), p.header...), v)
	if err != nil {
		return nil, fmt.Errorf("schemaregistry: %s: %w", s.kind, err)
	}
	return out, nil
}

func (s *Serializer[T]) cached(topic string, key any) (prefix, bool) {
	s.mu.RLock()
	p, ok := s.prefixes[prefixKey{topic, key}]
	s.mu.RUnlock()
	return p, ok
}

// resolve finds the schema id for topic and key: registered (or looked up) under the
// subject the strategy names. Registry requests run with no lock held.
func (s *Serializer[T]) resolve(ctx context.Context, topic string, key any) (prefix, error) {
	d, err := s.describe(ctx, key)
	if err != nil {
		return prefix{}, err
	}
	subject, err := s.cfg.strategy(topic, s.cfg.key, d.recordName)
	if err != nil {
		return prefix{}, fmt.Errorf("schemaregistry: naming the subject for topic %q: %w", topic, err)
	}
	var id int
	if s.cfg.autoRegister {
		if id, err = s.client.Register(ctx, subject, d.schema); err != nil {
			return prefix{}, fmt.Errorf("schemaregistry: registering the %s schema under subject %q: %w", s.kind, subject, err)
		}
	} else {
		ss, err := s.client.Lookup(ctx, subject, d.schema)
		if err != nil {
			return prefix{}, fmt.Errorf("schemaregistry: looking up the %s schema under subject %q (auto-registration is off): %w", s.kind, subject, err)
		}
		id = ss.ID
	}
	p := prefix{id: id, header: AppendHeader(nil, id)}
	if d.indexes != nil {
		p.header = AppendMessageIndexes(p.header, d.indexes)
	}
	s.mu.Lock()
	makeRoom(s.prefixes, prefixKey{topic, key}, maxPrefixes)
	s.prefixes[prefixKey{topic, key}] = p
	s.mu.Unlock()
	return p, nil
}

func isNil[T any](v T) bool {
	a := any(v)
	if a == nil {
		return true
	}
	rv := reflect.ValueOf(a)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}
