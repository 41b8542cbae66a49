package schemaregistry_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/gregor-kafka/producer/plugin/schemaregistry"
	"github.com/gregor-kafka/producer/plugin/schemaregistry/internal/testpb"
	"github.com/gregor-kafka/producer/plugin/schemaregistry/srtest"
)

func ExampleNewAvroSerializer() {
	registry := srtest.NewServer() // a real one: "http://registry:8081"
	defer registry.Close()
	client, err := schemaregistry.NewClient(schemaregistry.Config{URLs: []string{registry.URL()}})
	if err != nil {
		panic(err)
	}

	type Reading struct {
		Index  int `avro:"index"`
		Number int `avro:"number"`
	}
	values, err := schemaregistry.NewAvroSerializer[Reading](client, `{
		"type": "record", "name": "Reading", "namespace": "gregor.tutorial",
		"fields": [{"name": "index", "type": "int"}, {"name": "number", "type": "int"}]}`)
	if err != nil {
		panic(err)
	}
	// With a producer: producer.NewTyped(p, producer.BytesSerializer(), values).
	b, err := values.Serialize("sample", Reading{Index: 1, Number: 42})
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", b)

	ss, err := client.SchemaByVersion(context.Background(), "sample-value", schemaregistry.Latest)
	if err != nil {
		panic(err)
	}
	fmt.Println(ss.Subject, "version", ss.Version, "id", ss.ID)
	// Output:
	// 00 00 00 00 01 02 54
	// sample-value version 1 id 1
}

func ExampleNewProtobufSerializer() {
	registry := srtest.NewServer()
	defer registry.Close()
	client, err := schemaregistry.NewClient(schemaregistry.Config{URLs: []string{registry.URL()}})
	if err != nil {
		panic(err)
	}
	values, err := schemaregistry.NewProtobufSerializer[*testpb.Batch](client)
	if err != nil {
		panic(err)
	}
	b, err := values.Serialize("batches", &testpb.Batch{Kind: testpb.Batch_KIND_ONE})
	if err != nil {
		panic(err)
	}
	// Batch is the file's second message: indexes [1], then the payload (field 2 = 1).
	// The id is 2: the imported common.proto was registered first, as id 1.
	fmt.Printf("% x\n", b)
	// Output:
	// 00 00 00 00 02 02 02 10 01
}

func ExampleError() {
	registry := srtest.NewServer()
	defer registry.Close()
	client, err := schemaregistry.NewClient(schemaregistry.Config{URLs: []string{registry.URL()}})
	if err != nil {
		panic(err)
	}
	_, err = client.SchemaByVersion(context.Background(), "orders-value", schemaregistry.Latest)

	var rerr *schemaregistry.Error
	if errors.As(err, &rerr) {
		fmt.Println(rerr.StatusCode, rerr.Code, rerr.Message)
	}
	fmt.Println(errors.Is(err, schemaregistry.ErrSubjectNotFound))
	// Output:
	// 404 40401 Subject 'orders-value' not found.
	// true
}
