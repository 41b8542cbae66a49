package wire

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// message is what every request and response type implements.
type message interface {
	Key() int16
	AppendTo(dst []byte, version int16) []byte
	Decode(b []byte, version int16) error
}

// allFields asks a test's fullXxx(version) builder for a value with every field of every
// version set, instead of the value expected after a round trip at version.
const allFields int16 = -1

func strp(s string) *string { return &s }

// versionsOf returns every version of key that this package implements.
func versionsOf(t testing.TB, key int16) []int16 {
	t.Helper()
	a, ok := LookupAPI(key)
	if !ok {
		t.Fatalf("api %d unknown", key)
	}
	var vs []int16
	for v := a.Min; v <= a.Max; v++ {
		vs = append(vs, v)
	}
	return vs
}

// fuzzVersion maps the first byte of a fuzz input to a version of key, as the fuzz targets
// do: min + (b mod range).
func fuzzVersion(key int16, b byte) int16 {
	a, _ := LookupAPI(key)
	return a.Min + int16(int(b)%int(a.Max-a.Min+1))
}

// checkRoundTrip encodes in at version, decodes into fresh() and compares with want, then
// checks that re-encoding the decoded value gives the same bytes, that every proper prefix
// of the encoding fails to decode and that a trailing byte is rejected. It returns the
// encoding.
func checkRoundTrip(t *testing.T, in message, fresh func() message, want message, version int16) []byte {
	t.Helper()
	enc := in.AppendTo(nil, version)
	got := fresh()
	if err := got.Decode(enc, version); err != nil {
		t.Fatalf("v%d: decode: %v\n%s", version, err, hex.Dump(enc))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("v%d: round trip mismatch\n got %s\nwant %s", version, dump(got), dump(want))
	}
	if again := got.AppendTo(nil, version); !bytes.Equal(again, enc) {
		t.Fatalf("v%d: re-encoding differs\n got %x\nwant %x", version, again, enc)
	}
	// AppendTo appends: a non-empty dst is kept.
	if pre := in.AppendTo([]byte{0xEE}, version); pre[0] != 0xEE || !bytes.Equal(pre[1:], enc) {
		t.Fatalf("v%d: AppendTo does not append to dst", version)
	}
	checkTruncations(t, enc, fresh, version)
	if err := fresh().Decode(append(enc[:len(enc):len(enc)], 0), version); err == nil {
		t.Fatalf("v%d: trailing byte accepted", version)
	}
	return enc
}

// checkTruncations checks that decoding every proper prefix of enc fails without panicking.
func checkTruncations(t *testing.T, enc []byte, fresh func() message, version int16) {
	t.Helper()
	for i := range len(enc) {
		// A copy with no spare capacity, so a read past the prefix cannot see the rest.
		prefix := bytes.Clone(enc[:i])
		if err := fresh().Decode(prefix, version); err == nil {
			t.Fatalf("v%d: prefix of %d/%d bytes decoded without error", version, i, len(enc))
		}
	}
}

// checkGolden checks that in encodes at version to the bytes of hexWant (whitespace and
// comments after '#' ignored) and that those bytes decode to want.
func checkGolden(t *testing.T, in message, fresh func() message, want message, version int16, hexWant string) {
	t.Helper()
	golden := unhex(t, hexWant)
	if enc := in.AppendTo(nil, version); !bytes.Equal(enc, golden) {
		t.Fatalf("v%d: encoding differs from golden bytes\n got %x\nwant %x", version, enc, golden)
	}
	got := fresh()
	if err := got.Decode(golden, version); err != nil {
		t.Fatalf("v%d: decode golden: %v", version, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("v%d: golden decode mismatch\n got %s\nwant %s", version, dump(got), dump(want))
	}
}

// unhex parses hex digits, ignoring whitespace and '#' comments up to the end of a line.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	var sb strings.Builder
	for line := range strings.SplitSeq(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		sb.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(sb.String())
	if err != nil {
		t.Fatalf("bad golden hex: %v", err)
	}
	return b
}

// dump prints v with pointers to strings followed.
func dump(v any) string {
	var sb strings.Builder
	dumpValue(&sb, reflect.ValueOf(v))
	return sb.String()
}

func dumpValue(sb *strings.Builder, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			sb.WriteString("nil")
			return
		}
		sb.WriteString("&")
		dumpValue(sb, v.Elem())
	case reflect.Struct:
		sb.WriteString(v.Type().Name() + "{")
		for i := range v.NumField() {
			if i > 0 {
				sb.WriteString(" ")
			}
			sb.WriteString(v.Type().Field(i).Name + ":")
			dumpValue(sb, v.Field(i))
		}
		sb.WriteString("}")
	case reflect.Slice:
		if v.IsNil() {
			sb.WriteString("nil")
			return
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			fmt.Fprintf(sb, "%x", v.Bytes())
			return
		}
		sb.WriteString("[")
		for i := range v.Len() {
			if i > 0 {
				sb.WriteString(" ")
			}
			dumpValue(sb, v.Index(i))
		}
		sb.WriteString("]")
	default:
		fmt.Fprintf(sb, "%v", v.Interface())
	}
}

