package wire

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"
)

var (
	_ Request  = (*FetchRequest)(nil)
	_ Response = (*FetchResponse)(nil)
	_ Request  = (*ListOffsetsRequest)(nil)
	_ Response = (*ListOffsetsResponse)(nil)
)

var fetchTopicID = UUID{0xfe, 0x7c, 0x40, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

// fullFetchRequest returns a FetchRequest with every field of every version set, or, for
// version >= 0, the value decoding it at version gives: fields absent there at their
// defaults.
func fullFetchRequest(version int16) *FetchRequest {
	q := &FetchRequest{
		ClusterID:      strp("cluster-1"),
		ReplicaID:      3,
		ReplicaState:   FetchReplicaState{ReplicaID: 3, ReplicaEpoch: 1 << 40},
		MaxWaitMs:      500,
		MinBytes:       1,
		MaxBytes:       52428800,
		IsolationLevel: ReadCommitted,
		SessionID:      77,
		SessionEpoch:   4,
		Topics: []FetchTopic{
			{Name: "orders", TopicID: fetchTopicID, Partitions: []FetchPartition{
				{Index: 0, CurrentLeaderEpoch: 5, FetchOffset: 1 << 33, LastFetchedEpoch: 4, LogStartOffset: 10,
					PartitionMaxBytes: 1048576, ReplicaDirectoryID: UUID{1: 9}, HighWatermark: 1<<33 + 5},
				{Index: 7, CurrentLeaderEpoch: -1, FetchOffset: 0, LastFetchedEpoch: -1, LogStartOffset: -1,
					PartitionMaxBytes: 0, HighWatermark: math.MaxInt64},
			}},
			{Name: "audit", TopicID: UUID{15: 1}, Partitions: []FetchPartition{}},
		},
		ForgottenTopics: []FetchForgottenTopic{
			{Name: "gone", TopicID: UUID{0: 2}, Partitions: []int32{1, 2, 3}},
		},
		RackID: "rack-a",
	}
	if version == allFields {
		return q
	}
	w := q
	w.Topics[1].Partitions = nil
	if version >= 13 {
		for i := range w.Topics {
			w.Topics[i].Name = ""
		}
		w.ForgottenTopics[0].Name = ""
	} else {
		for i := range w.Topics {
			w.Topics[i].TopicID = UUID{}
		}
		w.ForgottenTopics[0].TopicID = UUID{}
	}
	if version >= 15 {
		w.ReplicaID = -1
	} else {
		w.ReplicaState = FetchReplicaState{-1, -1}
	}
	if version < 7 {
		w.SessionID, w.SessionEpoch, w.ForgottenTopics = 0, -1, nil
	}
	if version < 11 {
		w.RackID = ""
	}
	if version < 12 {
		w.ClusterID = nil
	}
	for i := range w.Topics {
		for j := range w.Topics[i].Partitions {
			pt := &w.Topics[i].Partitions[j]
			if version < 5 {
				pt.LogStartOffset = -1
			}
			if version < 9 {
				pt.CurrentLeaderEpoch = -1
			}
			if version < 12 {
				pt.LastFetchedEpoch = -1
			}
			if version < 17 {
				pt.ReplicaDirectoryID = UUID{}
			}
			if version < 18 {
				pt.HighWatermark = math.MaxInt64
			}
		}
	}
	return w
}

// fullFetchResponse is as fullFetchRequest, for FetchResponse.
func fullFetchResponse(version int16) *FetchResponse {
	p := &FetchResponse{
		ThrottleTimeMs: 12,
		ErrorCode:      0,
		SessionID:      99,
		Topics: []FetchTopicResponse{
			{Name: "orders", TopicID: fetchTopicID, Partitions: []FetchPartitionResponse{
				{Index: 0, HighWatermark: 1000, LastStableOffset: 990, LogStartOffset: 10,
					DivergingEpoch:       FetchEpochEndOffset{Epoch: 3, EndOffset: 900},
					CurrentLeader:        LeaderIDAndEpoch{LeaderID: -1, LeaderEpoch: -1},
					SnapshotID:           FetchSnapshotID{EndOffset: 800, Epoch: 2},
					AbortedTransactions:  []FetchAbortedTransaction{{ProducerID: 1000, FirstOffset: 950}, {ProducerID: 1001, FirstOffset: 960}},
					PreferredReadReplica: 2,
					Records:              bytes.Repeat([]byte{0xab}, 70)},
				{Index: 3, ErrorCode: 6, HighWatermark: -1, LastStableOffset: -1, LogStartOffset: -1,
					DivergingEpoch:       FetchEpochEndOffset{-1, -1},
					CurrentLeader:        LeaderIDAndEpoch{LeaderID: 2, LeaderEpoch: 8},
					SnapshotID:           FetchSnapshotID{-1, -1},
					AbortedTransactions:  []FetchAbortedTransaction{},
					PreferredReadReplica: -1,
					Records:              []byte{}},
				{Index: 4, HighWatermark: 5, LastStableOffset: 5, LogStartOffset: 0,
					DivergingEpoch:       FetchEpochEndOffset{-1, -1},
					CurrentLeader:        LeaderIDAndEpoch{-1, -1},
					SnapshotID:           FetchSnapshotID{-1, -1},
					PreferredReadReplica: -1},
			}},
		},
		NodeEndpoints: []NodeEndpoint{{NodeID: 2, Host: "kafka-2", Port: 9093, Rack: strp("b")}},
	}
	if version == allFields {
		return p
	}
	if version >= 13 {
		p.Topics[0].Name = ""
	} else {
		p.Topics[0].TopicID = UUID{}
	}
	if version < 7 {
		p.ErrorCode, p.SessionID = 0, 0
	}
	if version < 16 {
		p.NodeEndpoints = nil
	}
	for j := range p.Topics[0].Partitions {
		pt := &p.Topics[0].Partitions[j]
		if version < 5 {
			pt.LogStartOffset = -1
		}
		if version < 11 {
			pt.PreferredReadReplica = -1
		}
		if version < 12 {
			pt.DivergingEpoch = FetchEpochEndOffset{-1, -1}
			pt.CurrentLeader = LeaderIDAndEpoch{-1, -1}
			pt.SnapshotID = FetchSnapshotID{-1, -1}
		}
	}
	return p
}

func fetchCases(t testing.TB) []msgCase {
	var cases []msgCase
	for _, v := range versionsOf(t, KeyFetch) {
		cases = append(cases,
			msgCase{"FetchRequest/full", v, fullFetchRequest(allFields), fullFetchRequest(v)},
			msgCase{"FetchResponse/full", v, fullFetchResponse(allFields), fullFetchResponse(v)})
		// A consumer's minimal request: defaults everywhere.
		min := &FetchRequest{ReplicaID: -1, ReplicaState: FetchReplicaState{-1, -1}, MaxWaitMs: 100, SessionEpoch: -1}
		cases = append(cases, msgCase{"FetchRequest/consumer", v, min, min})
		errResp := &FetchResponse{ErrorCode: 70}
		want := &FetchResponse{}
		if v >= 7 {
			want.ErrorCode = 70
		}
		cases = append(cases, msgCase{"FetchResponse/error", v, errResp, want})
	}
	return cases
}

func TestFetchRoundTrip(t *testing.T) { runMsgCases(t, fetchCases(t)) }

func TestFetchGolden(t *testing.T) {
	q := &FetchRequest{
		ReplicaID: -1, ReplicaState: FetchReplicaState{-1, -1}, MaxWaitMs: 500, MinBytes: 1, MaxBytes: 1000,
		IsolationLevel: ReadCommitted, SessionEpoch: -1,
		Topics: []FetchTopic{{Name: "t", Partitions: []FetchPartition{{Index: 1, CurrentLeaderEpoch: -1, FetchOffset: 5,
			LastFetchedEpoch: -1, LogStartOffset: -1, PartitionMaxBytes: 100, HighWatermark: math.MaxInt64}}}},
	}
	checkGoldenBytes(t, "request", q, 4, []byte{
		0xff, 0xff, 0xff, 0xff, // ReplicaId -1
		0x00, 0x00, 0x01, 0xf4, // MaxWaitMs 500
		0x00, 0x00, 0x00, 0x01, // MinBytes
		0x00, 0x00, 0x03, 0xe8, // MaxBytes 1000
		0x01,                   // IsolationLevel read_committed
		0x00, 0x00, 0x00, 0x01, // Topics: 1
		0x00, 0x01, 't',
		0x00, 0x00, 0x00, 0x01, // Partitions: 1
		0x00, 0x00, 0x00, 0x01, // Partition 1
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, // FetchOffset 5
		0x00, 0x00, 0x00, 0x64, // PartitionMaxBytes 100
	})
	checkGoldenBytes(t, "request", q, 12, []byte{
		0xff, 0xff, 0xff, 0xff, // ReplicaId
		0x00, 0x00, 0x01, 0xf4,
		0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x03, 0xe8,
		0x01,
		0x00, 0x00, 0x00, 0x00, // SessionId 0
		0xff, 0xff, 0xff, 0xff, // SessionEpoch -1
		0x02,      // Topics: compact 1
		0x02, 't', // Topic
		0x02,                   // Partitions: compact 1
		0x00, 0x00, 0x00, 0x01, // Partition
		0xff, 0xff, 0xff, 0xff, // CurrentLeaderEpoch -1
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, // FetchOffset
		0xff, 0xff, 0xff, 0xff, // LastFetchedEpoch -1
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // LogStartOffset -1
		0x00, 0x00, 0x00, 0x64, // PartitionMaxBytes
		0x00, // partition tags
		0x00, // topic tags
		0x01, // ForgottenTopicsData: compact 0
		0x01, // RackId ""
		0x00, // top-level tags
	})
	withTags := *q
	withTags.ClusterID = strp("c")
	withTags.ReplicaState = FetchReplicaState{ReplicaID: 1, ReplicaEpoch: 2}
	withTags.Topics = nil
	checkGoldenBytes(t, "request", &withTags, 15, []byte{
		0x00, 0x00, 0x01, 0xf4, // MaxWaitMs (no ReplicaId from v15)
		0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x03, 0xe8,
		0x01,
		0x00, 0x00, 0x00, 0x00,
		0xff, 0xff, 0xff, 0xff,
		0x01,       // Topics: compact 0
		0x01,       // ForgottenTopicsData: compact 0
		0x01,       // RackId ""
		0x02,       // two tagged fields
		0x00, 0x02, // tag 0 ClusterId, 2 bytes
		0x02, 'c',
		0x01, 0x0d, // tag 1 ReplicaState, 13 bytes
		0x00, 0x00, 0x00, 0x01, // ReplicaId
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, // ReplicaEpoch
		0x00,
	})

	p := &FetchResponse{Topics: []FetchTopicResponse{{Name: "t", Partitions: []FetchPartitionResponse{{
		Index: 0, HighWatermark: 2, LastStableOffset: 2, LogStartOffset: 0,
		DivergingEpoch: FetchEpochEndOffset{-1, -1}, CurrentLeader: LeaderIDAndEpoch{-1, -1}, SnapshotID: FetchSnapshotID{-1, -1},
		PreferredReadReplica: -1, Records: []byte{0xee},
	}}}}}
	checkGoldenBytes(t, "response", p, 11, []byte{
		0x00, 0x00, 0x00, 0x00, // ThrottleTimeMs
		0x00, 0x00, // ErrorCode
		0x00, 0x00, 0x00, 0x00, // SessionId
		0x00, 0x00, 0x00, 0x01, // Responses: 1
		0x00, 0x01, 't',
		0x00, 0x00, 0x00, 0x01, // Partitions: 1
		0x00, 0x00, 0x00, 0x00, // PartitionIndex
		0x00, 0x00, // ErrorCode
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, // HighWatermark
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, // LastStableOffset
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // LogStartOffset
		0xff, 0xff, 0xff, 0xff, // AbortedTransactions: null
		0xff, 0xff, 0xff, 0xff, // PreferredReadReplica -1
		0x00, 0x00, 0x00, 0x01, 0xee, // Records
	})
	leader := *p
	leader.Topics = []FetchTopicResponse{{TopicID: fetchTopicID, Partitions: []FetchPartitionResponse{{
		Index: 0, ErrorCode: 6, HighWatermark: -1, LastStableOffset: -1, LogStartOffset: -1,
		DivergingEpoch: FetchEpochEndOffset{-1, -1}, CurrentLeader: LeaderIDAndEpoch{LeaderID: 1, LeaderEpoch: 4}, SnapshotID: FetchSnapshotID{-1, -1},
		AbortedTransactions: []FetchAbortedTransaction{{ProducerID: 7, FirstOffset: 1}}, PreferredReadReplica: -1,
	}}}}
	leader.NodeEndpoints = []NodeEndpoint{{NodeID: 1, Host: "h", Port: 9092}}
	golden := []byte{
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00,
		0x00, 0x00, 0x00, 0x00,
		0x02, // Responses: compact 1
	}
	golden = append(golden, fetchTopicID[:]...)
	golden = append(golden,
		0x02, // Partitions: compact 1
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x06, // NOT_LEADER_OR_FOLLOWER
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x02,                                           // AbortedTransactions: compact 1
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, // ProducerId
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // FirstOffset
		0x00,                   // its tags
		0xff, 0xff, 0xff, 0xff, // PreferredReadReplica
		0x00,       // Records: compact null
		0x01,       // one tagged field
		0x01, 0x09, // tag 1 CurrentLeader, 9 bytes
		0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x04,
		0x00,
		0x00,       // topic tags
		0x01,       // one top-level tagged field
		0x00, 0x0d, // tag 0 NodeEndpoints, 13 bytes
		0x02,
		0x00, 0x00, 0x00, 0x01,
		0x02, 'h',
		0x00, 0x00, 0x23, 0x84,
		0x00, // rack null
		0x00,
	)
	checkGoldenBytes(t, "response", &leader, 16, golden)
}

func TestFetchHostile(t *testing.T) {
	type hostile struct {
		version int16
		b       []byte
	}
	head := []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} // v4 up to the isolation level
	requests := map[string]hostile{
		"null topics":          {4, append(bytes.Clone(head), 0xff, 0xff, 0xff, 0xff)},
		"topics past end":      {4, append(bytes.Clone(head), 0x7f, 0xff, 0xff, 0xff)},
		"negative name":        {4, append(bytes.Clone(head), 0, 0, 0, 1, 0xff, 0xfe)},
		"partitions past end":  {4, append(bytes.Clone(head), 0, 0, 0, 1, 0, 0, 0, 0, 0, 1)},
		"bad replica state":    {15, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 0, 0}},
		"cluster id too short": {12, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 1, 9}},
	}
	for name, c := range requests {
		if err := new(FetchRequest).Decode(c.b, c.version); err == nil {
			t.Errorf("request %s: no error", name)
		}
	}
	// A valid v4 response with one partition, one aborted transaction and one record byte:
	// its aborted-transaction count is at bytes 37–40 and its records length at 57–60.
	valid := (&FetchResponse{Topics: []FetchTopicResponse{{Name: "t", Partitions: []FetchPartitionResponse{{
		AbortedTransactions: []FetchAbortedTransaction{{ProducerID: 1, FirstOffset: 2}}, Records: []byte{1},
	}}}}}).AppendTo(nil, 4)
	if err := new(FetchResponse).Decode(valid, 4); err != nil {
		t.Fatal(err)
	}
	patched := func(off int, v uint32) []byte {
		b := bytes.Clone(valid)
		PutInt32(b, off, int32(v))
		return b
	}
	responses := map[string]hostile{
		"null responses":       {4, []byte{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}},
		"huge responses":       {12, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}},
		"aborted past end":     {4, patched(37, 9)},
		"negative aborted":     {4, patched(37, 0xfffffffe)},
		"records past end":     {4, patched(57, 9)},
		"negative records len": {4, patched(57, 0xfffffffe)},
	}
	for name, c := range responses {
		if err := new(FetchResponse).Decode(c.b, c.version); err == nil {
			t.Errorf("response %s: no error", name)
		}
	}
}

