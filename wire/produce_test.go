package wire

import (
	"bytes"
	"strconv"
	"testing"
)

func newProduceRequest() message  { return new(ProduceRequest) }
func newProduceResponse() message { return new(ProduceResponse) }

func fullProduceRequest(v int16) *ProduceRequest {
	q := &ProduceRequest{
		TransactionalID: strp("txn-1"),
		Acks:            -1,
		TimeoutMs:       30000,
		Topics: []ProduceTopic{
			{Name: "orders", TopicID: testTopicID, Partitions: []ProducePartition{
				{Index: 0, Records: bytes.Repeat([]byte{0xab}, 200)},
				{Index: 3, Records: []byte{}},
				{Index: 7, Records: nil},
			}},
			{Name: "audit", TopicID: UUID{9: 9}, Partitions: []ProducePartition{
				{Index: 1, Records: []byte("batch")},
			}},
		},
	}
	if v == allFields {
		return q
	}
	for i := range q.Topics {
		if v >= 13 {
			q.Topics[i].Name = ""
		} else {
			q.Topics[i].TopicID = UUID{}
		}
	}
	return q
}

func TestProduceRequestRoundTrip(t *testing.T) {
	for _, v := range versionsOf(t, KeyProduce) {
		checkRoundTrip(t, fullProduceRequest(allFields), newProduceRequest, fullProduceRequest(v), v)
		empty := &ProduceRequest{Acks: 1}
		checkRoundTrip(t, empty, newProduceRequest, empty, v)
	}
}

func TestProduceRequestGolden(t *testing.T) {
	q := &ProduceRequest{
		TransactionalID: strp("tx"),
		Acks:            -1,
		TimeoutMs:       30000,
		Topics:          []ProduceTopic{{Name: "t", Partitions: []ProducePartition{{Index: 2, Records: []byte{0xaa, 0xbb, 0xcc}}}}},
	}
	checkGolden(t, q, newProduceRequest, q, 3, `
		00 02 74 78          # TransactionalId "tx"
		ff ff                # Acks -1
		00 00 75 30          # TimeoutMs 30000
		00 00 00 01          # TopicData: count 1
		00 01 74             #   Name "t"
		00 00 00 01          #   PartitionData: count 1
		00 00 00 02          #     Index 2
		00 00 00 03 aa bb cc #     Records: int32 length 3`)

	q = &ProduceRequest{
		Acks:      1,
		TimeoutMs: 1000,
		Topics:    []ProduceTopic{{Name: "t", Partitions: []ProducePartition{{Index: 0, Records: []byte{1, 2}}, {Index: 1}}}},
	}
	checkGolden(t, q, newProduceRequest, q, 9, `
		00                   # TransactionalId null
		00 01                # Acks 1
		00 00 03 e8          # TimeoutMs 1000
		02                   # TopicData: compact count 1+1
		02 74                #   Name "t"
		03                   #   PartitionData: compact count 2+1
		00 00 00 00          #     Index 0
		03 01 02             #     Records: compact length 2+1
		00                   #     no tags
		00 00 00 01          #     Index 1
		00                   #     Records null
		00                   #     no tags
		00                   #   no tags
		00                   # no tags`)

	q.Topics[0].Name, q.Topics[0].TopicID = "", testTopicID
	checkGolden(t, q, newProduceRequest, q, 13, `
		00 00 01 00 00 03 e8 02               # TransactionalId, Acks, TimeoutMs, 1 topic
		0102030405060708090a0b0c0d0e0f10      #   TopicId instead of Name
		03 00000000 03 01 02 00 00000001 00 00 00 00`)
}

