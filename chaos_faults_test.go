package producer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

// Fault actions of the chaos goroutine.
const (
	faultProduceRetriable = iota
	faultProduceSequence
	faultProduceFatal
	faultProduceDelay
	faultProduceSwallow
	faultProduceDrop
	faultCoordinator
	faultDialStall
	faultMoveLeader
	faultMoveCoordinator
	faultStopBroker
	faultCreatePartitions
	faultRecreateTopic
	numFaults
)

// faultWeights are the chances of each action, by profile.
var faultWeights = [...][numFaults]int{
	profileMixed:       {10, 4, 3, 6, 5, 6, 10, 2, 8, 3, 4, 3, 2},
	profileRetriable:   {12, 0, 0, 6, 5, 6, 10, 2, 8, 3, 4, 3, 0},
	profileUnreachable: {0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 10, 0, 0},
}

var (
	retriableProduceCodes = []*wire.Error{wire.ErrNotLeaderOrFollower, wire.ErrRequestTimedOut, wire.ErrNotEnoughReplicas,
		wire.ErrNotEnoughReplicasAfterAppend, wire.ErrLeaderNotAvailable, wire.ErrKafkaStorageError, wire.ErrUnknownTopicOrPartition, wire.ErrCorruptMessage}
	sequenceCodes       = []*wire.Error{wire.ErrOutOfOrderSequenceNumber, wire.ErrUnknownProducerID}
	fatalProduceCodes   = []*wire.Error{wire.ErrTopicAuthorizationFailed, wire.ErrMessageTooLarge, wire.ErrInvalidRecord}
	retriableCoordCodes = []*wire.Error{wire.ErrCoordinatorNotAvailable, wire.ErrNotCoordinator, wire.ErrConcurrentTransactions, wire.ErrCoordinatorLoadInProgress}
	coordinatorKeys     = []int16{wire.KeyInitProducerID, wire.KeyAddPartitionsToTxn, wire.KeyEndTxn, wire.KeyFindCoordinator}
)

// chaosUndo is an action to take back later: a fault window closing, a broker restarting,
// a deleted topic created again.
type chaosUndo struct {
	at   time.Time
	what string
	fn   func()
}

// chaos injects faults until the chaos phase ends, then takes every one of them back.
func (r *chaosRun) chaos() {
	rng := chaosRNG(r.plan.seed, rngChaos)
	var undos []chaosUndo
	var handles []*kafkatest.FaultHandle
	st := &chaosState{stopped: -1, offsetsRNG: chaosRNG(r.plan.seed, rngOffsetsFaults), replaceRNG: chaosRNG(r.plan.seed, rngReplace)}
	runUndos := func(all bool) {
		sort.SliceStable(undos, func(i, j int) bool { return undos[i].at.Before(undos[j].at) })
		n := 0
		for n < len(undos) && (all || !undos[n].at.After(time.Now())) {
			r.tracef("undo: %s", undos[n].what)
			undos[n].fn()
			n++
		}
		undos = undos[n:]
	}
	for {
		wait := time.Duration(rng.Int64N(int64(2*r.plan.faultEvery) + 1))
		timer := time.NewTimer(wait)
		select {
		case <-r.stopping:
			timer.Stop()
			runUndos(true)
			for _, h := range handles {
				h.Remove()
			}
			for b := int32(0); b < 3; b++ {
				if err := r.c.StartBroker(b); err != nil {
					r.violate("setup", nil, "StartBroker(%d): %v", b, err)
				}
			}
			return
		case <-timer.C:
		}
		runUndos(false)
		if at := r.plan.fatalAt; at > 0 && r.plan.mode.txn() && !r.fatal.Load() && time.Since(r.start) >= at {
			// The fatal answer must be the one InitProducerId meets: earlier faults of that
			// key would apply first.
			for _, h := range handles {
				if h.Fault().Key == wire.KeyInitProducerID {
					h.Remove()
				}
			}
			handles = append(handles, r.fatalEvent()...)
		}
		h, u := r.fault(rng, st)
		if h != nil {
			handles = append(handles, h)
		}
		if u != nil {
			undos = append(undos, *u)
		}
	}
}