// TestFetchSkipsUnknownTags checks that a tagged field this package does not know, or one
// sent at a version that does not define it, is skipped.
func TestFetchSkipsUnknownTags(t *testing.T) {
	q := fullFetchRequest(allFields)
	enc := q.AppendTo(nil, 12)
	// The top-level tags of v12 are the last bytes: ClusterId (tag 0). Replace the section
	// with one holding tag 1 (ReplicaState, not defined before v15) and tag 9.
	var want FetchRequest
	if err := want.Decode(enc, 12); err != nil {
		t.Fatal(err)
	}
	base := want
	base.ClusterID = nil
	trimmed := base.AppendTo(nil, 12)
	trimmed = trimmed[:len(trimmed)-1]
	trimmed = append(trimmed, 0x02, 0x01, 0x03, 0, 0, 0, 0x09, 0x01, 0x07)
	var got FetchRequest
	if err := got.Decode(trimmed, 12); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, &base) {
		t.Fatalf("got\n%s\nwant\n%s", dump(&got), dump(&base))
	}
}

func TestFetchDecodeErrorNamesMessage(t *testing.T) {
	err := new(FetchResponse).Decode([]byte{0, 0}, 4)
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("got %v, want ErrTruncated", err)
	}
	if want := "wire: Fetch v4 response: "; err == nil || len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Fatalf("error %q does not name the message", err)
	}
	for _, v := range []int16{3, 19, -1} {
		if err := new(FetchRequest).Decode(fullFetchRequest(allFields).AppendTo(nil, 4), v); err == nil {
			t.Errorf("decode at unsupported v%d: no error", v)
		}
		if err := new(FetchResponse).Decode(fullFetchResponse(allFields).AppendTo(nil, 4), v); err == nil {
			t.Errorf("response decode at unsupported v%d: no error", v)
		}
	}
}

