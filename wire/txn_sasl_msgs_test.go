package wire

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Shared driver for the tests of the InitProducerId, FindCoordinator, AddPartitionsToTxn,
// EndTxn, SaslHandshake and SaslAuthenticate messages.

// Every message type is a Request or a Response.
var (
	_ Request  = (*InitProducerIDRequest)(nil)
	_ Response = (*InitProducerIDResponse)(nil)
	_ Request  = (*FindCoordinatorRequest)(nil)
	_ Response = (*FindCoordinatorResponse)(nil)
	_ Request  = (*AddPartitionsToTxnRequest)(nil)
	_ Response = (*AddPartitionsToTxnResponse)(nil)
	_ Request  = (*EndTxnRequest)(nil)
	_ Response = (*EndTxnResponse)(nil)
	_ Request  = (*SaslHandshakeRequest)(nil)
	_ Response = (*SaslHandshakeResponse)(nil)
	_ Request  = (*SaslAuthenticateRequest)(nil)
	_ Response = (*SaslAuthenticateResponse)(nil)
)

// wireMsg is what Request and Response have in common.
type wireMsg interface {
	Key() int16
	AppendTo(dst []byte, version int16) []byte
	Decode(b []byte, version int16) error
}

// msgCase is a value to encode at version and the value decoding must give back: in with
// the fields absent at version set to their defaults.
type msgCase struct {
	name    string
	version int16
	in      wireMsg
	want    wireMsg
}

// newLike returns a new zero message of m's type.
func newLike(m wireMsg) wireMsg { return reflect.New(reflect.TypeOf(m).Elem()).Interface().(wireMsg) }

// shallowCopy returns a new message of m's type holding m's field values.
func shallowCopy(m wireMsg) wireMsg {
	c := newLike(m)
	reflect.ValueOf(c).Elem().Set(reflect.ValueOf(m).Elem())
	return c
}

// runMsgCases checks each case: the encoding decodes to want (also into a receiver holding
// other values, so Decode must reset it), re-encodes to the same bytes, AppendTo appends,
// every truncation and a trailing byte are errors.
func runMsgCases(t *testing.T, cases []msgCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/v%d", c.name, c.version), func(t *testing.T) {
			enc := c.in.AppendTo(nil, c.version)

			got := newLike(c.in)
			if err := got.Decode(enc, c.version); err != nil {
				t.Fatalf("decode % x: %v", enc, err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("decoded\n%+v\nwant\n%+v", got, c.want)
			}
			if re := got.AppendTo(nil, c.version); !bytes.Equal(re, enc) {
				t.Fatalf("re-encoded % x\nfirst      % x", re, enc)
			}

			dirty := shallowCopy(c.in)
			if err := dirty.Decode(enc, c.version); err != nil || !reflect.DeepEqual(dirty, c.want) {
				t.Fatalf("decode into a used receiver: %v\n%+v\nwant\n%+v", err, dirty, c.want)
			}

			prefixed := c.in.AppendTo([]byte{0xAA, 0xBB}, c.version)
			if !bytes.Equal(prefixed[:2], []byte{0xAA, 0xBB}) || !bytes.Equal(prefixed[2:], enc) {
				t.Fatalf("AppendTo does not append: % x", prefixed)
			}

			for i := range enc {
				err := newLike(c.in).Decode(enc[:i:i], c.version)
				if err == nil {
					t.Fatalf("truncated to %d of %d bytes: no error", i, len(enc))
				}
			}
			if err := newLike(c.in).Decode(append(enc[:len(enc):len(enc)], 0), c.version); err == nil {
				t.Fatalf("trailing byte: no error")
			}
		})
	}
}