// chaosState is what the chaos goroutine keeps between actions.
type chaosState struct {
	stopped    int32 // the broker down, or -1
	stops      int
	stalls     int
	recreating map[string]bool
	offsetsRNG *rand.Rand // which coordinator faults hit the offsets requests
	replaceRNG *rand.Rand // which stopped brokers come back at a new address
}

// fault draws one action and takes it. It makes the same draws whatever the action finds
// (a broker already down, a topic being recreated), so that later actions stay alike.
func (r *chaosRun) fault(rng *rand.Rand, st *chaosState) (*kafkatest.FaultHandle, *chaosUndo) {
	pl, cfg := r.plan, r.plan.cfg
	kind := weighted(rng, faultWeights[pl.profile][:])
	// The common draws: where a fault hits, how often, how long.
	broker := int32(rng.IntN(3))
	anyBroker := rng.IntN(2) == 0
	topic := []string{chaosTopicA, chaosTopicB, chaosTopicS}[rng.IntN(3)]
	anyTopic := rng.IntN(2) == 0
	partition := rng.Int32N(3)
	anyPartition := rng.IntN(10) < 7
	times := 1 + rng.IntN(3)
	window := time.Duration(30+rng.IntN(370)) * time.Millisecond
	windowed := rng.IntN(10) < 4
	appendAnyway := rng.IntN(3) == 0
	pick := rng.IntN(1 << 20)
	late := cfg.RequestTimeout + time.Duration(20+rng.IntN(380))*time.Millisecond

	f := kafkatest.Fault{Key: wire.KeyProduce, Broker: broker, Topic: topic, Partition: partition, Times: times}
	if anyBroker {
		f.Broker = kafkatest.AnyBroker
	}
	if anyTopic {
		f.Topic = ""
	}
	if anyPartition {
		f.Partition = kafkatest.AnyPartition
	}
	if windowed {
		f.Times = -1
	}
	inject := func(desc string) (*kafkatest.FaultHandle, *chaosUndo) {
		r.tracef("fault: %s %s", desc, describeFault(f, windowed, window))
		h := r.c.InjectFault(f)
		if !windowed {
			return h, nil
		}
		return h, &chaosUndo{at: time.Now().Add(window), what: "remove " + desc, fn: h.Remove}
	}
	switch kind {
	case faultProduceRetriable:
		code := retriableProduceCodes[pick%len(retriableProduceCodes)]
		f.ErrorCode = code.Code
		// Only errors a broker gives after writing are answered after an append.
		f.AppendAnyway = appendAnyway && (code == wire.ErrRequestTimedOut || code == wire.ErrNotEnoughReplicasAfterAppend)
		return inject("Produce " + code.Name)
	case faultProduceSequence:
		code := sequenceCodes[pick%len(sequenceCodes)]
		if !pl.mode.idem() {
			code = wire.ErrNotLeaderOrFollower
		}
		// Not on the retry of a batch that was written: the broker would answer it as a
		// duplicate, and the producer rightly takes a sequence error to mean "not written".
		f.ErrorCode, f.SparesDuplicates = code.Code, true
		return inject("Produce " + code.Name)
	case faultProduceFatal:
		code := fatalProduceCodes[pick%len(fatalProduceCodes)]
		f.ErrorCode = code.Code
		return inject("Produce " + code.Name)
	case faultProduceDelay:
		f.Delay = late
		if pick%4 == 0 {
			f.Delay = cfg.RequestTimeout / 3 // late, but not too late
		}
		return inject("Produce answer delayed")
	case faultProduceSwallow:
		f.Swallow, f.AppendAnyway = true, appendAnyway
		return inject("Produce answer lost")
	case faultProduceDrop:
		f.DropConnection, f.AppendAnyway = true, appendAnyway
		return inject("Produce connection dropped")
	case faultCoordinator:
		if !pl.mode.idem() {
			return nil, nil
		}
		f.Key = coordinatorKeys[pick%len(coordinatorKeys)]
		if !pl.mode.txn() {
			f.Key = wire.KeyInitProducerID
		}
		if pl.mode.txn() && pl.offsets > 0 {
			// The offsets requests too, drawn apart so that the other draws stay as they were.
			switch st.offsetsRNG.IntN(4) {
			case 0:
				f.Key = wire.KeyTxnOffsetCommit
			case 1:
				if pl.mode == chaosTxnV1 {
					f.Key = wire.KeyAddOffsetsToTxn
				}
			}
		}
		f.Topic, f.Partition = "", kafkatest.AnyPartition
		f.AppendAnyway = appendAnyway && f.Key != wire.KeyFindCoordinator
		desc := wire.APIName(f.Key)
		switch (pick >> 4) % 4 {
		case 0:
			code := retriableCoordCodes[(pick>>6)%len(retriableCoordCodes)]
			f.ErrorCode = code.Code
			desc += " " + code.Name
		case 1:
			f.Delay = late
			desc += " answer late"
		case 2:
			f.Swallow = true
			desc += " answer lost"
		case 3:
			f.DropConnection = true
			desc += " connection dropped"
		}
		return inject(desc)
	case faultDialStall:
		if pl.profile == profileUnreachable && st.stalls >= 2 {
			return nil, nil
		}
		st.stalls++
		f = kafkatest.Fault{Key: wire.KeyApiVersions, Broker: broker, Partition: kafkatest.AnyPartition, Times: 1 + times%2}
		if pick%2 == 0 {
			f.Delay = late
		} else {
			f.Swallow = true
		}
		windowed = false
		return inject("ApiVersions stalls (dials hang)")
	case faultMoveLeader:
		r.mu.Lock()
		n := r.topics[topic].count
		r.mu.Unlock()
		if n == 0 {
			return nil, nil
		}
		p := int32(pick) % n
		err := r.c.MoveLeader(topic, p, broker)
		r.tracef("move leader of %s/%d to %d: %v", topic, p, broker, err)
	case faultMoveCoordinator:
		if !pl.mode.txn() {
			return nil, nil
		}
		if pl.offsets > 0 && st.offsetsRNG.IntN(2) == 0 {
			err := r.c.MoveGroupCoordinator(chaosGroup, broker)
			r.tracef("move group coordinator to %d: %v", broker, err)
			break
		}
		err := r.c.MoveTransactionCoordinator(cfg.TransactionalID, broker)
		r.tracef("move transaction coordinator to %d: %v", broker, err)
	case faultStopBroker:
		limit := 1 << 30
		if pl.profile == profileUnreachable {
			limit = 2 // each stop may cost an in-flight batch one of its 3 attempts
		}
		if st.stopped >= 0 || st.stops >= limit {
			return nil, nil
		}
		st.stopped, st.stops = broker, st.stops+1
		down := window + time.Duration(pick%300)*time.Millisecond
		// Drawn apart so that the other draws stay as they were: one stop in three is a
		// broker replaced, back with its node id at a new address.
		moved := st.replaceRNG.IntN(3) == 0
		err := r.c.StopBroker(broker)
		r.tracef("stop broker %d for %v (to come back at a new address: %v): %v", broker, down, moved, err)
		return nil, &chaosUndo{at: time.Now().Add(down), what: fmt.Sprintf("start broker %d", broker), fn: func() {
			if moved {
				err := r.c.StartBrokerAt(broker, "127.0.0.1:0")
				r.tracef("broker %d back at %s: %v", broker, r.c.Addrs()[broker], err)
				if err != nil {
					r.violate("setup", nil, "StartBrokerAt(%d): %v", broker, err)
				}
			} else if err := r.c.StartBroker(broker); err != nil {
				r.violate("setup", nil, "StartBroker(%d): %v", broker, err)
			}
			st.stopped = -1
		}}
	case faultCreatePartitions:
		topic = []string{chaosTopicA, chaosTopicB}[pick%2]
		r.mu.Lock()
		n := r.topics[topic].count
		r.mu.Unlock()
		if n == 0 || n >= pl.maxPartitions {
			return nil, nil
		}
		total := min(n+1+int32(pick>>1)%2, pl.maxPartitions)
		begun := time.Now()
		err := r.c.CreatePartitions(topic, total)
		r.tracef("CreatePartitions(%s, %d): %v", topic, total, err)
		if err == nil {
			r.topicChanged(topic, begun, total, false, false)
		}
	case faultRecreateTopic:
		topic = []string{chaosTopicA, chaosTopicB}[pick%2]
		if st.recreating == nil {
			st.recreating = map[string]bool{}
		}
		r.mu.Lock()
		n := r.topics[topic].count
		r.mu.Unlock()
		if n == 0 || st.recreating[topic] {
			return nil, nil
		}
		next := n
		if pl.recreateShrink {
			next = 1 + int32(pick>>1)%n
		}
		gap := time.Duration(pick%300) * time.Millisecond
		begun := time.Now()
		err := r.c.DeleteTopic(topic)
		r.tracef("DeleteTopic(%s), to come back with %d partitions in %v: %v", topic, next, gap, err)
		if err != nil {
			return nil, nil
		}
		st.recreating[topic] = true
		r.mu.Lock()
		r.topics[topic].count = 0
		r.mu.Unlock()
		return nil, &chaosUndo{at: time.Now().Add(gap), what: fmt.Sprintf("CreateTopic(%s, %d)", topic, next), fn: func() {
			if err := r.c.CreateTopic(topic, next); err != nil {
				r.violate("setup", nil, "CreateTopic(%s, %d): %v", topic, next, err)
				return
			}
			delete(st.recreating, topic)
			r.topicChanged(topic, begun, next, next < n, true)
		}}
	}
	return nil, nil
}

