// Package interop holds gregor's tests and benchmarks against software we did not write:
// franz-go's kmsg encoders (byte-level cross-checks of the wire package), franz-go's kfake
// cluster and consumer (end-to-end produce and read-back), franz-go's producer writing to
// gregor's kafkatest cluster (proof that kafkatest speaks Kafka), franz-go's pkg/sr schema
// registry client and Serde beside gregor's plugin/schemaregistry (each reads what the other
// writes), and other Go clients (benchmarks).
//
// It is a separate module so that the main module depends on nothing but the standard
// library and the three compression packages.
package interop
