package wire

import (
	"errors"
	"fmt"
	"testing"
)

func newApiVersionsRequest() message  { return new(ApiVersionsRequest) }
func newApiVersionsResponse() message { return new(ApiVersionsResponse) }

func TestApiVersionsRequestRoundTrip(t *testing.T) {
	for _, v := range versionsOf(t, KeyApiVersions) {
		in := &ApiVersionsRequest{ClientSoftwareName: "gregor", ClientSoftwareVersion: "0.1.0"}
		want := &ApiVersionsRequest{}
		if v >= 3 {
			*want = *in
		}
		enc := checkRoundTrip(t, in, newApiVersionsRequest, want, v)
		if v < 3 && len(enc) != 0 {
			t.Errorf("v%d: body %x, want empty", v, enc)
		}
	}
}

func TestApiVersionsRequestGolden(t *testing.T) {
	in := &ApiVersionsRequest{ClientSoftwareName: "gregor", ClientSoftwareVersion: "1.0"}
	checkGolden(t, in, newApiVersionsRequest, in, 3, `
		07 67 72 65 67 6f 72 # ClientSoftwareName: compact length 6+1, "gregor"
		04 31 2e 30          # ClientSoftwareVersion: compact length 3+1, "1.0"
		00                   # no tagged fields`)
	checkGolden(t, in, newApiVersionsRequest, &ApiVersionsRequest{}, 2, ``)
}

func fullApiVersionsResponse(v int16) *ApiVersionsResponse {
	r := &ApiVersionsResponse{
		ErrorCode: 35,
		APIKeys: []ApiVersionsKey{
			{KeyProduce, 3, 13},
			{KeyMetadata, 0, 13},
			{KeyApiVersions, 0, 4},
		},
		ThrottleTimeMs:         250,
		SupportedFeatures:      []SupportedFeature{{"metadata.version", 1, 27}, {"kraft.version", 0, 1}},
		FinalizedFeaturesEpoch: 1 << 40,
		FinalizedFeatures:      []FinalizedFeature{{"metadata.version", 27, 27}},
		ZkMigrationReady:       true,
	}
	if v == allFields {
		return r
	}
	if v < 1 {
		r.ThrottleTimeMs = 0
	}
	if v < 3 {
		r.SupportedFeatures = nil
		r.FinalizedFeaturesEpoch = -1
		r.FinalizedFeatures = nil
		r.ZkMigrationReady = false
	}
	return r
}

func TestApiVersionsResponseRoundTrip(t *testing.T) {
	for _, v := range versionsOf(t, KeyApiVersions) {
		checkRoundTrip(t, fullApiVersionsResponse(allFields), newApiVersionsResponse, fullApiVersionsResponse(v), v)
		// Tagged fields at their defaults are not written and decode to those defaults.
		bare := &ApiVersionsResponse{APIKeys: []ApiVersionsKey{{0, 3, 13}}, FinalizedFeaturesEpoch: -1}
		checkRoundTrip(t, bare, newApiVersionsResponse, bare, v)
	}
}

func TestApiVersionsResponseGolden(t *testing.T) {
	v0 := &ApiVersionsResponse{APIKeys: []ApiVersionsKey{{0, 3, 13}}, FinalizedFeaturesEpoch: -1}
	checkGolden(t, v0, newApiVersionsResponse, v0, 0, `
		00 00                # ErrorCode 0
		00 00 00 01          # ApiKeys: int32 count 1
		00 00 00 03 00 0d    # Produce 3..13`)

	v3 := &ApiVersionsResponse{
		APIKeys:                []ApiVersionsKey{{18, 0, 4}},
		ThrottleTimeMs:         1,
		SupportedFeatures:      []SupportedFeature{{"f", 0, 2}},
		FinalizedFeaturesEpoch: 7,
		FinalizedFeatures:      []FinalizedFeature{{"f", 2, 1}},
		ZkMigrationReady:       true,
	}
	checkGolden(t, v3, newApiVersionsResponse, v3, 3, `
		00 00                   # ErrorCode 0
		02                      # ApiKeys: compact count 1+1
		00 12 00 00 00 04 00    # ApiVersions 0..4, no tags
		00 00 00 01             # ThrottleTimeMs 1
		04                      # four tagged fields
		00 08 02 02 66 00 00 00 02 00  # tag 0 size 8: SupportedFeatures [{f 0 2}]
		01 08 00 00 00 00 00 00 00 07  # tag 1 size 8: FinalizedFeaturesEpoch 7
		02 08 02 02 66 00 02 00 01 00  # tag 2 size 8: FinalizedFeatures [{f max 2 min 1}]
		03 01 01                       # tag 3 size 1: ZkMigrationReady true`)
}

