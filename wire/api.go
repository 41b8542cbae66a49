package wire

import (
	"fmt"
)

// API keys of the requests gregor speaks.
const (
	KeyProduce            int16 = 0
	KeyFetch              int16 = 1
	KeyListOffsets        int16 = 2
	KeyMetadata           int16 = 3
	KeyFindCoordinator    int16 = 10
	KeySaslHandshake      int16 = 17
	KeyApiVersions        int16 = 18
	KeyInitProducerID     int16 = 22
	KeyAddPartitionsToTxn int16 = 24
	KeyAddOffsetsToTxn    int16 = 25
	KeyEndTxn             int16 = 26
	KeyTxnOffsetCommit    int16 = 28
	KeySaslAuthenticate   int16 = 36
)

// APIRange is the range of versions of one API that this package encodes and decodes, and
// the first flexible version (-1 when no version is flexible).
type APIRange struct {
	Key          int16
	Name         string
	Min, Max     int16
	FirstFlexVer int16
}

// apiRanges lists, for each API gregor speaks, the versions Kafka 4.x accepts (see
// kafka-protocol-notes §2). It is read-only.
var apiRanges = [...]APIRange{
	{KeyProduce, "Produce", 3, 13, 9},
	{KeyFetch, "Fetch", 4, 18, 12},
	{KeyListOffsets, "ListOffsets", 1, 11, 6},
	{KeyMetadata, "Metadata", 0, 13, 9},
	{KeyFindCoordinator, "FindCoordinator", 0, 6, 3},
	{KeySaslHandshake, "SaslHandshake", 0, 1, -1},
	{KeyApiVersions, "ApiVersions", 0, 4, 3},
	{KeyInitProducerID, "InitProducerId", 0, 5, 2},
	{KeyAddPartitionsToTxn, "AddPartitionsToTxn", 0, 5, 3},
	{KeyAddOffsetsToTxn, "AddOffsetsToTxn", 0, 4, 3},
	{KeyEndTxn, "EndTxn", 0, 5, 3},
	{KeyTxnOffsetCommit, "TxnOffsetCommit", 0, 6, 3},
	{KeySaslAuthenticate, "SaslAuthenticate", 0, 2, 2},
}

// SupportedAPIs returns the APIs and versions this package implements.
func SupportedAPIs() []APIRange {
	out := make([]APIRange, len(apiRanges))
	copy(out, apiRanges[:])
	return out
}

// LookupAPI returns the range for key and whether the key is one this package implements.
func LookupAPI(key int16) (APIRange, bool) {
	for _, a := range apiRanges {
		if a.Key == key {
			return a, true
		}
	}
	return APIRange{}, false
}

// APIName returns the name of the API with key, or "ApiKey(N)" for one we do not implement.
func APIName(key int16) string {
	if a, ok := LookupAPI(key); ok {
		return a.Name
	}
	return fmt.Sprintf("ApiKey(%d)", key)
}

// IsFlexible reports whether version of the API with key uses the flexible (compact,
// tagged-field) encoding.
func IsFlexible(key, version int16) bool {
	a, ok := LookupAPI(key)
	return ok && a.FirstFlexVer >= 0 && version >= a.FirstFlexVer
}

// CheckVersion returns an error unless this package implements version of key.
func CheckVersion(key, version int16) error {
	a, ok := LookupAPI(key)
	if !ok {
		return fmt.Errorf("wire: unsupported api key %d", key)
	}
	if version < a.Min || version > a.Max {
		return fmt.Errorf("wire: %s version %d not in supported range %d-%d", a.Name, version, a.Min, a.Max)
	}
	return nil
}

// Request is a request body that can be encoded by a client and decoded by a broker.
type Request interface {
	// Key returns the API key.
	Key() int16
	// AppendTo appends the body encoded at version to dst.
	AppendTo(dst []byte, version int16) []byte
	// Decode replaces the receiver's contents with the body decoded from b at version.
	Decode(b []byte, version int16) error
}

// Response is a response body that can be encoded by a broker and decoded by a client.
type Response interface {
	Key() int16
	AppendTo(dst []byte, version int16) []byte
	Decode(b []byte, version int16) error
}
