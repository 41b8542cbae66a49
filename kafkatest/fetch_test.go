package kafkatest

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// fetchReq returns a consumer's Fetch of one partition from offset, addressing the topic by
// id from v13.
func fetchReq(c *Cluster, version int16, topic string, partition int32, offset int64) *wire.FetchRequest {
	ft := wire.FetchTopic{Name: topic, Partitions: []wire.FetchPartition{{
		Index: partition, CurrentLeaderEpoch: -1, FetchOffset: offset, LastFetchedEpoch: -1, LogStartOffset: -1,
		PartitionMaxBytes: 1 << 20, HighWatermark: math.MaxInt64,
	}}}
	if version >= 13 {
		ft.Name = ""
		if t := c.topicByName(topic); t != nil {
			ft.TopicID = t.id
		}
	}
	return &wire.FetchRequest{ReplicaID: -1, ReplicaState: wire.FetchReplicaState{ReplicaID: -1, ReplicaEpoch: -1},
		MaxBytes: 50 << 20, SessionEpoch: -1, Topics: []wire.FetchTopic{ft}}
}

// fetch sends req at version and returns the answer's only partition.
func (tc *testClient) fetch(version int16, req *wire.FetchRequest) wire.FetchPartitionResponse {
	tc.t.Helper()
	var resp wire.FetchResponse
	tc.roundTrip(version, req, &resp)
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		tc.t.Fatalf("Fetch v%d: error %d, %d topics; want one partition", version, resp.ErrorCode, len(resp.Topics))
	}
	return resp.Topics[0].Partitions[0]
}

// fetchedRecord is a record as a consumer decodes it from a Fetch answer.
type fetchedRecord struct {
	offset int64
	value  string
}

// decodeFetched parses the batches of a Fetch answer as a consumer does, checking each
// batch's CRC, and returns its data records from offset on, and the control batches' count.
func decodeFetched(t testing.TB, records []byte, from int64) (recs []fetchedRecord, controls int) {
	t.Helper()
	for len(records) > 0 {
		h, rs, rest, err := wire.DecodeBatch(records, func(codec int8, src []byte) ([]byte, error) {
			return nil, fmt.Errorf("batch served compressed (codec %d)", codec)
		})
		if err != nil {
			t.Fatalf("fetched batch: %v", err)
		}
		records = rest
		if h.Attributes&wire.AttrControl != 0 {
			controls++
			continue
		}
		for _, r := range rs {
			if off := h.BaseOffset + int64(r.OffsetDelta); off >= from {
				recs = append(recs, fetchedRecord{off, string(r.Value)})
			}
		}
	}
	return recs, controls
}

func TestFetchEveryVersion(t *testing.T) {
	c := newTestCluster(t, SeedTopic("t", 2))
	tc := dialLeader(t, c, "t", 1)
	var want []fetchedRecord
	codecs := []int8{wire.CodecNone, wire.CodecGzip, wire.CodecSnappy, wire.CodecLZ4, wire.CodecZstd}
	for i, codec := range codecs {
		s := plainSpec()
		s.codec = codec
		recs := []rec{{value: fmt.Appendf(nil, "a%d", i)}, {value: fmt.Appendf(nil, "b%d", i)}}
		if r := tc.produce(9, "t", 1, makeBatch(t, s, recs...)); r.ErrorCode != 0 {
			t.Fatalf("produce: %d", r.ErrorCode)
		}
		want = append(want, fetchedRecord{int64(2 * i), string(recs[0].value)}, fetchedRecord{int64(2*i + 1), string(recs[1].value)})
	}
	for v := int16(4); v <= 18; v++ {
		for _, from := range []int64{0, 3, 9, 10} {
			pr := tc.fetch(v, fetchReq(c, v, "t", 1, from))
			if pr.ErrorCode != 0 || pr.HighWatermark != 10 || pr.LastStableOffset != 10 {
				t.Fatalf("v%d from %d: error %d, high watermark %d, LSO %d", v, from, pr.ErrorCode, pr.HighWatermark, pr.LastStableOffset)
			}
			if want := int64(-1); v >= 5 {
				want = 0
				if pr.LogStartOffset != want {
					t.Fatalf("v%d: log start offset %d", v, pr.LogStartOffset)
				}
			}
			if pr.AbortedTransactions != nil {
				t.Fatalf("v%d: read_uncommitted got aborted transactions %v", v, pr.AbortedTransactions)
			}
			got, _ := decodeFetched(t, pr.Records, from)
			if !slices.Equal(got, want[from:]) {
				t.Fatalf("v%d from %d: got %v, want %v", v, from, got, want[from:])
			}
		}
	}
	// The batches carry the leader epoch they were appended under.
	if err := c.MoveLeader("t", 1, c.Leader("t", 1)); err != nil {
		t.Fatal(err)
	}
	if r := tc.produce(9, "t", 1, makeBatch(t, plainSpec(), values(1)...)); r.ErrorCode != 0 {
		t.Fatalf("produce: %d", r.ErrorCode)
	}
	pr := tc.fetch(12, fetchReq(c, 12, "t", 1, 10))
	h, _, _, err := wire.ParseBatchHeader(pr.Records)
	if err != nil || h.BaseOffset != 10 || h.PartitionLeaderEpoch != 1 {
		t.Fatalf("batch after the epoch bump: %+v, %v", h, err)
	}
}

