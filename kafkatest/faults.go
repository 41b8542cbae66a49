package kafkatest

import (
	"sync"
	"time"
)

// AnyBroker and AnyPartition are the wildcard values of [Fault.Broker] and
// [Fault.Partition].
const (
	AnyBroker    int32 = -1
	AnyPartition int32 = -1
)

// Fault describes a failure the cluster injects into the requests that match it, for tests
// of a client's error handling. Set it up with [Cluster.InjectFault].
//
// A Fault matches a request with API key Key received by broker Broker (or any with
// [AnyBroker]); for Produce it matches per partition, by Topic ("" = any) and Partition
// ([AnyPartition] = any), and only the matching partitions of the request are affected.
// Topic and Partition are ignored for other APIs, except that a Metadata fault's ErrorCode
// goes to the topics named Topic only. Mind that 0 is a valid broker and partition: use the
// wildcards for "any".
//
// When several faults match, the one injected first applies. Every request a fault hits
// counts once, however many of its partitions match.
type Fault struct {
	// Key is the API key, such as wire.KeyProduce.
	Key int16
	// Broker is the node id of the broker whose requests are hit, or AnyBroker.
	Broker int32
	// Topic is the topic hit (Produce, Metadata), "" for any.
	Topic string
	// Partition is the partition hit (Produce), or AnyPartition.
	Partition int32
	// ErrorCode is the error to answer: for Produce, in the matching partitions' answers
	// (nothing is appended unless AppendAnyway); for Metadata, in the topics' answers, except
	// REBOOTSTRAP_REQUIRED, which v13+ answers as the top-level error (KIP-1102); for
	// FindCoordinator, for every key looked up; for AddPartitionsToTxn, for every partition
	// (v0–3) or as the top-level error (v4+); for TxnOffsetCommit, for every partition; for
	// other APIs, as the response's error code.
	// The request is not processed (unless AppendAnyway). 0 answers normally.
	ErrorCode int16
	// Times is how many matching requests the fault hits before it retires; -1 is forever
	// and 0 is taken as 1.
	Times int
	// Delay holds the answer back this long. The connection answers nothing else meanwhile,
	// so answers stay in request order, as from Kafka.
	Delay time.Duration
	// Swallow drops the answer: the client sees nothing and times out. Without AppendAnyway a
	// swallowed Produce appends nothing.
	Swallow bool
	// AppendAnyway makes a Produce fault process the partition's batch as usual (appending
	// it if valid) before answering ErrorCode, swallowing or dropping: the "written, but the
	// client never heard" case that idempotence deduplicates (e.g. REQUEST_TIMED_OUT or
	// NOT_ENOUGH_REPLICAS_AFTER_APPEND after the write). For InitProducerId,
	// AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit and EndTxn it likewise lets the
	// coordinator act before ErrorCode is answered. (Swallow and DropConnection without an ErrorCode always let the request
	// take effect first.)
	AppendAnyway bool
	// DropConnection closes the connection instead of answering (after the Delay, and
	// after appending with AppendAnyway).
	DropConnection bool
	// SparesDuplicates makes a Produce fault pass over a batch its partition already holds
	// (the retry of a batch that was written, which the broker answers as a duplicate of the
	// one it has), so that a sequence error (OUT_OF_ORDER_SEQUENCE_NUMBER,
	// UNKNOWN_PRODUCER_ID) goes only where a broker could answer it: a broker holding the
	// batch never would. The batches passed over do not count as hits.
	SparesDuplicates bool
}

// FaultHandle is an injected fault: it counts its hits and can be removed.
type FaultHandle struct {
	set *faultSet
	e   *faultEntry
}

type faultEntry struct {
	f         Fault
	remaining int // hits left; -1 forever
	hits      int
	done      bool // removed, or no hits left
}

// faultSet holds the live faults in injection order.
type faultSet struct {
	mu   sync.Mutex
	list []*faultEntry
}

// InjectFault makes the cluster fail the requests that match f, from the next request on.
func (c *Cluster) InjectFault(f Fault) *FaultHandle {
	e := &faultEntry{f: f, remaining: f.Times}
	if e.remaining == 0 {
		e.remaining = 1
	}
	c.faults.mu.Lock()
	c.faults.list = append(c.faults.list, e)
	c.faults.mu.Unlock()
	return &FaultHandle{set: &c.faults, e: e}
}

// Hits returns how many requests the fault has hit so far.
func (h *FaultHandle) Hits() int {
	h.set.mu.Lock()
	defer h.set.mu.Unlock()
	return h.e.hits
}

// Fault returns the fault as injected.
func (h *FaultHandle) Fault() Fault { return h.e.f }

// Remove retires the fault; requests already hit keep their fate.
func (h *FaultHandle) Remove() {
	h.set.mu.Lock()
	defer h.set.mu.Unlock()
	h.set.retireLocked(h.e)
}

func (s *faultSet) retireLocked(e *faultEntry) {
	if e.done {
		return
	}
	e.done = true
	for i, x := range s.list {
		if x == e {
			s.list = append(s.list[:i], s.list[i+1:]...)
			return
		}
	}
}

// hitLocked counts one hit on e and retires it when it has none left.
func (s *faultSet) hitLocked(e *faultEntry) {
	e.hits++
	if e.remaining > 0 {
		e.remaining--
		if e.remaining == 0 {
			s.retireLocked(e)
		}
	}
}

// match returns (a copy of) the first live fault for key on broker, ignoring topic and
// partition, and counts the hit; nil when none matches.
func (s *faultSet) match(key int16, broker int32) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.list {
		if e.f.Key == key && (e.f.Broker == AnyBroker || e.f.Broker == broker) {
			f := e.f
			s.hitLocked(e)
			return &f
		}
	}
	return nil
}

// topicPartition names one partition of a Produce request; held reports that the partition
// already holds its batch (a duplicate), for SparesDuplicates.
type topicPartition struct {
	topic     string
	partition int32
	held      bool
}

// sparing reports whether some live fault has SparesDuplicates, so that Produce requests
// need to know which of their batches are duplicates.
func (s *faultSet) sparing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.list {
		if e.f.SparesDuplicates {
			return true
		}
	}
	return false
}

// matchProduce returns, for each partition of a Produce request received by broker, the
// first live Produce fault matching it (nil for none), and counts one hit on every fault
// that matched at least one partition.
func (s *faultSet) matchProduce(key int16, broker int32, tps []topicPartition) []*Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.list) == 0 {
		return nil
	}
	out := make([]*Fault, len(tps))
	var hit []*faultEntry
	for i, tp := range tps {
		for _, e := range s.list {
			f := &e.f
			if f.Key != key || (f.Broker != AnyBroker && f.Broker != broker) ||
				(f.Topic != "" && f.Topic != tp.topic) ||
				(f.Partition != AnyPartition && f.Partition != tp.partition) ||
				(f.SparesDuplicates && tp.held) {
				continue
			}
			cp := *f
			out[i] = &cp
			seen := false
			for _, h := range hit {
				seen = seen || h == e
			}
			if !seen {
				hit = append(hit, e)
			}
			break
		}
	}
	for _, e := range hit {
		s.hitLocked(e)
	}
	return out
}

// standIn returns the error code of the matched fault when it stands in for the broker, so
// that the request is answered with it and not processed: an ErrorCode without
// AppendAnyway. With AppendAnyway the coordinator APIs process the request first, and the
// handler answers faultCode after.
func (ex *exchange) standIn() int16 {
	if ex.fault == nil || ex.fault.AppendAnyway {
		return 0
	}
	return ex.fault.ErrorCode
}
