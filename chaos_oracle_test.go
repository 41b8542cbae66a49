package producer

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// The invariants TestChaos checks after each run, by the name its violations carry:
//
//	one-outcome      every record gets exactly one outcome: a callback called once, a Future
//	                 completed by the end of Close, OnRecordDone once for every record that
//	                 was enqueued (never for one refused at the call) and with the same outcome
//	stats            Stats().RecordsSent/RecordsFailed equal the outcomes OnRecordDone saw, and
//	                 the records OnBatchDone reported; buffer.memory back to zero, nothing in flight
//	acked-in-log     an acknowledged record is in the log at the partition and offset reported
//	                 (not with acks=0, where a record written to a connection may be lost)
//	exactly-once     with idempotence, no record is in a topic's log twice
//	order            acknowledged records of one stream and partition are in the log in the
//	                 order they were sent (not with acks=0: see check)
//	key-placement    once the producer has fetched metadata after a topic changed, a keyed
//	                 record goes to murmur2(key) over the topic's partitions (defect 10)
//	partition-added  a send naming a partition the topic has does not fail with
//	                 ErrInvalidRecord (defect 11)
//	bounded-calls    Send within max.block.ms, Flush, Close, commit and abort within their
//	                 deadlines, Futures within delivery.timeout.ms (each plus slack and the
//	                 time spent in our callbacks meanwhile)
//	flush-from-callback  Flush from a callback or hook returns before its ctx ends (defect 6)
//	txn-*            transactions: a committed transaction holds every record of it reported
//	                 sent and none reported failed; a commit after a failure in its
//	                 transaction fails; a commit reported failed did not happen; a record
//	                 belongs to a transaction that was open during its Send (defect 5);
//	                 the consumer group holds the offsets of the last transaction that
//	                 committed with them, never those of one that aborted (txn-offsets);
//	                 two concurrent ends agree on whether the transaction committed
//	                 (txn-concurrent-ends)
//	next-transaction after any fault the producer can end its transaction and run the next
//	recovery         once the faults are gone, new records and a new transaction succeed
//	liveness         under the retriable and unreachable profiles nothing fails
//
// Goroutine leaks are checked by testutil.CheckNoLeaks around each run.

