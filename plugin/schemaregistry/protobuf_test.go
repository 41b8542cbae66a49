package schemaregistry_test

import (
	"bytes"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/gregor-kafka/producer/plugin/schemaregistry"
	"github.com/gregor-kafka/producer/plugin/schemaregistry/internal/testpb"
)

func sampleReading() *testpb.Reading {
	note := "calibrated"
	return &testpb.Reading{
		Index:   3,
		Number:  42,
		Tags:    map[string]int32{"room": 7},
		Detail:  &testpb.Reading_Detail{Sensor: "s1", Deep: &testpb.Reading_Detail_Deep{Samples: []float64{1.5, -2}}},
		Price:   &testpb.Money{Currency: "EUR", Units: 12},
		At:      timestamppb.New(timestamppb.Now().AsTime().Truncate(1e9)),
		Note:    &note,
		Source:  &testpb.Reading_Device{Device: "probe"},
		Quality: testpb.Quality_QUALITY_GOOD,
		Raw:     []byte{0, 1, 2},
	}
}

func TestProtobufSerializer(t *testing.T) {
	srv, c := newRegistry(t)
	ctx := t.Context()
	s, err := schemaregistry.NewProtobufSerializer[proto.Message](c)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		msg     proto.Message
		indexes []byte
	}{
		{sampleReading(), []byte{0x00}},
		{&testpb.Reading_Detail{Sensor: "s2"}, []byte{0x04, 0x00, 0x00}},
		{&testpb.Batch{Readings: []*testpb.Reading{sampleReading()}, Kind: testpb.Batch_KIND_ONE}, []byte{0x02, 0x02}},
	} {
		b, err := s.SerializeContext(ctx, "readings", tc.msg)
		if err != nil {
			t.Fatal(err)
		}
		id, rest, err := schemaregistry.ParseHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(rest, tc.indexes) {
			t.Fatalf("%T: indexes % x, want % x", tc.msg, rest[:len(tc.indexes)], tc.indexes)
		}
		payload, _ := proto.Marshal(tc.msg)
		if !bytes.Equal(rest[len(tc.indexes):], payload) {
			t.Fatalf("%T: payload differs from proto.Marshal", tc.msg)
		}
		back := tc.msg.ProtoReflect().New().Interface()
		if err := proto.Unmarshal(rest[len(tc.indexes):], back); err != nil || !proto.Equal(back, tc.msg) {
			t.Fatalf("%T decoded as %v, %v", tc.msg, back, err)
		}
		sc, err := c.SchemaByID(ctx, id)
		if err != nil || sc.Type != schemaregistry.Protobuf || !strings.Contains(sc.Schema, "message Reading {") {
			t.Fatalf("schema %d: %+v, %v", id, sc, err)
		}
	}

	// The schema names common.proto as a reference, registered under its path; the
	// well-known timestamp.proto is left to the registry.
	latest, err := c.SchemaByVersion(ctx, "readings-value", schemaregistry.Latest)
	if err != nil {
		t.Fatal(err)
	}
	if len(latest.References) != 1 || latest.References[0] != (schemaregistry.Reference{Name: "gregor/test/common.proto", Subject: "gregor/test/common.proto", Version: 1}) {
		t.Fatalf("references %+v", latest.References)
	}
	dep, err := c.SchemaByVersion(ctx, "gregor/test/common.proto", 1)
	if err != nil || !strings.Contains(dep.Schema.Schema, "message Money {") {
		t.Fatalf("common.proto: %+v, %v", dep, err)
	}
	versions, _ := c.Versions(ctx, "readings-value")
	if len(versions) != 1 {
		t.Fatalf("readings-value has versions %v; one file is one schema", versions)
	}

	// Nothing more is asked for these messages on this topic.
	n := srv.Requests()
	if _, err := s.Serialize("readings", &testpb.Reading_Detail_Deep{}); err != nil {
		t.Fatal(err)
	}
	if srv.Requests() != n {
		t.Fatalf("%d requests for a known file and topic", srv.Requests()-n)
	}
}