// fatalEvent makes a transactional producer meet a fatal error: a second producer with its
// transactional.id fences it. From then on its records may all fail and no recovery is
// expected. (An idempotent producer bumps its epoch locally, without InitProducerId: its
// fatal error comes at the start, see refuseProducerID.)
func (r *chaosRun) fatalEvent() []*kafkatest.FaultHandle {
	r.fatal.Store(true)
	zombie, err := New(Config{BootstrapServers: r.c.Addrs(), TransactionalID: r.plan.cfg.TransactionalID, RequestTimeout: r.plan.cfg.RequestTimeout})
	if err != nil {
		r.violate("setup", nil, "a second producer: %v", err)
		return nil
	}
	r.tracef("fatal: a second producer with our transactional.id initializes")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	r.mu.Lock()
	r.fenceFrom = time.Now()
	r.mu.Unlock()
	err = zombie.InitTransactions(ctx)
	r.mu.Lock()
	r.fenceTo = time.Now()
	r.mu.Unlock()
	cancel()
	r.tracef("fatal: the second producer initialized: %v", err)
	if err := zombie.Close(context.Background()); err != nil {
		r.tracef("the second producer's Close: %v", err)
	}
	return nil
}

// topicChanged notes that topic has count partitions since a change begun then: partitions
// added, or (recreated) the topic deleted and created again.
func (r *chaosRun) topicChanged(topic string, begun time.Time, count int32, shrank, recreated bool) {
	refreshes := r.p.Stats().MetadataRefreshes // read after the change: an upper bound
	id, _ := r.c.TopicID(topic)
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.topics[topic]
	t.count = count
	if last := &t.incarnations[len(t.incarnations)-1]; last.id == id {
		last.partitions = max(last.partitions, count)
	} else {
		t.incarnations = append(t.incarnations, chaosIncarnation{id: id, partitions: count})
	}
	t.changes = append(t.changes, chaosChange{begun: begun, ended: time.Now(), count: count, refreshesAfter: refreshes, shrank: shrank, recreated: recreated})
}