func TestFetchErrors(t *testing.T) {
	c := newTestCluster(t, SeedTopic("t", 2))
	leader := c.Leader("t", 0)
	tc := dial(t, c.Addrs()[leader])
	other := dial(t, c.Addrs()[(leader+1)%3])
	if r := tc.produce(9, "t", 0, makeBatch(t, plainSpec(), values(3)...)); r.ErrorCode != 0 {
		t.Fatalf("produce: %d", r.ErrorCode)
	}
	check := func(name string, tc *testClient, v int16, req *wire.FetchRequest, want int16) wire.FetchPartitionResponse {
		t.Helper()
		pr := tc.fetch(v, req)
		if pr.ErrorCode != want {
			t.Fatalf("%s v%d: error %d, want %d", name, v, pr.ErrorCode, want)
		}
		if want != 0 && (pr.HighWatermark != -1 || pr.LastStableOffset != -1 || len(pr.Records) != 0) {
			t.Fatalf("%s v%d: error answer carries %+v", name, v, pr)
		}
		return pr
	}
	check("unknown topic", tc, 12, fetchReq(c, 12, "nope", 0, 0), wire.ErrUnknownTopicOrPartition.Code)
	check("unknown topic id", tc, 13, fetchReq(c, 13, "nope", 0, 0), wire.ErrUnknownTopicID.Code)
	check("unknown partition", tc, 13, fetchReq(c, 13, "t", 2, 0), wire.ErrUnknownTopicOrPartition.Code)
	check("past the high watermark", tc, 4, fetchReq(c, 4, "t", 0, 4), wire.ErrOffsetOutOfRange.Code)
	check("negative offset", tc, 4, fetchReq(c, 4, "t", 0, -1), wire.ErrOffsetOutOfRange.Code)
	check("at the high watermark", tc, 4, fetchReq(c, 4, "t", 0, 3), 0)

	for _, v := range []int16{11, 12, 16} {
		pr := check("not the leader", other, v, fetchReq(c, v, "t", 0, 0), wire.ErrNotLeaderOrFollower.Code)
		wantLeader := wire.LeaderIDAndEpoch{LeaderID: -1, LeaderEpoch: -1}
		if v >= 12 {
			wantLeader = wire.LeaderIDAndEpoch{LeaderID: leader, LeaderEpoch: 0}
		}
		if pr.CurrentLeader != wantLeader {
			t.Fatalf("v%d: current leader %+v, want %+v", v, pr.CurrentLeader, wantLeader)
		}
	}
	var resp wire.FetchResponse
	other.roundTrip(16, fetchReq(c, 16, "t", 0, 0), &resp)
	if len(resp.NodeEndpoints) != 1 || resp.NodeEndpoints[0].NodeID != leader || resp.NodeEndpoints[0].Port == 0 {
		t.Fatalf("v16 node endpoints %+v", resp.NodeEndpoints)
	}

	if err := c.MoveLeader("t", 0, leader); err != nil { // epoch 1
		t.Fatal(err)
	}
	req := fetchReq(c, 12, "t", 0, 0)
	req.Topics[0].Partitions[0].CurrentLeaderEpoch = 0
	check("fenced epoch", tc, 12, req, wire.ErrFencedLeaderEpoch.Code)
	req.Topics[0].Partitions[0].CurrentLeaderEpoch = 2
	check("unknown epoch", tc, 12, req, wire.ErrUnknownLeaderEpoch.Code)
	req.Topics[0].Partitions[0].CurrentLeaderEpoch = 1
	check("current epoch", tc, 12, req, 0)

	// Sessions are never created: an incremental fetch names one that does not exist.
	req.SessionID, req.SessionEpoch = 0, 0
	tc.roundTrip(12, req, &resp)
	if resp.ErrorCode != 0 || resp.SessionID != 0 {
		t.Fatalf("session-creating fetch: error %d, session %d", resp.ErrorCode, resp.SessionID)
	}
	req.SessionID, req.SessionEpoch = 5, 1
	tc.roundTrip(12, req, &resp)
	if resp.ErrorCode != wire.ErrFetchSessionIDNotFound.Code || len(resp.Topics) != 0 {
		t.Fatalf("incremental fetch: error %d, %d topics", resp.ErrorCode, len(resp.Topics))
	}

	// A fault's error code is the response's from v7, every partition's below.
	c.InjectFault(Fault{Key: wire.KeyFetch, Broker: AnyBroker, ErrorCode: wire.ErrKafkaStorageError.Code, Times: 2})
	tc.roundTrip(7, fetchReq(c, 7, "t", 0, 0), &resp)
	if resp.ErrorCode != wire.ErrKafkaStorageError.Code {
		t.Fatalf("fault at v7: error %d", resp.ErrorCode)
	}
	check("fault at v6", tc, 6, fetchReq(c, 6, "t", 0, 0), wire.ErrKafkaStorageError.Code)
	// A fault naming a leader for a partition that does not exist.
	c.InjectFault(Fault{Key: wire.KeyFetch, Broker: AnyBroker, ErrorCode: wire.ErrNotLeaderOrFollower.Code})
	check("leader fault, unknown topic", tc, 6, fetchReq(c, 6, "nope", 0, 0), wire.ErrNotLeaderOrFollower.Code)

	bad := fetchReq(c, 4, "t", 0, 0)
	bad.IsolationLevel = 2
	tc.send(4, bad)
	tc.expectClosed()
}

