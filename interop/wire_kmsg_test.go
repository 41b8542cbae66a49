package interop

import (
	"bytes"
	"testing"

	"github.com/gregor-kafka/producer/wire"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// These tests encode the same message with wire and with franz-go's kmsg, an encoder written
// independently from Kafka's JSON specs, at every version wire implements, and require
// identical bytes; then each side decodes the other's bytes.

// kmsgMessage is what kmsg's requests and responses have in common.
type kmsgMessage interface {
	SetVersion(int16)
	AppendTo([]byte) []byte
	ReadFrom([]byte) error
}

type wireMessage interface {
	AppendTo(dst []byte, version int16) []byte
	Decode(b []byte, version int16) error
}

// crossCheck compares ours (encoded at version) with theirs, decodes theirs' bytes with
// fresh and re-encodes them, and has kmsg decode and re-encode our bytes.
func crossCheck(t *testing.T, name string, version int16, ours wireMessage, theirs kmsgMessage, fresh wireMessage, freshKmsg kmsgMessage) {
	t.Helper()
	theirs.SetVersion(version)
	want := theirs.AppendTo(nil)
	got := ours.AppendTo(nil, version)
	if !bytes.Equal(got, want) {
		t.Fatalf("%s v%d: wire and kmsg encodings differ\nwire %x\nkmsg %x", name, version, got, want)
	}
	if err := fresh.Decode(want, version); err != nil {
		t.Fatalf("%s v%d: wire cannot decode kmsg's bytes: %v", name, version, err)
	}
	if again := fresh.AppendTo(nil, version); !bytes.Equal(again, want) {
		t.Fatalf("%s v%d: wire decode+encode of kmsg's bytes differs\nwire %x\nkmsg %x", name, version, again, want)
	}
	freshKmsg.SetVersion(version)
	if err := freshKmsg.ReadFrom(got); err != nil {
		t.Fatalf("%s v%d: kmsg cannot decode wire's bytes: %v", name, version, err)
	}
	if again := freshKmsg.AppendTo(nil); !bytes.Equal(again, got) {
		t.Fatalf("%s v%d: kmsg decode+encode of wire's bytes differs\nkmsg %x\nwire %x", name, version, again, got)
	}
}

func versions(t *testing.T, key int16) []int16 {
	a, ok := wire.LookupAPI(key)
	if !ok {
		t.Fatalf("api %d unknown", key)
	}
	var vs []int16
	for v := a.Min; v <= a.Max; v++ {
		vs = append(vs, v)
	}
	return vs
}

func sp(s string) *string { return &s }

var topicID = wire.UUID{0xde, 0xad, 0xbe, 0xef, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

func TestKmsgApiVersions(t *testing.T) {
	q := &wire.ApiVersionsRequest{ClientSoftwareName: "gregor", ClientSoftwareVersion: "0.1.0"}
	kq := &kmsg.ApiVersionsRequest{ClientSoftwareName: "gregor", ClientSoftwareVersion: "0.1.0"}

	p := &wire.ApiVersionsResponse{
		ErrorCode:              35,
		APIKeys:                []wire.ApiVersionsKey{{APIKey: 0, MinVersion: 3, MaxVersion: 13}, {APIKey: 3, MinVersion: 0, MaxVersion: 13}, {APIKey: 18, MinVersion: 0, MaxVersion: 4}},
		ThrottleTimeMs:         7,
		SupportedFeatures:      []wire.SupportedFeature{{Name: "metadata.version", MinVersion: 1, MaxVersion: 27}, {Name: "kraft.version", MinVersion: 0, MaxVersion: 1}},
		FinalizedFeaturesEpoch: 123456789,
		FinalizedFeatures:      []wire.FinalizedFeature{{Name: "metadata.version", MaxVersionLevel: 27, MinVersionLevel: 27}},
		ZkMigrationReady:       true,
	}
	kp := &kmsg.ApiVersionsResponse{ErrorCode: p.ErrorCode, ThrottleMillis: p.ThrottleTimeMs,
		FinalizedFeaturesEpoch: p.FinalizedFeaturesEpoch, ZkMigrationReady: p.ZkMigrationReady}
	for _, k := range p.APIKeys {
		kp.ApiKeys = append(kp.ApiKeys, kmsg.ApiVersionsResponseApiKey{ApiKey: k.APIKey, MinVersion: k.MinVersion, MaxVersion: k.MaxVersion})
	}
	for _, f := range p.SupportedFeatures {
		kp.SupportedFeatures = append(kp.SupportedFeatures, kmsg.ApiVersionsResponseSupportedFeature{Name: f.Name, MinVersion: f.MinVersion, MaxVersion: f.MaxVersion})
	}
	for _, f := range p.FinalizedFeatures {
		kp.FinalizedFeatures = append(kp.FinalizedFeatures, kmsg.ApiVersionsResponseFinalizedFeature{Name: f.Name, MaxVersionLevel: f.MaxVersionLevel, MinVersionLevel: f.MinVersionLevel})
	}
	// Tagged fields at their defaults: kmsg leaves them out too.
	bare := &wire.ApiVersionsResponse{APIKeys: []wire.ApiVersionsKey{{APIKey: 0, MinVersion: 3, MaxVersion: 13}}, FinalizedFeaturesEpoch: -1}
	kbare := kmsg.NewPtrApiVersionsResponse()
	kbare.ApiKeys = []kmsg.ApiVersionsResponseApiKey{{ApiKey: 0, MinVersion: 3, MaxVersion: 13}}

	for _, v := range versions(t, wire.KeyApiVersions) {
		crossCheck(t, "ApiVersionsRequest", v, q, kq, new(wire.ApiVersionsRequest), new(kmsg.ApiVersionsRequest))
		crossCheck(t, "ApiVersionsResponse", v, p, kp, new(wire.ApiVersionsResponse), new(kmsg.ApiVersionsResponse))
		crossCheck(t, "ApiVersionsResponse default tags", v, bare, kbare, new(wire.ApiVersionsResponse), new(kmsg.ApiVersionsResponse))
	}
}

func TestKmsgMetadata(t *testing.T) {
	for _, v := range versions(t, wire.KeyMetadata) {
		q := &wire.MetadataRequest{
			Topics:                             []wire.MetadataRequestTopic{{TopicID: topicID, Name: sp("orders")}, {Name: sp("audit")}},
			AllowAutoTopicCreation:             true,
			IncludeClusterAuthorizedOperations: true,
			IncludeTopicAuthorizedOperations:   true,
		}
		if v >= 10 {
			q.Topics = append(q.Topics, wire.MetadataRequestTopic{TopicID: topicID})
		}
		kq := &kmsg.MetadataRequest{AllowAutoTopicCreation: true, IncludeClusterAuthorizedOperations: true, IncludeTopicAuthorizedOperations: true}
		for _, tp := range q.Topics {
			kq.Topics = append(kq.Topics, kmsg.MetadataRequestTopic{TopicID: tp.TopicID, Topic: tp.Name})
		}
		crossCheck(t, "MetadataRequest", v, q, kq, new(wire.MetadataRequest), new(kmsg.MetadataRequest))

		all := &wire.MetadataRequest{AllowAutoTopicCreation: true}
		kall := &kmsg.MetadataRequest{AllowAutoTopicCreation: true}
		crossCheck(t, "MetadataRequest all topics", v, all, kall, new(wire.MetadataRequest), new(kmsg.MetadataRequest))

		p := &wire.MetadataResponse{
			ThrottleTimeMs: 3,
			Brokers: []wire.MetadataBroker{
				{NodeID: 1, Host: "kafka-1", Port: 9092, Rack: sp("a")},
				{NodeID: 2, Host: "kafka-2", Port: 9093},
			},
			ClusterID:    sp("cluster"),
			ControllerID: 2,
			Topics: []wire.MetadataTopic{
				{Name: sp("orders"), TopicID: topicID, IsInternal: true, TopicAuthorizedOperations: 0xff8,
					Partitions: []wire.MetadataPartition{
						{PartitionIndex: 0, LeaderID: 1, LeaderEpoch: 4, ReplicaNodes: []int32{1, 2}, IsrNodes: []int32{1}, OfflineReplicas: []int32{2}},
						{ErrorCode: 5, PartitionIndex: 1, LeaderID: -1, LeaderEpoch: 9, ReplicaNodes: []int32{2}, IsrNodes: []int32{}, OfflineReplicas: []int32{}},
					}},
				{ErrorCode: 3, Name: sp("gone"), TopicAuthorizedOperations: -2147483648, Partitions: []wire.MetadataPartition{}},
			},
			ClusterAuthorizedOperations: 0x1fe,
			ErrorCode:                   129,
		}
		if v >= 12 {
			p.Topics = append(p.Topics, wire.MetadataTopic{ErrorCode: 100, TopicID: topicID, TopicAuthorizedOperations: 1})
		}
		kp := &kmsg.MetadataResponse{ThrottleMillis: p.ThrottleTimeMs, ClusterID: p.ClusterID, ControllerID: p.ControllerID,
			AuthorizedOperations: p.ClusterAuthorizedOperations, ErrorCode: p.ErrorCode}
		for _, b := range p.Brokers {
			kp.Brokers = append(kp.Brokers, kmsg.MetadataResponseBroker{NodeID: b.NodeID, Host: b.Host, Port: b.Port, Rack: b.Rack})
		}
		for _, tp := range p.Topics {
			kt := kmsg.MetadataResponseTopic{ErrorCode: tp.ErrorCode, Topic: tp.Name, TopicID: tp.TopicID, IsInternal: tp.IsInternal,
				AuthorizedOperations: tp.TopicAuthorizedOperations}
			for _, pt := range tp.Partitions {
				kt.Partitions = append(kt.Partitions, kmsg.MetadataResponseTopicPartition{ErrorCode: pt.ErrorCode, Partition: pt.PartitionIndex,
					Leader: pt.LeaderID, LeaderEpoch: pt.LeaderEpoch, Replicas: pt.ReplicaNodes, ISR: pt.IsrNodes, OfflineReplicas: pt.OfflineReplicas})
			}
			kp.Topics = append(kp.Topics, kt)
		}
		crossCheck(t, "MetadataResponse", v, p, kp, new(wire.MetadataResponse), new(kmsg.MetadataResponse))
	}
}

func TestKmsgProduce(t *testing.T) {
	for _, v := range versions(t, wire.KeyProduce) {
		q := &wire.ProduceRequest{
			TransactionalID: sp("txn"),
			Acks:            -1,
			TimeoutMs:       30000,
			Topics: []wire.ProduceTopic{
				{Name: "orders", Partitions: []wire.ProducePartition{{Index: 0, Records: bytes.Repeat([]byte{7}, 300)}, {Index: 4, Records: []byte{}}}},
				{Name: "audit", Partitions: []wire.ProducePartition{{Index: 2}}},
			},
		}
		if v >= 13 {
			q.Topics[0].Name, q.Topics[0].TopicID = "", topicID
			q.Topics[1].Name, q.Topics[1].TopicID = "", wire.UUID{1: 1}
		}
		kq := &kmsg.ProduceRequest{TransactionID: q.TransactionalID, Acks: q.Acks, TimeoutMillis: q.TimeoutMs}
		for _, tp := range q.Topics {
			kt := kmsg.ProduceRequestTopic{Topic: tp.Name, TopicID: tp.TopicID}
			for _, pt := range tp.Partitions {
				kt.Partitions = append(kt.Partitions, kmsg.ProduceRequestTopicPartition{Partition: pt.Index, Records: pt.Records})
			}
			kq.Topics = append(kq.Topics, kt)
		}
		crossCheck(t, "ProduceRequest", v, q, kq, new(wire.ProduceRequest), new(kmsg.ProduceRequest))

		p := &wire.ProduceResponse{
			Topics: []wire.ProduceTopicResponse{
				{Name: "orders", Partitions: []wire.ProducePartitionResponse{
					{Index: 0, BaseOffset: 1 << 33, LogAppendTimeMs: 1700000000000, LogStartOffset: 10,
						RecordErrors: []wire.ProduceRecordError{{BatchIndex: 2, BatchIndexErrorMessage: sp("bad")}, {BatchIndex: 3}},
						ErrorMessage: sp("dropped"), CurrentLeader: wire.LeaderIDAndEpoch{LeaderID: -1, LeaderEpoch: -1}},
					{Index: 4, ErrorCode: 6, BaseOffset: -1, LogAppendTimeMs: -1, LogStartOffset: -1,
						CurrentLeader: wire.LeaderIDAndEpoch{LeaderID: 2, LeaderEpoch: 11}},
				}},
			},
			ThrottleTimeMs: 9,
			NodeEndpoints:  []wire.NodeEndpoint{{NodeID: 2, Host: "kafka-2", Port: 9092, Rack: sp("b")}, {NodeID: 3, Host: "kafka-3", Port: 9093}},
		}
		if v >= 13 {
			p.Topics[0].Name, p.Topics[0].TopicID = "", topicID
		}
		kp := &kmsg.ProduceResponse{ThrottleMillis: p.ThrottleTimeMs}
		if v >= 10 {
			for _, e := range p.NodeEndpoints {
				kp.Brokers = append(kp.Brokers, kmsg.ProduceResponseBroker{NodeID: e.NodeID, Host: e.Host, Port: e.Port, Rack: e.Rack})
			}
		}
		for _, tp := range p.Topics {
			kt := kmsg.ProduceResponseTopic{Topic: tp.Name, TopicID: tp.TopicID}
			for _, pt := range tp.Partitions {
				kpt := kmsg.ProduceResponseTopicPartition{Partition: pt.Index, ErrorCode: pt.ErrorCode, BaseOffset: pt.BaseOffset,
					LogAppendTime: pt.LogAppendTimeMs, LogStartOffset: pt.LogStartOffset, ErrorMessage: pt.ErrorMessage}
				kpt.CurrentLeader.LeaderID, kpt.CurrentLeader.LeaderEpoch = -1, -1
				if v >= 10 {
					kpt.CurrentLeader.LeaderID, kpt.CurrentLeader.LeaderEpoch = pt.CurrentLeader.LeaderID, pt.CurrentLeader.LeaderEpoch
				}
				for _, e := range pt.RecordErrors {
					kpt.ErrorRecords = append(kpt.ErrorRecords, kmsg.ProduceResponseTopicPartitionErrorRecord{RelativeOffset: e.BatchIndex, ErrorMessage: e.BatchIndexErrorMessage})
				}
				kt.Partitions = append(kt.Partitions, kpt)
			}
			kp.Topics = append(kp.Topics, kt)
		}
		crossCheck(t, "ProduceResponse", v, p, kp, new(wire.ProduceResponse), new(kmsg.ProduceResponse))
	}
}
