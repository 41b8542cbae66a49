package schemaregistry_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/apipb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/gregor-kafka/producer/plugin/schemaregistry"
	"github.com/gregor-kafka/producer/plugin/schemaregistry/internal/testpb"
)

// compileSources parses .proto sources with protocompile, an independent compiler, and
// returns the named file.
func compileSources(t *testing.T, srcs map[string]string, name string) protoreflect.FileDescriptor {
	t.Helper()
	comp := protocompile.Compiler{
		Resolver: &protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(srcs)},
	}
	files, err := comp.Compile(t.Context(), name)
	if err != nil {
		t.Fatalf("compiling the rendered %s: %v\n%s", name, err, srcs[name])
	}
	return files[0]
}

// renderAll renders fd and everything it imports.
func renderAll(t *testing.T, fd protoreflect.FileDescriptor, into map[string]string) {
	t.Helper()
	if _, ok := into[fd.Path()]; ok {
		return
	}
	src, err := schemaregistry.ProtoSource(fd)
	if err != nil {
		t.Fatalf("ProtoSource(%s): %v", fd.Path(), err)
	}
	into[fd.Path()] = src
	for i := range fd.Imports().Len() {
		renderAll(t, fd.Imports().Get(i).FileDescriptor, into)
	}
}

// TestProtoSourceRoundTrip renders files — ours and protobuf's own, proto2 and proto3,
// with groups, defaults, extensions, maps, oneofs, services and options — and compiles the
// text with protocompile: the descriptor must equal the original, field for field.
func TestProtoSourceRoundTrip(t *testing.T) {
	for _, fd := range []protoreflect.FileDescriptor{
		testpb.File_gregor_test_reading_proto,
		testpb.File_gregor_test_common_proto,
		testpb.File_gregor_test_legacy_proto,
		descriptorpb.File_google_protobuf_descriptor_proto,
		pluginpb.File_google_protobuf_compiler_plugin_proto,
		timestamppb.File_google_protobuf_timestamp_proto,
		structpb.File_google_protobuf_struct_proto,
		apipb.File_google_protobuf_api_proto,
	} {
		t.Run(fd.Path(), func(t *testing.T) {
			srcs := map[string]string{}
			renderAll(t, fd, srcs)
			got := protodesc.ToFileDescriptorProto(compileSources(t, srcs, fd.Path()))
			want := protodesc.ToFileDescriptorProto(fd)
			got.SourceCodeInfo = nil
			want.SourceCodeInfo = nil
			// The text declares nested messages before fields, so the compiler's map entry
			// and group messages follow the declared ones; compare in that order.
			synthesizedLast(got)
			synthesizedLast(want)
			if !proto.Equal(got, want) {
				t.Fatalf("the rendered file compiles to a different descriptor:\n%s\ngot  %v\nwant %v", srcs[fd.Path()], got, want)
			}
		})
	}
}

// synthesizedLast reorders every message list of fd: declared messages first, then those
// made by the compiler for map fields and groups, each group in its order.
func synthesizedLast(fd *descriptorpb.FileDescriptorProto) {
	var walk func(msgs []*descriptorpb.DescriptorProto, fields []*descriptorpb.FieldDescriptorProto, scope string) []*descriptorpb.DescriptorProto
	walk = func(msgs []*descriptorpb.DescriptorProto, fields []*descriptorpb.FieldDescriptorProto, scope string) []*descriptorpb.DescriptorProto {
		made := func(m *descriptorpb.DescriptorProto) bool {
			if m.GetOptions().GetMapEntry() {
				return true
			}
			for _, f := range fields {
				if f.GetType() == descriptorpb.FieldDescriptorProto_TYPE_GROUP && f.GetTypeName() == scope+"."+m.GetName() {
					return true
				}
			}
			return false
		}
		var declared, rest []*descriptorpb.DescriptorProto
		for _, m := range msgs {
			m.NestedType = walk(m.NestedType, append(slices.Clone(m.Field), m.Extension...), scope+"."+m.GetName())
			if made(m) {
				rest = append(rest, m)
			} else {
				declared = append(declared, m)
			}
		}
		return append(declared, rest...)
	}
	scope := ""
	if fd.GetPackage() != "" {
		scope = "." + fd.GetPackage()
	}
	fd.MessageType = walk(fd.MessageType, fd.Extension, scope)
}

