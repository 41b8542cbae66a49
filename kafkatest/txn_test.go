package kafkatest

import (
	"context"
	"math"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// Raw-client helpers for transactions.

func (tc *testClient) initTxn(version int16, id string, timeoutMs int32, pid int64, epoch int16) wire.InitProducerIDResponse {
	tc.t.Helper()
	var resp wire.InitProducerIDResponse
	tc.roundTrip(version, &wire.InitProducerIDRequest{TransactionalID: &id, TransactionTimeoutMs: timeoutMs, ProducerID: pid, ProducerEpoch: epoch}, &resp)
	return resp
}

// mustInitTxn initialises id on its coordinator and returns the id and epoch.
func (tc *testClient) mustInitTxn(id string) (int64, int16) {
	tc.t.Helper()
	resp := tc.initTxn(5, id, 60000, -1, -1)
	if resp.ErrorCode != 0 {
		tc.t.Fatalf("InitProducerId(%q): error %d", id, resp.ErrorCode)
	}
	return resp.ProducerID, resp.ProducerEpoch
}

// addPartitions sends the client form of AddPartitionsToTxn and returns the error code of
// each partition, in request order.
func (tc *testClient) addPartitions(version int16, id string, pid int64, epoch int16, topic string, parts ...int32) []int16 {
	tc.t.Helper()
	var resp wire.AddPartitionsToTxnResponse
	tc.roundTrip(version, &wire.AddPartitionsToTxnRequest{
		TransactionalID: id, ProducerID: pid, ProducerEpoch: epoch,
		Topics: []wire.AddPartitionsToTxnTopic{{Name: topic, Partitions: parts}},
	}, &resp)
	return partitionCodes(tc.t, resp.ResultsByTopicV3AndBelow)
}

func partitionCodes(t testing.TB, topics []wire.AddPartitionsToTxnTopicResult) []int16 {
	t.Helper()
	var codes []int16
	for _, rt := range topics {
		for _, r := range rt.Results {
			codes = append(codes, r.ErrorCode)
		}
	}
	return codes
}

func (tc *testClient) endTxn(version int16, id string, pid int64, epoch int16, commit bool) wire.EndTxnResponse {
	tc.t.Helper()
	var resp wire.EndTxnResponse
	tc.roundTrip(version, &wire.EndTxnRequest{TransactionalID: id, ProducerID: pid, ProducerEpoch: epoch, Committed: commit}, &resp)
	return resp
}

// produceTxn sends one batch with acks=-1 and transactional id id at version.
func (tc *testClient) produceTxn(version int16, id string, topic string, partition int32, batch []byte) wire.ProducePartitionResponse {
	tc.t.Helper()
	req := produceReq(-1, topic, partition, batch)
	req.TransactionalID = &id
	var resp wire.ProduceResponse
	tc.roundTrip(version, req, &resp)
	return resp.Topics[0].Partitions[0]
}

func txnSpec(pid int64, epoch int16, seq int32) batchSpec {
	s := idemSpec(pid, epoch, seq)
	s.transactional = true
	return s
}

func codesAre(got []int16, want ...int16) bool { return slices.Equal(got, want) }

// state returns the coordinator's view of transactional id.
func (c *Cluster) txnFor(id string) transaction {
	c.coord.mu.Lock()
	defer c.coord.mu.Unlock()
	return *c.coord.txns[id]
}

// TestJavaHashIndex checks the coordinator hash against String.hashCode values Java gives.
func TestJavaHashIndex(t *testing.T) {
	for _, tt := range []struct {
		s    string
		n    int
		want int32
	}{
		{"txn", 3, 1},                // 115306
		{"hello", 4, 2},              // 99162322
		{"Hello World", 7, 5},        // -862545276
		{"polygenelubricants", 3, 0}, // Integer.MIN_VALUE, which Kafka's Utils.abs makes 0
		{"\U0001F600", 7, 2},         // 1772899, from the UTF-16 surrogate pair
		{"Aa", 5, 2}, {"BB", 5, 2},   // 2112 both
		{"", 3, 0},
	} {
		if got := javaHashIndex(tt.s, tt.n); got != tt.want {
			t.Errorf("javaHashIndex(%q, %d) = %d, want %d", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestFindCoordinator(t *testing.T) {
	c := newTestCluster(t)
	addrs := c.Addrs()
	ids := []string{"a", "b", "c", "txn-1", "txn-2", "payments"}
	seen := map[int32]bool{}
	for _, id := range ids {
		seen[c.TransactionCoordinator(id)] = true
	}
	if len(seen) < 2 {
		t.Fatalf("every transactional id of %v maps to the same broker", ids)
	}
	for b := range addrs {
		tc := dial(t, addrs[b])
		for v := int16(0); v <= 6; v++ {
			for _, id := range ids {
				keyType := wire.CoordinatorKeyTransaction
				want := c.TransactionCoordinator(id)
				if v == 0 {
					keyType, want = wire.CoordinatorKeyGroup, javaHashIndex(id, len(addrs))
				}
				var resp wire.FindCoordinatorResponse
				tc.roundTrip(v, &wire.FindCoordinatorRequest{CoordinatorKey: id, KeyType: keyType, CoordinatorKeys: []string{id}}, &resp)
				node, host, port, code := resp.NodeID, resp.Host, resp.Port, resp.ErrorCode
				if v >= 4 {
					if len(resp.Coordinators) != 1 || resp.Coordinators[0].Key != id {
						t.Fatalf("v%d: coordinators %+v", v, resp.Coordinators)
					}
					co := resp.Coordinators[0]
					node, host, port, code = co.NodeID, co.Host, co.Port, co.ErrorCode
				}
				if code != 0 || node != want || addrs[node] != net.JoinHostPort(host, strconv.Itoa(int(port))) {
					t.Fatalf("v%d %q from broker %d: node %d at %s:%d error %d, want node %d at %s", v, id, b, node, host, port, code, want, addrs[want])
				}
			}
		}
	}
	// A batch of keys, and key types kafkatest does not coordinate.
	tc := dial(t, addrs[0])
	var resp wire.FindCoordinatorResponse
	tc.roundTrip(6, &wire.FindCoordinatorRequest{KeyType: wire.CoordinatorKeyTransaction, CoordinatorKeys: ids}, &resp)
	if len(resp.Coordinators) != len(ids) {
		t.Fatalf("%d coordinators for %d keys", len(resp.Coordinators), len(ids))
	}
	for i, co := range resp.Coordinators {
		if co.Key != ids[i] || co.NodeID != c.TransactionCoordinator(ids[i]) || co.ErrorCode != 0 {
			t.Fatalf("key %d: %+v", i, co)
		}
	}
	for _, kt := range []int8{wire.CoordinatorKeyShare, 7} {
		tc.roundTrip(6, &wire.FindCoordinatorRequest{KeyType: kt, CoordinatorKeys: []string{"x"}}, &resp)
		if co := resp.Coordinators[0]; co.ErrorCode != wire.ErrInvalidRequest.Code || co.NodeID != -1 {
			t.Fatalf("key type %d: %+v", kt, co)
		}
		tc.roundTrip(2, &wire.FindCoordinatorRequest{KeyType: kt, CoordinatorKey: "x"}, &resp)
		if resp.ErrorCode != wire.ErrInvalidRequest.Code || resp.NodeID != -1 || resp.ErrorMessage == nil {
			t.Fatalf("v2 key type %d: %+v", kt, resp)
		}
	}
}

func TestMoveTransactionCoordinator(t *testing.T) {
	c := newTestCluster(t)
	const id = "moving"
	old := c.TransactionCoordinator(id)
	oc := dial(t, c.Addrs()[old])
	pid, epoch := oc.mustInitTxn(id)
	to := (old + 1) % 3
	if err := c.MoveTransactionCoordinator(id, to); err != nil {
		t.Fatal(err)
	}
	if err := c.MoveTransactionCoordinator(id, 3); err == nil {
		t.Fatal("moved to a broker that does not exist")
	}
	if got := c.TransactionCoordinator(id); got != to {
		t.Fatalf("coordinator %d after the move, want %d", got, to)
	}
	if resp := oc.initTxn(5, id, 60000, -1, -1); resp.ErrorCode != wire.ErrNotCoordinator.Code {
		t.Fatalf("old coordinator: %+v", resp)
	}
	if code := oc.endTxn(3, id, pid, epoch, true).ErrorCode; code != wire.ErrNotCoordinator.Code {
		t.Fatalf("old coordinator EndTxn: error %d", code)
	}
	// The state moved along: the epoch goes on from where it was.
	nc := dial(t, c.Addrs()[to])
	if resp := nc.initTxn(5, id, 60000, pid, epoch); resp.ErrorCode != 0 || resp.ProducerID != pid || resp.ProducerEpoch != epoch+1 {
		t.Fatalf("new coordinator: %+v", resp)
	}
	var fc wire.FindCoordinatorResponse
	oc.roundTrip(3, &wire.FindCoordinatorRequest{KeyType: wire.CoordinatorKeyTransaction, CoordinatorKey: id}, &fc)
	if fc.NodeID != to {
		t.Fatalf("FindCoordinator names %d, want %d", fc.NodeID, to)
	}
}

func TestInitProducerIDTransactional(t *testing.T) {
	c := newTestCluster(t, MaxTransactionTimeout(time.Minute))
	const id = "init"
	coord := c.TransactionCoordinator(id)
	other := dial(t, c.Addrs()[(coord+1)%3])
	tc := dial(t, c.Addrs()[coord])

	// Request checks, in Kafka's order.
	empty := ""
	for _, tt := range []struct {
		name string
		tc   *testClient
		req  wire.InitProducerIDRequest
		want int16
	}{
		{"empty id", tc, wire.InitProducerIDRequest{TransactionalID: &empty, TransactionTimeoutMs: 1000, ProducerID: -1, ProducerEpoch: -1}, wire.ErrInvalidRequest.Code},
		{"zero timeout", tc, wire.InitProducerIDRequest{TransactionTimeoutMs: 0, ProducerID: -1, ProducerEpoch: -1}, wire.ErrInvalidTransactionTimeout.Code},
		{"negative timeout", tc, wire.InitProducerIDRequest{TransactionTimeoutMs: -5, ProducerID: -1, ProducerEpoch: -1}, wire.ErrInvalidTransactionTimeout.Code},
		{"timeout above max", tc, wire.InitProducerIDRequest{TransactionTimeoutMs: 60001, ProducerID: -1, ProducerEpoch: -1}, wire.ErrInvalidTransactionTimeout.Code},
		{"timeout checked before coordinator", other, wire.InitProducerIDRequest{TransactionTimeoutMs: 60001, ProducerID: -1, ProducerEpoch: -1}, wire.ErrInvalidTransactionTimeout.Code},
		{"not coordinator", other, wire.InitProducerIDRequest{TransactionTimeoutMs: 60000, ProducerID: -1, ProducerEpoch: -1}, wire.ErrNotCoordinator.Code},
		{"id without epoch", tc, wire.InitProducerIDRequest{TransactionTimeoutMs: 1000, ProducerID: 5, ProducerEpoch: -1}, wire.ErrInvalidRequest.Code},
		{"epoch without id", tc, wire.InitProducerIDRequest{TransactionTimeoutMs: 1000, ProducerID: -1, ProducerEpoch: 0}, wire.ErrInvalidRequest.Code},
	} {
		req := tt.req
		if req.TransactionalID == nil {
			s := id
			req.TransactionalID = &s
		}
		var resp wire.InitProducerIDResponse
		tt.tc.roundTrip(4, &req, &resp)
		if resp.ErrorCode != tt.want || resp.ProducerID != -1 || resp.ProducerEpoch != -1 {
			t.Errorf("%s: %+v, want error %d", tt.name, resp, tt.want)
		}
	}

	// First call: a new id at epoch 0; later calls at every version bump the epoch.
	pid, epoch := tc.mustInitTxn(id)
	if epoch != 0 {
		t.Fatalf("first epoch %d", epoch)
	}
	for v := int16(0); v <= 5; v++ {
		resp := tc.initTxn(v, id, 1000, -1, -1)
		if resp.ErrorCode != 0 || resp.ProducerID != pid || resp.ProducerEpoch != epoch+1 {
			t.Fatalf("v%d: %+v, want id %d epoch %d", v, resp, pid, epoch+1)
		}
		epoch++
	}

	// KIP-360 (v3+): the holder of the current epoch gets it bumped; a retry with the epoch
	// before gets the same answer; anything older is fenced.
	resp := tc.initTxn(4, id, 1000, pid, epoch)
	if resp.ErrorCode != 0 || resp.ProducerID != pid || resp.ProducerEpoch != epoch+1 {
		t.Fatalf("bump: %+v", resp)
	}
	if again := tc.initTxn(4, id, 1000, pid, epoch); again != resp {
		t.Fatalf("retry of the bump: %+v, want %+v", again, resp)
	}
	epoch++
	for v, want := range map[int16]int16{3: wire.ErrInvalidProducerEpoch.Code, 4: wire.ErrProducerFenced.Code, 5: wire.ErrProducerFenced.Code} {
		if got := tc.initTxn(v, id, 1000, pid, epoch-3).ErrorCode; got != want {
			t.Errorf("v%d stale epoch: error %d, want %d", v, got, want)
		}
	}
	if got := tc.initTxn(4, id, 1000, pid+100, epoch).ErrorCode; got != wire.ErrProducerFenced.Code {
		t.Errorf("another producer id: error %d, want PRODUCER_FENCED", got)
	}
	// A new producer (no id given) fences the one that held the epoch: its KIP-360 bump fails.
	if resp := tc.initTxn(4, id, 1000, -1, -1); resp.ProducerEpoch != epoch+1 {
		t.Fatalf("new producer: %+v", resp)
	}
	if got := tc.initTxn(4, id, 1000, pid, epoch).ErrorCode; got != wire.ErrProducerFenced.Code {
		t.Errorf("fenced producer's bump: error %d, want PRODUCER_FENCED", got)
	}

	// An exhausted epoch rotates the producer id; a retry of the rotation is recognised.
	c.coord.mu.Lock()
	c.coord.txns[id].epoch = math.MaxInt16 - 1
	c.coord.mu.Unlock()
	rot := tc.initTxn(4, id, 1000, pid, math.MaxInt16-1)
	if rot.ErrorCode != 0 || rot.ProducerID == pid || rot.ProducerEpoch != 0 {
		t.Fatalf("rotation: %+v", rot)
	}
	if again := tc.initTxn(4, id, 1000, pid, math.MaxInt16-1); again != rot {
		t.Fatalf("retry of the rotation: %+v, want %+v", again, rot)
	}
	if got := tc.initTxn(4, id, 1000, pid, 7).ErrorCode; got != wire.ErrProducerFenced.Code {
		t.Errorf("old id, other epoch: error %d, want PRODUCER_FENCED", got)
	}

	// Without a transactional id any broker answers, whatever the timeout.
	var idem wire.InitProducerIDResponse
	other.roundTrip(4, &wire.InitProducerIDRequest{TransactionTimeoutMs: -1, ProducerID: -1, ProducerEpoch: -1}, &idem)
	if idem.ErrorCode != 0 || idem.ProducerEpoch != 0 {
		t.Fatalf("idempotent: %+v", idem)
	}
	other.roundTrip(4, &wire.InitProducerIDRequest{TransactionTimeoutMs: -1, ProducerID: 3, ProducerEpoch: -1}, &idem)
	if idem.ErrorCode != wire.ErrInvalidRequest.Code {
		t.Fatalf("idempotent, id without epoch: %+v", idem)
	}
}

func TestAddPartitionsToTxn(t *testing.T) {
	c := newTestCluster(t, SeedTopic("t", 3))
	const id = "adder"
	tc := dial(t, c.Addrs()[c.TransactionCoordinator(id)])
	other := dial(t, c.Addrs()[(c.TransactionCoordinator(id)+1)%3])
	if got := tc.addPartitions(3, id, 1, 0, "t", 0); !codesAre(got, wire.ErrInvalidProducerIDMapping.Code) {
		t.Fatalf("unknown transactional id: %v", got)
	}
	pid, epoch := tc.mustInitTxn(id)
	for _, tt := range []struct {
		name    string
		tc      *testClient
		v       int16
		id      string
		pid     int64
		epoch   int16
		topic   string
		parts   []int32
		want    []int16
		ongoing bool
	}{
		{"unknown partition", tc, 3, id, pid, epoch, "t", []int32{0, 3, 1}, []int16{55, 3, 55}, false},
		{"unknown topic", tc, 3, id, pid, epoch, "nope", []int32{0}, []int16{3}, false},
		{"unknown topic before coordinator", other, 3, id, pid, epoch, "nope", []int32{0}, []int16{3}, false},
		{"not coordinator", other, 3, id, pid, epoch, "t", []int32{0}, []int16{16}, false},
		{"empty id", tc, 3, "", pid, epoch, "t", []int32{0}, []int16{42}, false},
		{"other producer id", tc, 3, id, pid + 1, epoch, "t", []int32{0, 1}, []int16{49, 49}, false},
		{"other epoch v2", tc, 2, id, pid, epoch + 1, "t", []int32{0}, []int16{90}, false},
		{"other epoch v1", tc, 1, id, pid, epoch + 1, "t", []int32{0}, []int16{47}, false},
		{"ok", tc, 3, id, pid, epoch, "t", []int32{0, 1}, []int16{0, 0}, true},
		{"again, v0", tc, 0, id, pid, epoch, "t", []int32{1, 2}, []int16{0, 0}, true},
	} {
		got := tt.tc.addPartitions(tt.v, tt.id, tt.pid, tt.epoch, tt.topic, tt.parts...)
		if !slices.Equal(got, tt.want) {
			t.Fatalf("%s: codes %v, want %v", tt.name, got, tt.want)
		}
		if st := c.txnFor(id).state; (st == txnOngoing) != tt.ongoing {
			t.Fatalf("%s: state %d", tt.name, st)
		}
	}
	tx := c.txnFor(id)
	if len(tx.partitions) != 3 {
		t.Fatalf("transaction holds %d partitions, want 3", len(tx.partitions))
	}

	// The broker form (v4+): per transaction, adding or only verifying.
	var resp wire.AddPartitionsToTxnResponse
	tc.roundTrip(5, &wire.AddPartitionsToTxnRequest{Transactions: []wire.AddPartitionsToTxnTransaction{
		{TransactionalID: id, ProducerID: pid, ProducerEpoch: epoch, VerifyOnly: true, Topics: []wire.AddPartitionsToTxnTopic{{Name: "t", Partitions: []int32{0, 2}}}},
		{TransactionalID: sameCoordinator(c, id), ProducerID: pid, ProducerEpoch: epoch, VerifyOnly: true, Topics: []wire.AddPartitionsToTxnTopic{{Name: "t", Partitions: []int32{0}}}},
		{TransactionalID: otherCoordinator(c, id), ProducerID: pid, ProducerEpoch: epoch, VerifyOnly: true, Topics: []wire.AddPartitionsToTxnTopic{{Name: "t", Partitions: []int32{0}}}},
		{TransactionalID: id, ProducerID: pid, ProducerEpoch: epoch + 1, VerifyOnly: true, Topics: []wire.AddPartitionsToTxnTopic{{Name: "t", Partitions: []int32{0}}}},
	}}, &resp)
	if resp.ErrorCode != 0 || len(resp.ResultsByTransaction) != 4 {
		t.Fatalf("v5: %+v", resp)
	}
	for i, want := range [][]int16{{0, 0}, {49}, {16}, {90}} {
		if got := partitionCodes(t, resp.ResultsByTransaction[i].TopicResults); !slices.Equal(got, want) {
			t.Fatalf("v5 transaction %d: %v, want %v", i, got, want)
		}
	}
	// A partition not in the transaction fails verification and is not added.
	const id2 = "verifier"
	vc := dial(t, c.Addrs()[c.TransactionCoordinator(id2)])
	pid2, epoch2 := vc.mustInitTxn(id2)
	verify := func(only bool, want int16) {
		t.Helper()
		vc.roundTrip(4, &wire.AddPartitionsToTxnRequest{Transactions: []wire.AddPartitionsToTxnTransaction{
			{TransactionalID: id2, ProducerID: pid2, ProducerEpoch: epoch2, VerifyOnly: only, Topics: []wire.AddPartitionsToTxnTopic{{Name: "t", Partitions: []int32{1}}}},
		}}, &resp)
		if got := partitionCodes(t, resp.ResultsByTransaction[0].TopicResults); !codesAre(got, want) {
			t.Fatalf("verifyOnly=%v: %v, want %d", only, got, want)
		}
	}
	verify(true, wire.ErrTransactionAbortable.Code)
	verify(false, 0)
	verify(true, 0)
}

// sameCoordinator returns a transactional id no one initialised, with the coordinator of id.
func sameCoordinator(c *Cluster, id string) string {
	for i := 0; ; i++ {
		if x := "unknown-" + strconv.Itoa(i); c.TransactionCoordinator(x) == c.TransactionCoordinator(id) {
			return x
		}
	}
}

// otherCoordinator returns a transactional id whose coordinator is not id's.
func otherCoordinator(c *Cluster, id string) string {
	for i := 0; ; i++ {
		if x := "elsewhere-" + strconv.Itoa(i); c.TransactionCoordinator(x) != c.TransactionCoordinator(id) {
			return x
		}
	}
}

func TestTxnProduceNeedsPartitionAdded(t *testing.T) {
	c := newTestCluster(t, SeedTopic("t", 2))
	const id = "producer"
	cc := dial(t, c.Addrs()[c.TransactionCoordinator(id)])
	pid, epoch := cc.mustInitTxn(id)
	lc := dialLeader(t, c, "t", 0)
	batch := func(seq int32) []byte { return makeBatch(t, txnSpec(pid, epoch, seq), values(1)...) }
	for _, tt := range []struct {
		v    int16
		want int16
	}{{3, 48}, {10, 48}, {11, 120}} {
		if got := lc.produceTxn(tt.v, id, "t", 0, batch(0)); got.ErrorCode != tt.want {
			t.Fatalf("v%d before AddPartitionsToTxn: error %d, want %d", tt.v, got.ErrorCode, tt.want)
		}
	}
	if got := lc.produceTxn(11, "unknown", "t", 0, batch(0)); got.ErrorCode != wire.ErrInvalidProducerIDMapping.Code {
		t.Fatalf("unknown transactional id: error %d", got.ErrorCode)
	}
	if got := cc.addPartitions(3, id, pid, epoch, "t", 0); !codesAre(got, 0) {
		t.Fatal(got)
	}
	if got := lc.produceTxn(11, id, "t", 0, makeBatch(t, txnSpec(pid+1, epoch, 0), values(1)...)); got.ErrorCode != wire.ErrInvalidProducerIDMapping.Code {
		t.Fatalf("other producer id: error %d", got.ErrorCode)
	}
	if got := lc.produceTxn(11, id, "t", 0, makeBatch(t, txnSpec(pid, epoch+1, 0), values(1)...)); got.ErrorCode != wire.ErrInvalidProducerEpoch.Code {
		t.Fatalf("other epoch: error %d", got.ErrorCode)
	}
	noPID := txnSpec(-1, -1, -1)
	if got := lc.produceTxn(11, id, "t", 0, makeBatch(t, noPID, values(1)...)); got.ErrorCode != wire.ErrInvalidRecord.Code {
		t.Fatalf("no producer id: error %d", got.ErrorCode)
	}
	for seq, v := range []int16{3, 9, 11, 12} {
		if got := lc.produceTxn(v, id, "t", 0, batch(int32(seq))); got.ErrorCode != 0 || got.BaseOffset != int64(seq) {
			t.Fatalf("v%d after AddPartitionsToTxn: %+v", v, got)
		}
	}
	// A retry is a duplicate, as for any idempotent batch.
	if got := lc.produceTxn(11, id, "t", 0, batch(3)); got.ErrorCode != 0 || got.BaseOffset != 3 {
		t.Fatalf("retry: %+v", got)
	}
	// While its transaction is open on the partition, the producer may not write outside it.
	if got := lc.produce(11, "t", 0, makeBatch(t, idemSpec(pid, epoch, 4), values(1)...)); got.ErrorCode != wire.ErrInvalidTxnState.Code {
		t.Fatalf("non-transactional batch inside the transaction: error %d", got.ErrorCode)
	}
	// Partition 1 was never added: v12 adds it under transactions V2.
	l1 := dialLeader(t, c, "t", 1)
	if got := l1.produceTxn(11, id, "t", 1, batch(0)); got.ErrorCode != wire.ErrTransactionAbortable.Code {
		t.Fatalf("v11, partition 1: error %d", got.ErrorCode)
	}
	if got := l1.produceTxn(12, id, "t", 1, batch(0)); got.ErrorCode != 0 {
		t.Fatalf("v12, partition 1: error %d", got.ErrorCode)
	}
	if tx := c.txnFor(id); len(tx.partitions) != 2 {
		t.Fatalf("transaction holds %d partitions after the implicit add, want 2", len(tx.partitions))
	}
	for _, r := range append(c.Records("t", 0), c.Records("t", 1)...) {
		if !r.Transactional || r.Committed || r.Aborted {
			t.Fatalf("open transaction's record: %+v", r)
		}
	}
	if n := len(c.CommittedRecords("t", 0)); n != 0 {
		t.Fatalf("%d committed records in an open transaction", n)
	}
}

func TestTxnProduceV12WithoutTransactionsV2(t *testing.T) {
	c := newTestCluster(t, SeedTopic("t", 1), TransactionsV2(false))
	const id = "v1"
	pid, epoch := dial(t, c.Addrs()[c.TransactionCoordinator(id)]).mustInitTxn(id)
	lc := dialLeader(t, c, "t", 0)
	if got := lc.produceTxn(11, id, "t", 0, makeBatch(t, txnSpec(pid, epoch, 0), values(1)...)); got.ErrorCode != wire.ErrTransactionAbortable.Code {
		t.Fatalf("v11 without AddPartitionsToTxn: error %d", got.ErrorCode)
	}
	// Produce v12 is not offered: asking for it closes the connection.
	req := produceReq(-1, "t", 0, makeBatch(t, txnSpec(pid, epoch, 0), values(1)...))
	s := id
	req.TransactionalID = &s
	lc.send(12, req)
	lc.expectClosed()
}

// TestTxnCommitAbort runs transactions over two partitions and checks what each record became
// and what a read_committed consumer sees, at EndTxn v0–4 (transactions V1).
func TestTxnCommitAbort(t *testing.T) {
	for _, v := range []int16{0, 1, 2, 3, 4} {
		c := newTestCluster(t, SeedTopic("t", 2))
		const id = "ca"
		cc := dial(t, c.Addrs()[c.TransactionCoordinator(id)])
		pid, epoch := cc.mustInitTxn(id)
		other, _ := dial(t, c.Addrs()[0]).initProducerID()
		leaders := []*testClient{dialLeader(t, c, "t", 0), dialLeader(t, c, "t", 1)}
		seq := []int32{0, 0}
		write := func(p int32, n int) {
			t.Helper()
			got := leaders[p].produceTxn(11, id, "t", p, makeBatch(t, txnSpec(pid, epoch, seq[p]), values(n)...))
			if got.ErrorCode != 0 {
				t.Fatalf("v%d: produce to %d: error %d", v, p, got.ErrorCode)
			}
			seq[p] += int32(n)
		}
		otherSeq := []int32{0, 0}
		plain := func(p int32) {
			t.Helper()
			if got := leaders[p].produce(11, "t", p, makeBatch(t, idemSpec(other, 0, otherSeq[p]), values(1)...)); got.ErrorCode != 0 {
				t.Fatalf("plain produce: error %d", got.ErrorCode)
			}
			otherSeq[p]++
		}
		end := func(commit bool, want int16) {
			t.Helper()
			if got := cc.endTxn(v, id, pid, epoch, commit); got.ErrorCode != want || got.ProducerID != -1 || got.ProducerEpoch != -1 {
				t.Fatalf("v%d: EndTxn(commit=%v): %+v, want error %d", v, commit, got, want)
			}
		}

		// Nothing ongoing: INVALID_TXN_STATE either way.
		end(true, wire.ErrInvalidTxnState.Code)
		end(false, wire.ErrInvalidTxnState.Code)

		// Transaction 1, committed: p0 offsets 0-1, plain 2, marker 3; p1 0-2, marker 3.
		cc.addPartitions(3, id, pid, epoch, "t", 0, 1)
		write(0, 2)
		plain(0)
		write(1, 3)
		end(true, 0)
		end(true, 0)                             // committing again is a retry
		end(false, wire.ErrInvalidTxnState.Code) // aborting what committed is not
		// Transaction 2, aborted: p0 only, offsets 4-5, plain 6, marker 7; p1 gets no marker.
		cc.addPartitions(3, id, pid, epoch, "t", 0)
		write(0, 2)
		plain(0)
		end(false, 0)
		end(false, 0)
		end(true, wire.ErrInvalidTxnState.Code)
		// Transaction 3, open: p1 offset 4.
		cc.addPartitions(3, id, pid, epoch, "t", 1)
		write(1, 1)

		type want struct {
			offset                  int64
			txn, committed, aborted bool
		}
		check := func(p int32, recs []Record, wants []want) {
			t.Helper()
			if len(recs) != len(wants) {
				t.Fatalf("v%d p%d: %d records, want %d", v, p, len(recs), len(wants))
			}
			for i, w := range wants {
				r := recs[i]
				if r.Offset != w.offset || r.Transactional != w.txn || r.Committed != w.committed || r.Aborted != w.aborted {
					t.Fatalf("v%d p%d record %d: offset %d txn %v committed %v aborted %v, want %+v", v, p, i, r.Offset, r.Transactional, r.Committed, r.Aborted, w)
				}
			}
		}
		check(0, c.Records("t", 0), []want{{0, true, true, false}, {1, true, true, false}, {2, false, true, false}, {4, true, false, true}, {5, true, false, true}, {6, false, true, false}})
		check(1, c.Records("t", 1), []want{{0, true, true, false}, {1, true, true, false}, {2, true, true, false}, {4, true, false, false}})
		check(0, c.CommittedRecords("t", 0), []want{{0, true, true, false}, {1, true, true, false}, {2, false, true, false}, {6, false, true, false}})
		check(1, c.CommittedRecords("t", 1), []want{{0, true, true, false}, {1, true, true, false}, {2, true, true, false}})
		// The markers took offsets 3 and 7 of p0 and 3 of p1.
		if p := c.partition("t", 0); p.nextOffset != 8 || p.dataRecords != 6 {
			t.Fatalf("p0: next offset %d, %d data records", p.nextOffset, p.dataRecords)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		recs, err := c.WaitForRecords(ctx, "t", 10)
		cancel()
		if err != nil || len(recs) != 10 {
			t.Fatalf("WaitForRecords: %d records, %v", len(recs), err)
		}
		// Sequences go on across transactions of one epoch (V1), markers notwithstanding.
		write(1, 1)
		if got := cc.endTxn(v, id, pid, epoch, true); got.ErrorCode != 0 {
			t.Fatal(got)
		}
		if n := len(c.CommittedRecords("t", 1)); n != 5 {
			t.Fatalf("v%d: %d committed records in p1, want 5", v, n)
		}
	}
}

// TestMarkerDelay checks the window between an EndTxn's answer and its markers: the records
// are not settled yet, and what would change the transactional id gets
// CONCURRENT_TRANSACTIONS (the other end INVALID_TXN_STATE) until the markers are written,
// by WriteMarkers or when the delay passes.
func TestMarkerDelay(t *testing.T) {
	conc, invalid := wire.ErrConcurrentTransactions.Code, wire.ErrInvalidTxnState.Code
	t.Run("v1", func(t *testing.T) {
		c := newTestCluster(t, SeedTopic("t", 1), TransactionsV2(false), MarkerDelay(time.Hour))
		const id = "md1"
		cc := dial(t, c.Addrs()[c.TransactionCoordinator(id)])
		pid, epoch := cc.mustInitTxn(id)
		lc := dialLeader(t, c, "t", 0)
		if got := cc.addPartitions(3, id, pid, epoch, "t", 0); !codesAre(got, 0) {
			t.Fatalf("add: %v", got)
		}
		if got := lc.produceTxn(11, id, "t", 0, makeBatch(t, txnSpec(pid, epoch, 0), values(1)...)); got.ErrorCode != 0 {
			t.Fatalf("produce: %+v", got)
		}
		if got := cc.endTxn(4, id, pid, epoch, true).ErrorCode; got != 0 {
			t.Fatalf("commit: error %d", got)
		}
		if recs := c.Records("t", 0); len(recs) != 1 || recs[0].Committed {
			t.Fatalf("before the markers: %+v, want one record not committed yet", recs)
		}
		if got := cc.addPartitions(3, id, pid, epoch, "t", 0); !codesAre(got, conc) {
			t.Fatalf("add while preparing: %v", got)
		}
		if got := cc.endTxn(4, id, pid, epoch, true).ErrorCode; got != conc {
			t.Fatalf("commit again while preparing: error %d", got)
		}
		if got := cc.endTxn(4, id, pid, epoch, false).ErrorCode; got != invalid {
			t.Fatalf("abort while preparing the commit: error %d", got)
		}
		if got := cc.initTxn(4, id, 60000, pid, epoch).ErrorCode; got != conc {
			t.Fatalf("InitProducerId while preparing: error %d", got)
		}
		c.WriteMarkers()
		if recs := c.CommittedRecords("t", 0); len(recs) != 1 {
			t.Fatalf("after the markers: %d committed records", len(recs))
		}
		if got := cc.endTxn(4, id, pid, epoch, true).ErrorCode; got != 0 {
			t.Fatalf("commit again after the markers: error %d", got)
		}
		if got := cc.addPartitions(3, id, pid, epoch, "t", 0); !codesAre(got, 0) {
			t.Fatalf("add after the markers: %v", got)
		}
	})
	t.Run("v2", func(t *testing.T) {
		c := newTestCluster(t, SeedTopic("t", 1), MarkerDelay(time.Hour))
		const id = "md2"
		cc := dial(t, c.Addrs()[c.TransactionCoordinator(id)])
		pid, epoch := cc.mustInitTxn(id)
		lc := dialLeader(t, c, "t", 0)
		if got := lc.produceTxn(12, id, "t", 0, makeBatch(t, txnSpec(pid, epoch, 0), values(1)...)); got.ErrorCode != 0 {
			t.Fatalf("produce: %+v", got)
		}
		end := cc.endTxn(5, id, pid, epoch, true)
		if end.ErrorCode != 0 || end.ProducerEpoch != epoch+1 {
			t.Fatalf("commit: %+v", end)
		}
		if got := cc.endTxn(5, id, pid, epoch, true).ErrorCode; got != conc {
			t.Fatalf("commit retried while preparing: error %d", got)
		}
		// The next transaction's produce waits for the markers: it lands after the marker
		// (offset 1), once WriteMarkers wrote it.
		produced := make(chan wire.ProducePartitionResponse, 1)
		go func() {
			produced <- lc.produceTxn(12, id, "t", 0, makeBatch(t, txnSpec(pid, epoch+1, 0), values(1)...))
		}()
		c.WriteMarkers()
		if got := <-produced; got.ErrorCode != 0 || got.BaseOffset != 2 {
			t.Fatalf("produce of the next transaction: %+v, want offset 2, after the marker", got)
		}

	})
	t.Run("timer", func(t *testing.T) {
		c := newTestCluster(t, SeedTopic("t", 1), TransactionsV2(false), MarkerDelay(50*time.Millisecond))
		const id = "md3"
		cc := dial(t, c.Addrs()[c.TransactionCoordinator(id)])
		pid, epoch := cc.mustInitTxn(id)
		cc.addPartitions(3, id, pid, epoch, "t", 0)
		if got := cc.endTxn(4, id, pid, epoch, false).ErrorCode; got != 0 {
			t.Fatalf("abort: error %d", got)
		}
		if got := cc.addPartitions(3, id, pid, epoch, "t", 0); !codesAre(got, conc) {
			t.Fatalf("add right after the abort: %v", got)
		}
		deadline := time.Now().Add(10 * time.Second)
		for !codesAre(cc.addPartitions(3, id, pid, epoch, "t", 0), 0) {
			if time.Now().After(deadline) {
				t.Fatal("the markers were never written")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// TestTxnV2 checks EndTxn v5: the epoch bumps at every end, markers fence the old epoch,
// sequences restart, retries with the old epoch get the same answer, and an abort with
// nothing ongoing is allowed.
func TestTxnV2(t *testing.T) {
	c := newTestCluster(t, SeedTopic("t", 1))
	const id = "v2"
	cc := dial(t, c.Addrs()[c.TransactionCoordinator(id)])
	pid, epoch := cc.mustInitTxn(id)
	lc := dialLeader(t, c, "t", 0)

	if got := lc.produceTxn(12, id, "t", 0, makeBatch(t, txnSpec(pid, epoch, 0), values(2)...)); got.ErrorCode != 0 {
		t.Fatalf("implicit add: %+v", got)
	}
	end := cc.endTxn(5, id, pid, epoch, true)
	if end.ErrorCode != 0 || end.ProducerID != pid || end.ProducerEpoch != epoch+1 {
		t.Fatalf("EndTxn v5: %+v", end)
	}
	if again := cc.endTxn(5, id, pid, epoch, true); again != end {
		t.Fatalf("retry: %+v, want %+v", again, end)
	}
	if got := cc.endTxn(5, id, pid, epoch, false).ErrorCode; got != wire.ErrInvalidTxnState.Code {
		t.Fatalf("abort retried after commit: error %d", got)
	}
	if got := cc.endTxn(5, id, pid, epoch-1, true).ErrorCode; got != wire.ErrProducerFenced.Code {
		t.Fatalf("two epochs back: error %d", got)
	}
	// The marker carried the new epoch: the old one is fenced on the partition.
	if got := lc.produceTxn(12, id, "t", 0, makeBatch(t, txnSpec(pid, epoch, 2), values(1)...)); got.ErrorCode != wire.ErrInvalidProducerEpoch.Code {
		t.Fatalf("old epoch after the bump: error %d", got.ErrorCode)
	}
	epoch++
	// The new epoch starts at sequence 0.
	if got := lc.produceTxn(12, id, "t", 0, makeBatch(t, txnSpec(pid, epoch, 2), values(1)...)); got.ErrorCode != wire.ErrOutOfOrderSequenceNumber.Code {
		t.Fatalf("new epoch at sequence 2: error %d", got.ErrorCode)
	}
	if got := lc.produceTxn(12, id, "t", 0, makeBatch(t, txnSpec(pid, epoch, 0), values(1)...)); got.ErrorCode != 0 || got.BaseOffset != 3 {
		t.Fatalf("new epoch at sequence 0: %+v", got)
	}
	end = cc.endTxn(5, id, pid, epoch, false)
	if end.ErrorCode != 0 || end.ProducerEpoch != epoch+1 {
		t.Fatalf("abort: %+v", end)
	}
	epoch++
	// Nothing ongoing: a commit is INVALID_TXN_STATE, an abort bumps the epoch.
	if got := cc.endTxn(5, id, pid, epoch, true).ErrorCode; got != wire.ErrInvalidTxnState.Code {
		t.Fatalf("empty commit: error %d", got)
	}
	if end := cc.endTxn(5, id, pid, epoch, false); end.ErrorCode != 0 || end.ProducerEpoch != epoch+1 {
		t.Fatalf("empty abort: %+v", end)
	}
	epoch++
	if got := cc.endTxn(5, id, pid+1, epoch, false).ErrorCode; got != wire.ErrInvalidProducerIDMapping.Code {
		t.Fatalf("other producer id: error %d", got)
	}
	recs := c.Records("t", 0)
	if len(recs) != 3 || !recs[0].Committed || !recs[1].Committed || !recs[2].Aborted || recs[2].Offset != 3 {
		t.Fatalf("records %+v", recs)
	}

	// An exhausted epoch: the markers carry the last epoch, then the producer id changes.
	c.coord.mu.Lock()
	c.coord.txns[id].epoch = math.MaxInt16 - 1
	c.coord.mu.Unlock()
	epoch = math.MaxInt16 - 1
	cc.addPartitions(3, id, pid, epoch, "t", 0)
	end = cc.endTxn(5, id, pid, epoch, true)
	if end.ErrorCode != 0 || end.ProducerID == pid || end.ProducerEpoch != 0 {
		t.Fatalf("EndTxn at an exhausted epoch: %+v", end)
	}
	if again := cc.endTxn(5, id, pid, epoch, true); again != end {
		t.Fatalf("retry across the rotation: %+v, want %+v", again, end)
	}
	if got := lc.produceTxn(12, id, "t", 0, makeBatch(t, txnSpec(pid, epoch, 1), values(1)...)); got.ErrorCode != wire.ErrInvalidProducerIDMapping.Code {
		t.Fatalf("old producer id after rotation: error %d", got.ErrorCode)
	}
	if got := lc.produceTxn(12, id, "t", 0, makeBatch(t, txnSpec(end.ProducerID, 0, 0), values(1)...)); got.ErrorCode != 0 {
		t.Fatalf("new producer id: error %d", got.ErrorCode)
	}
}

// TestTxnFencing has a second producer initialise a transactional id while the first is in
// a transaction, with and without transactions V2.
func TestTxnFencing(t *testing.T) {
	for _, v2 := range []bool{true, false} {
		c := newTestCluster(t, SeedTopic("t", 2), TransactionsV2(v2))
		const id = "fence"
		cc := dial(t, c.Addrs()[c.TransactionCoordinator(id)])
		pid, epoch := cc.mustInitTxn(id)
		l0 := dialLeader(t, c, "t", 0)
		cc.addPartitions(3, id, pid, epoch, "t", 0, 1)
		if got := l0.produceTxn(11, id, "t", 0, makeBatch(t, txnSpec(pid, epoch, 0), values(2)...)); got.ErrorCode != 0 {
			t.Fatal(got)
		}
		// The new producer aborts the transaction and is told to retry.
		if got := cc.initTxn(4, id, 60000, -1, -1); got.ErrorCode != wire.ErrConcurrentTransactions.Code {
			t.Fatalf("v2=%v: InitProducerId during a transaction: %+v", v2, got)
		}
		for _, r := range c.Records("t", 0) {
			if !r.Aborted {
				t.Fatalf("v2=%v: record not aborted by the fence: %+v", v2, r)
			}
		}
		bumps := int16(2) // the fence, then the retry
		if v2 {
			bumps = 3 // the abort bumps once more
		}
		got := cc.initTxn(4, id, 60000, -1, -1)
		if got.ErrorCode != 0 || got.ProducerID != pid || got.ProducerEpoch != epoch+bumps {
			t.Fatalf("v2=%v: retry: %+v, want epoch %d", v2, got, epoch+bumps)
		}
		// The old producer is fenced everywhere.
		if got := l0.produceTxn(11, id, "t", 0, makeBatch(t, txnSpec(pid, epoch, 2), values(1)...)); got.ErrorCode != wire.ErrInvalidProducerEpoch.Code {
			t.Fatalf("v2=%v: old epoch's produce to a partition of the transaction: error %d", v2, got.ErrorCode)
		}
		l1 := dialLeader(t, c, "t", 1)
		if got := l1.produceTxn(11, id, "t", 1, makeBatch(t, txnSpec(pid, epoch, 0), values(1)...)); got.ErrorCode != wire.ErrInvalidProducerEpoch.Code {
			t.Fatalf("v2=%v: old epoch's produce elsewhere: error %d", v2, got.ErrorCode)
		}
		if got := cc.addPartitions(3, id, pid, epoch, "t", 0); !codesAre(got, wire.ErrProducerFenced.Code) {
			t.Fatalf("v2=%v: old epoch's AddPartitionsToTxn: %v", v2, got)
		}
		for v, want := range map[int16]int16{1: 47, 2: 90, 4: 90} {
			if got := cc.endTxn(v, id, pid, epoch, true).ErrorCode; got != want {
				t.Fatalf("v2=%v: old epoch's EndTxn v%d: error %d, want %d", v2, v, got, want)
			}
		}
		// The new producer's transaction works, its records after the marker.
		epoch = got.ProducerEpoch
		cc.addPartitions(3, id, pid, epoch, "t", 0)
		if got := l0.produceTxn(11, id, "t", 0, makeBatch(t, txnSpec(pid, epoch, 0), values(1)...)); got.ErrorCode != 0 || got.BaseOffset != 3 {
			t.Fatalf("v2=%v: new producer's produce: %+v", v2, got)
		}
		if got := cc.endTxn(4, id, pid, epoch, true).ErrorCode; got != 0 {
			t.Fatalf("v2=%v: commit: error %d", v2, got)
		}
		if recs := c.CommittedRecords("t", 0); len(recs) != 1 || recs[0].Offset != 3 {
			t.Fatalf("v2=%v: committed %+v", v2, recs)
		}
	}
}

func TestTxnTimeout(t *testing.T) {
	c := newTestCluster(t, SeedTopic("t", 1))
	const id = "slow"
	cc := dial(t, c.Addrs()[c.TransactionCoordinator(id)])
	resp := cc.initTxn(4, id, 50, -1, -1)
	pid, epoch := resp.ProducerID, resp.ProducerEpoch
	lc := dialLeader(t, c, "t", 0)
	cc.addPartitions(3, id, pid, epoch, "t", 0)
	if got := lc.produceTxn(11, id, "t", 0, makeBatch(t, txnSpec(pid, epoch, 0), values(1)...)); got.ErrorCode != 0 {
		t.Fatal(got)
	}
	time.Sleep(100 * time.Millisecond)
	if recs := c.Records("t", 0); len(recs) != 1 || !recs[0].Aborted {
		t.Fatalf("after the timeout: %+v", recs)
	}
	if got := lc.produceTxn(11, id, "t", 0, makeBatch(t, txnSpec(pid, epoch, 1), values(1)...)); got.ErrorCode != wire.ErrInvalidProducerEpoch.Code {
		t.Fatalf("produce after the timeout: error %d", got.ErrorCode)
	}
	if got := cc.endTxn(4, id, pid, epoch, true).ErrorCode; got != wire.ErrProducerFenced.Code {
		t.Fatalf("EndTxn after the timeout: error %d", got)
	}
	if got := cc.endTxn(5, id, pid, epoch, false).ErrorCode; got != wire.ErrProducerFenced.Code {
		t.Fatalf("EndTxn v5 abort after the timeout: error %d", got)
	}
	// A timeout is checked on requests too, without a read: a transaction whose producer
	// stalled is aborted when the producer comes back.
	resp = cc.initTxn(4, id, 50, -1, -1)
	pid, epoch = resp.ProducerID, resp.ProducerEpoch
	cc.addPartitions(3, id, pid, epoch, "t", 0)
	time.Sleep(100 * time.Millisecond)
	if got := cc.endTxn(4, id, pid, epoch, true).ErrorCode; got != wire.ErrProducerFenced.Code {
		t.Fatalf("EndTxn after the second timeout: error %d", got)
	}
	// Within the timeout nothing happens.
	resp = cc.initTxn(4, id, 60000, -1, -1)
	cc.addPartitions(3, id, resp.ProducerID, resp.ProducerEpoch, "t", 0)
	if got := cc.endTxn(4, id, resp.ProducerID, resp.ProducerEpoch, true).ErrorCode; got != 0 {
		t.Fatalf("EndTxn in time: error %d", got)
	}
}

// TestTxnFaults injects the coordinator errors a transactional producer must retry, and the
// lost answers after which it retries requests that did take effect.
func TestTxnFaults(t *testing.T) {
	c := newTestCluster(t, SeedTopic("t", 2))
	const id = "faulty"
	coord := c.TransactionCoordinator(id)
	cc := dial(t, c.Addrs()[coord])

	c.InjectFault(Fault{Key: wire.KeyFindCoordinator, Broker: AnyBroker, ErrorCode: wire.ErrCoordinatorNotAvailable.Code, Times: 2})
	var fc wire.FindCoordinatorResponse
	cc.roundTrip(3, &wire.FindCoordinatorRequest{KeyType: wire.CoordinatorKeyTransaction, CoordinatorKey: id}, &fc)
	if fc.ErrorCode != wire.ErrCoordinatorNotAvailable.Code || fc.NodeID != -1 {
		t.Fatalf("v3 fault: %+v", fc)
	}
	cc.roundTrip(4, &wire.FindCoordinatorRequest{KeyType: wire.CoordinatorKeyTransaction, CoordinatorKeys: []string{id, "x"}}, &fc)
	for _, co := range fc.Coordinators {
		if co.ErrorCode != wire.ErrCoordinatorNotAvailable.Code {
			t.Fatalf("v4 fault: %+v", fc.Coordinators)
		}
	}
	cc.roundTrip(4, &wire.FindCoordinatorRequest{KeyType: wire.CoordinatorKeyTransaction, CoordinatorKeys: []string{id}}, &fc)
	if fc.Coordinators[0].ErrorCode != 0 || fc.Coordinators[0].NodeID != coord {
		t.Fatalf("after the fault: %+v", fc.Coordinators)
	}

	c.InjectFault(Fault{Key: wire.KeyInitProducerID, Broker: coord, ErrorCode: wire.ErrCoordinatorLoadInProgress.Code})
	if got := cc.initTxn(4, id, 60000, -1, -1); got.ErrorCode != wire.ErrCoordinatorLoadInProgress.Code {
		t.Fatalf("InitProducerId fault: %+v", got)
	}
	pid, epoch := cc.mustInitTxn(id)
	if epoch != 0 {
		t.Fatalf("the faulted InitProducerId bumped the epoch to %d", epoch)
	}

	// AddPartitionsToTxn: the error for every partition (v0–3), nothing added.
	c.InjectFault(Fault{Key: wire.KeyAddPartitionsToTxn, Broker: AnyBroker, ErrorCode: wire.ErrConcurrentTransactions.Code})
	if got := cc.addPartitions(3, id, pid, epoch, "t", 0, 1); !codesAre(got, 51, 51) {
		t.Fatalf("AddPartitionsToTxn fault: %v", got)
	}
	if st := c.txnFor(id).state; st != txnEmpty {
		t.Fatalf("state %d after the faulted AddPartitionsToTxn", st)
	}
	// With AppendAnyway the partitions are added, though the answer says otherwise.
	c.InjectFault(Fault{Key: wire.KeyAddPartitionsToTxn, Broker: AnyBroker, ErrorCode: wire.ErrNotCoordinator.Code, AppendAnyway: true})
	if got := cc.addPartitions(3, id, pid, epoch, "t", 0); !codesAre(got, 16) {
		t.Fatalf("AddPartitionsToTxn fault: %v", got)
	}
	if tx := c.txnFor(id); len(tx.partitions) != 1 {
		t.Fatalf("AppendAnyway added %d partitions", len(tx.partitions))
	}
	// The broker form takes the error at the top level.
	c.InjectFault(Fault{Key: wire.KeyAddPartitionsToTxn, Broker: AnyBroker, ErrorCode: wire.ErrCoordinatorNotAvailable.Code})
	var ar wire.AddPartitionsToTxnResponse
	cc.roundTrip(4, &wire.AddPartitionsToTxnRequest{Transactions: []wire.AddPartitionsToTxnTransaction{{TransactionalID: id, ProducerID: pid, ProducerEpoch: epoch, Topics: []wire.AddPartitionsToTxnTopic{{Name: "t", Partitions: []int32{1}}}}}}, &ar)
	if ar.ErrorCode != wire.ErrCoordinatorNotAvailable.Code || len(ar.ResultsByTransaction) != 0 {
		t.Fatalf("v4 fault: %+v", ar)
	}
	if got := dialLeader(t, c, "t", 0).produceTxn(11, id, "t", 0, makeBatch(t, txnSpec(pid, epoch, 0), values(1)...)); got.ErrorCode != 0 {
		t.Fatal(got)
	}

	// EndTxn: the error, nothing ended; then committed but the answer lost (a dropped
	// connection), and the retry is answered as a repeated commit.
	c.InjectFault(Fault{Key: wire.KeyEndTxn, Broker: AnyBroker, ErrorCode: wire.ErrCoordinatorLoadInProgress.Code})
	if got := cc.endTxn(3, id, pid, epoch, true).ErrorCode; got != wire.ErrCoordinatorLoadInProgress.Code {
		t.Fatalf("EndTxn fault: error %d", got)
	}
	if recs := c.Records("t", 0); recs[0].Committed {
		t.Fatal("committed by a faulted EndTxn")
	}
	c.InjectFault(Fault{Key: wire.KeyEndTxn, Broker: AnyBroker, DropConnection: true})
	cc.send(3, &wire.EndTxnRequest{TransactionalID: id, ProducerID: pid, ProducerEpoch: epoch, Committed: true})
	cc.expectClosed()
	if recs := c.Records("t", 0); !recs[0].Committed {
		t.Fatal("not committed before the connection dropped")
	}
	cc = dial(t, c.Addrs()[coord])
	if got := cc.endTxn(3, id, pid, epoch, true).ErrorCode; got != 0 {
		t.Fatalf("retried commit: error %d", got)
	}
}

func TestTransactionsV2Option(t *testing.T) {
	for _, v2 := range []bool{true, false} {
		c := newTestCluster(t, TransactionsV2(v2))
		tc := dial(t, c.Addrs()[0])
		for v := int16(0); v <= 4; v++ {
			var resp wire.ApiVersionsResponse
			tc.roundTrip(v, &wire.ApiVersionsRequest{ClientSoftwareName: "gregor", ClientSoftwareVersion: "1"}, &resp)
			wantProduce, wantEndTxn := int16(13), int16(5)
			if !v2 {
				wantProduce, wantEndTxn = 11, 4
			}
			for _, k := range resp.APIKeys {
				if (k.APIKey == wire.KeyProduce && k.MaxVersion != wantProduce) || (k.APIKey == wire.KeyEndTxn && k.MaxVersion != wantEndTxn) {
					t.Fatalf("v2=%v ApiVersions v%d: %+v", v2, v, k)
				}
			}
			var wantSupported []wire.SupportedFeature
			var wantFinalized []wire.FinalizedFeature
			wantEpoch := int64(-1)
			if v2 && v >= 3 {
				lo := int16(0)
				if v == 3 {
					lo = 1 // KIP-1022: no 0 below v4
				}
				wantSupported = []wire.SupportedFeature{{Name: "transaction.version", MinVersion: lo, MaxVersion: 2}}
				wantFinalized = []wire.FinalizedFeature{{Name: "transaction.version", MaxVersionLevel: 2, MinVersionLevel: 2}}
				wantEpoch = finalizedFeaturesEpoch
			}
			if !slices.Equal(resp.SupportedFeatures, wantSupported) || !slices.Equal(resp.FinalizedFeatures, wantFinalized) || resp.FinalizedFeaturesEpoch != wantEpoch {
				t.Fatalf("v2=%v ApiVersions v%d features: %+v %+v epoch %d", v2, v, resp.SupportedFeatures, resp.FinalizedFeatures, resp.FinalizedFeaturesEpoch)
			}
		}
		if !v2 {
			tc.send(5, &wire.EndTxnRequest{TransactionalID: "x"})
			tc.expectClosed()
		}
	}
}

func TestMaxVersions(t *testing.T) {
	c := newTestCluster(t, MaxVersions(map[int16]int16{wire.KeyProduce: 9, wire.KeyMetadata: 12}), MaxVersions(map[int16]int16{wire.KeyProduce: 10}))
	tc := dial(t, c.Addrs()[0])
	var resp wire.ApiVersionsResponse
	tc.roundTrip(3, &wire.ApiVersionsRequest{ClientSoftwareName: "a", ClientSoftwareVersion: "1"}, &resp)
	for _, k := range resp.APIKeys {
		if (k.APIKey == wire.KeyProduce && k.MaxVersion != 9) || (k.APIKey == wire.KeyMetadata && k.MaxVersion != 12) {
			t.Fatalf("capped ApiVersions: %+v", k)
		}
	}
	// Produce v12 is off too, so transactions V2 are: the feature is not listed.
	if len(resp.FinalizedFeatures) != 0 {
		t.Fatalf("finalized features %+v with Produce capped at v9", resp.FinalizedFeatures)
	}
	tc.metadata(12)
	tc.send(13, &wire.MetadataRequest{})
	tc.expectClosed()

	for _, caps := range []map[int16]int16{
		{wire.KeyApiVersions: 3},
		{wire.KeyProduce: 2},
		{999: 1},
	} {
		if _, err := NewCluster(MaxVersions(caps)); err == nil {
			t.Errorf("MaxVersions(%v) accepted", caps)
		}
	}
	if _, err := NewCluster(MaxTransactionTimeout(0)); err == nil {
		t.Error("MaxTransactionTimeout(0) accepted")
	}
}
