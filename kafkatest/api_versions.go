package kafkatest

import (
	"sort"

	"github.com/gregor-kafka/producer/wire"
)

// handleApiVersions answers ApiVersions (key 18) with the version ranges of the APIs the
// brokers answer (see handlers), taken from wire.SupportedAPIs.
func handleApiVersions(cn *conn, ex *exchange) (wire.Response, error) {
	var req wire.ApiVersionsRequest
	if err := req.Decode(ex.body, ex.hdr.APIVersion); err != nil {
		return nil, err
	}
	resp := &wire.ApiVersionsResponse{FinalizedFeaturesEpoch: -1}
	if code := ex.faultCode(); code != 0 {
		resp.ErrorCode = code
		return resp, nil
	}
	if ex.hdr.APIVersion >= 3 {
		// KIP-511: Kafka answers INVALID_REQUEST to a software name or version that does not
		// match [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?.
		if !validSoftwareField(req.ClientSoftwareName) || !validSoftwareField(req.ClientSoftwareVersion) {
			resp.ErrorCode = wire.ErrInvalidRequest.Code
			return resp, nil
		}
	}
	resp.APIKeys = cn.b.c.apis
	return resp, nil
}

// advertisedAPIs returns the version range of every API with a handler, by key. NewCluster
// computes it once (handlers cannot, as the map refers to handleApiVersions).
func advertisedAPIs() []wire.ApiVersionsKey {
	var keys []wire.ApiVersionsKey
	for _, a := range wire.SupportedAPIs() {
		if _, ok := handlers[a.Key]; ok {
			keys = append(keys, wire.ApiVersionsKey{APIKey: a.Key, MinVersion: a.Min, MaxVersion: a.Max})
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].APIKey < keys[j].APIKey })
	return keys
}

// unsupportedApiVersions returns the answer to an ApiVersions request newer than we know
// (KIP-511): a v0 body with UNSUPPORTED_VERSION and our own ApiVersions range, so the client
// can retry at a version both sides speak.
func unsupportedApiVersions(h wire.RequestHeader) []byte {
	a, _ := wire.LookupAPI(wire.KeyApiVersions)
	resp := &wire.ApiVersionsResponse{
		ErrorCode:              wire.ErrUnsupportedVersion.Code,
		APIKeys:                []wire.ApiVersionsKey{{APIKey: a.Key, MinVersion: a.Min, MaxVersion: a.Max}},
		FinalizedFeaturesEpoch: -1,
	}
	return wire.AppendResponse(nil, h.CorrelationID, 0, resp)
}

// validSoftwareField reports whether s matches [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?.
func validSoftwareField(s string) bool {
	if s == "" {
		return false
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !alnum(c) && ((c != '-' && c != '.') || i == 0 || i == len(s)-1) {
			return false
		}
	}
	return true
}
