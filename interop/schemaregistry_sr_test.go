package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/bufbuild/protocompile"
	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	producer "github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/plugin/schemaregistry"
	"github.com/gregor-kafka/producer/plugin/schemaregistry/srtest"
)

// These tests put gregor's schema registry client and serializers next to franz-go's
// pkg/sr client and Serde, sharing one registry (srtest): what one writes the other reads.

const srReadingSchema = `{"type":"record","name":"Reading","namespace":"gregor.tutorial","fields":[{"name":"index","type":"int"},{"name":"number","type":"int"}]}`

type srReading struct {
	Index  int `avro:"index" json:"index"`
	Number int `avro:"number" json:"number"`
}

func newSRPair(t *testing.T) (*srtest.Server, *schemaregistry.Client, *sr.Client) {
	t.Helper()
	srv := srtest.NewServer()
	t.Cleanup(srv.Close)
	gc, err := schemaregistry.NewClient(schemaregistry.Config{URLs: []string{srv.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	fc, err := sr.NewClient(sr.URLs(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	return srv, gc, fc
}

// TestSRAvroBothWays: gregor's Avro serializer and pkg/sr's Serde write the same bytes for
// the same schema id, and each decodes the other's.
func TestSRAvroBothWays(t *testing.T) {
	_, gc, fc := newSRPair(t)
	ctx := t.Context()
	ser, err := schemaregistry.NewAvroSerializer[srReading](gc, srReadingSchema)
	if err != nil {
		t.Fatal(err)
	}
	v := srReading{Index: 7, Number: -300}
	written, err := ser.Serialize("sample", v)
	if err != nil {
		t.Fatal(err)
	}

	// pkg/sr's client finds what gregor registered.
	ss, err := fc.SchemaByVersion(ctx, "sample-value", -1)
	if err != nil {
		t.Fatal(err)
	}
	if ss.Schema.Schema != srReadingSchema || ss.Type != sr.TypeAvro || ss.Version != 1 {
		t.Fatalf("pkg/sr reads %+v", ss)
	}
	sch := avro.MustParse(ss.Schema.Schema)
	var serde sr.Serde
	serde.Register(ss.ID, srReading{},
		sr.EncodeFn(func(v any) ([]byte, error) { return avro.Marshal(sch, v) }),
		sr.DecodeFn(func(b []byte, v any) error { return avro.Unmarshal(sch, b, v) }))
	var got srReading
	if err := serde.Decode(written, &got); err != nil || got != v {
		t.Fatalf("pkg/sr decodes gregor's bytes as %+v, %v", got, err)
	}
	theirs, err := serde.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(theirs, written) {
		t.Fatalf("pkg/sr writes % x, gregor % x", theirs, written)
	}

	// The other way: pkg/sr registers a schema and encodes; gregor reads both.
	const v2 = `{"type":"record","name":"Reading","namespace":"gregor.tutorial","fields":[{"name":"index","type":"int"},{"name":"number","type":"int"},{"name":"unit","type":"string","default":"m"}]}`
	type readingV2 struct {
		Index  int    `avro:"index"`
		Number int    `avro:"number"`
		Unit   string `avro:"unit"`
	}
	created, err := fc.CreateSchema(ctx, "franz-value", sr.Schema{Schema: v2})
	if err != nil {
		t.Fatal(err)
	}
	sch2 := avro.MustParse(v2)
	serde.Register(created.ID, readingV2{}, sr.EncodeFn(func(v any) ([]byte, error) { return avro.Marshal(sch2, v) }))
	want := readingV2{Index: 1, Number: 2, Unit: "cm"}
	b, err := serde.Encode(want)
	if err != nil {
		t.Fatal(err)
	}
	id, payload, err := schemaregistry.ParseHeader(b)
	if err != nil || id != created.ID {
		t.Fatalf("ParseHeader: id %d, %v; want %d", id, err, created.ID)
	}
	s, err := gc.SchemaByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var back readingV2
	if err := avro.Unmarshal(avro.MustParse(s.Schema), payload, &back); err != nil || back != want {
		t.Fatalf("gregor decodes pkg/sr's bytes as %+v, %v", back, err)
	}
}

// srProto has a map field before a nested message (the compiler's map entry is not a
// declared message, so Outer.Inner is index [0, 0]) and imports another file.
var srProto = map[string]string{
	"gregor/interop/money.proto": `syntax = "proto3";
package gregor.interop;
message Money { string currency = 1; int64 units = 2; }
`,
	"gregor/interop/outer.proto": `syntax = "proto3";
package gregor.interop;
import "gregor/interop/money.proto";
message Outer {
  map<string, int32> tags = 1;
  message Inner { string name = 1; Money price = 2; }
  Inner inner = 2;
  int64 id = 3;
}
message Second { repeated Outer.Inner items = 1; bool flag = 2; }
`,
}

func compileSRProto(t *testing.T) protoreflect.FileDescriptor {
	t.Helper()
	comp := protocompile.Compiler{Resolver: &protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(srProto)}}
	files, err := comp.Compile(t.Context(), "gregor/interop/outer.proto")
	if err != nil {
		t.Fatal(err)
	}
	return files[0]
}

func dynamicFromJSON(t *testing.T, md protoreflect.MessageDescriptor, text string) *dynamicpb.Message {
	t.Helper()
	m := dynamicpb.NewMessage(md)
	if err := protojson.Unmarshal([]byte(text), m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSRProtobufBothWays: message indexes and payloads agree with pkg/sr's Serde, whose
// registrations name each message by the index path a reader of the schema text computes.
func TestSRProtobufBothWays(t *testing.T) {
	_, gc, fc := newSRPair(t)
	ctx := t.Context()
	fd := compileSRProto(t)
	outer, second := fd.Messages().ByName("Outer"), fd.Messages().ByName("Second")
	inner := outer.Messages().ByName("Inner")

	ser, err := schemaregistry.NewProtobufSerializer[*dynamicpb.Message](gc)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []struct {
		md    protoreflect.MessageDescriptor
		index []int
		json  string
	}{
		{outer, []int{0}, `{"tags":{"a":1},"inner":{"name":"x","price":{"currency":"EUR","units":"5"}},"id":"9"}`},
		{inner, []int{0, 0}, `{"name":"y"}`},
		{second, []int{1}, `{"items":[{"name":"z"}],"flag":true}`},
	}

	// pkg/sr reads the schema gregor registered, references included.
	var serde sr.Serde
	var decodedAs protoreflect.FullName
	for _, m := range msgs {
		b, err := ser.SerializeContext(ctx, "orders", dynamicFromJSON(t, m.md, m.json))
		if err != nil {
			t.Fatal(err)
		}
		id, _, _ := schemaregistry.ParseHeader(b)
		md := m.md
		serde.Register(id, md.FullName(), sr.Index(m.index...), sr.DecodeFn(func(b []byte, v any) error {
			decodedAs = md.FullName()
			return proto.Unmarshal(b, v.(*dynamicpb.Message))
		}))
		got := dynamicpb.NewMessage(m.md)
		if err := serde.Decode(b, got); err != nil || decodedAs != m.md.FullName() || !proto.Equal(got, dynamicFromJSON(t, m.md, m.json)) {
			t.Fatalf("%s: pkg/sr decodes gregor's bytes as %s %v, %v", m.md.FullName(), decodedAs, got, err)
		}
		// pkg/sr's encoding of the same message with the same id and index is the same.
		theirs, err := sr.Encode(dynamicFromJSON(t, m.md, m.json), &sr.ConfluentHeader{}, id, m.index, func(v any) ([]byte, error) {
			return proto.Marshal(v.(proto.Message))
		})
		if err != nil {
			t.Fatal(err)
		}
		// The same header and indexes; the payloads are compared decoded (below), since a
		// dynamic message's fields may be written in any order.
		n := len(schemaregistry.AppendMessageIndexes(schemaregistry.AppendHeader(nil, id), m.index))
		if !bytes.Equal(theirs[:n], b[:n]) {
			t.Fatalf("%s: pkg/sr writes header % x, gregor % x", m.md.FullName(), theirs[:n], b[:n])
		}

		// The other way: gregor reads pkg/sr's header and indexes.
		gid, rest, err := schemaregistry.ParseHeader(theirs)
		if err != nil || gid != id {
			t.Fatalf("ParseHeader: %d, %v", gid, err)
		}
		idx, payload, err := schemaregistry.ParseMessageIndexes(rest)
		if err != nil || !slices.Equal(idx, m.index) {
			t.Fatalf("%s: indexes %v, %v; want %v", m.md.FullName(), idx, err, m.index)
		}
		back := dynamicpb.NewMessage(m.md)
		if err := proto.Unmarshal(payload, back); err != nil || !proto.Equal(back, dynamicFromJSON(t, m.md, m.json)) {
			t.Fatalf("%s: gregor decodes pkg/sr's payload as %v, %v", m.md.FullName(), back, err)
		}
	}

	ss, err := fc.SchemaByVersion(ctx, "orders-value", -1)
	if err != nil {
		t.Fatal(err)
	}
	wantRef := sr.SchemaReference{Name: "gregor/interop/money.proto", Subject: "gregor/interop/money.proto", Version: 1}
	if ss.Type != sr.TypeProtobuf || len(ss.References) != 1 || ss.References[0] != wantRef {
		t.Fatalf("pkg/sr reads %+v", ss)
	}
	dep, err := fc.SchemaByVersion(ctx, wantRef.Subject, wantRef.Version)
	if err != nil || dep.Type != sr.TypeProtobuf {
		t.Fatalf("pkg/sr reads the reference: %+v, %v", dep, err)
	}
	// The registered texts compile back to the messages gregor serialized.
	srcs := map[string]string{"gregor/interop/outer.proto": ss.Schema.Schema, wantRef.Name: dep.Schema.Schema}
	comp := protocompile.Compiler{Resolver: &protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(srcs)}}
	files, err := comp.Compile(ctx, "gregor/interop/outer.proto")
	if err != nil {
		t.Fatalf("the registered schema does not compile: %v\n%s", err, ss.Schema.Schema)
	}
	if got := files[0].Messages().ByName("Outer").Messages().ByName("Inner"); got == nil || got.Fields().Len() != 2 {
		t.Fatalf("Outer.Inner in the registered schema: %v", got)
	}
}

// TestSRJSONBothWays: the JSON Schema serializer against pkg/sr's Serde.
func TestSRJSONBothWays(t *testing.T) {
	_, gc, fc := newSRPair(t)
	ctx := t.Context()
	const schema = `{"title":"gregor.tutorial.Reading","type":"object","properties":{"index":{"type":"integer"},"number":{"type":"integer"}},"required":["index","number"]}`
	ser, err := schemaregistry.NewJSONSerializer[srReading](gc, schema)
	if err != nil {
		t.Fatal(err)
	}
	v := srReading{Index: 4, Number: 16}
	written, err := ser.Serialize("sample", v)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := fc.SchemaByVersion(ctx, "sample-value", 1)
	if err != nil || ss.Type != sr.TypeJSON || ss.Schema.Schema != schema {
		t.Fatalf("pkg/sr reads %+v, %v", ss, err)
	}
	var serde sr.Serde
	serde.Register(ss.ID, srReading{}, sr.EncodeFn(json.Marshal), sr.DecodeFn(json.Unmarshal))
	var got srReading
	if err := serde.Decode(written, &got); err != nil || got != v {
		t.Fatalf("pkg/sr decodes %+v, %v", got, err)
	}
	if theirs := serde.MustEncode(v); !bytes.Equal(theirs, written) {
		t.Fatalf("pkg/sr writes %q, gregor %q", theirs, written)
	}
}

// TestSRClientsAgree: each client reads what the other registered, field for field.
func TestSRClientsAgree(t *testing.T) {
	_, gc, fc := newSRPair(t)
	ctx := t.Context()

	// gregor registers; pkg/sr reads by id, by version and by lookup.
	money := schemaregistry.Schema{Schema: srProto["gregor/interop/money.proto"], Type: schemaregistry.Protobuf}
	if _, err := gc.Register(ctx, "gregor/interop/money.proto", money); err != nil {
		t.Fatal(err)
	}
	outer := schemaregistry.Schema{Schema: srProto["gregor/interop/outer.proto"], Type: schemaregistry.Protobuf,
		References: []schemaregistry.Reference{{Name: "gregor/interop/money.proto", Subject: "gregor/interop/money.proto", Version: 1}}}
	id, err := gc.Register(ctx, "orders-value", outer)
	if err != nil {
		t.Fatal(err)
	}
	byID, err := fc.SchemaByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	wantRefs := []sr.SchemaReference{{Name: "gregor/interop/money.proto", Subject: "gregor/interop/money.proto", Version: 1}}
	if byID.Schema != outer.Schema || byID.Type != sr.TypeProtobuf || !slices.Equal(byID.References, wantRefs) {
		t.Fatalf("pkg/sr SchemaByID = %+v", byID)
	}
	looked, err := fc.LookupSchema(ctx, "orders-value", sr.Schema{Schema: outer.Schema, Type: sr.TypeProtobuf, References: wantRefs})
	if err != nil || looked.ID != id || looked.Version != 1 || looked.Subject != "orders-value" {
		t.Fatalf("pkg/sr LookupSchema = %+v, %v", looked, err)
	}
	versions, err := fc.SubjectVersions(ctx, "orders-value")
	if err != nil || !slices.Equal(versions, []int{1}) {
		t.Fatalf("pkg/sr SubjectVersions = %v, %v", versions, err)
	}
	usages, err := fc.SchemaUsagesByID(ctx, id)
	if err != nil || len(usages) != 1 || usages[0].Subject != "orders-value" {
		t.Fatalf("pkg/sr SchemaUsagesByID = %+v, %v", usages, err)
	}

	// pkg/sr registers; gregor reads.
	created, err := fc.CreateSchema(ctx, "events-value", sr.Schema{Schema: srReadingSchema})
	if err != nil {
		t.Fatal(err)
	}
	got, err := gc.SchemaByVersion(ctx, "events-value", schemaregistry.Latest)
	if err != nil || got.ID != created.ID || got.Version != created.Version || got.Schema.Schema != srReadingSchema || got.Type != schemaregistry.Avro {
		t.Fatalf("gregor SchemaByVersion = %+v, %v; pkg/sr created %+v", got, err, created)
	}
	lk, err := gc.Lookup(ctx, "events-value", schemaregistry.Schema{Schema: srReadingSchema})
	if err != nil || lk.ID != created.ID {
		t.Fatalf("gregor Lookup = %+v, %v", lk, err)
	}

	// The same error from both: a subject that does not exist.
	_, gerr := gc.SchemaByVersion(ctx, "nope", 1)
	_, ferr := fc.SchemaByVersion(ctx, "nope", 1)
	var re *sr.ResponseError
	if !errors.As(ferr, &re) || re.ErrorCode != schemaregistry.CodeSubjectNotFound || !errors.Is(gerr, schemaregistry.ErrSubjectNotFound) {
		t.Fatalf("gregor: %v; pkg/sr: %v", gerr, ferr)
	}
}

// TestSRProduceToKfake: records produced with gregor's Avro serializers to kfake, consumed
// with franz-go's consumer and decoded with pkg/sr's Serde, the schemas fetched by pkg/sr's
// client by the ids in the records.
func TestSRProduceToKfake(t *testing.T) {
	_, gc, fc := newSRPair(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(3, "readings"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := producer.New(producer.Config{BootstrapServers: c.ListenAddrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	keys, err := schemaregistry.NewAvroSerializer[string](gc, `"string"`, schemaregistry.ForKeys())
	if err != nil {
		t.Fatal(err)
	}
	values, err := schemaregistry.NewAvroSerializer[srReading](gc, srReadingSchema)
	if err != nil {
		t.Fatal(err)
	}
	typed := producer.NewTyped(p, keys, values)
	ctx := t.Context()
	const n = 300
	futures := make([]*producer.Future, n)
	for i := range n {
		futures[i] = typed.Send(ctx, "readings", fmt.Sprintf("sensor-%d", i%7), srReading{Index: i, Number: i * 3})
	}
	for i, f := range futures {
		if err := f.Wait(ctx); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}

	var serde sr.Serde
	registered := map[int]bool{}
	register := func(b []byte, v any) {
		t.Helper()
		id, _, err := serde.DecodeID(b)
		if err != nil {
			t.Fatal(err)
		}
		if registered[id] {
			return
		}
		s, err := fc.SchemaByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		sch := avro.MustParse(s.Schema)
		serde.Register(id, v, sr.DecodeFn(func(b []byte, v any) error { return avro.Unmarshal(sch, b, v) }))
		registered[id] = true
	}
	recs := consumeAll(t, c.ListenAddrs(), "readings", n)
	seen := make([]bool, n)
	for _, r := range recs {
		register(r.Key, "")
		register(r.Value, srReading{})
		var key string
		var v srReading
		if err := serde.Decode(r.Key, &key); err != nil {
			t.Fatal(err)
		}
		if err := serde.Decode(r.Value, &v); err != nil {
			t.Fatal(err)
		}
		if v.Number != v.Index*3 || key != fmt.Sprintf("sensor-%d", v.Index%7) || seen[v.Index] {
			t.Fatalf("record %q = %+v", key, v)
		}
		seen[v.Index] = true
	}
	if len(registered) != 2 {
		t.Fatalf("%d schema ids in the records, want 2 (key and value)", len(registered))
	}
}
