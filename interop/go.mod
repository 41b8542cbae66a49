module github.com/gregor-kafka/producer/interop

go 1.26.0

replace github.com/gregor-kafka/producer => ../

require (
	github.com/gregor-kafka/producer v0.0.0-00010101000000-000000000000
	github.com/twmb/franz-go/pkg/kmsg v1.15.1
)