func TestFetchMaxBytes(t *testing.T) {
	c := newTestCluster(t, NumBrokers(1), SeedTopic("t", 2))
	tc := dial(t, c.Addrs()[0])
	var size int
	for p := int32(0); p < 2; p++ {
		for range 3 {
			b := makeBatch(t, plainSpec(), values(2)...)
			size = len(b)
			if r := tc.produce(9, "t", p, b); r.ErrorCode != 0 {
				t.Fatalf("produce: %d", r.ErrorCode)
			}
		}
	}
	both := func(partMax, max int32) *wire.FetchRequest {
		req := fetchReq(c, 12, "t", 0, 0)
		req.MaxBytes = max
		p := req.Topics[0].Partitions[0]
		p.PartitionMaxBytes = partMax
		q := p
		q.Index = 1
		req.Topics[0].Partitions = []wire.FetchPartition{p, q}
		return req
	}
	for _, c := range []struct {
		partMax, max int32
		want         [2]int // batches per partition
	}{
		{1 << 20, 1 << 20, [2]int{3, 3}},
		{int32(2 * size), 1 << 20, [2]int{2, 2}},
		{1, 1 << 20, [2]int{1, 0}}, // the first batch goes out whatever its size
		{1 << 20, int32(4 * size), [2]int{3, 1}},
		{1 << 20, 0, [2]int{1, 0}},
	} {
		var resp wire.FetchResponse
		tc.roundTrip(12, both(c.partMax, c.max), &resp)
		for i, pr := range resp.Topics[0].Partitions {
			if got := len(pr.Records) / size; got != c.want[i] || len(pr.Records)%size != 0 || pr.ErrorCode != 0 {
				t.Errorf("partition max %d, max %d: partition %d got %d bytes (%d batches), want %d batches", c.partMax, c.max, i, len(pr.Records), got, c.want[i])
			}
		}
	}
}

