// Package schemaregistry connects gregor's producer to a Confluent Schema Registry: a client
// for the registry's REST API, and serializers for [producer.NewTyped] that write Avro,
// Protobuf and JSON Schema values in the registry's wire format — the magic byte 0, the
// schema's id in 4 bytes big-endian, for Protobuf the message indexes, then the payload —
// so that consumers using Confluent's deserializers (Java, confluent-kafka-go, franz-go's
// pkg/sr) read them.
//
//	client, err := schemaregistry.NewClient(schemaregistry.Config{URLs: []string{"http://registry:8081"}})
//	values, err := schemaregistry.NewAvroSerializer[Reading](client, readingSchema)
//	readings := producer.NewTyped(p, producer.BytesSerializer(), values)
//	err = readings.Send(ctx, "sample", nil, Reading{Index: 0, Number: 42}).Wait(ctx)
//
// Each serializer registers its schema under a subject named by a [SubjectNameStrategy]
// ("<topic>-value" by default) the first time it meets a topic, and caches the id. The
// package srtest is a fake registry for tests.
//
// This is its own module, so that the producer does not depend on Avro, Protobuf or JSON
// Schema libraries.
package schemaregistry
