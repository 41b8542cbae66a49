package wire

import (
	"bytes"
	"errors"
	"math"
	"runtime"
	"testing"
)

func TestPrimitivesRoundTrip(t *testing.T) {
	for _, flex := range []bool{false, true} {
		s := "hello"
		var b []byte
		b = AppendInt8(b, -3)
		b = AppendBool(b, true)
		b = AppendInt16(b, -2)
		b = AppendInt32(b, math.MinInt32)
		b = AppendInt64(b, math.MaxInt64)
		b = AppendUint32(b, 0xdeadbeef)
		b = AppendUvarint(b, math.MaxUint32)
		b = AppendVarint(b, math.MinInt32)
		b = AppendVarlong(b, math.MinInt64)
		b = AppendUUID(b, UUID{1, 2, 3, 15: 9})
		b = AppendString(b, s, flex)
		b = AppendNullableString(b, nil, flex)
		b = AppendNullableString(b, &s, flex)
		b = AppendBytes(b, nil, flex)
		b = AppendBytes(b, []byte{}, flex)
		b = AppendBytes(b, []byte("xyz"), flex)
		b = AppendArrayLen(b, -1, flex)
		b = AppendArrayLen(b, 2, flex)
		b = AppendInt8(b, 1)
		b = AppendInt8(b, 2)
		b = AppendTags(b, []TaggedField{{0, []byte{7}}, {5, []byte("ab")}}, flex)
		b = AppendFloat64(b, 1.5)
		b = AppendVarintBytes(b, nil)
		b = AppendVarintBytes(b, []byte{})
		b = AppendVarintBytes(b, []byte("xyz"))
		b = AppendVarintString(b, "héllo")

		r := NewReader(b)
		check := func(name string, got, want any) {
			t.Helper()
			if got != want {
				t.Errorf("flex=%v %s: got %v want %v", flex, name, got, want)
			}
		}
		check("int8", r.Int8(), int8(-3))
		check("bool", r.Bool(), true)
		check("int16", r.Int16(), int16(-2))
		check("int32", r.Int32(), int32(math.MinInt32))
		check("int64", r.Int64(), int64(math.MaxInt64))
		check("uint32", r.Uint32(), uint32(0xdeadbeef))
		check("uvarint", r.Uvarint(), uint32(math.MaxUint32))
		check("varint", r.Varint(), int32(math.MinInt32))
		check("varlong", r.Varlong(), int64(math.MinInt64))
		check("uuid", r.UUID(), UUID{1, 2, 3, 15: 9})
		check("string", r.String(flex), s)
		if r.NullableString(flex) != nil {
			t.Errorf("flex=%v: null string decoded as non-nil", flex)
		}
		if p := r.NullableString(flex); p == nil || *p != s {
			t.Errorf("flex=%v: nullable string %v", flex, p)
		}
		if v := r.Bytes(flex); v != nil {
			t.Errorf("flex=%v: null bytes decoded as %v", flex, v)
		}
		if v := r.Bytes(flex); v == nil || len(v) != 0 {
			t.Errorf("flex=%v: empty bytes decoded as %v", flex, v)
		}
		check("bytes", string(r.Bytes(flex)), "xyz")
		check("null array", r.ArrayLen(flex, 1), -1)
		check("array", r.ArrayLen(flex, 1), 2)
		r.Int8()
		r.Int8()
		var tags []TaggedField
		r.Tags(flex, func(tag uint32, data []byte) { tags = append(tags, TaggedField{tag, data}) })
		if flex {
			if len(tags) != 2 || tags[1].Tag != 5 || !bytes.Equal(tags[1].Data, []byte("ab")) {
				t.Errorf("tags: %v", tags)
			}
		} else if len(tags) != 0 {
			t.Errorf("non-flexible read tags %v", tags)
		}
		check("float", r.Float64(), 1.5)
		if v := r.VarintBytes(); v != nil {
			t.Errorf("null varint bytes decoded as %v", v)
		}
		if v := r.VarintBytes(); v == nil || len(v) != 0 {
			t.Errorf("empty varint bytes decoded as %v", v)
		}
		check("varint bytes", string(r.VarintBytes()), "xyz")
		check("varint string", string(r.VarintBytes()), "héllo")
		if err := r.Complete(); err != nil {
			t.Fatalf("flex=%v: %v", flex, err)
		}
	}
}