func fullProduceResponse(v int16) *ProduceResponse {
	p := &ProduceResponse{
		Topics: []ProduceTopicResponse{
			{Name: "orders", TopicID: testTopicID, Partitions: []ProducePartitionResponse{
				{Index: 0, ErrorCode: 0, BaseOffset: 1 << 40, LogAppendTimeMs: 1700000000000, LogStartOffset: 12,
					RecordErrors: []ProduceRecordError{{BatchIndex: 3, BatchIndexErrorMessage: strp("bad key")}, {BatchIndex: 4}},
					ErrorMessage: strp("invalid records"), CurrentLeader: LeaderIDAndEpoch{-1, -1}},
				{Index: 5, ErrorCode: 6, BaseOffset: -1, LogAppendTimeMs: -1, LogStartOffset: -1,
					CurrentLeader: LeaderIDAndEpoch{2, 17}},
			}},
			{Name: "audit", TopicID: UUID{0: 0xff}, Partitions: []ProducePartitionResponse{
				{Index: 1, BaseOffset: 99, LogAppendTimeMs: 5, LogStartOffset: 0, CurrentLeader: LeaderIDAndEpoch{3, -1}},
			}},
		},
		ThrottleTimeMs: 42,
		NodeEndpoints: []NodeEndpoint{
			{NodeID: 2, Host: "kafka-2.example", Port: 9092, Rack: strp("rack-b")},
			{NodeID: 3, Host: "kafka-3.example", Port: 9093},
		},
	}
	if v == allFields {
		return p
	}
	if v < 10 {
		p.NodeEndpoints = nil
	}
	for i := range p.Topics {
		t := &p.Topics[i]
		if v >= 13 {
			t.Name = ""
		} else {
			t.TopicID = UUID{}
		}
		for j := range t.Partitions {
			pt := &t.Partitions[j]
			if v < 5 {
				pt.LogStartOffset = -1
			}
			if v < 8 {
				pt.RecordErrors = nil
				pt.ErrorMessage = nil
			}
			if v < 10 {
				pt.CurrentLeader = LeaderIDAndEpoch{-1, -1}
			}
		}
	}
	return p
}

func TestProduceResponseRoundTrip(t *testing.T) {
	for _, v := range versionsOf(t, KeyProduce) {
		checkRoundTrip(t, fullProduceResponse(allFields), newProduceResponse, fullProduceResponse(v), v)
		empty := &ProduceResponse{}
		checkRoundTrip(t, empty, newProduceResponse, empty, v)
	}
}

func TestProduceResponseGolden(t *testing.T) {
	p := &ProduceResponse{
		Topics: []ProduceTopicResponse{{Name: "t", Partitions: []ProducePartitionResponse{
			{Index: 1, ErrorCode: 0, BaseOffset: 16, LogAppendTimeMs: -1, LogStartOffset: 5, CurrentLeader: LeaderIDAndEpoch{-1, -1}},
		}}},
		ThrottleTimeMs: 2,
	}
	want3 := *p
	want3.Topics = []ProduceTopicResponse{{Name: "t", Partitions: []ProducePartitionResponse{
		{Index: 1, BaseOffset: 16, LogAppendTimeMs: -1, LogStartOffset: -1, CurrentLeader: LeaderIDAndEpoch{-1, -1}},
	}}}
	checkGolden(t, p, newProduceResponse, &want3, 3, `
		00 00 00 01              # Responses: count 1
		00 01 74                 #   Name "t"
		00 00 00 01              #   PartitionResponses: count 1
		00 00 00 01              #     Index 1
		00 00                    #     ErrorCode 0
		00 00 00 00 00 00 00 10  #     BaseOffset 16
		ff ff ff ff ff ff ff ff  #     LogAppendTimeMs -1
		00 00 00 02              # ThrottleTimeMs 2`)

	p = &ProduceResponse{
		Topics: []ProduceTopicResponse{{Name: "t", Partitions: []ProducePartitionResponse{
			{Index: 1, ErrorCode: 6, BaseOffset: -1, LogAppendTimeMs: -1, LogStartOffset: 5,
				RecordErrors:  []ProduceRecordError{{BatchIndex: 1, BatchIndexErrorMessage: strp("x")}},
				CurrentLeader: LeaderIDAndEpoch{2, 7}},
		}}},
		NodeEndpoints: []NodeEndpoint{{NodeID: 2, Host: "h", Port: 9092}},
	}
	checkGolden(t, p, newProduceResponse, p, 10, `
		02                       # Responses: compact count 1+1
		02 74                    #   Name "t"
		02                       #   PartitionResponses: compact count 1+1
		00 00 00 01              #     Index 1
		00 06                    #     ErrorCode 6 NOT_LEADER_OR_FOLLOWER
		ff ff ff ff ff ff ff ff  #     BaseOffset -1
		ff ff ff ff ff ff ff ff  #     LogAppendTimeMs -1
		00 00 00 00 00 00 00 05  #     LogStartOffset 5
		02                       #     RecordErrors: compact count 1+1
		00 00 00 01 02 78 00     #       BatchIndex 1, message "x", no tags
		00                       #     ErrorMessage null
		01                       #     one tagged field
		00 09                    #       tag 0 CurrentLeader, size 9
		00 00 00 02 00 00 00 07 00  #     LeaderId 2, LeaderEpoch 7, no tags
		00                       #   no tags
		00 00 00 00              # ThrottleTimeMs 0
		01                       # one tagged field
		00 0d                    #   tag 0 NodeEndpoints, size 13
		02                       #   compact count 1+1
		00 00 00 02 02 68 00 00 23 84 00 00  # NodeId 2, Host "h", Port 9092, Rack null, no tags`)

	// The same partition at v9: the KIP-951 tags do not exist yet and are not written.
	want9 := &ProduceResponse{Topics: []ProduceTopicResponse{{Name: "t", Partitions: []ProducePartitionResponse{
		{Index: 1, ErrorCode: 6, BaseOffset: -1, LogAppendTimeMs: -1, LogStartOffset: 5,
			RecordErrors:  []ProduceRecordError{{BatchIndex: 1, BatchIndexErrorMessage: strp("x")}},
			CurrentLeader: LeaderIDAndEpoch{-1, -1}},
	}}}}
	checkGolden(t, p, newProduceResponse, want9, 9, `
		02 02 74 02 00000001 0006 ffffffffffffffff ffffffffffffffff 0000000000000005
		02 00000001 0278 00 00
		00                       #     no tags
		00                       #   no tags
		00000000 00              # ThrottleTimeMs, no tags`)
}