// collect gathers every record's outcome and its copies in the log. It runs after the final
// Close, when every outcome must be known.
func (r *chaosRun) collect() {
	r.stats = r.p.Stats()
	r.groupOffsets = r.c.CommittedOffsets(chaosGroup)
	r.mu.Lock()
	recs := append([]*chaosRecord(nil), r.recs...)
	r.mu.Unlock()
	type outcomeViol struct{ inv, msg string }
	var viols []outcomeViol
	bad := func(inv, format string, args ...any) {
		viols = append(viols, outcomeViol{inv, fmt.Sprintf(format, args...)})
	}
	r.mu.Lock()
	for _, cr := range recs {
		switch cr.how {
		case howFuture:
			if cr.fut == nil {
				bad("one-outcome", "record %d: Send never returned", cr.id)
				continue
			}
			select {
			case <-cr.fut.Done():
				cr.md, cr.err = cr.fut.Get(context.Background())
				cr.outcomeKnown = true
				cr.sync = cr.err != nil && cr.hookCalls == 0
			default:
				bad("one-outcome", "record %d (%s from %s): its Future is not done after Close", cr.id, howNames[cr.how], cr.from)
			}
		case howCallback:
			switch {
			case cr.cbCalls == 0:
				bad("one-outcome", "record %d (%s from %s): its callback was never called (SendAsync returned %v)", cr.id, howNames[cr.how], cr.from, cr.syncErr)
			case cr.cbCalls > 1:
				bad("one-outcome", "record %d: its callback was called %d times", cr.id, cr.cbCalls)
			}
			if cr.cbCalls > 0 {
				cr.md, cr.err, cr.outcomeKnown = cr.cbMD, cr.cbErr, true
				cr.sync = cr.syncErr != nil
				if cr.syncErr != nil && cr.cbErr != cr.syncErr {
					bad("one-outcome", "record %d: SendAsync returned %v, its callback got %v", cr.id, cr.syncErr, cr.cbErr)
				}
			}
		case howForget:
			switch {
			case cr.syncErr != nil:
				cr.err, cr.sync, cr.outcomeKnown = cr.syncErr, true, true
			case cr.hookCalls > 0:
				cr.md, cr.err, cr.outcomeKnown = cr.hookMD, cr.hookErr, true
			default:
				bad("one-outcome", "record %d (%s from %s): enqueued, never completed (no OnRecordDone)", cr.id, howNames[cr.how], cr.from)
			}
		}
		switch {
		case cr.hookCalls > 1:
			bad("one-outcome", "record %d: OnRecordDone called %d times", cr.id, cr.hookCalls)
		case cr.outcomeKnown && cr.sync && cr.hookCalls > 0:
			bad("one-outcome", "record %d: refused at the call (%v) yet OnRecordDone got %v", cr.id, cr.err, cr.hookErr)
		case cr.outcomeKnown && !cr.sync && cr.hookCalls == 0:
			bad("one-outcome", "record %d (%s): completed with %v without OnRecordDone", cr.id, howNames[cr.how], cr.err)
		case cr.outcomeKnown && cr.hookCalls == 1 && (cr.hookErr != cr.err || cr.hookMD != cr.md):
			bad("one-outcome", "record %d: OnRecordDone got (%+v, %v), its %s (%+v, %v)", cr.id, cr.hookMD, cr.hookErr, howNames[cr.how], cr.md, cr.err)
		}
		if cr.outcomeKnown && cr.err == nil {
			md := cr.md
			if md.Topic != cr.topic || md.Partition < 0 || md.Offset < -1 || cr.partition >= 0 && md.Partition != cr.partition {
				bad("one-outcome", "record %d for %s (partition %d) acknowledged with metadata %+v", cr.id, cr.topic, cr.partition, md)
			}
		}
	}
	r.mu.Unlock()
	for _, v := range viols {
		r.violate(v.inv, nil, "%s", v.msg)
	}

	// The log, every incarnation of every topic.
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, name := range []string{chaosTopicA, chaosTopicB, chaosTopicS} {
		t := r.topics[name]
		for _, inc := range t.incarnations {
			for p := int32(0); p < inc.partitions; p++ {
				for _, kr := range r.c.RecordsByTopicID(inc.id, p) {
					id, ok := recordIDOf(kr.Value)
					if !ok || id >= len(recs) || recs[id].topic != name {
						r.viols = append(r.viols, chaosViolation{inv: "acked-in-log", msg: fmt.Sprintf("%s/%d@%d holds a record never sent there: %.40q", name, p, kr.Offset, kr.Value)})
						continue
					}
					recs[id].found = append(recs[id].found, chaosFound{topicID: inc.id, partition: p, offset: kr.Offset, rec: kr})
				}
			}
		}
	}
}