func TestReaderHostile(t *testing.T) {
	cases := map[string]struct {
		in   []byte
		read func(r *Reader)
	}{
		"truncated int32":        {[]byte{1, 2}, func(r *Reader) { r.Int32() }},
		"negative string":        {[]byte{0xff, 0xfe}, func(r *Reader) { r.String(false) }},
		"null required string":   {[]byte{0xff, 0xff}, func(r *Reader) { r.String(false) }},
		"string past end":        {[]byte{0, 9, 'a'}, func(r *Reader) { r.String(false) }},
		"bytes 2GiB":             {[]byte{0x7f, 0xff, 0xff, 0xff}, func(r *Reader) { r.Bytes(false) }},
		"negative bytes":         {[]byte{0xff, 0xff, 0xff, 0xf0}, func(r *Reader) { r.Bytes(false) }},
		"huge array":             {[]byte{0x7f, 0xff, 0xff, 0xff, 1, 2}, func(r *Reader) { r.ArrayLen(false, 1) }},
		"huge compact array":     {[]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, func(r *Reader) { r.ArrayLen(true, 4) }},
		"overlong uvarint":       {[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, func(r *Reader) { r.Uvarint() }},
		"uvarint over 32 bits":   {[]byte{0xff, 0xff, 0xff, 0xff, 0x1f}, func(r *Reader) { r.Uvarint() }},
		"truncated uvarint":      {[]byte{0x80}, func(r *Reader) { r.Uvarint() }},
		"varint out of range":    {AppendVarlong(nil, math.MaxInt32+1), func(r *Reader) { r.Varint() }},
		"tag count too big":      {[]byte{0x7f}, func(r *Reader) { r.Tags(true, nil) }},
		"tags out of order":      {[]byte{2, 3, 0, 1, 0}, func(r *Reader) { r.Tags(true, nil) }},
		"tag data past the end":  {[]byte{1, 0, 9, 1}, func(r *Reader) { r.Tags(true, nil) }},
		"varint bytes -2":        {AppendVarlong(nil, -2), func(r *Reader) { r.VarintBytes() }},
		"varint bytes past end":  {[]byte{6, 'a'}, func(r *Reader) { r.VarintBytes() }},
		"trailing bytes":         {[]byte{0, 0}, func(r *Reader) { r.Int8() }},
		"read after first error": {[]byte{0}, func(r *Reader) { r.Int32(); r.Int8() }},
	}
	for name, c := range cases {
		r := NewReader(c.in)
		c.read(r)
		if r.Complete() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestErrorForCode(t *testing.T) {
	if ErrorForCode(0) != nil {
		t.Fatal("code 0 is not an error")
	}
	err := ErrorForCode(6)
	if !errors.Is(err, ErrNotLeaderOrFollower) {
		t.Fatalf("code 6 = %v", err)
	}
	var ke *Error
	if !errors.As(err, &ke) || !ke.Retriable || !ke.RefreshMetadata {
		t.Fatalf("code 6 flags: %+v", ke)
	}
	unk := ErrorForCode(9999)
	if unk == nil || !errors.Is(unk, &Error{Code: 9999}) || errors.Is(unk, ErrNotLeaderOrFollower) {
		t.Fatalf("unknown code: %v", unk)
	}
	seen := map[int16]bool{}
	for _, e := range knownErrors {
		if seen[e.Code] {
			t.Errorf("code %d listed twice", e.Code)
		}
		seen[e.Code] = true
	}
}

func TestInsertUvarintLen(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 300, 16383, 16384, 70000} {
		data := bytes.Repeat([]byte{0x5a}, n)
		dst := append([]byte("tag"), data...)
		dst = InsertUvarintLen(dst, 3)
		r := NewReader(dst)
		if head := string(r.Raw(3)); head != "tag" {
			t.Fatalf("n=%d: prefix clobbered: %q", n, head)
		}
		if got := r.Uvarint(); got != uint32(n) {
			t.Fatalf("n=%d: size %d", n, got)
		}
		if got := r.Raw(n); !bytes.Equal(got, data) {
			t.Fatalf("n=%d: data moved wrongly", n)
		}
		if err := r.Complete(); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
	}
}

func TestStringBytes(t *testing.T) {
	for _, flex := range []bool{false, true} {
		b := AppendString(nil, "topic", flex)
		r := NewReader(b)
		got := r.StringBytes(flex)
		if string(got) != "topic" || r.Complete() != nil {
			t.Fatalf("flex=%v: %q %v", flex, got, r.Err())
		}
		if &got[0] != &b[len(b)-5] {
			t.Fatalf("flex=%v: StringBytes copied", flex)
		}
		r = NewReader(AppendNullableString(nil, nil, flex))
		if r.StringBytes(flex); r.Err() == nil {
			t.Fatalf("flex=%v: null accepted", flex)
		}
	}
}

func TestArrayLenNonNull(t *testing.T) {
	for _, flex := range []bool{false, true} {
		r := NewReader(AppendArrayLen(nil, 0, flex))
		if n := r.ArrayLenNonNull(flex, 4); n != 0 || r.Complete() != nil {
			t.Fatalf("flex=%v: empty array gave %d, %v", flex, n, r.Err())
		}
		r = NewReader(AppendArrayLen(nil, -1, flex))
		if r.ArrayLenNonNull(flex, 4); r.Err() == nil {
			t.Fatalf("flex=%v: null accepted", flex)
		}
	}
}

func TestReuseSlice(t *testing.T) {
	if s := reuseSlice([]int{1, 2}, 0); s != nil {
		t.Fatalf("n=0 gave %v", s)
	}
	old := make([][]int, 2, 4)
	old[0] = []int{7}
	s := reuseSlice(old, 3)
	if len(s) != 3 || &s[0] != &old[0] {
		t.Fatal("did not reuse a large enough backing array")
	}
	grown := reuseSlice(s, 10)
	if len(grown) != 10 || &grown[0] == &s[0] || len(grown[0]) != 1 || grown[0][0] != 7 {
		t.Fatalf("growing lost elements: %v", grown)
	}
}

func TestVarlongSize(t *testing.T) {
	vals := []int64{0, 1, -1, 63, -64, 64, -65, 8191, -8192, 8192, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64}
	for sh := range 63 {
		vals = append(vals, 1<<sh, -(1 << sh), 1<<sh-1, -(1<<sh)-1)
	}
	for _, v := range vals {
		if got, want := varlongSize(v), len(AppendVarlong(nil, v)); got != want {
			t.Errorf("varlongSize(%d) = %d, AppendVarlong wrote %d", v, got, want)
		}
	}
	for _, n := range []int{-1, 0, 1, 63, 64, 100000} {
		b := []byte(nil)
		if n >= 0 {
			b = make([]byte, n)
		}
		if got, want := varintBytesSize(n), len(AppendVarintBytes(nil, b)); got != want {
			t.Errorf("varintBytesSize(%d) = %d, AppendVarintBytes wrote %d", n, got, want)
		}
	}
}

// TestReadFrameAllocatesAsBytesArrive: a peer announcing a 100 MiB frame and sending ten
// bytes must not make us allocate 100 MiB; whole frames of any size still read.
func TestReadFrameAllocatesAsBytesArrive(t *testing.T) {
	announced := AppendInt32(nil, 100<<20)
	in := append(announced, make([]byte, 10)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := ReadFrame(bytes.NewReader(in), nil, 200<<20); err == nil {
		t.Fatal("a truncated frame was accepted")
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
		t.Fatalf("allocated %d bytes for 10 received", grew)
	}
	for _, n := range []int{0, 1, frameChunk - 1, frameChunk, 3*frameChunk + 7} {
		body := bytes.Repeat([]byte{7}, n)
		got, err := ReadFrame(bytes.NewReader(append(AppendInt32(nil, int32(n)), body...)), make([]byte, 5), 1<<30)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("frame of %d bytes: %d bytes, %v", n, len(got), err)
		}
	}
}
