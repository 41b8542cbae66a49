package producer

import (
	"fmt"
	"testing"
	"time"
)

// The vectors of the Java client's UtilsTest.testMurmur2.
func TestMurmur2JavaVectors(t *testing.T) {
	cases := map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
		"":    275646681,
	}
	for in, want := range cases {
		if got := Murmur2([]byte(in)); got != want {
			t.Errorf("Murmur2(%q) = %d, want %d", in, got, want)
		}
	}
	// "foobar" lands on partition 6 of 10 in the Java client.
	if got := KeyPartition([]byte("foobar"), 10); got != 6 {
		t.Errorf("KeyPartition(foobar, 10) = %d, want 6", got)
	}
}

func TestKeyPartitionRange(t *testing.T) {
	for n := 1; n <= 64; n++ {
		seen := map[int32]bool{}
		for i := 0; i < 2000; i++ {
			p := KeyPartition([]byte(fmt.Sprintf("key-%d", i)), n)
			if p < 0 || int(p) >= n {
				t.Fatalf("partition %d out of [0,%d)", p, n)
			}
			seen[p] = true
		}
		if n <= 16 && len(seen) != n {
			t.Errorf("%d partitions: only %d used by 2000 keys", n, len(seen))
		}
	}
}

// testParts returns n partitions with a leader and no backlog.
func testParts(n int) []*partition {
	parts := make([]*partition, n)
	for i := range parts {
		parts[i] = &partition{id: int32(i)}
	}
	return parts
}

// stickySend does what a send of an unkeyed record of size bytes does with the sticky state:
// choose, lock (spilling when the choice is locked), count, switch.
func stickySend(s *stickyState, parts []*partition, size, batchSize int) int32 {
	idx, turn := s.partition(len(parts))
	pa := s.lockSticky(parts, idx, false)
	switchNow := turn >= 0 && pa.countStickyLocked(turn, size, batchSize)
	pa.mu.Unlock()
	if switchNow {
		s.switchFrom(turn, parts, false, 0)
	}
	return pa.id
}

func TestStickySwitchesAfterBatchSize(t *testing.T) {
	s := newStickyState(8)
	p8 := testParts(8)
	first := stickySend(s, p8, 100, 1000)
	for i := 0; i < 8; i++ { // records 2..9 stay
		if p := stickySend(s, p8, 100, 1000); p != first {
			t.Fatalf("record %d moved to %d before batch.size was reached", i+2, p)
		}
	}
	// The 10th brings the total to batch.size: it still goes to the partition, and the next
	// record moves on.
	if p := stickySend(s, p8, 100, 1000); p != first {
		t.Fatalf("record 10 moved to %d", p)
	}
	if p := stickySend(s, p8, 100, 1000); p == first {
		t.Fatalf("still on partition %d after batch.size bytes", p)
	}
	// Over many switches every partition is used.
	seen := map[int32]bool{}
	for i := 0; i < 10000; i++ {
		seen[stickySend(s, p8, 100, 100)] = true
	}
	if len(seen) != 8 {
		t.Errorf("sticky used %d of 8 partitions", len(seen))
	}
	// A single partition never moves.
	one := newStickyState(1)
	p1 := testParts(1)
	for i := 0; i < 10; i++ {
		if p := stickySend(one, p1, 1000, 10); p != 0 {
			t.Fatalf("partition %d of 1", p)
		}
	}
	// A state for more partitions than the topic now has starts again on one it has.
	big := newStickyState(64)
	big.current.Store(40)
	if p := stickySend(big, p8, 100, 1000); p < 0 || p >= 8 {
		t.Fatalf("partition %d of 8", p)
	}
}

// TestStickySpillsWhenLocked: a record whose sticky partition is locked by another send goes
// to the spill partition, or the next free one with a leader, counted there; with every
// partition locked it waits for its own.
// TestStickySpillsOnlyWithinTransaction: a transactional send (joined) whose sticky
// partition is locked takes only a partition already in the transaction, and waits when
// there is none.
func TestStickySpillsOnlyWithinTransaction(t *testing.T) {
	parts := testParts(4)
	s := newStickyState(4)
	s.current.Store(1)
	s.spill.Store(2)
	parts[1].mu.Lock()
	parts[3].txnAdded.Store(true)
	if p := s.lockSticky(parts, 1, true); p != parts[3] {
		t.Fatalf("sticky partition locked: record went to %d, want 3, the one in the transaction", p.id)
	} else {
		p.mu.Unlock()
	}
	parts[3].txnAdded.Store(false)
	got := make(chan *partition)
	go func() { got <- s.lockSticky(parts, 1, true) }()
	select {
	case p := <-got:
		t.Fatalf("no other partition in the transaction: record went to %d without waiting", p.id)
	case <-time.After(20 * time.Millisecond):
	}
	parts[1].mu.Unlock()
	if p := <-got; p != parts[1] {
		t.Fatalf("record went to %d after the lock was released, want the sticky partition 1", p.id)
	}
	parts[1].mu.Unlock()
}