// TestMessageIndexes: the indexes count declared messages only. Reading's map field makes
// a TagsEntry message that precedes Detail among Reading's nested messages, so Detail is
// nested message 1 to protobuf-go but 0 in the schema text.
func TestMessageIndexesOfDescriptors(t *testing.T) {
	detail := (*testpb.Reading_Detail)(nil).ProtoReflect().Descriptor()
	if detail.Index() != 1 || !detail.Parent().(protoreflect.MessageDescriptor).Messages().Get(0).IsMapEntry() {
		t.Fatal("the test file no longer puts the map entry first; fix reading.proto")
	}
	for _, tc := range []struct {
		md   protoreflect.MessageDescriptor
		want []int
	}{
		{(*testpb.Reading)(nil).ProtoReflect().Descriptor(), []int{0}},
		{detail, []int{0, 0}},
		{(*testpb.Reading_Detail_Deep)(nil).ProtoReflect().Descriptor(), []int{0, 0, 0}},
		{(*testpb.Batch)(nil).ProtoReflect().Descriptor(), []int{1}},
		{(*testpb.Legacy_Inner)(nil).ProtoReflect().Descriptor(), []int{0, 0}}, // after the group Point
		{(*testpb.Holder)(nil).ProtoReflect().Descriptor(), []int{1}},
	} {
		if got := schemaregistry.MessageIndexes(tc.md); !slices.Equal(got, tc.want) {
			t.Errorf("MessageIndexes(%s) = %v, want %v", tc.md.FullName(), got, tc.want)
		}
	}

	// The same indexes find the same messages in a parse of the rendered text, where the
	// map entry is not a declared message either.
	srcs := map[string]string{}
	renderAll(t, testpb.File_gregor_test_reading_proto, srcs)
	renderAll(t, testpb.File_gregor_test_legacy_proto, srcs)
	for _, name := range []string{"gregor/test/reading.proto", "gregor/test/legacy.proto"} {
		parsed := compileSources(t, srcs, name)
		var walk func(msgs protoreflect.MessageDescriptors)
		walk = func(msgs protoreflect.MessageDescriptors) {
			for i := range msgs.Len() {
				md := msgs.Get(i)
				if strings.HasSuffix(string(md.Name()), "Entry") || md.Name() == "Point" {
					continue
				}
				idx := schemaregistry.MessageIndexes(md)
				if found := byIndexes(parsed, idx); found == nil || found.FullName() != md.FullName() {
					t.Errorf("indexes %v of %s find %s in the parsed text", idx, md.FullName(), nameOf(found))
				}
				// A reader counting every message of the compiled text (as confluent-kafka-go
				// does) finds the same one: the made messages come last.
				if found := byRawIndexes(parsed, idx); found == nil || found.FullName() != md.FullName() {
					t.Errorf("indexes %v of %s find %s counting every message", idx, md.FullName(), nameOf(found))
				}
				walk(md.Messages())
			}
		}
		walk(parsed.Messages())
	}
}

// byIndexes follows message indexes through a file, counting declared messages only.
func byIndexes(fd protoreflect.FileDescriptor, idx []int) protoreflect.MessageDescriptor {
	msgs := fd.Messages()
	var md protoreflect.MessageDescriptor
	for _, want := range idx {
		md = nil
		n := 0
		for i := range msgs.Len() {
			m := msgs.Get(i)
			if m.IsMapEntry() || m.Name() == "Point" {
				continue
			}
			if n == want {
				md = m
				break
			}
			n++
		}
		if md == nil {
			return nil
		}
		msgs = md.Messages()
	}
	return md
}

func nameOf(md protoreflect.MessageDescriptor) string {
	if md == nil {
		return "nothing"
	}
	return string(md.FullName())
}

// byRawIndexes follows message indexes through a file counting every message.
func byRawIndexes(fd protoreflect.FileDescriptor, idx []int) protoreflect.MessageDescriptor {
	msgs := fd.Messages()
	var md protoreflect.MessageDescriptor
	for _, i := range idx {
		if i >= msgs.Len() {
			return nil
		}
		md = msgs.Get(i)
		msgs = md.Messages()
	}
	return md
}

func TestProtoSourceEditions(t *testing.T) {
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:        proto.String("editions.proto"),
		Syntax:      proto.String("editions"),
		Edition:     descriptorpb.Edition_EDITION_2023.Enum(),
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("M")}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = schemaregistry.ProtoSource(fd)
	if err == nil || !strings.Contains(err.Error(), "only proto2 and proto3") {
		t.Fatalf("an editions file: %v", err)
	}
}