func describeFault(f kafkatest.Fault, windowed bool, window time.Duration) string {
	var b strings.Builder
	if f.Broker == kafkatest.AnyBroker {
		b.WriteString("on any broker")
	} else {
		fmt.Fprintf(&b, "on broker %d", f.Broker)
	}
	if f.Key == wire.KeyProduce {
		t, p := f.Topic, fmt.Sprint(f.Partition)
		if t == "" {
			t = "*"
		}
		if f.Partition == kafkatest.AnyPartition {
			p = "*"
		}
		fmt.Fprintf(&b, " for %s/%s", t, p)
	}
	if f.Delay > 0 {
		fmt.Fprintf(&b, " delay %v", f.Delay)
	}
	if f.AppendAnyway {
		b.WriteString(" after the write")
	}
	if windowed {
		fmt.Fprintf(&b, " for %v", window)
	} else {
		fmt.Fprintf(&b, " %d times", f.Times)
	}
	return b.String()
}

// weighted draws an index with the given weights.
func weighted(rng *rand.Rand, w []int) int {
	total := 0
	for _, x := range w {
		total += x
	}
	n := rng.IntN(total)
	for i, x := range w {
		if n < x {
			return i
		}
		n -= x
	}
	return len(w) - 1
}

// txnDriver runs transactions one after the other until the chaos phase ends, then, once
// the faults are gone, ends the open one and runs one that must commit.
func (r *chaosRun) txnDriver() {
	rng := chaosRNG(r.plan.seed, rngDriver)
	orng := chaosRNG(r.plan.seed, rngOffsetsDriver)
	r.endsRNG = chaosRNG(r.plan.seed, rngEnds)
	defer r.joinAllOffsets() // a transaction left open at Close may still be sending its offsets
	var cur *chaosTxn
	for {
		stop := false
		select {
		case <-r.stopping:
			stop = true
		default:
		}
		length := time.Duration(10+rng.IntN(140)) * time.Millisecond
		commit := rng.IntN(5) != 0
		short := rng.IntN(100) < r.plan.shortEnds
		gap := time.Duration(rng.IntN(10)) * time.Millisecond
		if stop || r.closed.Load() {
			break
		}
		cur = r.begin(false)
		if cur == nil {
			break
		}
		// Offsets at a random time of the transaction, or (at >= length) as it ends.
		offsets := orng.IntN(100) < r.plan.offsets
		at := time.Duration(orng.Int64N(int64(length)*5/4 + 1))
		lead := time.Duration(orng.IntN(3000)) * time.Microsecond // of a call made as it ends
		if offsets && at < length {
			r.sendOffsets(cur, at)
		}
		r.gate.set(true)
		timer := time.NewTimer(length)
		select {
		case <-timer.C:
		case <-r.stopping:
			timer.Stop()
			stop = true
		}
		r.gate.set(false)
		if stop {
			break // ended below, once the faults are gone
		}
		if offsets && at >= length {
			r.sendOffsets(cur, 0)
			time.Sleep(lead) // the end comes first, or finds the offsets under way
		}
		r.end(cur, commit, short)
		if !cur.ended {
			return // stuck or closed: reported
		}
		time.Sleep(gap)
	}
	<-r.cleared
	if cur != nil && !cur.ended && !r.closed.Load() {
		r.end(cur, rng.IntN(2) == 0, false)
	}
	if r.closed.Load() || r.fatal.Load() || cur != nil && !cur.ended {
		return
	}
	// After any fault the producer can run its next transaction.
	tx := r.begin(true)
	if tx == nil {
		return
	}
	r.healthRecords("health", chaosTopicS, 12)
	if r.plan.offsets > 0 {
		r.sendOffsets(tx, 0)
	}
	r.end(tx, true, false)
}

