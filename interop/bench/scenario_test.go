package bench

import "testing"

func TestPayloadsDoNotRepeatWithinABatch(t *testing.T) {
	s := Scenario{KeySize: 16}.WithDefaults()
	p := NewPayloads(s)
	perBatch := s.BatchBytes / s.ValueSize
	seen := map[string]bool{}
	for i := range perBatch {
		v := string(p.Value(i))
		if seen[v] {
			t.Fatalf("value %d repeats within the first %d records", i, perBatch)
		}
		seen[v] = true
		if len(v) != s.ValueSize || len(p.Key(i)) != 16 {
			t.Fatalf("record %d: value of %d bytes, key of %d", i, len(v), len(p.Key(i)))
		}
	}
	if NewPayloads(Scenario{ValueSize: 10}.WithDefaults()).Key(0) != nil {
		t.Fatal("null keys expected without a key size")
	}
}