// check judges the run.
func (r *chaosRun) check() {
	r.mu.Lock()
	recs := append([]*chaosRecord(nil), r.recs...)
	txns := append([]*chaosTxn(nil), r.txns...)
	topics := r.topics
	batchOK, batchFail := r.batchOK, r.batchFail
	r.mu.Unlock()
	st := r.stats
	cfg := r.plan.cfg

	// Counts, and Stats against what the hooks saw.
	cnt := chaosCounts{errs: map[string]int{}}
	var hookOK, hookFail int64
	for _, cr := range recs {
		cnt.records++
		if cr.hookCalls > 0 {
			if cr.hookErr == nil {
				hookOK++
			} else {
				hookFail++
			}
		}
		switch {
		case !cr.outcomeKnown:
			cnt.noOutcome++
		case cr.err == nil:
			cnt.acked++
		default:
			cnt.failed++
			if cr.sync {
				cnt.syncFailed++
			}
			cnt.errs[errKind(cr.err)]++
		}
		if len(cr.found) > 0 {
			cnt.inLog++
		}
		if len(cr.found) > 1 {
			cnt.dups++
		}
	}
	r.mu.Lock()
	r.outcomes = cnt
	r.mu.Unlock()
	for _, cr := range recs {
		if cr.outcomeKnown && !cr.sync && errors.Is(cr.err, ErrTimeout) && cr.from != "health" && cr.from != "probe" {
			r.expiries.Add(1)
		}
	}
	// Stats.RecordsFailed counts the records refused at the call too; the hooks see only
	// records that were enqueued.
	refused := int64(cnt.syncFailed)
	if st.RecordsSent != hookOK || st.RecordsFailed != hookFail+refused {
		// More in Stats: a batch counted twice (an expiry overwriting a batch already done,
		// defect 1). Fewer: batches failed without being counted (the fail-everything paths,
		// defect 8).
		var defects []string
		if st.RecordsSent > hookOK || st.RecordsFailed > hookFail+refused {
			defects = append(defects, "1")
		}
		if st.RecordsSent < hookOK || st.RecordsFailed < hookFail+refused {
			defects = append(defects, "8")
		}
		r.violate("stats", defects, "Stats: %d sent and %d failed; OnRecordDone saw %d and %d, and %d were refused at the call",
			st.RecordsSent, st.RecordsFailed, hookOK, hookFail, refused)
	}
	if batchOK != st.RecordsSent || batchFail+refused != st.RecordsFailed {
		r.violate("stats", []string{"1", "8"}, "Stats: %d sent and %d failed; OnBatchDone reported %d and %d, and %d were refused at the call",
			st.RecordsSent, st.RecordsFailed, batchOK, batchFail, refused)
	}
	if st.BufferedBytes != 0 {
		r.violate("stats", nil, "Stats().BufferedBytes is %d after Close: buffer.memory did not return to zero", st.BufferedBytes)
	}
	if st.InFlightRequests != 0 {
		r.violate("stats", nil, "Stats().InFlightRequests is %d after Close", st.InFlightRequests)
	}

	// The log.
	for _, cr := range recs {
		perInc := map[wire.UUID]int{}
		for _, f := range cr.found {
			perInc[f.topicID]++
		}
		for _, n := range perInc {
			if n > 1 && r.plan.mode.idem() {
				r.violate("exactly-once", nil, "record %d (%s) is %d times in %s: %s", cr.id, outcomeString(cr), n, cr.topic, foundString(cr))
				break
			}
		}
		if !cr.outcomeKnown || cr.err != nil || r.plan.cfg.Acks == AcksNone {
			continue // acks=0: sent means written to the connection, which may lose it
		}
		ok := false
		for _, f := range cr.found {
			if f.partition == cr.md.Partition && (cr.md.Offset < 0 || f.offset == cr.md.Offset) {
				ok = true
			}
		}
		if !ok {
			r.violate("acked-in-log", nil, "record %d acknowledged at %s/%d@%d is not there; copies: %s", cr.id, cr.md.Topic, cr.md.Partition, cr.md.Offset, foundString(cr))
		}
	}
	// Order: acknowledged records of a stream, in the log of each partition, by first copy.
	// Not with acks=0: a batch is done once written, so the next one may go out on another
	// connection (a new leader, a reconnect) and be appended before it.
	for _, name := range []string{chaosTopicA, chaosTopicB, chaosTopicS} {
		if r.plan.cfg.Acks == AcksNone {
			break
		}
		for _, inc := range topics[name].incarnations {
			for p := int32(0); p < inc.partitions; p++ {
				type pos struct {
					off int64
					cr  *chaosRecord
				}
				var list []pos
				for _, cr := range recs {
					if cr.stream < 0 || !cr.outcomeKnown || cr.err != nil {
						continue
					}
					for _, f := range cr.found {
						if f.topicID == inc.id && f.partition == p {
							list = append(list, pos{f.offset, cr})
							break
						}
					}
				}
				sort.Slice(list, func(i, j int) bool { return list[i].off < list[j].off })
				last := map[int]*chaosRecord{}
				for _, x := range list {
					if prev := last[x.cr.stream]; prev != nil && x.cr.seq < prev.seq {
						if recreatedBetween(topics[name], x.cr.start, x.cr.doneAt) {
							// Sent before the topic was deleted and created again, written
							// after: the new partition, with no producer state, took a later
							// batch first. Kafka keeps no order across a recreation.
							r.mu.Lock()
							r.reorderedByRecreate++
							r.mu.Unlock()
						} else {
							r.violate("order", nil, "%s/%d: stream %d's record %d (seq %d) at offset %d is after its record %d (seq %d)",
								name, p, x.cr.stream, x.cr.id, x.cr.seq, x.off, prev.id, prev.seq)
						}
					}
					if prev := last[x.cr.stream]; prev == nil || x.cr.seq > prev.seq {
						last[x.cr.stream] = x.cr
					}
				}
			}
		}
	}

	// Partitions: keyed placement after a metadata refresh, and partitions just added.
	for _, cr := range recs {
		t := topics[cr.topic]
		if !cr.outcomeKnown {
			continue
		}
		changedDuring, count, fresh := r.topologyAt(t, cr)
		if changedDuring {
			continue
		}
		shrank := false
		for _, ch := range t.changes {
			shrank = shrank || ch.shrank
		}
		if cr.partition >= 0 && cr.err != nil && errors.Is(cr.err, ErrInvalidRecord) && cr.partition < count {
			r.violate("partition-added", []string{"11"}, "record %d to %s partition %d, which the topic has (%d partitions), failed at once: %v", cr.id, cr.topic, cr.partition, count, cr.err)
		}
		if cr.key != nil && cr.partition < 0 && cr.err == nil && fresh && count > 0 {
			if want := KeyPartition(cr.key, int(count)); cr.md.Partition != want {
				var defects []string
				if shrank {
					defects = []string{"10"}
				}
				r.violate("key-placement", defects, "record %d with key %q went to %s/%d, not %d: the topic has had %d partitions since before the producer last fetched metadata",
					cr.id, cr.key, cr.topic, cr.md.Partition, want, count)
			}
		}
	}

	// Records that must succeed: after the faults, and under the profiles without failures.
	shrank := topicShrank(topics[chaosTopicA]) || topicShrank(topics[chaosTopicB])
	r.mu.Lock()
	closeAt := r.closeAt
	r.mu.Unlock()
	for _, cr := range recs {
		if !cr.outcomeKnown || cr.err == nil {
			continue
		}
		if errors.Is(cr.err, ErrClosed) && !closeAt.IsZero() && cr.start.After(closeAt) {
			continue // sent after Close began (from a callback or hook of the final Close)
		}
		defects := r.recordSignature(cr)
		switch {
		case (cr.from == "health" || cr.from == "probe") && r.backingOffAt(cr):
			// Its leader's connection failed while the faults lasted: the reconnect backoff
			// (up to reconnect.backoff.max.ms, 1 s) outlasted its delivery.timeout.ms, as it
			// would with the Java client. Dials after the faults must succeed, so a producer
			// that never reconnects is still caught.
			r.tracef("record %d failed while its leader's reconnect backoff from the faults ran: %v", cr.id, cr.err)
		case cr.from == "health":
			r.violate("recovery", defects, "record %d sent after the faults were gone failed: %v", cr.id, cr.err)
		case cr.from == "probe":
			// A partition the topic lost fails its records; with transactions V1 its
			// AddPartitionsToTxn (UNKNOWN_TOPIC_OR_PARTITION, retried) holds back the
			// partitions added with it, of any topic.
			if shrank {
				defects = append(defects, "10")
			}
			r.violate("recovery", defects, "record %d (key %q, partition %d) sent to %s after the faults were gone and metadata was fetched failed: %v", cr.id, cr.key, cr.partition, cr.topic, cr.err)
		case r.plan.profile != profileMixed && !r.txnRefusalOutside(cr, txns) && !abortedByPlan(cr, txns):
			r.violate("liveness", defects, "%s profile: record %d (%s from %s) failed: %v", r.plan.profile, cr.id, howNames[cr.how], cr.from, cr.err)
		}
	}

	if r.plan.mode.txn() {
		r.checkTxns(recs, txns)
		r.checkOffsets(txns)
	}
	_ = cfg
}

