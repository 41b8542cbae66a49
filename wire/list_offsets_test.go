package wire

import (
	"bytes"
	"testing"
)

func listOffsetsCases(t testing.TB) []msgCase {
	var cases []msgCase
	for _, v := range versionsOf(t, KeyListOffsets) {
		req := &ListOffsetsRequest{
			ReplicaID:      -1,
			IsolationLevel: ReadCommitted,
			Topics: []ListOffsetsTopic{
				{Name: "orders", Partitions: []ListOffsetsPartition{
					{Index: 0, CurrentLeaderEpoch: 4, Timestamp: ListOffsetsEarliest},
					{Index: 1, CurrentLeaderEpoch: -1, Timestamp: 1700000000000},
				}},
				{Name: "audit", Partitions: []ListOffsetsPartition{}},
			},
			TimeoutMs: 30000,
		}
		want := &ListOffsetsRequest{
			ReplicaID: -1,
			Topics: []ListOffsetsTopic{
				{Name: "orders", Partitions: []ListOffsetsPartition{
					{Index: 0, CurrentLeaderEpoch: -1, Timestamp: ListOffsetsEarliest},
					{Index: 1, CurrentLeaderEpoch: -1, Timestamp: 1700000000000},
				}},
				{Name: "audit"},
			},
		}
		if v >= 2 {
			want.IsolationLevel = ReadCommitted
		}
		if v >= 4 {
			want.Topics[0].Partitions[0].CurrentLeaderEpoch = 4
		}
		if v >= 10 {
			want.TimeoutMs = 30000
		}
		cases = append(cases, msgCase{"ListOffsetsRequest/full", v, req, want})
		empty := &ListOffsetsRequest{ReplicaID: -1}
		cases = append(cases, msgCase{"ListOffsetsRequest/empty", v, empty, empty})

		resp := &ListOffsetsResponse{
			ThrottleTimeMs: 5,
			Topics: []ListOffsetsTopicResponse{
				{Name: "orders", Partitions: []ListOffsetsPartitionResponse{
					{Index: 0, Timestamp: -1, Offset: 1 << 35, LeaderEpoch: 3},
					{Index: 1, ErrorCode: 6, Timestamp: -1, Offset: -1, LeaderEpoch: -1},
				}},
			},
		}
		wantResp := &ListOffsetsResponse{
			Topics: []ListOffsetsTopicResponse{
				{Name: "orders", Partitions: []ListOffsetsPartitionResponse{
					{Index: 0, Timestamp: -1, Offset: 1 << 35, LeaderEpoch: -1},
					{Index: 1, ErrorCode: 6, Timestamp: -1, Offset: -1, LeaderEpoch: -1},
				}},
			},
		}
		if v >= 2 {
			wantResp.ThrottleTimeMs = 5
		}
		if v >= 4 {
			wantResp.Topics[0].Partitions[0].LeaderEpoch = 3
		}
		cases = append(cases, msgCase{"ListOffsetsResponse/full", v, resp, wantResp})
	}
	return cases
}

func TestListOffsetsRoundTrip(t *testing.T) { runMsgCases(t, listOffsetsCases(t)) }

