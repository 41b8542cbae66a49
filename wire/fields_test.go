package wire

import (
	"reflect"
	"testing"
)

func TestFieldHelpers(t *testing.T) {
	for _, flex := range []bool{false, true} {
		var b []byte
		b = appendStringArray(b, []string{"a", ""}, flex)
		b = appendStringArray(b, nil, flex)
		b = appendInt32Array(b, []int32{-1, 7}, flex)
		b = appendInt32Array(b, nil, flex)
		b = appendRequiredBytes(b, nil, flex)
		b = appendRequiredBytes(b, []byte("xy"), flex)

		r := NewReader(b)
		if got := readStringArray(r, flex); !reflect.DeepEqual(got, []string{"a", ""}) {
			t.Errorf("flex=%v strings %q", flex, got)
		}
		if got := readStringArray(r, flex); got != nil {
			t.Errorf("flex=%v empty strings %q", flex, got)
		}
		if got := readInt32Array(r, nil, flex); !reflect.DeepEqual(got, []int32{-1, 7}) {
			t.Errorf("flex=%v int32s %v", flex, got)
		}
		if got := readInt32Array(r, nil, flex); got != nil {
			t.Errorf("flex=%v empty int32s %v", flex, got)
		}
		if got := readRequiredBytes(r, flex); got == nil || len(got) != 0 {
			t.Errorf("flex=%v nil bytes read back as %v", flex, got)
		}
		if got := readRequiredBytes(r, flex); string(got) != "xy" {
			t.Errorf("flex=%v bytes %q", flex, got)
		}
		if err := r.Complete(); err != nil {
			t.Fatalf("flex=%v: %v", flex, err)
		}

		nulls := map[string]func(*Reader){
			"string array": func(r *Reader) { readStringArray(r, flex) },
			"int32 array":  func(r *Reader) { readInt32Array(r, nil, flex) },
			"bytes":        func(r *Reader) { readRequiredBytes(r, flex) },
		}
		for name, read := range nulls {
			null := AppendArrayLen(nil, -1, flex)
			r := NewReader(null)
			read(r)
			if r.Err() == nil {
				t.Errorf("flex=%v null %s: no error", flex, name)
			}
		}
	}
	// An int32 array whose count needs more bytes than are left fails before allocating.
	r := NewReader([]byte{0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2})
	if got := readInt32Array(r, nil, false); got != nil || r.Err() == nil {
		t.Errorf("short int32 array: %v, %v", got, r.Err())
	}
}
