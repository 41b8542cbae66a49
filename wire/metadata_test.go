package wire

import (
	"testing"
)

func newMetadataRequest() message  { return new(MetadataRequest) }
func newMetadataResponse() message { return new(MetadataResponse) }

var testTopicID = UUID{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10}

func fullMetadataRequest(v int16) *MetadataRequest {
	q := &MetadataRequest{
		Topics: []MetadataRequestTopic{
			{TopicID: testTopicID, Name: strp("orders")},
			{TopicID: UUID{15: 1}, Name: strp("")},
		},
		AllowAutoTopicCreation:             false,
		IncludeClusterAuthorizedOperations: true,
		IncludeTopicAuthorizedOperations:   true,
	}
	if v == allFields {
		return q
	}
	if v < 4 {
		q.AllowAutoTopicCreation = true
	}
	if v < 8 || v > 10 {
		q.IncludeClusterAuthorizedOperations = false
	}
	if v < 8 {
		q.IncludeTopicAuthorizedOperations = false
	}
	if v < 10 {
		for i := range q.Topics {
			q.Topics[i].TopicID = UUID{}
		}
	}
	return q
}

func TestMetadataRequestRoundTrip(t *testing.T) {
	for _, v := range versionsOf(t, KeyMetadata) {
		checkRoundTrip(t, fullMetadataRequest(allFields), newMetadataRequest, fullMetadataRequest(v), v)

		// nil asks for all topics: null from v1, the empty array at v0.
		all := &MetadataRequest{AllowAutoTopicCreation: true}
		enc := checkRoundTrip(t, all, newMetadataRequest, all, v)
		if v == 0 && enc[3] != 0 || v >= 1 && v < 9 && enc[0] != 0xff || v >= 9 && enc[0] != 0 {
			t.Errorf("v%d: all topics encoded as %x", v, enc)
		}
		// An empty non-nil slice asks for no topics from v1; at v0 it can only mean all.
		none := &MetadataRequest{Topics: []MetadataRequestTopic{}, AllowAutoTopicCreation: true}
		wantNone := &MetadataRequest{Topics: []MetadataRequestTopic{}, AllowAutoTopicCreation: true}
		if v == 0 {
			wantNone.Topics = nil
		}
		checkRoundTrip(t, none, newMetadataRequest, wantNone, v)
	}
	// From v10 a topic may be named by id alone.
	byID := &MetadataRequest{Topics: []MetadataRequestTopic{{TopicID: testTopicID}}, AllowAutoTopicCreation: true}
	for v := int16(10); v <= 13; v++ {
		checkRoundTrip(t, byID, newMetadataRequest, byID, v)
	}
	// Below v10 a nil name has no encoding but the empty string.
	want := &MetadataRequest{Topics: []MetadataRequestTopic{{Name: strp("")}}, AllowAutoTopicCreation: true}
	checkRoundTrip(t, byID, newMetadataRequest, want, 9)
}

func TestMetadataRequestGolden(t *testing.T) {
	checkGolden(t, &MetadataRequest{}, newMetadataRequest, &MetadataRequest{AllowAutoTopicCreation: true}, 0, `
		00 00 00 00          # Topics: empty = all topics at v0`)
	checkGolden(t, &MetadataRequest{}, newMetadataRequest, &MetadataRequest{AllowAutoTopicCreation: true}, 1, `
		ff ff ff ff          # Topics: null = all topics`)
	q := &MetadataRequest{Topics: []MetadataRequestTopic{{Name: strp("t")}}, AllowAutoTopicCreation: true}
	checkGolden(t, q, newMetadataRequest, q, 4, `
		00 00 00 01          # Topics: count 1
		00 01 74             # Name "t"
		01                   # AllowAutoTopicCreation true`)
	q = &MetadataRequest{
		Topics:                             []MetadataRequestTopic{{TopicID: testTopicID}},
		IncludeClusterAuthorizedOperations: true,
		IncludeTopicAuthorizedOperations:   true,
	}
	checkGolden(t, q, newMetadataRequest, q, 10, `
		02                   # Topics: compact count 1+1
		0102030405060708090a0b0c0d0e0f10  # TopicId
		00                   # Name null
		00                   # topic: no tags
		00                   # AllowAutoTopicCreation false
		01                   # IncludeClusterAuthorizedOperations
		01                   # IncludeTopicAuthorizedOperations
		00                   # no tags`)
}