// checkOffsets checks the consumer offsets the transactions committed: the group holds those
// of the last transaction that committed with its offsets, both partitions from the one
// transaction, and never the offsets of one that aborted or whose SendOffsetsToTransaction
// failed. Under the retriable and unreachable profiles SendOffsetsToTransaction succeeds,
// unless the transaction's end came first (ErrTransactionState; a failed transaction shows
// in its commit) or the producer was closed.
func (r *chaosRun) checkOffsets(txns []*chaosTxn) {
	got := r.groupOffsets
	parts := got[chaosTopicS]
	if len(got) > 1 || len(parts) == 1 || len(parts) > 2 {
		r.violate("txn-offsets", nil, "the group holds offsets %v: not the two of one transaction", got)
		return
	}
	src := -1 // the transaction whose offsets the group holds
	for pa, o := range parts {
		k := int(o.Offset - chaosOffsetBase(pa))
		if k < 0 || k >= len(txns) || pa < 0 || pa > 1 {
			r.violate("txn-offsets", nil, "the group holds offsets %v, which no transaction sent", got)
			return
		}
		if src >= 0 && k != src {
			r.violate("txn-offsets", nil, "the group holds offsets of transactions %d and %d: %v", src, k, got)
			return
		}
		src = k
	}
	last := -1 // the last transaction that committed with its offsets
	for _, tx := range txns {
		sent := !tx.offsetsCall.IsZero() && tx.offsetsErr == nil
		if tx.committed && sent {
			last = tx.k
		}
		if !tx.offsetsCall.IsZero() && tx.offsetsErr != nil && r.plan.profile != profileMixed && !r.closed.Load() &&
			!errors.Is(tx.offsetsErr, ErrTransactionState) {
			r.violate("liveness", r.signature(tx.offsetsErr), "%s profile: SendOffsetsToTransaction of transaction %d failed: %v", r.plan.profile, tx.k, tx.offsetsErr)
		}
	}
	if src < 0 {
		if last >= 0 {
			r.violate("txn-offsets", nil, "transaction %d committed with its offsets, but the group holds none", last)
		}
		return
	}
	tx := txns[src]
	switch {
	case tx.offsetsCall.IsZero():
		r.violate("txn-offsets", nil, "the group holds the offsets of transaction %d, which sent none", src)
	case tx.offsetsErr != nil:
		r.violate("txn-offsets", nil, "SendOffsetsToTransaction of transaction %d failed (%v), yet its offsets are committed", src, tx.offsetsErr)
	case !tx.committed && !errors.Is(tx.endErr, ErrTransactionOutcomeUnknown):
		r.violate("txn-offsets", nil, "transaction %d was not committed (its end: %v; aborts: %v), yet its offsets are", src, tx.endErr, tx.abortErrs)
	case last > src:
		r.violate("txn-offsets", nil, "transaction %d committed with its offsets, but the group holds those of transaction %d", last, src)
	}
}

