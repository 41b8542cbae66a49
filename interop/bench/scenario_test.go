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

func TestScenarioPartitionsAndGoroutines(t *testing.T) {
	s := Scenario{ValueSize: 100, KeySize: 16, Partitions: 1000, Goroutines: 8, Topic: "t"}.WithDefaults()
	if got, want := s.Name(), "100B key16 acks=1 none p1000 g8"; got != want {
		t.Fatalf("name %q, want %q", got, want)
	}
	if s.Topic != "t.p1000" || s.WithDefaults().Topic != "t.p1000" {
		t.Fatalf("topic %q: want the .p1000 suffix once", s.Topic)
	}
	if err := (Scenario{Partitions: 10001}).WithDefaults().Validate(); err == nil {
		t.Fatal("10001 partitions accepted")
	}
}