func fullMetadataResponse(v int16) *MetadataResponse {
	p := &MetadataResponse{
		ThrottleTimeMs: 100,
		Brokers: []MetadataBroker{
			{NodeID: 1, Host: "kafka-1.example", Port: 9092, Rack: strp("rack-a")},
			{NodeID: 2, Host: "kafka-2.example", Port: 9093},
		},
		ClusterID:    strp("gregor-cluster"),
		ControllerID: 2,
		Topics: []MetadataTopic{
			{
				ErrorCode:  0,
				Name:       strp("orders"),
				TopicID:    testTopicID,
				IsInternal: true,
				Partitions: []MetadataPartition{
					{ErrorCode: 0, PartitionIndex: 0, LeaderID: 1, LeaderEpoch: 7,
						ReplicaNodes: []int32{1, 2}, IsrNodes: []int32{1}, OfflineReplicas: []int32{2}},
					{ErrorCode: 5, PartitionIndex: 1, LeaderID: -1, LeaderEpoch: 3,
						ReplicaNodes: []int32{2, 1}, IsrNodes: []int32{2, 1}, OfflineReplicas: []int32{3, 4}},
				},
				TopicAuthorizedOperations: 0x0ff8,
			},
			{ErrorCode: 3, Name: strp("missing"), TopicAuthorizedOperations: 8,
				Partitions: []MetadataPartition{{LeaderID: 4, LeaderEpoch: 1, ReplicaNodes: []int32{4}, IsrNodes: []int32{4}, OfflineReplicas: []int32{4}}}},
		},
		ClusterAuthorizedOperations: 0x1fe,
		ErrorCode:                   129,
	}
	if v >= 12 {
		p.Topics = append(p.Topics, MetadataTopic{ErrorCode: 100, TopicID: UUID{3: 3}, TopicAuthorizedOperations: 1,
			Partitions: []MetadataPartition{{ReplicaNodes: []int32{1}, IsrNodes: []int32{1}, OfflineReplicas: []int32{1}}}})
	}
	if v == allFields {
		return p
	}
	if v < 3 {
		p.ThrottleTimeMs = 0
	}
	if v < 1 {
		p.ControllerID = -1
		for i := range p.Brokers {
			p.Brokers[i].Rack = nil
		}
	}
	if v < 2 {
		p.ClusterID = nil
	}
	if v < 8 || v > 10 {
		p.ClusterAuthorizedOperations = AuthorizedOperationsOmitted
	}
	if v < 13 {
		p.ErrorCode = 0
	}
	for i := range p.Topics {
		t := &p.Topics[i]
		if v < 1 {
			t.IsInternal = false
		}
		if v < 8 {
			t.TopicAuthorizedOperations = AuthorizedOperationsOmitted
		}
		if v < 10 {
			t.TopicID = UUID{}
		}
		for j := range t.Partitions {
			pt := &t.Partitions[j]
			if v < 7 {
				pt.LeaderEpoch = -1
			}
			if v < 5 {
				pt.OfflineReplicas = nil
			}
		}
	}
	return p
}

func TestMetadataResponseRoundTrip(t *testing.T) {
	for _, v := range versionsOf(t, KeyMetadata) {
		checkRoundTrip(t, fullMetadataResponse(v), newMetadataResponse, fullMetadataResponse(v), v)
		// Fields newer than v are dropped and decode to their defaults.
		in := fullMetadataResponse(allFields)
		want := fullMetadataResponse(v)
		want.Topics = want.Topics[:2]
		checkRoundTrip(t, in, newMetadataResponse, want, v)
	}
}

