// Package testpb holds Protobuf messages for the tests, generated from proto/ with protoc
// (Debian's protobuf-compiler) and protoc-gen-go at the version in go.mod:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go
//	go generate ./internal/testpb
package testpb

//go:generate protoc -I proto --go_out=../.. --go_opt=module=github.com/gregor-kafka/producer/plugin/schemaregistry proto/gregor/test/common.proto proto/gregor/test/reading.proto proto/gregor/test/legacy.proto