// backingOffAt reports whether cr timed out while the producer may have been waiting out
// the reconnect backoff of its partition's leader after a connection attempt that began
// before the faults were gone and failed; and no attempt begun after that failed.
func (r *chaosRun) backingOffAt(cr *chaosRecord) bool {
	if !errors.Is(cr.err, ErrTimeout) || r.c == nil {
		return false
	}
	leader := r.c.Leader(cr.topic, cr.md.Partition)
	r.mu.Lock()
	defer r.mu.Unlock()
	window := r.plan.cfg.ReconnectBackoffMax
	if window == 0 {
		window = DefaultReconnectBackoffMax
	}
	window = window * 6 / 5 // its jitter
	carried := false
	for _, f := range r.dialFailures {
		switch {
		case f.node != leader:
		case !f.start.Before(r.clearedAt) && (r.closeAt.IsZero() || f.end.Before(r.closeAt)):
			return false // a connection attempt to a healthy broker failed (not one Close ended)
		case f.end.Add(window).After(cr.start):
			carried = true
		}
	}
	return carried
}

// txnRefusalOutside reports whether cr is a transactional send refused because no
// transaction was open during its call: an expected outcome at transaction boundaries.
func (r *chaosRun) txnRefusalOutside(cr *chaosRecord, txns []*chaosTxn) bool {
	if !r.plan.mode.txn() || !cr.sync || !errors.Is(cr.err, ErrTransactionState) {
		return false
	}
	for _, tx := range txns {
		if inTxnOnly(tx, cr) {
			return false
		}
	}
	return true
}

