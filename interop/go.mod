module github.com/gregor-kafka/producer/interop

go 1.26.0

replace github.com/gregor-kafka/producer => ../

require (
	github.com/gregor-kafka/producer v0.0.0-00010101000000-000000000000
	github.com/twmb/franz-go/pkg/kmsg v1.15.1
)

require (
	github.com/golang/snappy v1.0.0 // indirect
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/pierrec/lz4/v4 v4.1.33 // indirect
	github.com/twmb/franz-go v1.22.3
)