func TestProduceResponseUnknownTags(t *testing.T) {
	// v10 with an unknown tag (5) after CurrentLeader in the partition, one (3) in the topic
	// and one (1) after NodeEndpoints at the top level.
	b := unhex(t, `
		02 02 74 02 00000001 0006 ffffffffffffffff ffffffffffffffff 0000000000000005 01 00
		02 00 09 00000002 00000007 00  05 03 616263
		01 03 00
		00000000
		02 00 0d 02 00000002 0268 00002384 00 00  01 01 ff`)
	var p ProduceResponse
	if err := p.Decode(b, 10); err != nil {
		t.Fatal(err)
	}
	want := &ProduceResponse{
		Topics: []ProduceTopicResponse{{Name: "t", Partitions: []ProducePartitionResponse{
			{Index: 1, ErrorCode: 6, BaseOffset: -1, LogAppendTimeMs: -1, LogStartOffset: 5, CurrentLeader: LeaderIDAndEpoch{2, 7}},
		}}},
		NodeEndpoints: []NodeEndpoint{{NodeID: 2, Host: "h", Port: 9092}},
	}
	if dump(&p) != dump(want) {
		t.Fatalf("got  %s\nwant %s", dump(&p), dump(want))
	}
	// At v9 tag 0 is unknown too and is skipped.
	if err := p.Decode(b, 9); err != nil {
		t.Fatal(err)
	}
	if p.NodeEndpoints != nil || p.Topics[0].Partitions[0].CurrentLeader != (LeaderIDAndEpoch{-1, -1}) {
		t.Fatalf("v9 decoded KIP-951 tags: %s", dump(&p))
	}
}

