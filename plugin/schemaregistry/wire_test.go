package schemaregistry_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/gregor-kafka/producer/plugin/schemaregistry"
)

func TestHeader(t *testing.T) {
	b := schemaregistry.AppendHeader([]byte("x"), 0x01020304)
	if !bytes.Equal(b, []byte{'x', 0, 1, 2, 3, 4}) {
		t.Fatalf("AppendHeader = % x", b)
	}
	id, rest, err := schemaregistry.ParseHeader(append(b[1:], "payload"...))
	if err != nil || id != 0x01020304 || string(rest) != "payload" {
		t.Fatalf("ParseHeader = %d, %q, %v", id, rest, err)
	}
	for _, bad := range [][]byte{nil, {0, 0, 0, 1}, {1, 0, 0, 0, 1}} {
		if _, _, err := schemaregistry.ParseHeader(bad); !errors.Is(err, schemaregistry.ErrBadWireFormat) {
			t.Errorf("ParseHeader(% x): %v", bad, err)
		}
	}
}

// TestMessageIndexes checks the encoding against bytes worked out by hand from the format:
// a zigzag varint count, then zigzag varint indexes; [0] is the single byte 0.
func TestMessageIndexes(t *testing.T) {
	for _, tc := range []struct {
		indexes []int
		wire    []byte
	}{
		{[]int{0}, []byte{0x00}},
		{[]int{1}, []byte{0x02, 0x02}},
		{[]int{0, 0}, []byte{0x04, 0x00, 0x00}},
		{[]int{2, 1}, []byte{0x04, 0x04, 0x02}},
		{[]int{0, 64}, []byte{0x04, 0x00, 0x80, 0x01}},
		{[]int{1, 2, 3}, []byte{0x06, 0x02, 0x04, 0x06}},
	} {
		got := schemaregistry.AppendMessageIndexes(nil, tc.indexes)
		if !bytes.Equal(got, tc.wire) {
			t.Errorf("AppendMessageIndexes(%v) = % x, want % x", tc.indexes, got, tc.wire)
		}
		back, rest, err := schemaregistry.ParseMessageIndexes(append(slices.Clip(tc.wire), 0xAA))
		if err != nil || !slices.Equal(back, tc.indexes) || !bytes.Equal(rest, []byte{0xAA}) {
			t.Errorf("ParseMessageIndexes(% x) = %v, % x, %v", tc.wire, back, rest, err)
		}
	}
	// The long form of [0] reads as [0] too.
	if got, _, err := schemaregistry.ParseMessageIndexes([]byte{0x02, 0x00}); err != nil || !slices.Equal(got, []int{0}) {
		t.Errorf("long [0] = %v, %v", got, err)
	}
	for name, bad := range map[string][]byte{
		"empty":            nil,
		"negative count":   {0x01},
		"count past end":   {0x08, 0x02},
		"truncated index":  {0x02, 0x80},
		"negative index":   {0x02, 0x01},
		"huge count":       {0xfe, 0xff, 0xff, 0xff, 0x0f},
		"unending varint":  {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
		"index past int32": {0x02, 0x80, 0x80, 0x80, 0x80, 0x10},
	} {
		if _, _, err := schemaregistry.ParseMessageIndexes(bad); !errors.Is(err, schemaregistry.ErrBadWireFormat) {
			t.Errorf("%s (% x): %v", name, bad, err)
		}
	}
}

// FuzzParseMessageIndexes: any input either fails cleanly or parses to indexes that
// encode and parse back to themselves, with the rest of the input left over.
func FuzzParseMessageIndexes(f *testing.F) {
	f.Add([]byte{0x00})
	f.Add([]byte{0x04, 0x04, 0x02, 'p'})
	f.Add([]byte{0x06, 0x02, 0x04, 0x06})
	f.Fuzz(func(t *testing.T, b []byte) {
		indexes, rest, err := schemaregistry.ParseMessageIndexes(b)
		if err != nil {
			if !errors.Is(err, schemaregistry.ErrBadWireFormat) {
				t.Fatalf("error %v does not match ErrBadWireFormat", err)
			}
			return
		}
		if len(indexes) == 0 || len(rest) >= len(b) || !bytes.Equal(rest, b[len(b)-len(rest):]) {
			t.Fatalf("% x: indexes %v, rest % x", b, indexes, rest)
		}
		again, rest2, err := schemaregistry.ParseMessageIndexes(schemaregistry.AppendMessageIndexes(nil, indexes))
		if err != nil || !slices.Equal(again, indexes) || len(rest2) != 0 {
			t.Fatalf("%v re-encoded parses as %v, % x, %v", indexes, again, rest2, err)
		}
	})
}

func FuzzParseHeader(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 1, 2, 0x54})
	f.Add([]byte{1, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, rest, err := schemaregistry.ParseHeader(b)
		if err != nil {
			if !errors.Is(err, schemaregistry.ErrBadWireFormat) {
				t.Fatalf("error %v does not match ErrBadWireFormat", err)
			}
			return
		}
		if !bytes.Equal(append(schemaregistry.AppendHeader(nil, id), rest...), b) {
			t.Fatalf("% x parsed as id %d, rest % x", b, id, rest)
		}
	})
}