// checkFuzzStable is the property every decoder's fuzz target checks: a body that decodes
// re-encodes to bytes that decode to the same value and re-encode to the same bytes.
func checkFuzzStable(t *testing.T, first message, fresh func() message, version int16) {
	t.Helper()
	enc := first.AppendTo(nil, version)
	second := fresh()
	if err := second.Decode(enc, version); err != nil {
		t.Fatalf("v%d: re-encoded body does not decode: %v\n%x", version, err, enc)
	}
	if !reflect.DeepEqual(first, second) {
		t.Fatalf("v%d: decode→encode→decode unstable\nfirst  %s\nsecond %s", version, dump(first), dump(second))
	}
	if again := second.AppendTo(nil, version); !bytes.Equal(again, enc) {
		t.Fatalf("v%d: encoding unstable\n%x\n%x", version, enc, again)
	}
}

var (
	_ Request  = (*ApiVersionsRequest)(nil)
	_ Response = (*ApiVersionsResponse)(nil)
	_ Request  = (*MetadataRequest)(nil)
	_ Response = (*MetadataResponse)(nil)
	_ Request  = (*ProduceRequest)(nil)
	_ Response = (*ProduceResponse)(nil)
)

// TestMessagesInFrames sends each request and response through the framing of header.go at
// its highest version and decodes it back from the frame.
func TestMessagesInFrames(t *testing.T) {
	cases := []struct {
		key       int16
		req       Request
		freshReq  func() message
		resp      Response
		freshResp func() message
	}{
		{KeyApiVersions, &ApiVersionsRequest{ClientSoftwareName: "gregor", ClientSoftwareVersion: "1"}, newApiVersionsRequest,
			fullApiVersionsResponse(4), newApiVersionsResponse},
		{KeyMetadata, fullMetadataRequest(13), newMetadataRequest, fullMetadataResponse(13), newMetadataResponse},
		{KeyProduce, fullProduceRequest(13), newProduceRequest, fullProduceResponse(13), newProduceResponse},
	}
	for _, c := range cases {
		a, _ := LookupAPI(c.key)
		if c.req.Key() != c.key || c.resp.Key() != c.key {
			t.Fatalf("%s: Key() = %d, %d", a.Name, c.req.Key(), c.resp.Key())
		}
		frame := AppendRequest(nil, RequestHeader{APIVersion: a.Max, CorrelationID: 7, ClientID: strp("c")}, c.req)
		h, body, err := ParseRequestHeader(frame[4:])
		if err != nil || h.APIKey != c.key || h.CorrelationID != 7 {
			t.Fatalf("%s: request header %+v, %v", a.Name, h, err)
		}
		gotReq := c.freshReq()
		if err := gotReq.Decode(body, a.Max); err != nil || !reflect.DeepEqual(gotReq, c.req) {
			t.Fatalf("%s: request from frame: %v\n%s", a.Name, err, dump(gotReq))
		}
		frame = AppendResponse(nil, 7, a.Max, c.resp)
		id, body, err := ParseResponseHeader(frame[4:], c.key, a.Max)
		if err != nil || id != 7 {
			t.Fatalf("%s: response header %d, %v", a.Name, id, err)
		}
		gotResp := c.freshResp()
		if err := gotResp.Decode(body, a.Max); err != nil || !reflect.DeepEqual(gotResp, c.resp) {
			t.Fatalf("%s: response from frame: %v\n%s", a.Name, err, dump(gotResp))
		}
	}
}