func TestProduceHostile(t *testing.T) {
	cases := []struct {
		name    string
		msg     func() message
		version int16
		hex     string
	}{
		{"request version 2", newProduceRequest, 2, "ffff 0001 00000000 00000000"},
		{"request null topics", newProduceRequest, 3, "ffff 0001 00000000 ffffffff"},
		{"request null partitions", newProduceRequest, 3, "ffff 0001 00000000 00000001 0001 74 ffffffff"},
		{"request negative records length", newProduceRequest, 3, "ffff 0001 00000000 00000001 0001 74 00000001 00000000 fffffffe"},
		{"request records past end", newProduceRequest, 3, "ffff 0001 00000000 00000001 0001 74 00000001 00000000 00000010 00"},
		{"request flexible records past end", newProduceRequest, 9, "00 0001 00000000 02 0274 02 00000000 7f 00 00 00"},
		{"request null topic name", newProduceRequest, 9, "00 0001 00000000 02 00 01 00 00"},
		{"request huge topic count", newProduceRequest, 13, "00 0001 00000000 8080808008"},
		{"response null topics", newProduceResponse, 3, "ffffffff 00000000"},
		{"response partition count too big", newProduceResponse, 3, "00000001 0001 74 00000002" +
			"00000000 0000 0000000000000000 ffffffffffffffff 00000000"},
		{"response CurrentLeader short", newProduceResponse, 10,
			"02 0274 02 00000001 0006 ffffffffffffffff ffffffffffffffff 0000000000000005 01 00 01 00 05 0000000200 00 00000000 00"},
		{"response CurrentLeader trailing", newProduceResponse, 10,
			"02 0274 02 00000001 0006 ffffffffffffffff ffffffffffffffff 0000000000000005 01 00 01 00 0a 00000002 00000007 00 00 00 00000000 00"},
		{"response NodeEndpoints null", newProduceResponse, 10, "01 00000000 01 00 01 00"},
		{"response NodeEndpoints host null", newProduceResponse, 10, "01 00000000 01 00 0c 02 00000002 00 00002384 00 00"},
		{"response tags out of order", newProduceResponse, 9, "01 00000000 02 04 00 03 00"},
	}
	for _, c := range cases {
		if err := c.msg().Decode(unhex(t, c.hex), c.version); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

func TestProduceRequestRecordsAlias(t *testing.T) {
	b := fullProduceRequest(9).AppendTo(nil, 9)
	var q ProduceRequest
	if err := q.Decode(b, 9); err != nil {
		t.Fatal(err)
	}
	rec := q.Topics[0].Partitions[0].Records
	if len(rec) != 200 || cap(rec) != len(rec) {
		t.Fatalf("records len %d cap %d", len(rec), cap(rec))
	}
	i := bytes.Index(b, rec)
	b[i] = 0x01
	if rec[0] != 0x01 {
		t.Fatal("Records is a copy, not a sub-slice of the input")
	}
}

// TestProduceResponseReuse decodes responses of different shapes and versions into one
// ProduceResponse and checks each against a decode into a fresh one.
func TestProduceResponseReuse(t *testing.T) {
	bodies := []struct {
		v int16
		p *ProduceResponse
	}{
		{13, fullProduceResponse(13)},
		{3, fullProduceResponse(3)},
		{10, fullProduceResponse(10)},
		{10, &ProduceResponse{Topics: []ProduceTopicResponse{{Name: "x", Partitions: []ProducePartitionResponse{{Index: 9, CurrentLeader: LeaderIDAndEpoch{-1, -1}}}}}}},
		{8, fullProduceResponse(8)},
		{11, &ProduceResponse{}},
		{12, fullProduceResponse(12)},
	}
	var reused ProduceResponse
	for _, c := range bodies {
		b := c.p.AppendTo(nil, c.v)
		var fresh ProduceResponse
		if err := fresh.Decode(b, c.v); err != nil {
			t.Fatal(err)
		}
		if err := reused.Decode(b, c.v); err != nil {
			t.Fatal(err)
		}
		if dump(&reused) != dump(&fresh) {
			t.Fatalf("v%d: reused decode %s\nfresh decode %s", c.v, dump(&reused), dump(&fresh))
		}
	}
}

// benchProduceRequest is a request like a producer's: 6 partitions of one topic, each with
// a 16 KiB batch (batch.size).
func benchProduceRequest() *ProduceRequest {
	q := &ProduceRequest{Acks: -1, TimeoutMs: 30000, Topics: []ProduceTopic{{Name: "bench-topic"}}}
	for i := range 6 {
		q.Topics[0].Partitions = append(q.Topics[0].Partitions, ProducePartition{Index: int32(i), Records: make([]byte, 16<<10)})
	}
	return q
}

func BenchmarkProduceRequestAppend(b *testing.B) {
	for _, v := range []int16{7, 9, 13} {
		b.Run("v"+strconv.Itoa(int(v)), func(b *testing.B) {
			q := benchProduceRequest()
			dst := q.AppendTo(nil, v)
			b.SetBytes(int64(len(dst)))
			b.ReportAllocs()
			for b.Loop() {
				dst = q.AppendTo(dst[:0], v)
			}
		})
	}
}

// benchProduceResponse answers benchProduceRequest.
func benchProduceResponse() *ProduceResponse {
	p := &ProduceResponse{Topics: []ProduceTopicResponse{{Name: "bench-topic"}}}
	for i := range 6 {
		p.Topics[0].Partitions = append(p.Topics[0].Partitions, ProducePartitionResponse{
			Index: int32(i), BaseOffset: int64(i) << 20, LogAppendTimeMs: -1, LogStartOffset: 0, CurrentLeader: LeaderIDAndEpoch{-1, -1}})
	}
	return p
}

func BenchmarkProduceResponseDecode(b *testing.B) {
	for _, v := range []int16{7, 9, 13} {
		b.Run("v"+strconv.Itoa(int(v)), func(b *testing.B) {
			body := benchProduceResponse().AppendTo(nil, v)
			var p ProduceResponse
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Decode(body, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func FuzzProduceRequestDecode(f *testing.F) {
	for _, v := range versionsOf(f, KeyProduce) {
		f.Add(append([]byte{byte(v - 3)}, fullProduceRequest(v).AppendTo(nil, v)...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		v := fuzzVersion(KeyProduce, data[0])
		var q ProduceRequest
		if q.Decode(data[1:], v) == nil {
			checkFuzzStable(t, &q, newProduceRequest, v)
		}
	})
}

func FuzzProduceResponseDecode(f *testing.F) {
	for _, v := range versionsOf(f, KeyProduce) {
		f.Add(append([]byte{byte(v - 3)}, fullProduceResponse(v).AppendTo(nil, v)...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		v := fuzzVersion(KeyProduce, data[0])
		var p ProduceResponse
		if p.Decode(data[1:], v) == nil {
			checkFuzzStable(t, &p, newProduceResponse, v)
		}
	})
}

// TestProduceRequestPieces checks that the vectored encoding, reassembled, is the whole
// frame AppendRequest writes, at a classic and a flexible version, with records above and
// below PieceMin and a null one.
func TestProduceRequestPieces(t *testing.T) {
	big := bytes.Repeat([]byte{7}, PieceMin)
	huge := bytes.Repeat([]byte{9}, 200<<10) // a compact length of three varint bytes
	small := []byte{1, 2, 3}
	id := "txn"
	q := &ProduceRequest{TransactionalID: &id, Acks: -1, TimeoutMs: 1000, Topics: []ProduceTopic{
		{Name: "a", TopicID: UUID{1}, Partitions: []ProducePartition{{Index: 0, Records: big}, {Index: 1, Records: small}, {Index: 2}}},
		{Name: "b", TopicID: UUID{2}, Partitions: []ProducePartition{{Index: 5, Records: huge}, {Index: 6, Records: big}}},
	}}
	cid := "c"
	for _, version := range []int16{3, 8, 9, 12, 13} {
		h := RequestHeader{APIVersion: version, CorrelationID: 42, ClientID: &cid}
		want := AppendRequest([]byte{0xee}, h, q)
		enc, cuts, refs := AppendRequestPieces([]byte{0xee}, h, q, nil, nil)
		if len(refs) != 3 || len(cuts) != 3 {
			t.Fatalf("v%d: %d pieces left out, want 3 (those of at least PieceMin bytes)", version, len(refs))
		}
		var got []byte
		from := 0
		for i, cut := range cuts {
			got = append(append(got, enc[from:cut]...), refs[i]...)
			from = cut
		}
		got = append(got, enc[from:]...)
		if !bytes.Equal(got, want) {
			t.Fatalf("v%d: reassembled frame differs from AppendRequest's (%d vs %d bytes)", version, len(got), len(want))
		}
	}
}