// checkGolden checks that m encodes at version to want, and that want decodes back to m.
func checkGoldenBytes(t *testing.T, name string, m wireMsg, version int16, want []byte) {
	t.Helper()
	if got := m.AppendTo(nil, version); !bytes.Equal(got, want) {
		t.Errorf("%s v%d:\n got % x\nwant % x", name, version, got, want)
	}
	back := newLike(m)
	if err := back.Decode(want, version); err != nil {
		t.Errorf("%s v%d: decode golden: %v", name, version, err)
	} else if !reflect.DeepEqual(back, m) {
		t.Errorf("%s v%d: golden decoded to\n%+v\nwant\n%+v", name, version, back, m)
	}
}

// allTxnSaslCases gathers the round-trip cases of every message of this group.
func allTxnSaslCases(t testing.TB) []msgCase {
	var all []msgCase
	for _, f := range []func(testing.TB) []msgCase{
		initProducerIDCases, findCoordinatorCases, addPartitionsToTxnCases,
		endTxnCases, saslHandshakeCases, saslAuthenticateCases,
	} {
		all = append(all, f(t)...)
	}
	return all
}

func TestTxnSaslUnsupportedVersions(t *testing.T) {
	seen := map[reflect.Type]bool{}
	for _, c := range allTxnSaslCases(t) {
		typ := reflect.TypeOf(c.in)
		if seen[typ] {
			continue
		}
		seen[typ] = true
		a, _ := LookupAPI(c.in.Key())
		enc := c.in.AppendTo(nil, a.Max)
		for _, v := range []int16{a.Min - 1, a.Max + 1, -1} {
			if err := newLike(c.in).Decode(enc, v); err == nil {
				t.Errorf("%v: decode at unsupported version %d: no error", typ, v)
			}
		}
	}
	if len(seen) != 12 {
		t.Errorf("cases cover %d message types, want 12", len(seen))
	}
}

// TestTxnSaslCasesCoverEveryVersion guards the fixtures: each message type has a case at
// every version its API implements.
func TestTxnSaslCasesCoverEveryVersion(t *testing.T) {
	have := map[reflect.Type]map[int16]bool{}
	for _, c := range allTxnSaslCases(t) {
		typ := reflect.TypeOf(c.in)
		if have[typ] == nil {
			have[typ] = map[int16]bool{}
		}
		have[typ][c.version] = true
		if reflect.TypeOf(c.want) != typ {
			t.Errorf("%s: want is a %T, in a %v", c.name, c.want, typ)
		}
	}
	for typ, vs := range have {
		key := reflect.New(typ.Elem()).Interface().(wireMsg).Key()
		for _, v := range versionsOf(t, key) {
			if !vs[v] {
				t.Errorf("%v: no case at v%d", typ, v)
			}
		}
	}
}

func TestTxnSaslDecodeErrorWraps(t *testing.T) {
	err := new(EndTxnResponse).Decode([]byte{0, 0, 0}, 5)
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("got %v, want ErrTruncated", err)
	}
	if !strings.HasPrefix(err.Error(), "wire: EndTxn v5 response: ") {
		t.Fatalf("error %q does not name the message", err)
	}
}

// fuzzMsgDecode is the body of the FuzzXxxDecode targets. The input is a version byte and
// then a body; the body is decoded at min+(v mod range) of the API. Decoding must not panic;
// when it succeeds, the value must re-encode to at most the input's size and the encoding
// must decode to the same value and re-encode to the same bytes.
func fuzzMsgDecode(f *testing.F, newMsg func() wireMsg) {
	proto := newMsg()
	a, _ := LookupAPI(proto.Key())
	for _, c := range allTxnSaslCases(f) {
		if reflect.TypeOf(c.in) == reflect.TypeOf(proto) {
			f.Add(append([]byte{byte(c.version - a.Min)}, c.in.AppendTo(nil, c.version)...))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		v := a.Min + int16(data[0])%(a.Max-a.Min+1)
		body := data[1:]
		m := newMsg()
		if err := m.Decode(body, v); err != nil {
			return
		}
		enc := m.AppendTo(nil, v)
		if len(enc) > len(body) {
			t.Fatalf("v%d: %d-byte body re-encoded to %d bytes", v, len(body), len(enc))
		}
		m2 := newMsg()
		if err := m2.Decode(enc, v); err != nil {
			t.Fatalf("v%d: re-encoding does not decode: %v\n% x", v, err, enc)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("v%d: unstable decode:\n%+v\n%+v", v, m, m2)
		}
		if enc2 := m2.AppendTo(nil, v); !bytes.Equal(enc, enc2) {
			t.Fatalf("v%d: unstable encode:\n% x\n% x", v, enc, enc2)
		}
	})
}

