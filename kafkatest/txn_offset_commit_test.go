package kafkatest

import (
	"bytes"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// Raw-client helpers for offsets in transactions.

func (tc *testClient) addOffsets(version int16, id string, pid int64, epoch int16, group string) int16 {
	tc.t.Helper()
	var resp wire.AddOffsetsToTxnResponse
	tc.roundTrip(version, &wire.AddOffsetsToTxnRequest{TransactionalID: id, ProducerID: pid, ProducerEpoch: epoch, GroupID: group}, &resp)
	return resp.ErrorCode
}

// txnCommit sends req at version and returns the error code of every partition, in
// request order.
func (tc *testClient) txnCommit(version int16, req *wire.TxnOffsetCommitRequest) []int16 {
	tc.t.Helper()
	var resp wire.TxnOffsetCommitResponse
	tc.roundTrip(version, req, &resp)
	var codes []int16
	for i, rt := range resp.Topics {
		if version < 6 && rt.Name != req.Topics[i].Name || version >= 6 && rt.TopicID != req.Topics[i].TopicID {
			tc.t.Fatalf("TxnOffsetCommit v%d: topic %d answered as %+v", version, i, rt)
		}
		for _, p := range rt.Partitions {
			codes = append(codes, p.ErrorCode)
		}
	}
	return codes
}

// offsetsReq returns a TxnOffsetCommit of offset for partitions 0 and 1 of topic "in".
func offsetsReq(id, group string, pid int64, epoch int16, offset int64) *wire.TxnOffsetCommitRequest {
	meta := "m"
	return &wire.TxnOffsetCommitRequest{
		TransactionalID: id, GroupID: group, ProducerID: pid, ProducerEpoch: epoch, GenerationID: -1,
		Topics: []wire.TxnOffsetCommitTopic{{Name: "in", Partitions: []wire.TxnOffsetCommitPartition{
			{PartitionIndex: 0, CommittedOffset: offset, CommittedLeaderEpoch: 2, CommittedMetadata: &meta},
			{PartitionIndex: 1, CommittedOffset: offset + 1, CommittedLeaderEpoch: -1},
		}}},
	}
}

// wantOffsets is what CommittedOffsets returns after offsetsReq(..., offset) committed at
// version (leader epochs are kept from v2).
func wantOffsets(offset int64, version int16) map[string]map[int32]CommittedOffset {
	epoch := int32(2)
	if version < 2 {
		epoch = -1
	}
	return map[string]map[int32]CommittedOffset{"in": {
		0: {Offset: offset, LeaderEpoch: epoch, Metadata: "m"},
		1: {Offset: offset + 1, LeaderEpoch: -1},
	}}
}

// groupOn returns a group id whose coordinator is broker.
func groupOn(c *Cluster, broker int32) string {
	for i := 0; ; i++ {
		if g := "group-" + strconv.Itoa(i); c.GroupCoordinator(g) == broker {
			return g
		}
	}
}

func checkOffsets(t *testing.T, c *Cluster, group string, want map[string]map[int32]CommittedOffset, what string) {
	t.Helper()
	if got := c.CommittedOffsets(group); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: committed offsets %v, want %v", what, got, want)
	}
}