func TestApiVersionsResponseUnknownTags(t *testing.T) {
	b := unhex(t, `
		00 00 01                   # no error, no keys
		00 00 00 00                # ThrottleTimeMs
		03                         # three tagged fields
		01 08 00 00 00 00 00 00 00 09  # FinalizedFeaturesEpoch 9
		05 02 ab cd                # unknown tag 5
		1f 00                      # unknown tag 31, empty`)
	var r ApiVersionsResponse
	if err := r.Decode(b, 4); err != nil {
		t.Fatal(err)
	}
	if r.FinalizedFeaturesEpoch != 9 || r.APIKeys != nil {
		t.Fatalf("got %s", dump(&r))
	}
}

// TestApiVersionsFallback follows KIP-511: a broker answers an ApiVersions request at a version
// it does not support with a v0 body holding UNSUPPORTED_VERSION and its own range for
// ApiVersions. Decoding that at the requested version fails; decoding again at v0 works.
func TestApiVersionsFallback(t *testing.T) {
	answer := &ApiVersionsResponse{
		ErrorCode:              ErrUnsupportedVersion.Code,
		APIKeys:                []ApiVersionsKey{{KeyApiVersions, 0, 2}},
		FinalizedFeaturesEpoch: -1,
	}
	body := answer.AppendTo(nil, 0)
	for v := int16(1); v <= 4; v++ {
		var r ApiVersionsResponse
		if err := r.Decode(body, v); err == nil {
			t.Fatalf("v0 error body decoded at v%d without error: %s", v, dump(&r))
		}
		got, err := r.DecodeWithFallback(body, v)
		if err != nil || got != 0 {
			t.Fatalf("v%d: fallback gave version %d, %v", v, got, err)
		}
		if !errors.Is(ErrorForCode(r.ErrorCode), ErrUnsupportedVersion) || len(r.APIKeys) != 1 || r.APIKeys[0].MaxVersion != 2 {
			t.Fatalf("v%d: fallback decoded %s", v, dump(&r))
		}
	}
	// A body that decodes at the requested version is taken as is.
	ok := fullApiVersionsResponse(4)
	ok.ErrorCode = 0
	var r ApiVersionsResponse
	if got, err := r.DecodeWithFallback(ok.AppendTo(nil, 4), 4); err != nil || got != 4 {
		t.Fatalf("good v4 body: version %d, %v", got, err)
	}
	// A v0 body without UNSUPPORTED_VERSION is no fallback answer: the first error stands.
	answer.ErrorCode = 0
	if _, err := r.DecodeWithFallback(answer.AppendTo(nil, 0), 3); err == nil {
		t.Fatal("v0 body without error 35 accepted at v3")
	}
	// Garbage fails at both versions.
	if _, err := r.DecodeWithFallback([]byte{1, 2, 3}, 3); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestApiVersionsHostile(t *testing.T) {
	cases := []struct {
		name    string
		msg     func() message
		version int16
		hex     string
	}{
		{"null ApiKeys v0", newApiVersionsResponse, 0, "0000 ffffffff"},
		{"null ApiKeys v3", newApiVersionsResponse, 3, "0000 00 00000000 00"},
		{"ApiKeys count too big", newApiVersionsResponse, 0, "0000 7fffffff 0000"},
		{"negative ApiKeys count", newApiVersionsResponse, 0, "0000 fffffffe"},
		{"tag 1 short", newApiVersionsResponse, 3, "0000 01 00000000 01 01 04 00000000"},
		{"tag 1 long", newApiVersionsResponse, 3, "0000 01 00000000 01 01 09 000000000000000000"},
		{"tag 3 empty", newApiVersionsResponse, 3, "0000 01 00000000 01 03 00"},
		{"tag 0 null array", newApiVersionsResponse, 3, "0000 01 00000000 01 00 01 00"},
		{"tag 0 trailing", newApiVersionsResponse, 3, "0000 01 00000000 01 00 03 01 00 00"},
		{"tags out of order", newApiVersionsResponse, 3, "0000 01 00000000 02 03 01 01 01 08 0000000000000007"},
		{"tag size past end", newApiVersionsResponse, 3, "0000 01 00000000 01 05 7f 00"},
		{"response version 5", newApiVersionsResponse, 5, "0000 01 00000000 00"},
		{"request v3 without version", newApiVersionsRequest, 3, "02 61 00"},
		{"request v3 null name", newApiVersionsRequest, 3, "00 01 00"},
		{"request v0 not empty", newApiVersionsRequest, 0, "00"},
		{"request version -1", newApiVersionsRequest, -1, ""},
	}
	for _, c := range cases {
		if err := c.msg().Decode(unhex(t, c.hex), c.version); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

func TestApiVersionsResponseReuse(t *testing.T) {
	var r ApiVersionsResponse
	if err := r.Decode(fullApiVersionsResponse(4).AppendTo(nil, 4), 4); err != nil {
		t.Fatal(err)
	}
	small := &ApiVersionsResponse{APIKeys: []ApiVersionsKey{{1, 2, 3}}, FinalizedFeaturesEpoch: -1}
	if err := r.Decode(small.AppendTo(nil, 0), 0); err != nil {
		t.Fatal(err)
	}
	if r.ThrottleTimeMs != 0 || r.SupportedFeatures != nil || r.FinalizedFeatures != nil ||
		r.FinalizedFeaturesEpoch != -1 || r.ZkMigrationReady || len(r.APIKeys) != 1 || r.APIKeys[0] != (ApiVersionsKey{1, 2, 3}) {
		t.Fatalf("stale fields after reuse: %s", dump(&r))
	}
}

func FuzzApiVersionsRequestDecode(f *testing.F) {
	for _, v := range versionsOf(f, KeyApiVersions) {
		in := &ApiVersionsRequest{ClientSoftwareName: "gregor", ClientSoftwareVersion: "1.0"}
		f.Add(append([]byte{byte(v)}, in.AppendTo(nil, v)...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		v := fuzzVersion(KeyApiVersions, data[0])
		var q ApiVersionsRequest
		if q.Decode(data[1:], v) == nil {
			checkFuzzStable(t, &q, newApiVersionsRequest, v)
		}
	})
}

func FuzzApiVersionsResponseDecode(f *testing.F) {
	for _, v := range versionsOf(f, KeyApiVersions) {
		f.Add(append([]byte{byte(v)}, fullApiVersionsResponse(v).AppendTo(nil, v)...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		v := fuzzVersion(KeyApiVersions, data[0])
		var p ApiVersionsResponse
		if p.Decode(data[1:], v) == nil {
			checkFuzzStable(t, &p, newApiVersionsResponse, v)
		}
	})
}

// A broker too old for ApiVersions v4 answers with a v0 body carrying UNSUPPORTED_VERSION and
// its own ApiVersions range; the client reads it at v0 and asks again at that range's max.
func ExampleApiVersionsResponse_DecodeWithFallback() {
	old := &ApiVersionsResponse{ErrorCode: 35, APIKeys: []ApiVersionsKey{{KeyApiVersions, 0, 2}}}
	body := old.AppendTo(nil, 0)

	var resp ApiVersionsResponse
	decodedAt, err := resp.DecodeWithFallback(body, 4)
	fmt.Println(decodedAt, err, ErrorForCode(resp.ErrorCode))
	for _, k := range resp.APIKeys {
		if k.APIKey == KeyApiVersions {
			fmt.Println("retry ApiVersions at", k.MaxVersion)
		}
	}
	// Output:
	// 0 <nil> kafka: UNSUPPORTED_VERSION (35): the version of API is not supported
	// retry ApiVersions at 2
}
