package schemaregistry

import (
	"fmt"
	"strconv"
	"strings"
)

// SchemaType is the kind of a schema: Avro (the registry's default), Protobuf or JSON Schema.
// It travels as "schemaType" in the REST API, and is omitted for Avro.
type SchemaType int

const (
	// Avro schemas, written in Avro's JSON schema language.
	Avro SchemaType = iota
	// Protobuf schemas, written as .proto source text.
	Protobuf
	// JSON schemas (JSON Schema documents).
	JSON
)

// String returns the name the REST API uses: AVRO, PROTOBUF or JSON.
func (t SchemaType) String() string {
	switch t {
	case Avro:
		return "AVRO"
	case Protobuf:
		return "PROTOBUF"
	case JSON:
		return "JSON"
	}
	return "SchemaType(" + strconv.Itoa(int(t)) + ")"
}

// MarshalText encodes t as its REST API name.
func (t SchemaType) MarshalText() ([]byte, error) {
	switch t {
	case Avro, Protobuf, JSON:
		return []byte(t.String()), nil
	}
	return nil, fmt.Errorf("schemaregistry: unknown schema type %d", int(t))
}

// UnmarshalText decodes a REST API schema type name; the empty string is Avro.
func (t *SchemaType) UnmarshalText(b []byte) error {
	switch strings.ToUpper(string(b)) {
	case "", "AVRO":
		*t = Avro
	case "PROTOBUF":
		*t = Protobuf
	case "JSON":
		*t = JSON
	default:
		return fmt.Errorf("schemaregistry: unknown schema type %q", b)
	}
	return nil
}

// Reference names another registered schema that a schema uses: a Protobuf import, an Avro
// named type or a JSON Schema $ref. Name is how the schema refers to it (for Protobuf, the
// import path), Subject and Version where the registry holds it.
type Reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// Schema is a schema as the registry stores it: its text, its type and its references.
type Schema struct {
	Schema     string      `json:"schema"`
	Type       SchemaType  `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
}

// SubjectSchema is a schema registered under a subject: the subject, the version within it
// and the schema's id, which is global to the registry.
type SubjectSchema struct {
	Subject string `json:"subject"`
	Version int    `json:"version"`
	ID      int    `json:"id"`
	Schema
}

// Latest asks [Client.SchemaByVersion] for the newest version of a subject.
const Latest = -1
