package srtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/hamba/avro/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/gregor-kafka/producer/plugin/schemaregistry"
)

// parse checks that sc is a valid schema of its type, given the schemas its references
// name (dependencies first), and returns the text that identifies it: Avro and JSON
// Schema documents without insignificant white space, Protobuf source as it is.
func parse(ctx context.Context, sc schemaregistry.Schema, refs []resolved) (string, error) {
	for _, r := range refs {
		if r.Type != sc.Type {
			return "", fmt.Errorf("reference %q is a %s schema, not %s", r.name, r.Type, sc.Type)
		}
	}
	switch sc.Type {
	case schemaregistry.Avro:
		cache := &avro.SchemaCache{}
		for _, r := range refs {
			if _, err := avro.ParseWithCache(r.Schema.Schema, "", cache); err != nil {
				return "", fmt.Errorf("reference %q: %w", r.name, err)
			}
		}
		if _, err := avro.ParseWithCache(sc.Schema, "", cache); err != nil {
			return "", err
		}
		return compact(sc.Schema)

	case schemaregistry.JSON:
		comp := jsonschema.NewCompiler()
		comp.UseLoader(refuseLoader{})
		for _, r := range refs {
			doc, err := jsonschema.UnmarshalJSON(strings.NewReader(r.Schema.Schema))
			if err != nil {
				return "", fmt.Errorf("reference %q: %w", r.name, err)
			}
			if err := comp.AddResource(jsonLocation(r.name), doc); err != nil {
				return "", fmt.Errorf("reference %q: %w", r.name, err)
			}
		}
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(sc.Schema))
		if err != nil {
			return "", err
		}
		main := jsonLocation("srtest-schema.json")
		if err := comp.AddResource(main, doc); err != nil {
			return "", err
		}
		if _, err := comp.Compile(main); err != nil {
			return "", err
		}
		return compact(sc.Schema)

	case schemaregistry.Protobuf:
		srcs := map[string]string{}
		for _, r := range refs {
			srcs[r.name] = r.Schema.Schema
		}
		main := "srtest-schema.proto"
		for srcs[main] != "" {
			main = "_" + main
		}
		srcs[main] = sc.Schema
		comp := protocompile.Compiler{
			Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
				Accessor: protocompile.SourceAccessorFromMap(srcs),
			}),
			MaxParallelism: 1,
		}
		if _, err := comp.Compile(ctx, main); err != nil {
			return "", err
		}
		return sc.Schema, nil
	}
	return "", fmt.Errorf("unknown schema type %v", sc.Type)
}

func compact(doc string) (string, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(doc)); err != nil {
		return "", err
	}
	return b.String(), nil
}

// jsonLocation is where a JSON schema named name is known to the compiler: name itself if
// it is an absolute URL, else a place under a made-up base that relative $refs resolve in.
func jsonLocation(name string) string {
	if u, err := url.Parse(name); err == nil && u.IsAbs() {
		return name
	}
	return "mem:///srtest/" + strings.TrimPrefix(name, "/")
}

// refuseLoader loads nothing: a $ref must name the schema itself or a reference.
type refuseLoader struct{}

func (refuseLoader) Load(u string) (any, error) {
	return nil, fmt.Errorf("$ref %q is neither in the schema nor one of its references", u)
}
