package producer

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Partitioner chooses the partition of records that do not name one. It is called
// concurrently from every sending goroutine, on the sender's goroutine with no lock of the
// producer held, and must be safe for that; it may call any method of the producer. A result
// outside [0, numPartitions) fails the send with [ErrInvalidRecord].
type Partitioner interface {
	Partition(rec *Record, numPartitions int) int32
}

// PartitionerFunc adapts a function to [Partitioner].
type PartitionerFunc func(rec *Record, numPartitions int) int32

// Partition calls f.
func (f PartitionerFunc) Partition(rec *Record, numPartitions int) int32 {
	return f(rec, numPartitions)
}

// Murmur2 returns the 32-bit murmur2 hash of b exactly as the Java client computes it
// (org.apache.kafka.common.utils.Utils.murmur2), so that keys land where Java producers put
// them.
func Murmur2(b []byte) int32 {
	const (
		seed = 0x9747b28c
		m    = 0x5bd1e995
		r    = 24
	)
	n := len(b)
	h := uint32(seed) ^ uint32(n)
	i := 0
	for ; n-i >= 4; i += 4 {
		k := uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16 | uint32(b[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	switch n - i {
	case 3:
		h ^= uint32(b[i+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(b[i+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(b[i])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// KeyPartition returns the partition the Java client's default partitioner gives key
// among numPartitions: toPositive(murmur2(key)) % numPartitions.
func KeyPartition(key []byte, numPartitions int) int32 {
	return int32(int(uint32(Murmur2(key))&0x7fffffff) % numPartitions)
}

// RoundRobinPartitioner returns a partitioner that spreads records over all partitions in
// turn, key or no key, like the Java client's RoundRobinPartitioner.
func RoundRobinPartitioner() Partitioner { return &roundRobin{} }

type roundRobin struct {
	next sync.Map // topic -> *atomic.Uint32
}

func (rr *roundRobin) Partition(rec *Record, numPartitions int) int32 {
	c, ok := rr.next.Load(rec.Topic)
	if !ok {
		c, _ = rr.next.LoadOrStore(rec.Topic, new(atomic.Uint32))
	}
	n := c.(*atomic.Uint32).Add(1) - 1
	return int32(n % uint32(numPartitions))
}

// stickyState is the sticky partitioner of KIP-794 for one topic: records without a key stay
// on one partition until batch.size bytes went to it, then move to another, chosen at random:
// uniformly, or (adaptive partitioning, the default) weighted by how little each partition
// has waiting. The bytes are counted by the partition, under its own lock
// (countStickyLocked), so that a send touches nothing shared but this state's one word, read.
// It keeps no lock: a race between two switches only picks twice.
//
// When another send holds the current partition's lock, a record goes to the spill
// partition instead (see [stickyState.lockSticky]): goroutines sending at once then fill
// several batches side by side rather than queue on one mutex. Each partition counts the
// bytes it got in the turn; the first to reach batch.size ends it.
type stickyState struct {
	// current is the partition records go to now, in the low 32 bits, and the turn (the
	// number of switches so far) in the high 32: a partition counts the bytes of one turn.
	current atomic.Int64
	spill   atomic.Int32
	// contended is set when a send found the current partition locked by another, and
	// cleared at the switch.
	contended atomic.Bool
}

func newStickyState(numPartitions int) *stickyState {
	s := &stickyState{}
	cur := rand.IntN(numPartitions)
	s.current.Store(int64(cur))
	s.spill.Store(int32((cur + 1) % numPartitions))
	return s
}

// partition returns the partition for an unkeyed record and the turn to count it in (-1:
// not counted).
func (s *stickyState) partition(numPartitions int) (int32, int64) {
	turn := s.current.Load()
	if cur := int32(turn); int(cur) < numPartitions {
		return cur, turn
	}
	// The topic shrank in our view: start again.
	next := rand.IntN(numPartitions)
	s.current.CompareAndSwap(turn, nextTurn(turn, next))
	return int32(next), -1
}

// nextTurn is the turn after turn, on partition idx.
func nextTurn(turn int64, idx int) int64 {
	return (turn>>32+1)<<32 | int64(idx)
}

// switchFrom moves records on from the partition of turn, unless another send did already.
func (s *stickyState) switchFrom(turn int64, parts []*partition, adaptive bool, avail time.Duration) {
	cur := int(int32(turn))
	if cur >= len(parts) {
		return
	}
	next := nextSticky(parts, cur, adaptive, avail)
	if s.current.CompareAndSwap(turn, nextTurn(turn, next)) && len(parts) > 1 {
		s.spill.Store(int32(nextSticky(parts, next, adaptive, avail)))
		s.contended.Store(false)
	}
}

// countStickyLocked counts size bytes of turn to pa, the turn's partition, and reports
// whether the turn has had batch.size bytes and should end. Called with pa.mu held.
func (pa *partition) countStickyLocked(turn int64, size, batchSize int) bool {
	if pa.stickyTurn != turn {
		pa.stickyTurn, pa.stickyBytes = turn, 0
	}
	pa.stickyBytes += size
	if pa.stickyBytes >= max(batchSize, 1) {
		pa.stickyBytes = 0
		return true
	}
	return false
}

// lockSticky locks and returns the partition for an unkeyed record whose sticky choice is
// parts[idx]. Once a send found the sticky partition's lock taken (contended, until the
// next switch), the sending goroutines spread over four lanes (goroutineLane): lane 0 keeps
// to parts[idx], lane k tries the (k-1)th partition after the spill partition first, so that
// goroutines sending at once each keep to their own partition instead of taking turns at
// one lock and cache line. Otherwise it is parts[idx] when its lock is free, else the first
// partition with a leader and a free lock from the spill partition on, else (every lock
// taken) parts[idx] once its lock is. With joined set (a transactional send, admitted to
// the transaction with parts[idx]), only partitions already in the transaction are taken
// instead of parts[idx]: the send cannot join another while it holds a partition's lock.
func (s *stickyState) lockSticky(parts []*partition, idx int32, joined bool) *partition {
	contended := s.contended.Load()
	if lane := goroutineLane(); contended && lane != 0 {
		if q := s.lockSpill(parts, idx, int(lane)-1, joined); q != nil {
			return q
		}
	}
	pa := parts[idx]
	if pa.mu.TryLock() {
		return pa
	}
	if !contended {
		s.contended.Store(true)
	}
	if q := s.lockSpill(parts, idx, 0, joined); q != nil {
		return q
	}
	pa.mu.Lock()
	return pa
}

// lockSpill locks and returns the first partition but idx with a leader and a free lock
// (and in the transaction, with joined) from skip partitions after the spill partition on,
// or nil.
func (s *stickyState) lockSpill(parts []*partition, idx int32, skip int, joined bool) *partition {
	n := len(parts)
	sp := int(s.spill.Load())
	if sp >= n {
		return nil
	}
	sp = (sp + skip) % n
	for j, left := sp, n; left > 0; left-- {
		if q := parts[j]; j != int(idx) && (!joined || q.txnAdded.Load()) && q.mu.TryLock() {
			if q.leader.Load() >= 0 {
				return q
			}
			q.mu.Unlock()
		}
		if j++; j == n {
			j = 0
		}
	}
	return nil
}

// goroutineLane returns a lane from 0 to 3, the same for the calling goroutine from call to call
// (mostly: it is taken from the address of its stack, which moves when the stack grows),
// and each about as often over many goroutines. It costs no shared memory access.
//
//go:noinline
func goroutineLane() uintptr {
	var x byte
	a := uintptr(unsafe.Pointer(&x)) >> 13 // goroutine stacks are at least 8 KiB
	return uintptr(bits.OnesCount64(uint64(a)) & 3)
}

// nextSticky picks the partition unkeyed records move to from cur. Uniformly it is any other
// partition. Adaptive (KIP-794), partition i weighs maxBacklog+1-backlog(i), so that the
// partitions whose leaders drain slowly get less; with avail > 0, a partition whose backlog
// has waited that long without a batch taken weighs nothing, as has one without a leader.
// When nothing weighs, it is uniform.
func nextSticky(parts []*partition, cur int, adaptive bool, avail time.Duration) int {
	n := len(parts)
	if n == 1 {
		return 0
	}
	if adaptive || avail > 0 {
		var now int64
		if avail > 0 {
			now = time.Now().UnixNano()
		}
		var maxLoad int64
		if adaptive {
			for _, pa := range parts {
				maxLoad = max(maxLoad, pa.backlog.Load())
			}
		}
		weight := func(pa *partition) int64 {
			load := pa.backlog.Load()
			if pa.leader.Load() < 0 || avail > 0 && load > 0 && now-pa.lastDrain.Load() > int64(avail) {
				return 0
			}
			if !adaptive {
				return 1
			}
			return max(maxLoad+1-load, 1)
		}
		var total int64
		for _, pa := range parts {
			total += weight(pa)
		}
		if total > 0 {
			r := rand.Int64N(total)
			for i, pa := range parts {
				if r -= weight(pa); r < 0 {
					return i
				}
			}
		}
	}
	next := rand.IntN(n - 1)
	if next >= cur {
		next++
	}
	return next
}

// partitionerByName maps partitioner.class values to partitioners.
func partitionerByName(name string) (Partitioner, error) {
	short := name[strings.LastIndexByte(name, '.')+1:]
	switch strings.ToLower(short) {
	case "", "defaultpartitioner", "builtinpartitioner", "default", "sticky":
		return nil, nil
	case "roundrobinpartitioner", "roundrobin", "round-robin":
		return RoundRobinPartitioner(), nil
	}
	return nil, fmt.Errorf("unknown partitioner (known: DefaultPartitioner, RoundRobinPartitioner)")
}