// TestTxnOffsetsCommitAbort runs the transactions V1 flow at every TxnOffsetCommit version
// up to v4: AddOffsetsToTxn, TxnOffsetCommit, then EndTxn. Staged offsets are invisible,
// committed ones become the group's, aborted ones never do.
func TestTxnOffsetsCommitAbort(t *testing.T) {
	for v := int16(0); v <= 4; v++ {
		c := newTestCluster(t, TransactionsV2(false))
		const id = "offsets"
		cc := dial(t, c.Addrs()[c.TransactionCoordinator(id)])
		group := groupOn(c, (c.TransactionCoordinator(id)+1)%3)
		gc := dial(t, c.Addrs()[c.GroupCoordinator(group)])
		pid, epoch := cc.mustInitTxn(id)

		// Without AddOffsetsToTxn the group is not in the transaction.
		if got := gc.txnCommit(v, offsetsReq(id, group, pid, epoch, 10)); !codesAre(got, 48, 48) {
			t.Fatalf("v%d: TxnOffsetCommit without AddOffsetsToTxn: %v", v, got)
		}
		if got := cc.addOffsets(v, id, pid, epoch, group); got != 0 {
			t.Fatalf("v%d: AddOffsetsToTxn: error %d", v, got)
		}
		if got := gc.txnCommit(v, offsetsReq(id, group, pid, epoch, 10)); !codesAre(got, 0, 0) {
			t.Fatalf("v%d: TxnOffsetCommit: %v", v, got)
		}
		checkOffsets(t, c, group, map[string]map[int32]CommittedOffset{}, "staged")
		// A second commit in the same transaction replaces the first.
		if got := gc.txnCommit(v, offsetsReq(id, group, pid, epoch, 20)); !codesAre(got, 0, 0) {
			t.Fatalf("v%d: second TxnOffsetCommit: %v", v, got)
		}
		if got := cc.endTxn(3, id, pid, epoch, true).ErrorCode; got != 0 {
			t.Fatalf("v%d: EndTxn commit: error %d", v, got)
		}
		checkOffsets(t, c, group, wantOffsets(20, v), "committed")

		// The next transaction aborts: the group keeps the offsets it had.
		if got := cc.addOffsets(v, id, pid, epoch, group); got != 0 {
			t.Fatalf("v%d: AddOffsetsToTxn: error %d", v, got)
		}
		if got := gc.txnCommit(v, offsetsReq(id, group, pid, epoch, 30)); !codesAre(got, 0, 0) {
			t.Fatalf("v%d: TxnOffsetCommit: %v", v, got)
		}
		if got := cc.endTxn(3, id, pid, epoch, false).ErrorCode; got != 0 {
			t.Fatalf("v%d: EndTxn abort: error %d", v, got)
		}
		checkOffsets(t, c, group, wantOffsets(20, v), "aborted")
		// The group left the transaction with its end.
		if got := gc.txnCommit(v, offsetsReq(id, group, pid, epoch, 40)); !codesAre(got, 48, 48) {
			t.Fatalf("v%d: TxnOffsetCommit after the end: %v", v, got)
		}
		// An AddOffsetsToTxn alone starts a transaction that EndTxn can end.
		if got := cc.addOffsets(v, id, pid, epoch, "other"); got != 0 {
			t.Fatalf("v%d: AddOffsetsToTxn: error %d", v, got)
		}
		if got := cc.endTxn(3, id, pid, epoch, true).ErrorCode; got != 0 {
			t.Fatalf("v%d: EndTxn of offsets alone: error %d", v, got)
		}
	}
}

// TestTxnOffsetsV2 checks TxnOffsetCommit v5+ with transactions V2: the group joins the
// transaction without AddOffsetsToTxn, and v6 names topics by id.
func TestTxnOffsetsV2(t *testing.T) {
	c := newTestCluster(t, SeedTopic("in", 2))
	const id = "offsets-v2"
	cc := dial(t, c.Addrs()[c.TransactionCoordinator(id)])
	group := groupOn(c, 0)
	gc := dial(t, c.Addrs()[0])
	pid, epoch := cc.mustInitTxn(id)
	if got := gc.txnCommit(4, offsetsReq(id, group, pid, epoch, 10)); !codesAre(got, 48, 48) {
		t.Fatalf("v4 without AddOffsetsToTxn: %v", got)
	}
	if got := gc.txnCommit(5, offsetsReq(id, group, pid, epoch, 10)); !codesAre(got, 0, 0) {
		t.Fatalf("v5: %v", got)
	}
	end := cc.endTxn(5, id, pid, epoch, true)
	if end.ErrorCode != 0 || end.ProducerEpoch != epoch+1 {
		t.Fatalf("EndTxn v5: %+v", end)
	}
	checkOffsets(t, c, group, wantOffsets(10, 5), "committed at v5")

	epoch = end.ProducerEpoch
	req := offsetsReq(id, group, pid, epoch, 50)
	req.Topics[0].TopicID = c.topicID("in")
	req.Topics = append(req.Topics, wire.TxnOffsetCommitTopic{TopicID: wire.UUID{1}, Partitions: []wire.TxnOffsetCommitPartition{{PartitionIndex: 0, CommittedOffset: 1}}})
	if got := gc.txnCommit(6, req); !codesAre(got, 0, 0, wire.ErrUnknownTopicID.Code) {
		t.Fatalf("v6: %v", got)
	}
	if got := cc.endTxn(5, id, pid, epoch, true).ErrorCode; got != 0 {
		t.Fatalf("EndTxn: error %d", got)
	}
	checkOffsets(t, c, group, wantOffsets(50, 6), "committed at v6")
}