// abortedByPlan reports whether cr failed because its transaction was aborted: on purpose,
// an expected outcome, or after a failed commit, whose cause is reported with the commit.
func abortedByPlan(cr *chaosRecord, txns []*chaosTxn) bool {
	if !errors.Is(cr.err, ErrTransactionState) || !strings.Contains(cr.err.Error(), "transaction aborted") {
		return false
	}
	for _, tx := range txns {
		if candidate(tx, cr) && !tx.endCall.IsZero() && !tx.committed {
			return true
		}
	}
	return false
}

// recordSignature is signature for a failed record, with what the record itself says.
func (r *chaosRun) recordSignature(cr *chaosRecord) []string {
	out := r.signature(cr.err)
	if cr.partition >= 0 && cr.sync && errors.Is(cr.err, ErrInvalidRecord) {
		out = append(out, "11")
	}
	return out
}

// topologyAt returns, for a record, whether its topic changed between the record's creation
// and the return of its send, the partition count before, and whether the producer had
// fetched metadata twice since the last change before the send (so once entirely after it).
func (r *chaosRun) topologyAt(t *chaosTopic, cr *chaosRecord) (changedDuring bool, count int32, fresh bool) {
	count = initialCount(t.name)
	fresh = true
	for _, ch := range t.changes {
		switch {
		case ch.begun.After(cr.returned):
		case ch.ended.Before(cr.start) && !ch.ended.IsZero():
			count = ch.count
			fresh = cr.refreshesAt >= ch.refreshesAfter+2
		default:
			changedDuring = true
		}
	}
	return changedDuring, count, fresh
}

// recreatedBetween reports whether t was deleted and created again between from and to
// (to zero: any time after from).
func recreatedBetween(t *chaosTopic, from, to time.Time) bool {
	for _, ch := range t.changes {
		if ch.recreated && ch.ended.After(from) && (to.IsZero() || ch.begun.Before(to)) {
			return true
		}
	}
	return false
}

func initialCount(topic string) int32 {
	switch topic {
	case chaosTopicA:
		return 3
	default:
		return 2
	}
}

func topicShrank(t *chaosTopic) bool {
	for _, ch := range t.changes {
		if ch.shrank {
			return true
		}
	}
	return false
}

// Transactions.

func candidate(tx *chaosTxn, cr *chaosRecord) bool {
	end := tx.endReturn
	return (end.IsZero() || cr.start.Before(end)) && cr.returned.After(tx.beginCall)
}

func inTxnOnly(tx *chaosTxn, cr *chaosRecord) bool {
	return !tx.beginReturn.IsZero() && !tx.endCall.IsZero() && cr.start.After(tx.beginReturn) && cr.returned.Before(tx.endCall)
}

// windowOf returns the transaction whose end settles transactions at time at: from its
// first commit or abort to the next BeginTransaction.
func windowOf(txns []*chaosTxn, at time.Time) *chaosTxn {
	for _, tx := range txns {
		if tx.endCall.IsZero() || at.Before(tx.endCall) {
			continue
		}
		if tx.windowEnd.IsZero() || at.Before(tx.windowEnd) {
			return tx
		}
	}
	return nil
}