// TestFetchWaits checks MinBytes and MaxWaitMs: a fetch at the end of the log waits for an
// append, an empty answer comes after MaxWaitMs, and closing the cluster ends a wait.
func TestFetchWaits(t *testing.T) {
	c := newTestCluster(t, NumBrokers(1), SeedTopic("t", 1))
	tc := dial(t, c.Addrs()[0])
	producer := dial(t, c.Addrs()[0])

	req := fetchReq(c, 12, "t", 0, 0)
	req.MinBytes, req.MaxWaitMs = 1, 30000
	corr := tc.send(12, req)
	// Produce only once the broker holds the fetch, so that the fetch must wait for it.
	waitFor(t, func() bool { return c.RequestCount(wire.KeyFetch) == 1 })
	tc.expectSilence(50 * time.Millisecond)
	if r := producer.produce(9, "t", 0, makeBatch(t, plainSpec(), values(2)...)); r.ErrorCode != 0 {
		t.Fatalf("produce: %d", r.ErrorCode)
	}
	var resp wire.FetchResponse
	tc.recv(corr, 12, &resp)
	if got, _ := decodeFetched(t, resp.Topics[0].Partitions[0].Records, 0); len(got) != 2 {
		t.Fatalf("waiting fetch got %v", got)
	}

	// Nothing arrives: the answer is empty after MaxWaitMs.
	req = fetchReq(c, 12, "t", 0, 2)
	req.MinBytes, req.MaxWaitMs = 1, 20
	if pr := tc.fetch(12, req); pr.ErrorCode != 0 || len(pr.Records) != 0 || pr.HighWatermark != 2 {
		t.Fatalf("empty fetch: %+v", pr)
	}

	// A wait that Close interrupts: the cluster's goroutines must all end.
	req.MaxWaitMs = math.MaxInt32
	tc.send(12, req)
	waitFor(t, func() bool { return c.RequestCount(wire.KeyFetch) == 3 })
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close blocked by a waiting fetch")
	}
	tc.expectClosed()
}

