package schemaregistry_test

import (
	"errors"
	"net"
	"testing"

	"github.com/gregor-kafka/producer/plugin/schemaregistry"
	"github.com/gregor-kafka/producer/plugin/schemaregistry/srtest"
)

// readingSchema is the tutorial's record in Avro.
const readingSchema = `{
  "type": "record",
  "name": "Reading",
  "namespace": "gregor.tutorial",
  "fields": [
    {"name": "index", "type": "int"},
    {"name": "number", "type": "int"}
  ]
}`

// Reading is the Go side of readingSchema (and of readingJSONSchema).
type Reading struct {
	Index  int `avro:"index" json:"index"`
	Number int `avro:"number" json:"number"`
}

// newRegistry starts a fake registry and a client of it, both closed with the test.
func newRegistry(t *testing.T, opts ...srtest.Option) (*srtest.Server, *schemaregistry.Client) {
	t.Helper()
	srv := srtest.NewServer(opts...)
	t.Cleanup(srv.Close)
	c, err := schemaregistry.NewClient(schemaregistry.Config{URLs: []string{srv.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// registryError returns err's *schemaregistry.Error, failing the test if there is none.
func registryError(t *testing.T, err error) *schemaregistry.Error {
	t.Helper()
	var rerr *schemaregistry.Error
	if !errors.As(err, &rerr) {
		t.Fatalf("error %v (%T): want a *schemaregistry.Error", err, err)
	}
	return rerr
}

// deadURL is a loopback URL that refuses connections.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func avroSchema(text string) schemaregistry.Schema {
	return schemaregistry.Schema{Schema: text}
}