func (r *chaosRun) checkTxns(recs []*chaosRecord, txns []*chaosTxn) {
	for _, cr := range recs {
		for _, f := range cr.found {
			kr := f.rec
			if !kr.Transactional {
				r.violate("txn-membership", nil, "record %d is in the log outside any transaction", cr.id)
				continue
			}
			if kr.TxnEnded.IsZero() {
				continue
			}
			if kr.Aborted && !r.fenceFrom.IsZero() && !kr.TxnEnded.Before(r.fenceFrom) && !kr.TxnEnded.After(r.fenceTo) {
				continue // aborted by the fencing second producer's InitProducerId
			}
			tx := windowOf(txns, kr.TxnEnded)
			if tx == nil {
				r.violate("txn-membership", nil, "record %d's transaction was settled at %v, when none of ours was ending", cr.id, r.at(kr.TxnEnded))
				continue
			}
			if !candidate(tx, cr) {
				r.violate("txn-membership", []string{"5"}, "record %d, sent from %v to %v, is in transaction %d (begun %v, ended %v), which was not open then (%s)",
					cr.id, r.at(cr.start), r.at(cr.returned), tx.k, r.at(tx.beginCall), r.at(tx.endReturn), outcomeString(cr))
			}
			if kr.Committed && !tx.committed && !errors.Is(tx.endErr, ErrTransactionOutcomeUnknown) {
				what := "was aborted"
				if tx.commit {
					what = fmt.Sprintf("was reported failed (%v)", tx.endErr)
				}
				r.violate("txn-commit-reported-failed", append([]string{"15"}, r.signature(tx.endErr)...), "transaction %d %s, yet its record %d is committed", tx.k, what, cr.id)
			}
			if kr.Committed && cr.outcomeKnown && cr.err != nil {
				r.violate("txn-failed-record-committed", []string{"2", "1"}, "record %d was reported failed (%v), yet it is committed in transaction %d", cr.id, cr.err, tx.k)
			}
		}
	}
	for _, tx := range txns {
		if tx.beginReturn.IsZero() {
			continue
		}
		if errors.Is(tx.endErr, ErrTransactionOutcomeUnknown) {
			// Either outcome may be, but one for all its records.
			committed, aborted := 0, 0
			for _, cr := range recs {
				if !inTxnOnly(tx, cr) {
					continue
				}
				for _, f := range cr.found {
					if f.rec.Committed {
						committed++
					} else if f.rec.Aborted {
						aborted++
					}
				}
			}
			if committed > 0 && aborted > 0 {
				r.violate("txn-atomicity", nil, "transaction %d, its outcome reported unknown (%v), has %d records committed and %d aborted", tx.k, tx.endErr, committed, aborted)
			}
		}
		if tx.committed {
			for _, cr := range recs {
				if !inTxnOnly(tx, cr) || !cr.outcomeKnown {
					continue
				}
				if cr.err != nil {
					defects := []string{"2"}
					if cr.sync {
						defects = []string{"2s"}
					}
					defects = append(defects, r.signature(cr.err)...)
					r.violate("txn-commit-after-failure", defects, "transaction %d committed, though its record %d (%s) failed: %v", tx.k, cr.id, howNames[cr.how], cr.err)
					continue
				}
				in := false
				for _, f := range cr.found {
					in = in || f.rec.Committed && windowOf([]*chaosTxn{tx}, f.rec.TxnEnded) == tx
				}
				if !in {
					r.violate("txn-committed-holds-acked", nil, "transaction %d committed, record %d of it was acknowledged (%+v), but is not committed with it: %s", tx.k, cr.id, cr.md, foundString(cr))
				}
			}
		}
		needCommit := tx.health || r.plan.profile != profileMixed
		if needCommit && tx.commit && !tx.committed && !r.closed.Load() {
			inv := "liveness"
			if tx.health {
				inv = "recovery"
			}
			r.violate(inv, r.signature(tx.endErr), "%s profile: CommitTransaction of transaction %d failed: %v", r.plan.profile, tx.k, tx.endErr)
		}
	}
}

// signature returns the defects an error's text points at.
func (r *chaosRun) signature(err error) []string {
	if err == nil {
		return nil
	}
	s := err.Error()
	var out []string
	coord := strings.Contains(s, "AddPartitionsToTxn") || strings.Contains(s, "EndTxn") || strings.Contains(s, "InitProducerId") || strings.Contains(s, "FindCoordinator")
	// A transaction made abortable by a bare connection error: a coordinator request's
	// (records' errors name their partition).
	coord = coord || r.plan.mode.txn() && strings.Contains(s, "because of: conn: ")
	if coord && (strings.Contains(s, "EOF") || strings.Contains(s, "connection reset") || strings.Contains(s, "broken pipe") || strings.Contains(s, "connection closed")) {
		out = append(out, "14")
	}
	if strings.Contains(s, "OUT_OF_ORDER_SEQUENCE_NUMBER") || strings.Contains(s, "UNKNOWN_PRODUCER_ID") {
		out = append(out, "3", "4")
	}
	if strings.Contains(s, "INVALID_TXN_STATE") {
		out = append(out, "15")
	}
	// Fenced with no second producer: a lost answer to the InitProducerId of an epoch bump,
	// not retried, left the producer with the old epoch, which the next EndTxn carries (14);
	// or the bump fenced a transaction that a late AddPartitionsToTxn started again (14b).
	if strings.Contains(s, "PRODUCER_FENCED") && !r.fatal.Load() {
		out = append(out, "14", "14b", "15")
	}
	// A batch written after its transaction ended: the send raced the commit or abort.
	if strings.Contains(s, "TRANSACTION_ABORTABLE") && strings.Contains(s, "not added to the transaction") {
		out = append(out, "5")
	}
	// A transactional producer that needs an epoch bump sends nothing until an EndTxn path
	// sends InitProducerId: its records expire (3). The bump is asked for with a warning
	// after a sequence error or a failed numbered batch, silently after an expiry. With
	// transactions V1 it is most often needed because an abort left a sequence gap (4).
	if r.plan.mode.txn() && errors.Is(err, ErrTimeout) && (r.bumps.Load() > 0 || r.expiries.Load() > 0) {
		if r.plan.mode == chaosTxnV1 {
			out = append(out, "4")
		}
		out = append(out, "3")
	}
	if r.plan.profile == profileUnreachable && (strings.Contains(s, "connect:") || strings.Contains(s, "refused") || strings.Contains(s, "dial") || strings.Contains(s, "ApiVersions")) {
		out = append(out, "9")
	}
	return out
}