// topicID returns the id of topic name.
func (c *Cluster) topicID(name string) wire.UUID {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.topics[name].id
}

func TestTxnOffsetCommitErrors(t *testing.T) {
	c := newTestCluster(t)
	const id = "errs"
	cc := dial(t, c.Addrs()[c.TransactionCoordinator(id)])
	group := groupOn(c, 1)
	gc := dial(t, c.Addrs()[1])
	pid, epoch := cc.mustInitTxn(id)
	if got := cc.addOffsets(4, id, pid, epoch, group); got != 0 {
		t.Fatalf("AddOffsetsToTxn: error %d", got)
	}
	long := strings.Repeat("x", 4097)
	tooLong := offsetsReq(id, group, pid, epoch, 1)
	tooLong.Topics[0].Partitions[1].CommittedMetadata = &long
	for _, tt := range []struct {
		name  string
		on    *testClient
		v     int16
		req   *wire.TxnOffsetCommitRequest
		codes []int16
	}{
		{"other broker", dial(t, c.Addrs()[2]), 3, offsetsReq(id, group, pid, epoch, 1), []int16{16, 16}},
		{"empty group", gc, 3, offsetsReq(id, "", pid, epoch, 1), []int16{24, 24}},
		{"unknown transactional id", gc, 3, offsetsReq("nobody", group, pid, epoch, 1), []int16{49, 49}},
		{"other producer id", gc, 3, offsetsReq(id, group, pid+1, epoch, 1), []int16{49, 49}},
		{"old epoch", gc, 3, offsetsReq(id, group, pid, epoch-1, 1), []int16{90, 90}},
		{"metadata too large", gc, 3, tooLong, []int16{0, 12}},
	} {
		if got := tt.on.txnCommit(tt.v, tt.req); !codesAre(got, tt.codes...) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.codes)
		}
	}
	for _, tt := range []struct {
		name       string
		v          int16
		pid        int64
		epoch      int16
		id, broker string
		want       int16
	}{
		{"other coordinator", 4, pid, epoch, id, c.Addrs()[(c.TransactionCoordinator(id)+1)%3], 16},
		{"unknown transactional id", 4, pid, epoch, sameCoordinator(c, id), c.Addrs()[c.TransactionCoordinator(id)], 49},
		{"old epoch", 4, pid, epoch - 1, id, c.Addrs()[c.TransactionCoordinator(id)], 90},
		{"old epoch at v1", 1, pid, epoch - 1, id, c.Addrs()[c.TransactionCoordinator(id)], 47},
	} {
		if got := dial(t, tt.broker).addOffsets(tt.v, tt.id, tt.pid, tt.epoch, group); got != tt.want {
			t.Errorf("AddOffsetsToTxn %s: error %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestTxnOffsetCommitMembers checks the consumer metadata of v3+ (KIP-447) against the
// membership SetGroupMembers set.
func TestTxnOffsetCommitMembers(t *testing.T) {
	c := newTestCluster(t, SeedTopic("in", 2))
	const id = "members"
	cc := dial(t, c.Addrs()[c.TransactionCoordinator(id)])
	group := groupOn(c, 0)
	gc := dial(t, c.Addrs()[0])
	pid, epoch := cc.mustInitTxn(id)
	cc.addOffsets(4, id, pid, epoch, group)
	commit := func(v int16, gen int32, member string, instance *string) int16 {
		t.Helper()
		req := offsetsReq(id, group, pid, epoch, 5)
		req.GenerationID, req.MemberID, req.GroupInstanceID = gen, member, instance
		return gc.txnCommit(v, req)[0]
	}
	inst := func(s string) *string { return &s }
	// No members: only commits from outside group management pass.
	for _, tt := range []struct {
		v      int16
		gen    int32
		member string
		want   int16
	}{
		{3, -1, "", 0},
		{3, 1, "m1", 22},
		{2, 1, "m1", 0}, // below v3 the metadata is not sent
	} {
		if got := commit(tt.v, tt.gen, tt.member, nil); got != tt.want {
			t.Errorf("no members, v%d gen %d member %q: error %d, want %d", tt.v, tt.gen, tt.member, got, tt.want)
		}
	}
	c.SetGroupMembers(group, 7, GroupMember{MemberID: "m1"}, GroupMember{MemberID: "m2", InstanceID: "static-2"})
	for _, tt := range []struct {
		gen      int32
		member   string
		instance *string
		want     int16
	}{
		{7, "m1", nil, 0},
		{7, "m2", inst("static-2"), 0},
		{-1, "", nil, 0},
		{6, "m1", nil, 22},
		{7, "m3", nil, 25},
		{7, "m1", inst("static-2"), 82},
	} {
		if got := commit(4, tt.gen, tt.member, tt.instance); got != tt.want {
			t.Errorf("gen %d member %q: error %d, want %d", tt.gen, tt.member, got, tt.want)
		}
	}
	// At v6 a group never seen with a generation is GROUP_ID_NOT_FOUND (KIP-1319).
	end := cc.endTxn(5, id, pid, epoch, false)
	req := offsetsReq(id, "never-seen", pid, end.ProducerEpoch, 5)
	req.Topics[0].TopicID = c.topicID("in")
	req.GenerationID, req.MemberID = 3, "m"
	ncc := dial(t, c.Addrs()[c.GroupCoordinator("never-seen")])
	if got := ncc.txnCommit(6, req); !codesAre(got, 69, 69) {
		t.Fatalf("v6 unknown group: %v", got)
	}
	if got := ncc.txnCommit(5, req); !codesAre(got, 22, 22) {
		t.Fatalf("v5 unknown group: %v", got)
	}
}

// TestTxnOffsetsFencedAndTimedOut checks that offsets staged in a transaction that is fenced
// by a new producer or times out are dropped.
func TestTxnOffsetsFencedAndTimedOut(t *testing.T) {
	c := newTestCluster(t, TransactionsV2(false))
	const id = "fenced"
	cc := dial(t, c.Addrs()[c.TransactionCoordinator(id)])
	group := groupOn(c, 2)
	gc := dial(t, c.Addrs()[2])
	pid, epoch := cc.mustInitTxn(id)
	cc.addOffsets(4, id, pid, epoch, group)
	if got := gc.txnCommit(4, offsetsReq(id, group, pid, epoch, 1)); !codesAre(got, 0, 0) {
		t.Fatal(got)
	}
	if got := cc.initTxn(4, id, 60000, -1, -1).ErrorCode; got != wire.ErrConcurrentTransactions.Code {
		t.Fatalf("fencing InitProducerId: error %d", got)
	}
	pid, epoch = cc.mustInitTxn(id)
	if got := cc.endTxn(3, id, pid, epoch, true).ErrorCode; got != wire.ErrInvalidTxnState.Code {
		t.Fatalf("EndTxn after the fence: error %d", got)
	}
	checkOffsets(t, c, group, map[string]map[int32]CommittedOffset{}, "fenced")

	resp := cc.initTxn(4, id, 50, -1, -1)
	pid, epoch = resp.ProducerID, resp.ProducerEpoch
	cc.addOffsets(4, id, pid, epoch, group)
	if got := gc.txnCommit(4, offsetsReq(id, group, pid, epoch, 2)); !codesAre(got, 0, 0) {
		t.Fatal(got)
	}
	// Wait for the coordinator to abort the transaction (transaction.timeout.ms of 50 ms).
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.expireTransactions(time.Now())
		if tx := c.txnFor(id); tx.state != txnOngoing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the transaction never timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := cc.endTxn(3, id, pid, epoch, true).ErrorCode; got != wire.ErrProducerFenced.Code {
		t.Fatalf("EndTxn after the timeout: error %d", got)
	}
	checkOffsets(t, c, group, map[string]map[int32]CommittedOffset{}, "timed out")
}

func TestTxnOffsetsFaults(t *testing.T) {
	c := newTestCluster(t, TransactionsV2(false))
	const id = "faulty"
	cc := dial(t, c.Addrs()[c.TransactionCoordinator(id)])
	group := groupOn(c, 0)
	gc := dial(t, c.Addrs()[0])
	pid, epoch := cc.mustInitTxn(id)

	h := c.InjectFault(Fault{Key: wire.KeyAddOffsetsToTxn, Broker: AnyBroker, ErrorCode: wire.ErrCoordinatorLoadInProgress.Code})
	if got := cc.addOffsets(4, id, pid, epoch, group); got != wire.ErrCoordinatorLoadInProgress.Code || h.Hits() != 1 {
		t.Fatalf("faulted AddOffsetsToTxn: error %d, %d hits", got, h.Hits())
	}
	// The fault stood in for the coordinator: the group did not join.
	if got := gc.txnCommit(4, offsetsReq(id, group, pid, epoch, 1)); !codesAre(got, 48, 48) {
		t.Fatalf("TxnOffsetCommit after a faulted AddOffsetsToTxn: %v", got)
	}
	c.InjectFault(Fault{Key: wire.KeyAddOffsetsToTxn, Broker: AnyBroker, ErrorCode: wire.ErrRequestTimedOut.Code, AppendAnyway: true})
	if got := cc.addOffsets(4, id, pid, epoch, group); got != wire.ErrRequestTimedOut.Code {
		t.Fatalf("AppendAnyway AddOffsetsToTxn: error %d", got)
	}
	c.InjectFault(Fault{Key: wire.KeyTxnOffsetCommit, Broker: 0, ErrorCode: wire.ErrNotCoordinator.Code})
	if got := gc.txnCommit(4, offsetsReq(id, group, pid, epoch, 1)); !codesAre(got, 16, 16) {
		t.Fatalf("faulted TxnOffsetCommit: %v", got)
	}
	c.InjectFault(Fault{Key: wire.KeyTxnOffsetCommit, Broker: 0, ErrorCode: wire.ErrRequestTimedOut.Code, AppendAnyway: true})
	if got := gc.txnCommit(4, offsetsReq(id, group, pid, epoch, 3)); !codesAre(got, 7, 7) {
		t.Fatalf("AppendAnyway TxnOffsetCommit: %v", got)
	}
	c.InjectFault(Fault{Key: wire.KeyTxnOffsetCommit, Broker: AnyBroker, DropConnection: true})
	gc.send(4, offsetsReq(id, group, pid, epoch, 4))
	gc.expectClosed()
	// Both requests that went through (AppendAnyway, then the dropped one) staged their
	// offsets: the last one wins.
	if got := cc.endTxn(3, id, pid, epoch, true).ErrorCode; got != 0 {
		t.Fatalf("EndTxn: error %d", got)
	}
	checkOffsets(t, c, group, wantOffsets(4, 4), "committed")
	if n := c.RequestCount(wire.KeyTxnOffsetCommit); n != 4 {
		t.Fatalf("%d TxnOffsetCommit requests counted, want 4", n)
	}
}

func TestMoveGroupCoordinator(t *testing.T) {
	c := newTestCluster(t)
	const group = "moving"
	from := c.GroupCoordinator(group)
	to := (from + 1) % 3
	if err := c.MoveGroupCoordinator(group, to); err != nil {
		t.Fatal(err)
	}
	if err := c.MoveGroupCoordinator(group, 9); err == nil {
		t.Fatal("moved to broker 9")
	}
	var resp wire.FindCoordinatorResponse
	dial(t, c.Addrs()[from]).roundTrip(3, &wire.FindCoordinatorRequest{CoordinatorKey: group, KeyType: wire.CoordinatorKeyGroup}, &resp)
	if resp.ErrorCode != 0 || resp.NodeID != to {
		t.Fatalf("FindCoordinator after the move: %+v", resp)
	}
	const id = "mover"
	cc := dial(t, c.Addrs()[c.TransactionCoordinator(id)])
	pid, epoch := cc.mustInitTxn(id)
	cc.addOffsets(4, id, pid, epoch, group)
	if got := dial(t, c.Addrs()[from]).txnCommit(3, offsetsReq(id, group, pid, epoch, 1)); !codesAre(got, 16, 16) {
		t.Fatalf("old coordinator: %v", got)
	}
	if got := dial(t, c.Addrs()[to]).txnCommit(3, offsetsReq(id, group, pid, epoch, 1)); !codesAre(got, 0, 0) {
		t.Fatalf("new coordinator: %v", got)
	}
}

func TestTxnOffsetCommitVersions(t *testing.T) {
	for _, v2 := range []bool{true, false} {
		c := newTestCluster(t, TransactionsV2(v2))
		tc := dial(t, c.Addrs()[0])
		var resp wire.ApiVersionsResponse
		tc.roundTrip(3, &wire.ApiVersionsRequest{ClientSoftwareName: "gregor", ClientSoftwareVersion: "1"}, &resp)
		want := map[int16]int16{wire.KeyAddOffsetsToTxn: 4, wire.KeyTxnOffsetCommit: 6}
		if !v2 {
			want[wire.KeyTxnOffsetCommit] = 4
		}
		got := map[int16]int16{}
		for _, k := range resp.APIKeys {
			if _, ok := want[k.APIKey]; ok {
				got[k.APIKey] = k.MaxVersion
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("v2=%v: advertised %v, want %v", v2, got, want)
		}
		if !v2 {
			tc.send(5, offsetsReq("x", "g", 1, 0, 1))
			tc.expectClosed()
		}
	}
}

// FuzzTxnOffsetCommit feeds TxnOffsetCommit bodies at any version to the group coordinator of
// a one-broker cluster whose transaction has a group in it. Nothing may panic; a body that
// decodes gets one answer per partition, in request order; staged offsets never show in
// CommittedOffsets before the transaction commits, and after it they are exactly the last
// offsets staged without error.
func FuzzTxnOffsetCommit(f *testing.F) {
	for v := int16(0); v <= 6; v++ {
		req := offsetsReq("fz", "g", 1000, 0, 7)
		req.Topics[0].TopicID = wire.UUID{1}
		f.Add(byte(v), req.AppendTo(nil, v))
	}
	c, err := NewCluster(NumBrokers(1))
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	f.Fuzz(func(t *testing.T, vb byte, body []byte) {
		v := int16(vb % 7)
		c.coord.mu.Lock()
		c.coord.txns = nil
		c.coord.mu.Unlock()
		c.groups.mu.Lock()
		c.groups.m = nil
		c.groups.mu.Unlock()
		cn := &conn{b: c.brokers[0], nc: &fakeConn{}, done: make(chan struct{})}
		call := func(version int16, req wire.Request, resp wire.Response) bool {
			frame := wire.AppendRequest(nil, wire.RequestHeader{APIVersion: version, CorrelationID: 1}, req)
			return roundTripFake(t, cn, frame[4:], version, resp)
		}
		id := "fz"
		var init wire.InitProducerIDResponse
		if !call(4, &wire.InitProducerIDRequest{TransactionalID: &id, TransactionTimeoutMs: 60000, ProducerID: -1, ProducerEpoch: -1}, &init) || init.ErrorCode != 0 {
			t.Fatalf("InitProducerId: %+v", init)
		}
		var add wire.AddOffsetsToTxnResponse
		if !call(4, &wire.AddOffsetsToTxnRequest{TransactionalID: id, ProducerID: init.ProducerID, ProducerEpoch: init.ProducerEpoch, GroupID: "g"}, &add) || add.ErrorCode != 0 {
			t.Fatalf("AddOffsetsToTxn: %+v", add)
		}

		var req wire.TxnOffsetCommitRequest
		decodes := req.Decode(body, v) == nil
		hdr := wire.RequestHeader{APIKey: wire.KeyTxnOffsetCommit, APIVersion: v, CorrelationID: 2}
		frame := append(hdr.AppendTo(nil), body...)
		var resp wire.TxnOffsetCommitResponse
		answered := roundTripFake(t, cn, frame, v, &resp)
		if answered != decodes {
			t.Fatalf("v%d: decodes %v, answered %v", v, decodes, answered)
		}
		if !decodes {
			return
		}
		if len(resp.Topics) != len(req.Topics) {
			t.Fatalf("v%d: %d topics answered for %d", v, len(resp.Topics), len(req.Topics))
		}
		want := map[string]map[int32]CommittedOffset{}
		for i, rt := range resp.Topics {
			if len(rt.Partitions) != len(req.Topics[i].Partitions) {
				t.Fatalf("v%d: topic %d: %d partitions answered for %d", v, i, len(rt.Partitions), len(req.Topics[i].Partitions))
			}
			for j, p := range rt.Partitions {
				rp := req.Topics[i].Partitions[j]
				if p.PartitionIndex != rp.PartitionIndex {
					t.Fatalf("v%d: answer for partition %d in place of %d", v, p.PartitionIndex, rp.PartitionIndex)
				}
				if p.ErrorCode != 0 {
					continue
				}
				name := req.Topics[i].Name
				if want[name] == nil {
					want[name] = map[int32]CommittedOffset{}
				}
				o := CommittedOffset{Offset: rp.CommittedOffset, LeaderEpoch: rp.CommittedLeaderEpoch}
				if rp.CommittedMetadata != nil {
					o.Metadata = *rp.CommittedMetadata
				}
				want[name][rp.PartitionIndex] = o
			}
		}
		if got := c.CommittedOffsets("g"); len(got) != 0 {
			t.Fatalf("v%d: offsets visible before the commit: %v", v, got)
		}
		var end wire.EndTxnResponse
		if !call(3, &wire.EndTxnRequest{TransactionalID: id, ProducerID: init.ProducerID, ProducerEpoch: init.ProducerEpoch, Committed: true}, &end) || end.ErrorCode != 0 {
			t.Fatalf("EndTxn: %+v", end)
		}
		if req.GroupID != "g" {
			want = map[string]map[int32]CommittedOffset{}
		}
		if got := c.CommittedOffsets("g"); !reflect.DeepEqual(got, want) {
			t.Fatalf("v%d: committed %v, want %v", v, got, want)
		}
	})
}

// roundTripFake hands one request frame (without its size) to cn and decodes the answer
// into resp; it reports whether there was one.
func roundTripFake(t *testing.T, cn *conn, frame []byte, version int16, resp wire.Response) bool {
	t.Helper()
	fc := cn.nc.(*fakeConn)
	fc.out = nil
	cn.handle(frame)
	if len(fc.out) == 0 {
		return false
	}
	body, err := wire.ReadFrame(bytes.NewReader(fc.out), nil, len(fc.out))
	if err != nil {
		t.Fatal(err)
	}
	_, body, err = wire.ParseResponseHeader(body, resp.Key(), version)
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Decode(body, version); err != nil {
		t.Fatalf("%s v%d answer: %v", wire.APIName(resp.Key()), version, err)
	}
	return true
}