// chaosGroup is the consumer group whose offsets transactions commit.
const chaosGroup = "chaos-readers"

// chaosOffsets are the offsets transaction k commits: two partitions, each offset naming
// the transaction (chaosOffsetBase).
func chaosOffsets(k int) map[string]map[int32]Offset {
	return map[string]map[int32]Offset{chaosTopicS: {0: {Offset: chaosOffsetBase(0) + int64(k)}, 1: {Offset: chaosOffsetBase(1) + int64(k)}}}
}

func chaosOffsetBase(partition int32) int64 { return 1000 * (int64(partition) + 1) }

// sendOffsets calls SendOffsetsToTransaction for tx after at, from a goroutine of its own.
// end waits for the call to return, so that it cannot join the next transaction.
func (r *chaosRun) sendOffsets(tx *chaosTxn, at time.Duration) {
	done := make(chan struct{})
	r.mu.Lock()
	tx.offsetsDone = done
	r.mu.Unlock()
	go func() {
		defer close(done)
		time.Sleep(at)
		r.mu.Lock()
		tx.offsetsCall = time.Now()
		r.mu.Unlock()
		what := fmt.Sprintf("SendOffsetsToTransaction of txn %d", tx.k)
		err := r.bounded("offsets", what, r.plan.cfg.MaxBlock, nil, func() error {
			return r.p.SendOffsetsToTransaction(context.Background(), chaosOffsets(tx.k), ConsumerGroupMetadata{GroupID: chaosGroup})
		})
		r.mu.Lock()
		tx.offsetsErr = err
		r.mu.Unlock()
		r.tracef("txn %d: SendOffsetsToTransaction: %v", tx.k, err)
	}()
}

