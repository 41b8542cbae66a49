package schemaregistry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/plugin/schemaregistry"
	"github.com/gregor-kafka/producer/plugin/schemaregistry/srtest"
)

func TestAvroSerializerWireFormat(t *testing.T) {
	srv, c := newRegistry(t)
	// Another schema first, so that the reading's id is 2 and not the 1 a zero might fake.
	if _, err := c.Register(t.Context(), "other-value", avroSchema(`"string"`)); err != nil {
		t.Fatal(err)
	}
	s, err := schemaregistry.NewAvroSerializer[Reading](c, readingSchema)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Serialize("sample", Reading{Index: 1, Number: 42})
	if err != nil {
		t.Fatal(err)
	}
	// Magic 0, id 2, then Avro: zigzag varints 1 -> 0x02, 42 -> 0x54.
	if want := []byte{0, 0, 0, 0, 2, 0x02, 0x54}; !bytes.Equal(b, want) {
		t.Fatalf("Serialize = % x, want % x", b, want)
	}
	ss, err := c.SchemaByVersion(t.Context(), "sample-value", schemaregistry.Latest)
	if err != nil || ss.ID != 2 || ss.Schema.Schema != readingSchema {
		t.Fatalf("registered under sample-value: %+v, %v", ss, err)
	}

	// Later values for the topic use the cached id.
	n := srv.Requests()
	for i := range 100 {
		b, err := s.Serialize("sample", Reading{Index: i, Number: -i})
		if err != nil {
			t.Fatal(err)
		}
		var back Reading
		if err := avro.Unmarshal(avro.MustParse(readingSchema), b[schemaregistry.HeaderSize:], &back); err != nil || back != (Reading{i, -i}) {
			t.Fatalf("decoded %+v, %v", back, err)
		}
	}
	if srv.Requests() != n {
		t.Fatalf("%d registry requests for a known topic", srv.Requests()-n)
	}

	// A nil pointer is a null value (a tombstone); a value that does not fit fails.
	ps, err := schemaregistry.NewAvroSerializer[*Reading](c, readingSchema)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := ps.Serialize("sample", nil); b != nil || err != nil {
		t.Fatalf("nil: % x, %v", b, err)
	}
	bad, err := schemaregistry.NewAvroSerializer[map[string]any](c, readingSchema)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Serialize("sample", map[string]any{"index": "one"}); err == nil || !strings.Contains(err.Error(), "Avro") {
		t.Fatalf("mismatched value: %v", err)
	}
	if _, err := schemaregistry.NewAvroSerializer[Reading](c, `{"type":"record","name":"R"}`); err == nil {
		t.Fatal("an invalid schema was accepted")
	}
	if _, err := schemaregistry.NewAvroSerializer[Reading](nil, readingSchema); err == nil {
		t.Fatal("a nil client was accepted")
	}
}

func TestSubjectNameStrategies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []schemaregistry.SerializerOption
		schema  string
		subject string
		err     error
	}{
		{"topic value", nil, readingSchema, "sample-value", nil},
		{"topic key", []schemaregistry.SerializerOption{schemaregistry.ForKeys()}, readingSchema, "sample-key", nil},
		{"record", []schemaregistry.SerializerOption{schemaregistry.WithSubjectNameStrategy(schemaregistry.RecordNameStrategy)}, readingSchema, "gregor.tutorial.Reading", nil},
		{"topic record", []schemaregistry.SerializerOption{schemaregistry.WithSubjectNameStrategy(schemaregistry.TopicRecordNameStrategy), schemaregistry.ForKeys()}, readingSchema, "sample-gregor.tutorial.Reading", nil},
		{"record of an unnamed schema", []schemaregistry.SerializerOption{schemaregistry.WithSubjectNameStrategy(schemaregistry.RecordNameStrategy)}, `"int"`, "int", nil},
		{"custom", []schemaregistry.SerializerOption{schemaregistry.WithSubjectNameStrategy(func(topic string, key bool, rec string) (string, error) {
			return fmt.Sprintf("%s|%v|%s", topic, key, rec), nil
		})}, readingSchema, "sample|false|gregor.tutorial.Reading", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := newRegistry(t)
			s, err := schemaregistry.NewAvroSerializer[any](c, tc.schema, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			v := any(map[string]any{"index": 1, "number": 2})
			if tc.schema == `"int"` {
				v = 5
			}
			_, err = s.Serialize("sample", v)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			subjects, err := c.Subjects(t.Context())
			if err != nil || len(subjects) != 1 || subjects[0] != tc.subject {
				t.Fatalf("subjects %q (%v), want [%s]", subjects, err, tc.subject)
			}
		})
	}
}

