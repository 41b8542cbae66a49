package schemaregistry

import (
	"context"
	"fmt"

	"github.com/hamba/avro/v2"
)

// NewAvroSerializer returns a serializer that writes values of type T as Avro binary in the
// given schema (Avro's JSON schema language), with github.com/hamba/avro/v2: struct fields
// map to record fields by their `avro:"name"` tags. The record name for
// [RecordNameStrategy] is the schema's full name (namespace.name), or for a schema without a
// name its type ("string", "array"...).
//
// The schema is parsed here, so a schema that Avro rejects fails now rather than at the
// first send. Schemas that use references to other registered schemas are not supported.
func NewAvroSerializer[T any](c *Client, schema string, opts ...SerializerOption) (*Serializer[T], error) {
	s, err := newSerializer[T](c, "Avro", opts)
	if err != nil {
		return nil, err
	}
	// A cache of our own: avro.Parse would remember the names in a package-level cache.
	sch, err := avro.ParseWithCache(schema, "", &avro.SchemaCache{})
	if err != nil {
		return nil, fmt.Errorf("schemaregistry: NewAvroSerializer: %w", err)
	}
	// The record name of an unnamed schema is its type ("string", "array"), as in the
	// Java serializer.
	d := described{schema: Schema{Schema: schema, Type: Avro}, recordName: string(sch.Type())}
	if n, ok := sch.(avro.NamedSchema); ok {
		d.recordName = n.FullName()
	}
	s.describe = func(context.Context, any) (described, error) { return d, nil }
	s.appendPayload = func(dst []byte, v T) ([]byte, error) {
		b, err := avro.Marshal(sch, v)
		return append(dst, b...), err
	}
	return s, nil
}