// TestFetchDecodeReuses checks that decoding into a used FetchResponse does not keep old
// partitions' aborted transactions or records.
func TestFetchDecodeReuses(t *testing.T) {
	var p FetchResponse
	if err := p.Decode(fullFetchResponse(allFields).AppendTo(nil, 16), 16); err != nil {
		t.Fatal(err)
	}
	small := &FetchResponse{Topics: []FetchTopicResponse{{Name: "x", Partitions: []FetchPartitionResponse{{
		DivergingEpoch: FetchEpochEndOffset{-1, -1}, CurrentLeader: LeaderIDAndEpoch{-1, -1}, SnapshotID: FetchSnapshotID{-1, -1},
		PreferredReadReplica: -1,
	}}}}}
	if err := p.Decode(small.AppendTo(nil, 12), 12); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&p, small) {
		t.Fatalf("got\n%s\nwant\n%s", dump(&p), dump(small))
	}
}

// fuzzWithCases adds the encodings of cases of newMsg's type as seeds, then runs the
// shared fuzz body.
func fuzzWithCases(f *testing.F, newMsg func() wireMsg, cases func(testing.TB) []msgCase) {
	proto := newMsg()
	a, _ := LookupAPI(proto.Key())
	for _, c := range cases(f) {
		if reflect.TypeOf(c.in) == reflect.TypeOf(proto) {
			f.Add(append([]byte{byte(c.version - a.Min)}, c.in.AppendTo(nil, c.version)...))
		}
	}
	fuzzMsgDecode(f, newMsg)
}

func FuzzFetchRequestDecode(f *testing.F) {
	fuzzWithCases(f, func() wireMsg { return new(FetchRequest) }, fetchCases)
}

func FuzzFetchResponseDecode(f *testing.F) {
	fuzzWithCases(f, func() wireMsg { return new(FetchResponse) }, fetchCases)
}

func BenchmarkFetchResponseAppend(b *testing.B) {
	p := fullFetchResponse(allFields)
	p.Topics[0].Partitions[0].Records = make([]byte, 64<<10)
	dst := p.AppendTo(nil, 16)
	b.ReportAllocs()
	b.SetBytes(int64(len(dst)))
	for b.Loop() {
		dst = p.AppendTo(dst[:0], 16)
	}
}

func BenchmarkFetchRequestDecode(b *testing.B) {
	enc := fullFetchRequest(allFields).AppendTo(nil, 16)
	var q FetchRequest
	b.ReportAllocs()
	for b.Loop() {
		if err := q.Decode(enc, 16); err != nil {
			b.Fatal(err)
		}
	}
}