// TestProtobufDynamic: a *dynamicpb.Message of an equal descriptor built at run time writes
// the same bytes and gets the same schema id as the generated type.
func TestProtobufDynamic(t *testing.T) {
	_, c := newRegistry(t)
	ctx := t.Context()
	generated, err := schemaregistry.NewProtobufSerializer[*testpb.Batch](c)
	if err != nil {
		t.Fatal(err)
	}
	dynamic, err := schemaregistry.NewProtobufSerializer[*dynamicpb.Message](c)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := protodesc.NewFile(protodesc.ToFileDescriptorProto(testpb.File_gregor_test_reading_proto), protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	gen := &testpb.Batch{Readings: []*testpb.Reading{sampleReading()}, Kind: testpb.Batch_KIND_ONE}
	raw, _ := proto.MarshalOptions{Deterministic: true}.Marshal(gen)
	dyn := dynamicpb.NewMessage(fd.Messages().ByName("Batch"))
	if err := proto.Unmarshal(raw, dyn); err != nil {
		t.Fatal(err)
	}
	want, err := generated.SerializeContext(ctx, "batches", gen)
	if err != nil {
		t.Fatal(err)
	}
	got, err := dynamic.SerializeContext(ctx, "batches", dyn)
	if err != nil {
		t.Fatal(err)
	}
	// Map order may differ between the two encodings; compare header and decoded payload.
	if !bytes.Equal(got[:7], want[:7]) {
		t.Fatalf("dynamic header % x, generated % x", got[:7], want[:7])
	}
	back := &testpb.Batch{}
	if err := proto.Unmarshal(got[7:], back); err != nil || !proto.Equal(back, gen) {
		t.Fatalf("dynamic payload decodes as %v, %v", back, err)
	}
	if b, err := dynamic.Serialize("batches", nil); b != nil || err != nil {
		t.Fatalf("nil message: % x, %v", b, err)
	}
}

// TestProtobufProto2: groups, required fields, defaults and extensions render into a
// schema the registry (srtest compiles it) accepts.
func TestProtobufProto2(t *testing.T) {
	_, c := newRegistry(t)
	s, err := schemaregistry.NewProtobufSerializer[*testpb.Holder](c, schemaregistry.WithSubjectNameStrategy(schemaregistry.RecordNameStrategy))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.SerializeContext(t.Context(), "legacy", &testpb.Holder{A: proto.Int32(-5)})
	if err != nil {
		t.Fatal(err)
	}
	if _, rest, _ := schemaregistry.ParseHeader(b); !bytes.HasPrefix(rest, []byte{0x02, 0x02}) {
		t.Fatalf("Holder's indexes: % x, want 02 02", rest)
	}
	if _, err := c.SchemaByVersion(t.Context(), "gregor.test.legacy.Holder", 1); err != nil {
		t.Fatal(err)
	}
}

func TestProtobufAutoRegisterOff(t *testing.T) {
	_, c := newRegistry(t)
	ctx := t.Context()
	s, err := schemaregistry.NewProtobufSerializer[*testpb.Reading](c, schemaregistry.AutoRegister(false))
	if err != nil {
		t.Fatal(err)
	}
	// The import is looked up first, and is missing.
	if _, err := s.SerializeContext(ctx, "readings", sampleReading()); err == nil || !strings.Contains(err.Error(), "gregor/test/common.proto") {
		t.Fatalf("unregistered import: %v", err)
	}
	// Registered by another serializer, the schema is found.
	auto, err := schemaregistry.NewProtobufSerializer[*testpb.Reading](c)
	if err != nil {
		t.Fatal(err)
	}
	want, err := auto.SerializeContext(ctx, "readings", sampleReading())
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.SerializeContext(ctx, "readings", sampleReading())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:6], want[:6]) {
		t.Fatalf("header % x, want % x", got[:6], want[:6])
	}
}

func TestProtobufSchemaIDOfNil(t *testing.T) {
	_, c := newRegistry(t)
	s, err := schemaregistry.NewProtobufSerializer[*dynamicpb.Message](c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SchemaID(t.Context(), "t", nil); err == nil {
		t.Fatal("SchemaID of a nil message: no error")
	}
}