// waitFor polls cond until it holds, for at most 10 s.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestFetchReadCommitted(t *testing.T) {
	c := newTestCluster(t, NumBrokers(1), SeedTopic("t", 1))
	tc := dial(t, c.Addrs()[0])
	if r := tc.produce(9, "t", 0, makeBatch(t, plainSpec(), values(2)...)); r.ErrorCode != 0 { // offsets 0-1
		t.Fatalf("produce: %d", r.ErrorCode)
	}
	pid, epoch := tc.mustInitTxn("tx")
	if codes := tc.addPartitions(3, "tx", pid, epoch, "t", 0); !codesAre(codes, 0) {
		t.Fatalf("AddPartitionsToTxn: %v", codes)
	}
	if r := tc.produceTxn(11, "tx", "t", 0, makeBatch(t, txnSpec(pid, epoch, 0), values(3)...)); r.ErrorCode != 0 { // 2-4
		t.Fatalf("produce: %d", r.ErrorCode)
	}
	if r := tc.produce(9, "t", 0, makeBatch(t, plainSpec(), values(1)...)); r.ErrorCode != 0 { // 5
		t.Fatalf("produce: %d", r.ErrorCode)
	}
	committed := func(from int64) wire.FetchPartitionResponse {
		req := fetchReq(c, 12, "t", 0, from)
		req.IsolationLevel = wire.ReadCommitted
		return tc.fetch(12, req)
	}
	pr := committed(0)
	if pr.HighWatermark != 6 || pr.LastStableOffset != 2 {
		t.Fatalf("open transaction: high watermark %d, LSO %d; want 6, 2", pr.HighWatermark, pr.LastStableOffset)
	}
	if got, _ := decodeFetched(t, pr.Records, 0); len(got) != 2 || got[1].offset != 1 {
		t.Fatalf("read_committed before the commit got %v", got)
	}
	if pr := tc.fetch(12, fetchReq(c, 12, "t", 0, 0)); pr.LastStableOffset != 2 {
		t.Fatalf("read_uncommitted: LSO %d", pr.LastStableOffset)
	} else if got, _ := decodeFetched(t, pr.Records, 0); len(got) != 6 {
		t.Fatalf("read_uncommitted got %d records, want 6", len(got))
	}
	// ListOffsets latest follows the isolation level.
	if got := listOffset(t, tc, 5, "t", 0, wire.ListOffsetsLatest, wire.ReadCommitted); got.Offset != 2 {
		t.Fatalf("latest, read_committed: %+v", got)
	}
	if got := listOffset(t, tc, 5, "t", 0, wire.ListOffsetsLatest, wire.ReadUncommitted); got.Offset != 6 {
		t.Fatalf("latest, read_uncommitted: %+v", got)
	}

	// Abort: the LSO moves to the end (offset 6 is the marker), and the aborted transaction
	// is listed with its first offset.
	if r := tc.endTxn(4, "tx", pid, epoch, false); r.ErrorCode != 0 {
		t.Fatalf("EndTxn: %d", r.ErrorCode)
	}
	pr = committed(0)
	if pr.HighWatermark != 7 || pr.LastStableOffset != 7 {
		t.Fatalf("after the abort: high watermark %d, LSO %d; want 7, 7", pr.HighWatermark, pr.LastStableOffset)
	}
	if !slices.Equal(pr.AbortedTransactions, []wire.FetchAbortedTransaction{{ProducerID: pid, FirstOffset: 2}}) {
		t.Fatalf("aborted transactions %+v", pr.AbortedTransactions)
	}
	if _, controls := decodeFetched(t, pr.Records, 0); controls != 1 {
		t.Fatalf("%d control batches, want the abort marker", controls)
	}
	// From past the aborted data, nothing is listed.
	if pr := committed(5); len(pr.AbortedTransactions) != 0 || pr.AbortedTransactions == nil {
		t.Fatalf("from offset 5: aborted transactions %+v, want an empty list", pr.AbortedTransactions)
	}

	// A committed transaction is not listed.
	if codes := tc.addPartitions(3, "tx", pid, epoch, "t", 0); !codesAre(codes, 0) {
		t.Fatalf("AddPartitionsToTxn: %v", codes)
	}
	if r := tc.produceTxn(11, "tx", "t", 0, makeBatch(t, txnSpec(pid, epoch, 3), values(1)...)); r.ErrorCode != 0 { // 7
		t.Fatalf("produce: %d", r.ErrorCode)
	}
	if pr := committed(7); pr.LastStableOffset != 7 || len(pr.Records) != 0 {
		t.Fatalf("second transaction open: LSO %d, %d bytes", pr.LastStableOffset, len(pr.Records))
	}
	if r := tc.endTxn(4, "tx", pid, epoch, true); r.ErrorCode != 0 {
		t.Fatalf("EndTxn: %d", r.ErrorCode)
	}
	pr = committed(7)
	got, _ := decodeFetched(t, pr.Records, 7)
	if pr.LastStableOffset != 9 || len(got) != 1 || len(pr.AbortedTransactions) != 0 {
		t.Fatalf("after the commit: LSO %d, records %v, aborted %v", pr.LastStableOffset, got, pr.AbortedTransactions)
	}
}

func listOffset(t testing.TB, tc *testClient, version int16, topic string, partition int32, ts int64, isolation int8) wire.ListOffsetsPartitionResponse {
	t.Helper()
	var resp wire.ListOffsetsResponse
	tc.roundTrip(version, &wire.ListOffsetsRequest{ReplicaID: -1, IsolationLevel: isolation, Topics: []wire.ListOffsetsTopic{{
		Name: topic, Partitions: []wire.ListOffsetsPartition{{Index: partition, CurrentLeaderEpoch: -1, Timestamp: ts}},
	}}}, &resp)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("ListOffsets answer: %+v", resp)
	}
	return resp.Topics[0].Partitions[0]
}