func TestStickySpillsWhenLocked(t *testing.T) {
	parts := testParts(4)
	s := newStickyState(4)
	s.current.Store(1)
	s.spill.Store(2)
	parts[1].mu.Lock()
	if p := stickySend(s, parts, 600, 1000); p != 2 {
		t.Fatalf("sticky partition locked: record went to %d, want the spill partition 2", p)
	}
	// Once contended, this goroutine may be in a lane that starts further on: not yet.
	s.contended.Store(false)
	parts[2].leader.Store(-1)
	if p := stickySend(s, parts, 600, 1000); p != 3 {
		t.Fatalf("spill partition without a leader: record went to %d, want 3", p)
	}
	parts[2].leader.Store(0)
	for _, pa := range []*partition{parts[0], parts[2], parts[3]} {
		pa.mu.Lock()
	}
	got := make(chan int32)
	go func() { got <- stickySend(s, parts, 600, 1000) }()
	select {
	case p := <-got:
		t.Fatalf("every partition locked: record went to %d without waiting", p)
	case <-time.After(20 * time.Millisecond):
	}
	for _, pa := range parts {
		pa.mu.Unlock()
	}
	if p := <-got; p != 1 {
		t.Fatalf("record went to %d after the locks were released, want the sticky partition 1", p)
	}
	// Once contended, half the goroutines try the spill partition first: this one may be
	// one of them. Each partition counts what it got in the turn: 600 bytes on partition 1
	// so far.
	if !s.contended.Load() {
		t.Fatal("not marked contended after a send found the sticky partition locked")
	}
	s.contended.Store(false)
	if p := stickySend(s, parts, 300, 1000); p != 1 {
		t.Fatalf("moved to %d after 900 of 1000 bytes", p)
	}
	if p := stickySend(s, parts, 100, 1000); p != 1 {
		t.Fatalf("moved to %d before the record that reached batch.size", p)
	}
	if p := stickySend(s, parts, 100, 1000); p == 1 {
		t.Fatal("still on partition 1 after batch.size bytes")
	}
}

func TestRoundRobin(t *testing.T) {
	rr := RoundRobinPartitioner()
	for i := 0; i < 20; i++ {
		if p := rr.Partition(&Record{Topic: "a"}, 3); p != int32(i%3) {
			t.Fatalf("call %d: partition %d", i, p)
		}
	}
	if p := rr.Partition(&Record{Topic: "b"}, 3); p != 0 {
		t.Fatalf("topics share a counter: %d", p)
	}
}

func TestPartitionerByName(t *testing.T) {
	for _, name := range []string{"", "org.apache.kafka.clients.producer.internals.DefaultPartitioner"} {
		if p, err := partitionerByName(name); err != nil || p != nil {
			t.Errorf("%q: %v %v", name, p, err)
		}
	}
	if p, err := partitionerByName("org.apache.kafka.clients.producer.RoundRobinPartitioner"); err != nil || p == nil {
		t.Errorf("round robin: %v %v", p, err)
	}
	if _, err := partitionerByName("com.example.Mine"); err == nil {
		t.Error("unknown partitioner accepted")
	}
}

// Adaptive partitioning (KIP-794) moves unkeyed records away from partitions with a backlog,
// and partitioner.availability.timeout.ms leaves out one that has not drained for that long.
func TestStickyAdaptive(t *testing.T) {
	parts := testParts(4)
	parts[2].backlog.Store(20) // a slow leader: 20 batches waiting
	counts := make([]int, 4)
	for range 20000 {
		counts[nextSticky(parts, 0, true, 0)]++
	}
	// Weights 21, 21, 1, 21: partition 2 gets about 1.5%, the others about 33% each.
	if counts[2] > 20000/20 || counts[1] < 20000/4 {
		t.Fatalf("adaptive choices %v: partition 2 has a backlog of 20", counts)
	}
	// Uniform (adaptive off) ignores the backlog.
	clear(counts)
	for range 20000 {
		counts[nextSticky(parts, 0, false, 0)]++
	}
	if counts[0] != 0 || counts[2] < 20000/4 {
		t.Fatalf("uniform choices %v", counts)
	}
	// A partition whose backlog has not drained for the availability timeout gets nothing.
	parts[2].lastDrain.Store(time.Now().Add(-time.Minute).UnixNano())
	clear(counts)
	for range 2000 {
		counts[nextSticky(parts, 0, false, time.Second)]++
	}
	if counts[2] != 0 {
		t.Fatalf("a partition not drained for a minute was chosen %d times", counts[2])
	}
	// One without a leader neither.
	parts[3].leader.Store(-1)
	clear(counts)
	for range 2000 {
		counts[nextSticky(parts, 0, true, time.Second)]++
	}
	if counts[2] != 0 || counts[3] != 0 {
		t.Fatalf("choices %v: partitions 2 (not draining) and 3 (no leader) must get nothing", counts)
	}
}