// joinOffsets waits for tx's SendOffsetsToTransaction, if it made one.
func (r *chaosRun) joinOffsets(tx *chaosTxn) {
	r.mu.Lock()
	done := tx.offsetsDone
	r.mu.Unlock()
	if done != nil {
		<-done
	}
}

func (r *chaosRun) joinAllOffsets() {
	r.mu.Lock()
	txns := append([]*chaosTxn(nil), r.txns...)
	r.mu.Unlock()
	for _, tx := range txns {
		r.joinOffsets(tx)
	}
}

// endBound is how long a commit or abort may take: a flush, then EndTxn (and maybe an
// epoch bump) retried through the faults.
func (r *chaosRun) endBound() time.Duration {
	c := r.plan.cfg
	return c.DeliveryTimeout + 4*c.RequestTimeout + c.RetryBackoffMax + 2*time.Second
}

// begin starts a transaction; nil if BeginTransaction failed (reported unless closed).
func (r *chaosRun) begin(health bool) *chaosTxn {
	if r.txnStuck.Load() {
		return nil
	}
	r.mu.Lock()
	tx := &chaosTxn{k: len(r.txns), beginCall: time.Now(), health: health}
	if n := len(r.txns); n > 0 {
		r.txns[n-1].windowEnd = tx.beginCall
	}
	r.txns = append(r.txns, tx)
	r.mu.Unlock()
	err := r.p.BeginTransaction()
	r.mu.Lock()
	tx.beginReturn = time.Now()
	r.mu.Unlock()
	r.tracef("txn %d: BeginTransaction: %v", tx.k, err)
	if err != nil {
		if !r.closed.Load() && !r.fatal.Load() {
			r.violate("next-transaction", nil, "BeginTransaction after transaction %d ended: %v", tx.k-1, err)
		}
		return nil
	}
	return tx
}

