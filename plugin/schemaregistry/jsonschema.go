package schemaregistry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// NewJSONSerializer returns a serializer that writes values of type T as JSON
// (encoding/json) after validating them against the given JSON Schema with
// github.com/santhosh-tekuri/jsonschema/v6; a value the schema rejects is not sent. The
// record name for [RecordNameStrategy] is the schema's "title".
//
// The schema is compiled here, so an invalid schema fails now. It may not $ref documents
// outside itself: nothing is loaded from files or the network.
func NewJSONSerializer[T any](c *Client, schema string, opts ...SerializerOption) (*Serializer[T], error) {
	s, err := newSerializer[T](c, "JSON Schema", opts)
	if err != nil {
		return nil, err
	}
	sch, title, err := compileJSONSchema(schema)
	if err != nil {
		return nil, fmt.Errorf("schemaregistry: NewJSONSerializer: %w", err)
	}
	d := described{schema: Schema{Schema: schema, Type: JSON}, recordName: title}
	s.describe = func(context.Context, any) (described, error) { return d, nil }
	s.appendPayload = func(dst []byte, v T) ([]byte, error) {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		if err := sch.Validate(inst); err != nil {
			return nil, fmt.Errorf("the value does not match the schema: %w", err)
		}
		return append(dst, b...), nil
	}
	return s, nil
}

// jsonSchemaLocation is the URL the compiled schema is known by; it is never fetched.
const jsonSchemaLocation = "urn:gregor:schemaregistry:schema"

func compileJSONSchema(schema string) (*jsonschema.Schema, string, error) {
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	if err != nil {
		return nil, "", fmt.Errorf("the schema is not JSON: %w", err)
	}
	comp := jsonschema.NewCompiler()
	comp.UseLoader(noLoader{})
	if err := comp.AddResource(jsonSchemaLocation, doc); err != nil {
		return nil, "", err
	}
	sch, err := comp.Compile(jsonSchemaLocation)
	if err != nil {
		return nil, "", err
	}
	var title string
	if m, ok := doc.(map[string]any); ok {
		title, _ = m["title"].(string)
	}
	return sch, title, nil
}

// noLoader refuses to load any document a schema refers to.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schemaregistry: the schema refers to %q, and external documents are not loaded", url)
}