func FuzzInitProducerIDRequestDecode(f *testing.F) {
	fuzzMsgDecode(f, func() wireMsg { return new(InitProducerIDRequest) })
}

func FuzzInitProducerIDResponseDecode(f *testing.F) {
	fuzzMsgDecode(f, func() wireMsg { return new(InitProducerIDResponse) })
}

func FuzzFindCoordinatorRequestDecode(f *testing.F) {
	fuzzMsgDecode(f, func() wireMsg { return new(FindCoordinatorRequest) })
}

func FuzzFindCoordinatorResponseDecode(f *testing.F) {
	fuzzMsgDecode(f, func() wireMsg { return new(FindCoordinatorResponse) })
}

func FuzzAddPartitionsToTxnRequestDecode(f *testing.F) {
	fuzzMsgDecode(f, func() wireMsg { return new(AddPartitionsToTxnRequest) })
}

func FuzzAddPartitionsToTxnResponseDecode(f *testing.F) {
	fuzzMsgDecode(f, func() wireMsg { return new(AddPartitionsToTxnResponse) })
}

func FuzzEndTxnRequestDecode(f *testing.F) {
	fuzzMsgDecode(f, func() wireMsg { return new(EndTxnRequest) })
}

func FuzzEndTxnResponseDecode(f *testing.F) {
	fuzzMsgDecode(f, func() wireMsg { return new(EndTxnResponse) })
}

func FuzzSaslHandshakeRequestDecode(f *testing.F) {
	fuzzMsgDecode(f, func() wireMsg { return new(SaslHandshakeRequest) })
}

func FuzzSaslHandshakeResponseDecode(f *testing.F) {
	fuzzMsgDecode(f, func() wireMsg { return new(SaslHandshakeResponse) })
}

func FuzzSaslAuthenticateRequestDecode(f *testing.F) {
	fuzzMsgDecode(f, func() wireMsg { return new(SaslAuthenticateRequest) })
}

func FuzzSaslAuthenticateResponseDecode(f *testing.F) {
	fuzzMsgDecode(f, func() wireMsg { return new(SaslAuthenticateResponse) })
}

func BenchmarkAddPartitionsToTxnRequestAppend(b *testing.B) {
	m := &AddPartitionsToTxnRequest{TransactionalID: "txn-1", ProducerID: 1, ProducerEpoch: 2}
	for i := range 10 {
		m.Topics = append(m.Topics, AddPartitionsToTxnTopic{Name: fmt.Sprintf("topic-%d", i), Partitions: []int32{0, 1, 2, 3, 4, 5}})
	}
	dst := m.AppendTo(nil, 3)
	b.ReportAllocs()
	b.SetBytes(int64(len(dst)))
	for b.Loop() {
		dst = m.AppendTo(dst[:0], 3)
	}
}

func BenchmarkInitProducerIDResponseDecode(b *testing.B) {
	enc := (&InitProducerIDResponse{ProducerID: 1000, ProducerEpoch: 1}).AppendTo(nil, 5)
	var m InitProducerIDResponse
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Decode(enc, 5); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFindCoordinatorResponseDecode(b *testing.B) {
	enc := (&FindCoordinatorResponse{Coordinators: []Coordinator{
		{Key: "txn-1", NodeID: 1, Host: "broker-1.example", Port: 9092},
	}}).AppendTo(nil, 6)
	var m FindCoordinatorResponse
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Decode(enc, 6); err != nil {
			b.Fatal(err)
		}
	}
}