// end commits or aborts tx; when that fails, it aborts until an abort works. It returns once
// tx's SendOffsetsToTransaction did too.
func (r *chaosRun) end(tx *chaosTxn, commit, short bool) {
	defer r.joinOffsets(tx)
	op, fn := "AbortTransaction", r.p.AbortTransaction
	if commit {
		op, fn = "CommitTransaction", r.p.CommitTransaction
	}
	bound := r.endBound()
	if short {
		bound = r.plan.cfg.RequestTimeout / 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	r.mu.Lock()
	tx.endCall, tx.commit = time.Now(), commit
	r.mu.Unlock()
	second := r.secondEnd(tx, commit)
	err := r.bounded("driver", fmt.Sprintf("%s of txn %d (deadline %v)", op, tx.k, bound), bound, nil, func() error { return fn(ctx) })
	cancel()
	r.tracef("txn %d: %s: %v", tx.k, op, err)
	ended, committed := endOutcome(commit, err)
	if second != nil {
		<-second.done
		if e2, c2 := endOutcome(second.commit, second.err); e2 {
			if ended && c2 != committed {
				r.violate("txn-concurrent-ends", nil, "transaction %d: %s returned %v and a concurrent %s %v: they disagree on whether it committed",
					tx.k, op, err, endName(second.commit), second.err)
			}
			ended, committed = true, c2
		}
	}
	r.mu.Lock()
	tx.endReturn, tx.endErr = time.Now(), err
	if ended {
		tx.committed, tx.ended = committed, true
	}
	r.mu.Unlock()
	if ended {
		return
	}
	r.abortUntilEnded(tx)
}

// endOutcome says what an end's result tells: whether the transaction ended, and if so
// whether it committed. nil is the outcome asked for; ErrTransactionCommitted, an abort
// meeting a commit, says the transaction committed.
func endOutcome(commit bool, err error) (ended, committed bool) {
	switch {
	case err == nil:
		return true, commit
	case errors.Is(err, ErrTransactionCommitted):
		return true, true
	}
	return false, false
}

func endName(commit bool) string {
	if commit {
		return "CommitTransaction"
	}
	return "AbortTransaction"
}

// chaosSecondEnd is a CommitTransaction or AbortTransaction called from another goroutine
// while the driver's ends the transaction.
type chaosSecondEnd struct {
	commit bool
	err    error
	done   chan struct{} // closed once err is set
}

// secondEnd starts, for one end in seven (not the health transaction's), a second end of
// tx from another goroutine, up to 2 ms after the driver's: the same operation, or under
// the mixed profile in one case of three the opposite one. The producer must end the
// transaction once, and the two calls must agree on how (txn-concurrent-ends).
func (r *chaosRun) secondEnd(tx *chaosTxn, commit bool) *chaosSecondEnd {
	draw, opposite, lead := r.endsRNG.IntN(7), r.endsRNG.IntN(3) == 0, time.Duration(r.endsRNG.IntN(2000))*time.Microsecond
	if draw != 0 || tx.health {
		return nil
	}
	s := &chaosSecondEnd{commit: commit != (opposite && r.plan.profile == profileMixed), done: make(chan struct{})}
	fn := r.p.AbortTransaction
	if s.commit {
		fn = r.p.CommitTransaction
	}
	go func() {
		defer close(s.done)
		time.Sleep(lead)
		bound := r.endBound()
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		s.err = r.bounded("second end", fmt.Sprintf("concurrent %s of txn %d", endName(s.commit), tx.k), bound, nil, func() error { return fn(ctx) })
		r.tracef("txn %d: concurrent %s: %v", tx.k, endName(s.commit), s.err)
	}()
	return s
}

// abortUntilEnded aborts tx until that works. During the chaos phase it keeps trying; once
// the faults are gone it gives up, and reports the producer stuck, after a few attempts and
// endBound: each attempt is bounded by max.block.ms, as in the Java client, while a batch
// the abort waits for may take delivery.timeout.ms to settle.
func (r *chaosRun) abortUntilEnded(tx *chaosTxn) {
	afterClear := 0
	var clearedAt time.Time
	var last error
	for {
		if r.closed.Load() {
			return
		}
		select {
		case <-r.cleared:
			if afterClear == 0 {
				clearedAt = time.Now()
			}
			afterClear++
		default:
		}
		if r.fatal.Load() && afterClear > 0 {
			r.txnStuck.Store(true) // fenced: ending is not expected to work
			return
		}
		if afterClear > 4 && time.Since(clearedAt) > r.endBound() {
			r.violate("next-transaction", r.signature(last), "transaction %d cannot be ended once the faults are gone: AbortTransaction keeps failing: %v", tx.k, last)
			r.txnStuck.Store(true)
			return
		}
		bound := r.endBound()
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		err := r.bounded("driver", fmt.Sprintf("AbortTransaction of txn %d (deadline %v)", tx.k, bound), bound, nil, func() error { return r.p.AbortTransaction(ctx) })
		cancel()
		r.tracef("txn %d: AbortTransaction: %v", tx.k, err)
		if err == nil {
			r.mu.Lock()
			tx.ended = true
			r.mu.Unlock()
			return
		}
		if errors.Is(err, ErrTransactionCommitted) {
			// The commit this abort follows was interrupted after its EndTxn and happened: its
			// error said the outcome was unknown (ErrTimeout), and this is the outcome.
			r.mu.Lock()
			tx.committed, tx.ended = true, true
			r.mu.Unlock()
			return
		}
		r.mu.Lock()
		tx.abortErrs = append(tx.abortErrs, err)
		r.mu.Unlock()
		last = err
		time.Sleep(20 * time.Millisecond)
	}
}

// healthRecords sends n unkeyed records to topic as futures, from "from", and waits for
// them; the oracle requires them to succeed.
func (r *chaosRun) healthRecords(from, topic string, n int) {
	var crs []*chaosRecord
	for i := 0; i < n; i++ {
		cr, rec := r.newFixedRecord(from, -2, i, topic, nil, -1)
		r.send(context.Background(), from, cr, rec)
		crs = append(crs, cr)
	}
	for _, cr := range crs {
		r.waitFuture(from, cr)
	}
}

// healthPlain checks that an idempotent or plain producer recovers once the faults are gone:
// a flush completes and new records all succeed.
func (r *chaosRun) healthPlain() {
	if r.closed.Load() || r.fatal.Load() {
		return
	}
	r.flush("health", 0)
	r.healthRecords("health", chaosTopicS, 12)
}

// placementProbe checks, once the producer has fetched metadata after the last change of
// each topic, that keyed records land where the key hashes over the topic's partitions now
// (defect 10) and that every partition takes a record sent to it by number (defect 11).
func (r *chaosRun) placementProbe() {
	if r.closed.Load() || r.fatal.Load() {
		return
	}
	var tx *chaosTxn
	var crs []*chaosRecord
	for _, topic := range []string{chaosTopicA, chaosTopicB} {
		r.mu.Lock()
		t := r.topics[topic]
		count := t.count
		var since int64
		if n := len(t.changes); n > 0 {
			since = t.changes[n-1].refreshesAfter
		}
		r.mu.Unlock()
		if !r.waitRefreshes(since + 2) {
			return
		}
		if r.plan.mode.txn() && tx == nil {
			if tx = r.begin(true); tx == nil {
				return
			}
		}
		for i := int32(0); i < 24+count; i++ {
			var cr *chaosRecord
			var rec Record
			if i < 24 {
				cr, rec = r.newFixedRecord("probe", -3, int(i), topic, []byte(fmt.Sprintf("k%d", i)), -1)
			} else {
				cr, rec = r.newFixedRecord("probe", -3, int(i), topic, nil, i-24)
			}
			r.send(context.Background(), "probe", cr, rec)
			crs = append(crs, cr)
		}
	}
	for _, cr := range crs {
		r.waitFuture("probe", cr)
	}
	if tx != nil {
		r.end(tx, true, false)
	}
}

// waitRefreshes waits until the producer has applied n metadata answers, as long as
// metadata.max.age.ms allows; false (reported) when it does not.
func (r *chaosRun) waitRefreshes(n int64) bool {
	c := r.plan.cfg
	deadline := time.Now().Add(3*c.MetadataMaxAge + 2*c.RequestTimeout + c.RetryBackoffMax + r.slack)
	for r.p.Stats().MetadataRefreshes < n {
		if time.Now().After(deadline) {
			r.violate("metadata-refresh", nil, "the producer applied %d metadata answers, %d expected by now (metadata.max.age.ms %v)", r.p.Stats().MetadataRefreshes, n, c.MetadataMaxAge)
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// stallDials makes the next dial to the leader of chaos-s/0 hang (its ApiVersions answer is
// lost), drops every connection to it and sends it a record, so that the final Close comes
// while the producer dials: Close must still return by its deadline (defect 12).
func (r *chaosRun) stallDials() {
	if r.closed.Load() {
		return
	}
	leader := r.c.Leader(chaosTopicS, 0)
	h := r.c.InjectFault(kafkatest.Fault{Key: wire.KeyApiVersions, Broker: leader, Partition: kafkatest.AnyPartition, Swallow: true, Times: -1})
	defer h.Remove()
	before := r.c.RequestCount(wire.KeyApiVersions)
	if err := r.c.StopBroker(leader); err != nil {
		r.violate("setup", nil, "StopBroker(%d): %v", leader, err)
	}
	if err := r.c.StartBroker(leader); err != nil {
		r.violate("setup", nil, "StartBroker(%d): %v", leader, err)
	}
	r.tracef("broker %d restarted; its ApiVersions answers are lost from now on", leader)
	if r.plan.mode.txn() && r.begin(false) == nil {
		return
	}
	for i := 0; i < 3; i++ {
		cr, rec := r.newFixedRecord("stall", -4, i, chaosTopicS, nil, 0)
		r.mu.Lock()
		cr.how = howForget
		r.mu.Unlock()
		r.send(context.Background(), "stall", cr, rec)
	}
	deadline := time.Now().Add(r.plan.cfg.RequestTimeout)
	for r.c.RequestCount(wire.KeyApiVersions) == before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	r.tracef("a dial to broker %d is hanging: %v", leader, r.c.RequestCount(wire.KeyApiVersions) > before)
}

// refuseProducerID makes the brokers answer InitProducerId with CLUSTER_AUTHORIZATION_FAILED,
// as a broker does to a principal without IdempotentWrite: an idempotent producer created
// then can send nothing, and every record fails.
func (r *chaosRun) refuseProducerID() {
	r.fatal.Store(true)
	r.tracef("fatal: InitProducerId answers CLUSTER_AUTHORIZATION_FAILED")
	r.c.InjectFault(kafkatest.Fault{Key: wire.KeyInitProducerID, Broker: kafkatest.AnyBroker, Partition: kafkatest.AnyPartition,
		ErrorCode: wire.ErrClusterAuthorizationFailed.Code, Times: -1})
}