func TestMetadataResponseGolden(t *testing.T) {
	in := &MetadataResponse{
		Brokers: []MetadataBroker{{NodeID: 1, Host: "h", Port: 9092, Rack: strp("r")}},
		Topics: []MetadataTopic{{Name: strp("t"), TopicID: testTopicID, Partitions: []MetadataPartition{
			{LeaderID: 1, LeaderEpoch: 5, ReplicaNodes: []int32{1}, IsrNodes: []int32{1}, OfflineReplicas: []int32{}},
		}}},
		ClusterID:    strp("c"),
		ControllerID: 1,
	}
	want0 := &MetadataResponse{
		Brokers: []MetadataBroker{{NodeID: 1, Host: "h", Port: 9092}},
		Topics: []MetadataTopic{{Name: strp("t"), TopicAuthorizedOperations: AuthorizedOperationsOmitted, Partitions: []MetadataPartition{
			{LeaderID: 1, LeaderEpoch: -1, ReplicaNodes: []int32{1}, IsrNodes: []int32{1}},
		}}},
		ControllerID:                -1,
		ClusterAuthorizedOperations: AuthorizedOperationsOmitted,
	}
	checkGolden(t, in, newMetadataResponse, want0, 0, `
		00 00 00 01          # Brokers: count 1
		00 00 00 01          #   NodeId 1
		00 01 68             #   Host "h"
		00 00 23 84          #   Port 9092
		00 00 00 01          # Topics: count 1
		00 00                #   ErrorCode 0
		00 01 74             #   Name "t"
		00 00 00 01          #   Partitions: count 1
		00 00                #     ErrorCode 0
		00 00 00 00          #     PartitionIndex 0
		00 00 00 01          #     LeaderId 1
		00 00 00 01 00 00 00 01  # ReplicaNodes [1]
		00 00 00 01 00 00 00 01  # IsrNodes [1]`)

	in.Topics[0].TopicAuthorizedOperations = AuthorizedOperationsOmitted
	in.ClusterAuthorizedOperations = AuthorizedOperationsOmitted
	want12 := *in
	want12.Topics = []MetadataTopic{in.Topics[0]}
	want12.Topics[0].Partitions = []MetadataPartition{in.Topics[0].Partitions[0]}
	want12.Topics[0].Partitions[0].OfflineReplicas = nil // an empty array decodes to nil
	checkGolden(t, in, newMetadataResponse, &want12, 12, `
		00 00 00 00          # ThrottleTimeMs 0
		02                   # Brokers: compact count 1+1
		00 00 00 01          #   NodeId 1
		02 68                #   Host "h"
		00 00 23 84          #   Port 9092
		02 72                #   Rack "r"
		00                   #   no tags
		02 63                # ClusterId "c"
		00 00 00 01          # ControllerId 1
		02                   # Topics: compact count 1+1
		00 00                #   ErrorCode 0
		02 74                #   Name "t"
		0102030405060708090a0b0c0d0e0f10  # TopicId
		00                   #   IsInternal false
		02                   #   Partitions: compact count 1+1
		00 00                #     ErrorCode 0
		00 00 00 00          #     PartitionIndex 0
		00 00 00 01          #     LeaderId 1
		00 00 00 05          #     LeaderEpoch 5
		02 00 00 00 01       #     ReplicaNodes [1]
		02 00 00 00 01       #     IsrNodes [1]
		01                   #     OfflineReplicas []
		00                   #     no tags
		80 00 00 00          #   TopicAuthorizedOperations: default -2147483648
		00                   #   no tags
		00                   # no tags`)
}

func TestMetadataUnknownTags(t *testing.T) {
	in := &MetadataResponse{
		Brokers: []MetadataBroker{{NodeID: 1, Host: "h", Port: 1}},
		Topics: []MetadataTopic{{Name: strp("t"), TopicAuthorizedOperations: 1,
			Partitions: []MetadataPartition{{ReplicaNodes: []int32{1}, IsrNodes: []int32{1}, OfflineReplicas: []int32{1}}}}},
		ClusterAuthorizedOperations: 2,
	}
	// The same body as v9 with unknown tags added to the broker, partition, topic and top level.
	b := unhex(t, `
		00000000  02 00000001 0268 00000001 00  01 05 01 ff
		00 00000000  02  0000 0274 00 02 0000 00000000 00000000 00000000 0200000001 0200000001 0200000001
		02 00 00 7f 01 aa
		00000001  01 0a 00
		00000002  01 00 03 616263`)
	var p MetadataResponse
	if err := p.Decode(b, 9); err != nil {
		t.Fatal(err)
	}
	in.Brokers[0].Rack = nil
	in.Topics[0].Partitions[0].LeaderEpoch = 0
	if want := in.AppendTo(nil, 9); string(p.AppendTo(nil, 9)) != string(want) {
		t.Fatalf("decoded %s", dump(&p))
	}
}