func TestListOffsets(t *testing.T) {
	c := newTestCluster(t, SeedTopic("t", 1))
	tc := dialLeader(t, c, "t", 0)
	base := int64(1700000000000)
	s := plainSpec()
	s.baseTimestamp = base
	tc.produce(9, "t", 0, makeBatch(t, s, rec{value: []byte("a")}, rec{value: []byte("b"), ts: base + 10}, rec{value: []byte("c"), ts: base + 5})) // 0-2
	s.baseTimestamp = base + 20
	s.codec = wire.CodecGzip
	tc.produce(9, "t", 0, makeBatch(t, s, rec{value: []byte("d")}, rec{value: []byte("e"), ts: base + 30})) // 3-4

	type want struct{ ts, offset int64 }
	for v := int16(1); v <= 11; v++ {
		for _, c := range []struct {
			ts   int64
			want want
		}{
			{wire.ListOffsetsEarliest, want{-1, 0}},
			{wire.ListOffsetsLatest, want{-1, 5}},
			{wire.ListOffsetsEarliestLocal, want{-1, 0}},
			{wire.ListOffsetsMaxTimestamp, want{base + 30, 4}},
			{wire.ListOffsetsLatestTiered, want{-1, -1}},
			{wire.ListOffsetsEarliestPendingUpload, want{-1, -1}},
			{0, want{base, 0}},
			{base, want{base, 0}},
			{base + 6, want{base + 10, 1}},
			{base + 11, want{base + 20, 3}},
			{base + 21, want{base + 30, 4}},
			{base + 31, want{-1, -1}},
		} {
			got := listOffset(t, tc, v, "t", 0, c.ts, 0)
			if got.ErrorCode != 0 || got.Timestamp != c.want.ts || got.Offset != c.want.offset {
				t.Errorf("v%d timestamp %d: got %+v, want %+v", v, c.ts, got, c.want)
			}
			if wantEpoch := int32(-1); v >= 4 && got.Offset >= 0 {
				wantEpoch = 0
				if got.LeaderEpoch != wantEpoch {
					t.Errorf("v%d timestamp %d: leader epoch %d", v, c.ts, got.LeaderEpoch)
				}
			}
		}
	}
	if got := listOffset(t, tc, 5, "nope", 0, -1, 0); got.ErrorCode != wire.ErrUnknownTopicOrPartition.Code {
		t.Fatalf("unknown topic: %+v", got)
	}
	other := dial(t, c.Addrs()[(c.Leader("t", 0)+1)%3])
	if got := listOffset(t, other, 5, "t", 0, -1, 0); got.ErrorCode != wire.ErrNotLeaderOrFollower.Code {
		t.Fatalf("not the leader: %+v", got)
	}
	var resp wire.ListOffsetsResponse
	tc.roundTrip(4, &wire.ListOffsetsRequest{ReplicaID: -1, Topics: []wire.ListOffsetsTopic{{
		Name: "t", Partitions: []wire.ListOffsetsPartition{{Index: 0, CurrentLeaderEpoch: 3, Timestamp: -1}},
	}}}, &resp)
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != wire.ErrUnknownLeaderEpoch.Code {
		t.Fatalf("newer leader epoch: error %d", code)
	}
	tc.send(2, &wire.ListOffsetsRequest{IsolationLevel: 7})
	tc.expectClosed()
}