func TestAutoRegisterOff(t *testing.T) {
	_, c := newRegistry(t)
	ctx := t.Context()
	s, err := schemaregistry.NewAvroSerializer[Reading](c, readingSchema, schemaregistry.AutoRegister(false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SerializeContext(ctx, "sample", Reading{1, 2}); !errors.Is(err, schemaregistry.ErrSubjectNotFound) || !strings.Contains(err.Error(), "auto-registration is off") {
		t.Fatalf("unregistered subject: %v", err)
	}
	if _, err := c.Register(ctx, "sample-value", avroSchema(`"string"`)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SerializeContext(ctx, "sample", Reading{1, 2}); !errors.Is(err, schemaregistry.ErrSchemaNotFound) {
		t.Fatalf("unregistered schema: %v", err)
	}
	id, err := c.Register(ctx, "sample-value", avroSchema(readingSchema))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.SerializeContext(ctx, "sample", Reading{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := schemaregistry.ParseHeader(b); got != id {
		t.Fatalf("id %d in the record, want %d", got, id)
	}
	versions, _ := c.Versions(ctx, "sample-value")
	if len(versions) != 2 {
		t.Fatalf("versions %v: the serializer registered something", versions)
	}
}

// TestSerializeTimeout: Serialize has no context; WithTimeout bounds its registry calls.
func TestSerializeTimeout(t *testing.T) {
	srv, c := newRegistry(t)
	hold := make(chan struct{})
	defer close(hold)
	srv.InjectFault(srtest.Fault{Block: hold, Times: -1})
	s, err := schemaregistry.NewAvroSerializer[Reading](c, readingSchema, schemaregistry.WithTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Serialize("sample", Reading{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v: want a deadline", err)
	}
}

func TestSchemaIDWarmUp(t *testing.T) {
	srv, c := newRegistry(t)
	s, err := schemaregistry.NewAvroSerializer[Reading](c, readingSchema)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.SchemaID(t.Context(), "sample", Reading{})
	if err != nil {
		t.Fatal(err)
	}
	srv.InjectFault(srtest.Fault{Status: 503, Times: -1}) // the registry goes away
	b, err := s.Serialize("sample", Reading{Index: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := schemaregistry.ParseHeader(b); got != id {
		t.Fatalf("id %d, want %d", got, id)
	}
	// A new topic needs the registry.
	if _, err := s.Serialize("other", Reading{}); !errors.Is(err, &schemaregistry.Error{Code: 503}) {
		t.Fatalf("new topic with the registry down: %v", err)
	}
}

func TestJSONSerializer(t *testing.T) {
	const schema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "gregor.tutorial.Reading",
  "type": "object",
  "properties": {
    "index": {"type": "integer", "minimum": 0},
    "number": {"type": "integer", "maximum": 999}
  },
  "required": ["index", "number"],
  "additionalProperties": false
}`
	_, c := newRegistry(t)
	s, err := schemaregistry.NewJSONSerializer[Reading](c, schema, schemaregistry.WithSubjectNameStrategy(schemaregistry.TopicRecordNameStrategy))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Serialize("sample", Reading{Index: 1, Number: 42})
	if err != nil {
		t.Fatal(err)
	}
	ss, err := c.SchemaByVersion(t.Context(), "sample-gregor.tutorial.Reading", 1)
	if err != nil || ss.Type != schemaregistry.JSON {
		t.Fatalf("registered: %+v, %v", ss, err)
	}
	if want := append(schemaregistry.AppendHeader(nil, ss.ID), `{"index":1,"number":42}`...); !bytes.Equal(b, want) {
		t.Fatalf("Serialize = %q, want %q", b, want)
	}
	if _, err := s.Serialize("sample", Reading{Index: 1, Number: 1000}); err == nil || !strings.Contains(err.Error(), "does not match the schema") {
		t.Fatalf("a value over the maximum: %v", err)
	}
	untitled, err := schemaregistry.NewJSONSerializer[Reading](c, `{"type": "object"}`, schemaregistry.WithSubjectNameStrategy(schemaregistry.RecordNameStrategy))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := untitled.Serialize("sample", Reading{}); !errors.Is(err, schemaregistry.ErrNoSubject) {
		t.Fatalf("record name strategy without a title: %v", err)
	}
	for name, bad := range map[string]string{
		"not JSON":     `{"type":`,
		"bad keyword":  `{"type": "integer", "minimum": "zero"}`,
		"external ref": `{"$ref": "file:///etc/passwd"}`,
	} {
		if _, err := schemaregistry.NewJSONSerializer[Reading](c, bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestTypedToKafkatest: the serializer behind producer.NewTyped, records on an in-memory
// cluster, read back through the registry.
func TestTypedToKafkatest(t *testing.T) {
	srv, c := newRegistry(t)
	cluster, err := kafkatest.NewCluster()
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	p, err := producer.New(producer.Config{BootstrapServers: cluster.Addrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	keys, err := schemaregistry.NewAvroSerializer[string](c, `"string"`, schemaregistry.ForKeys())
	if err != nil {
		t.Fatal(err)
	}
	values, err := schemaregistry.NewAvroSerializer[*Reading](c, readingSchema)
	if err != nil {
		t.Fatal(err)
	}
	typed := producer.NewTyped(p, keys, values)
	ctx := t.Context()
	const n = 20
	for i := range n {
		v := &Reading{Index: i, Number: i * i}
		if i == n-1 {
			v = nil // a tombstone
		}
		if err := typed.Send(ctx, "readings", fmt.Sprintf("k%d", i), v).Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := cluster.WaitForRecords(ctx, "readings", n)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := schemaregistry.NewClient(schemaregistry.Config{URLs: []string{srv.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	decode := func(b []byte, into any) {
		t.Helper()
		id, payload, err := schemaregistry.ParseHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		s, err := reader.SchemaByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := avro.Unmarshal(avro.MustParse(s.Schema), payload, into); err != nil {
			t.Fatal(err)
		}
	}
	seen := 0
	for _, r := range recs {
		var key string
		decode(r.Key, &key)
		var i int
		if _, err := fmt.Sscanf(key, "k%d", &i); err != nil {
			t.Fatalf("key %q", key)
		}
		if i == n-1 {
			if r.Value != nil {
				t.Fatalf("the tombstone has value % x", r.Value)
			}
			seen++
			continue
		}
		var v Reading
		decode(r.Value, &v)
		if v != (Reading{i, i * i}) {
			t.Fatalf("record %d: %+v", i, v)
		}
		seen++
	}
	if seen != n {
		t.Fatalf("%d records checked", seen)
	}
	subjects, _ := reader.Subjects(ctx)
	if fmt.Sprint(subjects) != "[readings-key readings-value]" {
		t.Fatalf("subjects %v", subjects)
	}

	// With the registry failing, a new topic's send fails before anything is enqueued,
	// with the registry's error inside.
	srv.InjectFault(srtest.Fault{Status: 500, ErrorCode: schemaregistry.CodeStoreError, Times: -1})
	err = typed.Send(ctx, "other", "k", &Reading{}).Wait(ctx)
	var rerr *schemaregistry.Error
	if !errors.As(err, &rerr) || rerr.Code != schemaregistry.CodeStoreError || !strings.Contains(err.Error(), `topic "other"`) {
		t.Fatalf("send with the registry down: %v", err)
	}
}

func TestConcurrentSerialize(t *testing.T) {
	srv, c := newRegistry(t)
	s, err := schemaregistry.NewAvroSerializer[Reading](c, readingSchema)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				topic := fmt.Sprintf("t%d", (w+i)%4)
				b, err := s.Serialize(topic, Reading{Index: i, Number: w})
				if err != nil {
					t.Error(err)
					return
				}
				if id, _, err := schemaregistry.ParseHeader(b); err != nil || id != 1 {
					t.Errorf("id %d, %v", id, err)
					return
				}
			}
		})
	}
	wg.Wait()
	// Four topics: at most a few registrations each, not one per value.
	if srv.Requests() > 4*8 {
		t.Fatalf("%d registry requests for 400 values on 4 topics", srv.Requests())
	}
}