func TestMetadataHostile(t *testing.T) {
	cases := []struct {
		name    string
		msg     func() message
		version int16
		hex     string
	}{
		{"request v0 null topics", newMetadataRequest, 0, "ffffffff"},
		{"request v1 topics count too big", newMetadataRequest, 1, "00010000 0001 61"},
		{"request v9 null name", newMetadataRequest, 9, "02 00 00 00 00 00"},
		{"request v12 topic short of its id", newMetadataRequest, 12, "02 0102030405060708 00 00 01 00 00"},
		{"request version 14", newMetadataRequest, 14, "01 01 00 00"},
		{"response null brokers", newMetadataResponse, 0, "ffffffff 00000000"},
		{"response null topics", newMetadataResponse, 0, "00000000 ffffffff"},
		{"response null replicas", newMetadataResponse, 0, "00000000 00000001 0000 0001 74 00000001 0000 00000000 00000000 ffffffff 00000000"},
		{"response v11 null name", newMetadataResponse, 11, "00000000 01 00 00000000 02 0000 00 0102030405060708090a0b0c0d0e0f10 00 01 00000000 00 00"},
		{"response broker count too big", newMetadataResponse, 9, "00000000 ffffff0f"},
		{"response partition count too big", newMetadataResponse, 0, "00000000 00000001 0000 0001 74 00100000 0000"},
		{"response bad tag order", newMetadataResponse, 9, "00000000 01 00 00000000 01 00000000 02 02 00 01 00"},
	}
	for _, c := range cases {
		if err := c.msg().Decode(unhex(t, c.hex), c.version); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

func TestMetadataResponseReuse(t *testing.T) {
	var p MetadataResponse
	if err := p.Decode(fullMetadataResponse(13).AppendTo(nil, 13), 13); err != nil {
		t.Fatal(err)
	}
	for _, v := range []int16{0, 4, 9, 13} {
		small := fullMetadataResponse(v)
		small.Topics = small.Topics[1:2]
		small.Brokers = small.Brokers[1:]
		if err := p.Decode(small.AppendTo(nil, v), v); err != nil {
			t.Fatal(err)
		}
		var fresh MetadataResponse
		if err := fresh.Decode(small.AppendTo(nil, v), v); err != nil {
			t.Fatal(err)
		}
		if dump(&p) != dump(&fresh) {
			t.Fatalf("v%d: reused decode %s\nfresh decode %s", v, dump(&p), dump(&fresh))
		}
	}
}

func FuzzMetadataRequestDecode(f *testing.F) {
	for _, v := range versionsOf(f, KeyMetadata) {
		f.Add(append([]byte{byte(v)}, fullMetadataRequest(v).AppendTo(nil, v)...))
		f.Add(append([]byte{byte(v)}, new(MetadataRequest).AppendTo(nil, v)...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		v := fuzzVersion(KeyMetadata, data[0])
		var q MetadataRequest
		if q.Decode(data[1:], v) == nil {
			checkFuzzStable(t, &q, newMetadataRequest, v)
		}
	})
}

func FuzzMetadataResponseDecode(f *testing.F) {
	for _, v := range versionsOf(f, KeyMetadata) {
		f.Add(append([]byte{byte(v)}, fullMetadataResponse(v).AppendTo(nil, v)...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		v := fuzzVersion(KeyMetadata, data[0])
		var p MetadataResponse
		if p.Decode(data[1:], v) == nil {
			checkFuzzStable(t, &p, newMetadataResponse, v)
		}
	})
}