// TestRetention checks RetainRecords and RetainBytes: the oldest batches go, whole, the log
// start offset moves, Fetch below it is OFFSET_OUT_OF_RANGE and ListOffsets reports it.
func TestRetention(t *testing.T) {
	batch := func(t *testing.T, n int) []byte { return makeBatch(t, plainSpec(), values(n)...) }
	size := len(sealBatch(&wire.BatchHeader{}, nil)) // the header; records add to it
	for _, tc := range []struct {
		name      string
		opt       Option
		wantStart int64
	}{
		// Five batches of 4 records; at most 10 offsets kept: batches 3 and 4 (offsets 12-19).
		{"records", RetainRecords(10), 12},
		// At most three batches' bytes.
		{"bytes", RetainBytes(int64(3 * (size + len(batch(t, 4)) - wire.RecordBatchHeaderSize))), 8},
		{"one batch always kept", RetainRecords(1), 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCluster(t, NumBrokers(1), SeedTopic("t", 1), tc.opt)
			cl := dial(t, c.Addrs()[0])
			for range 5 {
				if r := cl.produce(9, "t", 0, batch(t, 4)); r.ErrorCode != 0 {
					t.Fatalf("produce: %d", r.ErrorCode)
				}
			}
			if got := listOffset(t, cl, 5, "t", 0, wire.ListOffsetsEarliest, 0); got.Offset != tc.wantStart {
				t.Fatalf("earliest %d, want %d", got.Offset, tc.wantStart)
			}
			if got := listOffset(t, cl, 5, "t", 0, wire.ListOffsetsLatest, 0); got.Offset != 20 {
				t.Fatalf("latest %d, want 20", got.Offset)
			}
			if pr := cl.fetch(12, fetchReq(c, 12, "t", 0, tc.wantStart-1)); pr.ErrorCode != wire.ErrOffsetOutOfRange.Code {
				t.Fatalf("fetch below the log start: error %d", pr.ErrorCode)
			}
			pr := cl.fetch(12, fetchReq(c, 12, "t", 0, tc.wantStart))
			got, _ := decodeFetched(t, pr.Records, 0)
			if pr.LogStartOffset != tc.wantStart || int64(len(got)) != 20-tc.wantStart || got[0].offset != tc.wantStart {
				t.Fatalf("fetch from the log start: log start %d, %d records", pr.LogStartOffset, len(got))
			}
			recs := c.Records("t", 0)
			if int64(len(recs)) != 20-tc.wantStart || recs[0].Offset != tc.wantStart {
				t.Fatalf("Records: %d from %d", len(recs), recs[0].Offset)
			}
			ctx := t.Context()
			if all, err := c.WaitForRecords(ctx, "t", 20); err != nil || len(all) != len(recs) {
				t.Fatalf("WaitForRecords: %d, %v", len(all), err)
			}
		})
	}
	if _, err := NewCluster(RetainRecords(-1)); err == nil {
		t.Error("RetainRecords(-1) accepted")
	}
	if _, err := NewCluster(RetainBytes(-1)); err == nil {
		t.Error("RetainBytes(-1) accepted")
	}
}

// TestFetchMaxVersions checks that MaxVersions caps Fetch and ListOffsets like any API.
func TestFetchMaxVersions(t *testing.T) {
	c := newTestCluster(t, NumBrokers(1), SeedTopic("t", 1), MaxVersions(map[int16]int16{wire.KeyFetch: 11, wire.KeyListOffsets: 5}))
	tc := dial(t, c.Addrs()[0])
	var av wire.ApiVersionsResponse
	tc.roundTrip(3, &wire.ApiVersionsRequest{ClientSoftwareName: "t", ClientSoftwareVersion: "1"}, &av)
	for _, k := range av.APIKeys {
		if (k.APIKey == wire.KeyFetch && k.MaxVersion != 11) || (k.APIKey == wire.KeyListOffsets && k.MaxVersion != 5) {
			t.Fatalf("advertised %+v", k)
		}
	}
	if pr := tc.fetch(11, fetchReq(c, 11, "t", 0, 0)); pr.ErrorCode != 0 {
		t.Fatalf("v11: %d", pr.ErrorCode)
	}
	tc.send(12, fetchReq(c, 12, "t", 0, 0))
	tc.expectClosed()
}

// TestProduceV0AdvertisedNotServed checks the KAFKA-18659 quirk kafkatest copies from Kafka 4:
// Produce is listed from v0, so that librdkafka compresses, but v0–2 close the connection.
func TestProduceV0AdvertisedNotServed(t *testing.T) {
	c := newTestCluster(t, NumBrokers(1), SeedTopic("t", 1))
	tc := dial(t, c.Addrs()[0])
	var av wire.ApiVersionsResponse
	tc.roundTrip(3, &wire.ApiVersionsRequest{ClientSoftwareName: "t", ClientSoftwareVersion: "1"}, &av)
	if i := slices.IndexFunc(av.APIKeys, func(k wire.ApiVersionsKey) bool { return k.APIKey == wire.KeyProduce }); i < 0 || av.APIKeys[i].MinVersion != 0 {
		t.Fatalf("Produce advertised as %+v", av.APIKeys)
	}
	tc.send(2, produceReq(-1, "t", 0, makeBatch(t, plainSpec(), values(1)...)))
	tc.expectClosed()
	if n := len(c.Records("t", 0)); n != 0 {
		t.Fatalf("a Produce v2 wrote %d records", n)
	}
}
