package producer

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

// TestChaosOracle feeds the oracle of TestChaos made-up runs, each breaking one invariant,
// and checks that it says so: the checks must not pass whatever the producer does.
func TestChaosOracle(t *testing.T) {
	idA := wire.UUID{1}
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	type fixture struct {
		r     *chaosRun
		stats Stats
	}
	newRun := func(mode chaosMode) *fixture {
		r := &chaosRun{plan: chaosPlan{mode: mode, profile: profileMixed}, start: t0, topics: map[string]*chaosTopic{}}
		for _, name := range []string{chaosTopicA, chaosTopicB, chaosTopicS} {
			r.topics[name] = &chaosTopic{name: name, count: initialCount(name), incarnations: []chaosIncarnation{{id: idA, partitions: initialCount(name)}}}
		}
		return &fixture{r: r}
	}
	// rec adds a record of stream 0 sent from ms to ms+1, acknowledged at partition 0 and
	// offset off (err nil) or failed with err, and found in the log at the offsets given.
	rec := func(f *fixture, seq int, off int64, err error, found ...int64) *chaosRecord {
		cr := &chaosRecord{id: len(f.r.recs), stream: 0, seq: seq, from: "stream", topic: chaosTopicA, partition: -1, how: howCallback,
			start: at(10 * seq), returned: at(10*seq + 1), outcomeKnown: true, err: err, cbCalls: 1, hookCalls: 1, hookErr: err}
		cr.md = RecordMetadata{Topic: chaosTopicA, Partition: 0, Offset: off}
		cr.cbMD, cr.hookMD = cr.md, cr.md
		for _, o := range found {
			cr.found = append(cr.found, chaosFound{topicID: idA, partition: 0, offset: o,
				rec: kafkatest.Record{Topic: chaosTopicA, Offset: o, Committed: true}})
		}
		f.r.recs = append(f.r.recs, cr)
		if err == nil {
			f.stats.RecordsSent++
			f.r.batchOK++
		} else {
			f.stats.RecordsFailed++
			f.r.batchFail++
		}
		return cr
	}
	check := func(f *fixture) []string {
		f.r.stats = f.stats
		f.r.check()
		var invs []string
		for _, v := range f.r.viols {
			invs = append(invs, v.inv)
		}
		sort.Strings(invs)
		return invs
	}
	failed := errors.New("failed")
	// offsetsRun has three transactions: 0 and 1 committed, 2 aborted; all but 1 sent
	// offsets, 1 only if sent1. The group holds partition 0's offset of transaction p0 and
	// partition 1's of p1 (-1: none).
	offsetsRun := func(p0, p1 int, sent1 bool) *fixture {
		f := newRun(chaosTxnV2)
		for k := range 3 {
			tx := &chaosTxn{k: k, beginCall: at(100 * k), beginReturn: at(100*k + 1), endCall: at(100*k + 50), endReturn: at(100*k + 51),
				commit: k < 2, committed: k < 2, ended: true}
			if k != 1 || sent1 {
				tx.offsetsCall = at(100*k + 10)
			}
			f.r.txns = append(f.r.txns, tx)
		}
		f.r.groupOffsets = map[string]map[int32]kafkatest.CommittedOffset{}
		for pa, k := range []int{p0, p1} {
			if k < 0 {
				continue
			}
			if f.r.groupOffsets[chaosTopicS] == nil {
				f.r.groupOffsets[chaosTopicS] = map[int32]kafkatest.CommittedOffset{}
			}
			f.r.groupOffsets[chaosTopicS][int32(pa)] = kafkatest.CommittedOffset{Offset: chaosOffsetBase(int32(pa)) + int64(k)}
		}
		return f
	}
	cases := []struct {
		name string
		want string // the invariant broken; "" for a run that breaks none
		run  func() *fixture
	}{
		{"clean", "", func() *fixture {
			f := newRun(chaosIdempotent)
			rec(f, 0, 0, nil, 0)
			rec(f, 1, 1, nil, 1)
			rec(f, 2, -1, failed)
			return f
		}},
		{"ErrClosed for a send before Close began", "liveness", func() *fixture {
			f := newRun(chaosIdempotent)
			f.r.plan.profile = profileRetriable
			f.r.closeAt = at(15)
			rec(f, 1, -1, fmt.Errorf("x: %w", ErrClosed)) // sent at 10 ms
			return f
		}},
		{"refused once Close began", "", func() *fixture {
			f := newRun(chaosIdempotent)
			f.r.plan.profile = profileRetriable
			f.r.closeAt = at(15)
			rec(f, 2, -1, fmt.Errorf("x: %w", ErrClosed)) // sent at 20 ms
			return f
		}},
		{"acknowledged, not in the log", "acked-in-log", func() *fixture {
			f := newRun(chaosIdempotent)
			rec(f, 0, 0, nil)
			return f
		}},
		{"acknowledged at another offset", "acked-in-log", func() *fixture {
			f := newRun(chaosPlain)
			rec(f, 0, 3, nil, 2)
			return f
		}},
		{"twice in the log with idempotence", "exactly-once", func() *fixture {
			f := newRun(chaosIdempotent)
			rec(f, 0, 0, nil, 0, 1)
			return f
		}},
		{"twice in the log without idempotence", "", func() *fixture {
			f := newRun(chaosPlain)
			rec(f, 0, 0, nil, 0, 1)
			return f
		}},
		{"out of order", "order", func() *fixture {
			f := newRun(chaosIdempotent)
			rec(f, 0, 1, nil, 1)
			rec(f, 1, 0, nil, 0)
			return f
		}},
		{"Stats disagree with the hooks", "stats", func() *fixture {
			f := newRun(chaosIdempotent)
			rec(f, 0, 0, nil, 0)
			f.stats.RecordsSent++
			f.r.batchOK++
			return f
		}},
		{"buffer.memory not released", "stats", func() *fixture {
			f := newRun(chaosIdempotent)
			rec(f, 0, 0, nil, 0)
			f.stats.BufferedBytes = 100
			return f
		}},
		{"keyed record on the wrong partition", "key-placement", func() *fixture {
			f := newRun(chaosIdempotent)
			cr := rec(f, 0, 0, nil, 0)
			cr.key = []byte("k1")
			if KeyPartition(cr.key, 3) == 0 {
				t.Fatal("pick a key that does not hash to partition 0")
			}
			return f
		}},
		{"explicit partition refused", "partition-added", func() *fixture {
			f := newRun(chaosIdempotent)
			cr := rec(f, 0, -1, fmt.Errorf("%w: partition 2", ErrInvalidRecord))
			cr.partition, cr.sync, cr.hookCalls, cr.hookErr = 2, true, 0, nil
			f.stats.RecordsFailed--
			f.r.batchFail--
			return f
		}},
		{"commit after a failure", "txn-commit-after-failure", func() *fixture {
			f := newRun(chaosTxnV2)
			rec(f, 1, 0, nil, 0)
			rec(f, 2, -1, failed)
			f.r.txns = []*chaosTxn{{beginCall: at(0), beginReturn: at(1), endCall: at(100), endReturn: at(101), commit: true, committed: true, ended: true}}
			for _, cr := range f.r.recs {
				cr.found = nil
			}
			f.r.recs[0].found = []chaosFound{{topicID: idA, offset: 0, rec: kafkatest.Record{Transactional: true, Committed: true, TxnEnded: at(100)}}}
			return f
		}},
		{"commit reported failed, yet committed", "txn-commit-reported-failed", func() *fixture {
			f := newRun(chaosTxnV1)
			cr := rec(f, 1, 0, nil)
			cr.found = []chaosFound{{topicID: idA, offset: 0, rec: kafkatest.Record{Transactional: true, Committed: true, TxnEnded: at(100)}}}
			f.r.txns = []*chaosTxn{{beginCall: at(0), beginReturn: at(1), endCall: at(99), endReturn: at(200), commit: true, endErr: failed, ended: true}}
			return f
		}},
		{"commit reported unknown, committed", "", func() *fixture {
			f := newRun(chaosTxnV1)
			cr := rec(f, 1, 0, nil)
			cr.found = []chaosFound{{topicID: idA, offset: 0, rec: kafkatest.Record{Transactional: true, Committed: true, TxnEnded: at(100)}}}
			f.r.txns = []*chaosTxn{{beginCall: at(0), beginReturn: at(1), endCall: at(99), endReturn: at(200), commit: true,
				endErr: fmt.Errorf("%w: %w", ErrTransactionOutcomeUnknown, wire.ErrProducerFenced), ended: true}}
			return f
		}},
		{"commit reported unknown, half committed", "txn-atomicity", func() *fixture {
			f := newRun(chaosTxnV1)
			rec(f, 1, 0, nil).found = []chaosFound{{topicID: idA, offset: 0, rec: kafkatest.Record{Transactional: true, Committed: true, TxnEnded: at(100)}}}
			rec(f, 2, 1, nil).found = []chaosFound{{topicID: idA, offset: 1, rec: kafkatest.Record{Transactional: true, Aborted: true, TxnEnded: at(100)}}}
			f.r.txns = []*chaosTxn{{beginCall: at(0), beginReturn: at(1), endCall: at(99), endReturn: at(200), commit: true,
				endErr: fmt.Errorf("%w: %w", ErrTransactionOutcomeUnknown, wire.ErrProducerFenced), ended: true}}
			return f
		}},
		{"committed transaction lacks an acknowledged record", "txn-committed-holds-acked", func() *fixture {
			f := newRun(chaosTxnV2)
			cr := rec(f, 1, 0, nil)
			cr.found = []chaosFound{{topicID: idA, offset: 0, rec: kafkatest.Record{Transactional: true}}}
			f.r.txns = []*chaosTxn{{beginCall: at(0), beginReturn: at(1), endCall: at(100), endReturn: at(101), commit: true, committed: true, ended: true}}
			return f
		}},
		{"record in a transaction not open during its send", "txn-membership", func() *fixture {
			f := newRun(chaosTxnV2)
			cr := rec(f, 1, 0, nil)
			cr.found = []chaosFound{{topicID: idA, offset: 0, rec: kafkatest.Record{Transactional: true, Committed: true, TxnEnded: at(300)}}}
			f.r.txns = []*chaosTxn{
				{beginCall: at(0), beginReturn: at(1), endCall: at(100), endReturn: at(101), windowEnd: at(200), commit: true, committed: true, ended: true},
				{beginCall: at(200), beginReturn: at(201), endCall: at(299), endReturn: at(301), commit: true, committed: true, ended: true},
			}
			return f
		}},
		{"offsets of the last transaction that committed them", "", func() *fixture {
			return offsetsRun(1, 1, true)
		}},
		{"offsets of the last transaction that sent them", "", func() *fixture {
			return offsetsRun(0, 0, false)
		}},
		{"offsets of an aborted transaction", "txn-offsets", func() *fixture {
			return offsetsRun(2, 2, true)
		}},
		{"offsets of committed transactions lost", "txn-offsets", func() *fixture {
			return offsetsRun(-1, -1, true)
		}},
		{"offsets overwritten by an earlier transaction", "txn-offsets", func() *fixture {
			return offsetsRun(0, 0, true)
		}},
		{"offsets of two transactions", "txn-offsets", func() *fixture {
			return offsetsRun(0, 1, true)
		}},
		{"offsets whose SendOffsetsToTransaction failed", "txn-offsets", func() *fixture {
			f := offsetsRun(0, 0, false)
			f.r.txns[0].offsetsErr = failed
			return f
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := check(c.run())
			switch {
			case c.want == "" && len(got) > 0:
				t.Fatalf("violations %v in a run that breaks nothing", got)
			case c.want != "" && !slices.Contains(got, c.want):
				t.Fatalf("violations %v, want %s among them", got, c.want)
			}
		})
	}
}