func TestListOffsetsGolden(t *testing.T) {
	q := &ListOffsetsRequest{ReplicaID: -1, IsolationLevel: ReadCommitted, TimeoutMs: 9,
		Topics: []ListOffsetsTopic{{Name: "t", Partitions: []ListOffsetsPartition{{Index: 2, CurrentLeaderEpoch: -1, Timestamp: ListOffsetsLatest}}}}}
	q1 := *q
	q1.IsolationLevel, q1.TimeoutMs = 0, 0
	checkGoldenBytes(t, "request", &q1, 1, []byte{
		0xff, 0xff, 0xff, 0xff, // ReplicaId -1
		0x00, 0x00, 0x00, 0x01, // Topics: 1
		0x00, 0x01, 't',
		0x00, 0x00, 0x00, 0x01, // Partitions: 1
		0x00, 0x00, 0x00, 0x02, // PartitionIndex
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // Timestamp -1 (latest)
	})
	checkGoldenBytes(t, "request", q, 10, []byte{
		0xff, 0xff, 0xff, 0xff,
		0x01,      // IsolationLevel
		0x02,      // Topics: compact 1
		0x02, 't', // Name
		0x02,                   // Partitions: compact 1
		0x00, 0x00, 0x00, 0x02, // PartitionIndex
		0xff, 0xff, 0xff, 0xff, // CurrentLeaderEpoch
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // Timestamp
		0x00,                   // partition tags
		0x00,                   // topic tags
		0x00, 0x00, 0x00, 0x09, // TimeoutMs
		0x00,
	})
	p := &ListOffsetsResponse{Topics: []ListOffsetsTopicResponse{{Name: "t", Partitions: []ListOffsetsPartitionResponse{
		{Index: 2, Timestamp: 7, Offset: 42, LeaderEpoch: -1}}}}}
	checkGoldenBytes(t, "response", p, 1, []byte{
		0x00, 0x00, 0x00, 0x01,
		0x00, 0x01, 't',
		0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x02, // PartitionIndex
		0x00, 0x00, // ErrorCode
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, // Timestamp
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, // Offset 42
	})
	checkGoldenBytes(t, "response", p, 6, []byte{
		0x00, 0x00, 0x00, 0x00, // ThrottleTimeMs
		0x02,
		0x02, 't',
		0x02,
		0x00, 0x00, 0x00, 0x02,
		0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,
		0xff, 0xff, 0xff, 0xff, // LeaderEpoch
		0x00,
		0x00,
		0x00,
	})
}

func TestListOffsetsHostile(t *testing.T) {
	type hostile struct {
		version int16
		b       []byte
	}
	requests := map[string]hostile{
		"null topics":         {1, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		"topics past end":     {2, []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 9}},
		"partitions past end": {6, []byte{0xff, 0xff, 0xff, 0xff, 0, 0x02, 0x02, 't', 0x05, 0, 0, 0}},
		"negative name":       {1, []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0x80, 0x00}},
		"bad tag section":     {6, []byte{0xff, 0xff, 0xff, 0xff, 0, 0x01, 0x02, 0x05, 0x05}},
	}
	for name, c := range requests {
		if err := new(ListOffsetsRequest).Decode(c.b, c.version); err == nil {
			t.Errorf("request %s: no error", name)
		}
	}
	valid := (&ListOffsetsResponse{Topics: []ListOffsetsTopicResponse{{Name: "t", Partitions: []ListOffsetsPartitionResponse{{}}}}}).AppendTo(nil, 1)
	// The partition count of a v1 response is at bytes 7–10.
	huge := bytes.Clone(valid)
	PutInt32(huge, 7, 1<<30)
	null := bytes.Clone(valid)
	PutInt32(null, 7, -1)
	responses := map[string]hostile{
		"huge partitions": {1, huge},
		"null partitions": {1, null},
		"null topics":     {2, []byte{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}},
	}
	if err := new(ListOffsetsResponse).Decode(valid, 1); err != nil {
		t.Fatal(err)
	}
	for name, c := range responses {
		if err := new(ListOffsetsResponse).Decode(c.b, c.version); err == nil {
			t.Errorf("response %s: no error", name)
		}
	}
	for _, v := range []int16{0, 12, -1} {
		if err := new(ListOffsetsRequest).Decode(valid, v); err == nil {
			t.Errorf("decode at unsupported v%d: no error", v)
		}
	}
}

func FuzzListOffsetsRequestDecode(f *testing.F) {
	fuzzWithCases(f, func() wireMsg { return new(ListOffsetsRequest) }, listOffsetsCases)
}

func FuzzListOffsetsResponseDecode(f *testing.F) {
	fuzzWithCases(f, func() wireMsg { return new(ListOffsetsResponse) }, listOffsetsCases)
}
