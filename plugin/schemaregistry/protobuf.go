package schemaregistry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// NewProtobufSerializer returns a serializer that writes Protobuf messages of type T
// (generated types, or *dynamicpb.Message) with google.golang.org/protobuf. The schema is
// the message's .proto file, rendered from its descriptor by [ProtoSource]; after the
// schema id comes the message's index path in that file (see [AppendMessageIndexes]). The
// record name for [RecordNameStrategy] is the message's full name.
//
// Files the schema imports are registered too (or, with auto-registration off, looked up),
// each under a subject named by its import path, and listed as the schema's references,
// as the Java serializer does. Imports under google/protobuf/ (the well-known types),
// google/type/ and confluent/ are not: the registry bundles them.
func NewProtobufSerializer[T proto.Message](c *Client, opts ...SerializerOption) (*Serializer[T], error) {
	s, err := newSerializer[T](c, "Protobuf", opts)
	if err != nil {
		return nil, err
	}
	files := &protoFiles{c: c, autoRegister: s.cfg.autoRegister, schemas: map[protoreflect.FileDescriptor]Schema{}}
	s.schemaKey = func(v T) (any, error) {
		if isNil(v) {
			return nil, errors.New("schemaregistry: Protobuf: a nil message has no schema")
		}
		md := v.ProtoReflect().Descriptor()
		if md.IsMapEntry() {
			return nil, fmt.Errorf("schemaregistry: Protobuf: %s is a map entry, not a message to send", md.FullName())
		}
		return md, nil
	}
	s.describe = func(ctx context.Context, key any) (described, error) {
		md := key.(protoreflect.MessageDescriptor)
		schema, err := files.schema(ctx, md.ParentFile())
		if err != nil {
			return described{}, err
		}
		return described{schema: schema, recordName: string(md.FullName()), indexes: MessageIndexes(md)}, nil
	}
	s.appendPayload = func(dst []byte, v T) ([]byte, error) {
		return proto.MarshalOptions{}.MarshalAppend(dst, v)
	}
	return s, nil
}

// MessageIndexes returns md's index path in its file, as the wire format carries it: its
// index among the top-level messages, then among each enclosing message's nested ones.
// Only messages declared with a message statement count, not the entries the compiler makes
// for map fields nor group messages: the Java deserializer resolves indexes so in the
// schema text. [ProtoSource] writes nested messages before fields, so that a reader that
// does count the made messages (confluent-kafka-go) finds them after the declared ones,
// and resolves the same indexes to the same message.
func MessageIndexes(md protoreflect.MessageDescriptor) []int {
	var path []int
	var d protoreflect.Descriptor = md
	for {
		parent := d.Parent()
		var siblings protoreflect.MessageDescriptors
		switch p := parent.(type) {
		case protoreflect.FileDescriptor:
			siblings = p.Messages()
		case protoreflect.MessageDescriptor:
			siblings = p.Messages()
		default:
			return append(path, 0) // not reachable for descriptors from protoreflect
		}
		idx := 0
		for i := range siblings.Len() {
			sib := siblings.Get(i)
			if sib.FullName() == d.FullName() {
				break
			}
			if declaredMessage(parent, sib) {
				idx++
			}
		}
		path = append(path, idx)
		if _, ok := parent.(protoreflect.FileDescriptor); ok {
			break
		}
		d = parent
	}
	slices.Reverse(path)
	return path
}

// builtinProto reports whether the registry knows the file without its being registered:
// protobuf's well-known types, Google's common types and Confluent's own (as the Java
// registry bundles them and confluent-kafka-go leaves them out of references).
func builtinProto(path string) bool {
	return strings.HasPrefix(path, "google/protobuf/") || strings.HasPrefix(path, "google/type/") || strings.HasPrefix(path, "confluent/")
}

// protoFiles renders .proto files and resolves their imports into references: each
// imported file registered (or looked up) under the subject of its path.
type protoFiles struct {
	c            *Client
	autoRegister bool

	mu      sync.Mutex
	schemas map[protoreflect.FileDescriptor]Schema // with references resolved
}

func (f *protoFiles) schema(ctx context.Context, fd protoreflect.FileDescriptor) (Schema, error) {
	f.mu.Lock()
	s, ok := f.schemas[fd]
	f.mu.Unlock()
	if ok {
		return cloneSchema(s), nil
	}
	text, err := ProtoSource(fd)
	if err != nil {
		return Schema{}, err
	}
	s = Schema{Schema: text, Type: Protobuf}
	imps := fd.Imports()
	for i := range imps.Len() {
		imp := imps.Get(i)
		if builtinProto(imp.Path()) {
			continue
		}
		if imp.IsPlaceholder() {
			return Schema{}, fmt.Errorf("schemaregistry: %s imports %s, whose descriptor is not available", fd.Path(), imp.Path())
		}
		dep, err := f.schema(ctx, imp.FileDescriptor)
		if err != nil {
			return Schema{}, err
		}
		subject := imp.Path()
		if f.autoRegister {
			if _, err := f.c.Register(ctx, subject, dep); err != nil {
				return Schema{}, fmt.Errorf("schemaregistry: registering %s, imported by %s: %w", subject, fd.Path(), err)
			}
		}
		ss, err := f.c.Lookup(ctx, subject, dep)
		if err != nil {
			return Schema{}, fmt.Errorf("schemaregistry: looking up %s, imported by %s: %w", subject, fd.Path(), err)
		}
		s.References = append(s.References, Reference{Name: imp.Path(), Subject: subject, Version: ss.Version})
	}
	f.mu.Lock()
	makeRoom(f.schemas, fd, maxPrefixes)
	f.schemas[fd] = s
	f.mu.Unlock()
	return cloneSchema(s), nil
}