// at formats a time relative to the start of the chaos phase.
func (r *chaosRun) at(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return fmt.Sprintf("%.3fs", t.Sub(r.start).Seconds())
}

func outcomeString(cr *chaosRecord) string {
	switch {
	case !cr.outcomeKnown:
		return "no outcome"
	case cr.err == nil:
		return fmt.Sprintf("acknowledged at %d@%d", cr.md.Partition, cr.md.Offset)
	case cr.sync:
		return fmt.Sprintf("refused: %v", cr.err)
	}
	return fmt.Sprintf("failed: %v", cr.err)
}

func foundString(cr *chaosRecord) string {
	if len(cr.found) == 0 {
		return "none"
	}
	var parts []string
	for _, f := range cr.found {
		s := fmt.Sprintf("%x/%d@%d (producer %d epoch %d seq %d)", f.topicID[:2], f.partition, f.offset, f.rec.ProducerID, f.rec.ProducerEpoch, f.rec.Sequence)
		if f.rec.Transactional {
			s += fmt.Sprintf(" (committed %v aborted %v)", f.rec.Committed, f.rec.Aborted)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// errKind names an error for the summary: the sentinel or Kafka error it wraps.
func errKind(err error) string {
	for _, e := range []error{ErrClosed, ErrTimeout, ErrBufferFull, ErrRecordTooLarge, ErrInvalidRecord, ErrTransactionState, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, e) {
			return strings.TrimPrefix(e.Error(), "producer: ")
		}
	}
	var ke *wire.Error
	if errors.As(err, &ke) {
		return ke.Name
	}
	return "other"
}

// summary describes the run in one line.
func (r *chaosRun) summary() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.outcomes
	kinds := make([]string, 0, len(c.errs))
	for k, n := range c.errs {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(kinds)
	committed, ended := 0, 0
	for _, tx := range r.txns {
		if tx.committed {
			committed++
		}
		if tx.ended {
			ended++
		}
	}
	gated := ""
	if len(r.gated) > 0 {
		gated = fmt.Sprintf("; calls replaced by Stats because of known defects: %v", r.gated)
	}
	txn := ""
	if r.plan.mode.txn() {
		txn = fmt.Sprintf("; %d transactions, %d ended, %d committed", len(r.txns), ended, committed)
	}
	return fmt.Sprintf("%d records: %d acknowledged, %d failed (%d at the call; %s), %d without outcome; %d in the log, %d more than once, %d after later ones across a topic recreation%s; stats %+v%s",
		c.records, c.acked, c.failed, c.syncFailed, strings.Join(kinds, ", "), c.noOutcome, c.inLog, c.dups, r.reorderedByRecreate, txn,
		struct{ Sent, Failed, Retried, Requests, Refreshes, ConnErrors int64 }{r.stats.RecordsSent, r.stats.RecordsFailed, r.stats.RecordsRetried, r.stats.Requests, r.stats.MetadataRefreshes, r.stats.ConnectionErrors}, gated)
}
