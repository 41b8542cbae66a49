package producer

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
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
// has waiting. It keeps no lock: a race between two switches only picks twice.
type stickyState struct {
	current atomic.Int64 // the partition records go to now
	bytes   atomic.Int64 // bytes sent to it since it was chosen
}

func newStickyState(numPartitions int) *stickyState {
	s := &stickyState{}
	s.current.Store(int64(rand.IntN(numPartitions)))
	return s
}

// partition returns the partition for an unkeyed record of size bytes.
func (s *stickyState) partition(size, batchSize int, parts []*partition, adaptive bool, avail time.Duration) int32 {
	n := len(parts)
	cur := s.current.Load()
	if int(cur) >= n { // the topic shrank in our view; start again
		cur = int64(rand.IntN(n))
		s.current.Store(cur)
	}
	if s.bytes.Add(int64(size)) >= int64(max(batchSize, 1)) {
		s.bytes.Store(0)
		s.current.CompareAndSwap(cur, int64(nextSticky(parts, int(cur), adaptive, avail)))
	}
	return int32(cur)
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
