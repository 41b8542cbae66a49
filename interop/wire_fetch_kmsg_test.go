package interop

import (
	"bytes"
	"math"
	"testing"

	"github.com/gregor-kafka/producer/wire"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Cross-checks of the consumer-side messages kafkatest serves: Fetch and ListOffsets, at
// every version wire implements (see wire_kmsg_test.go for crossCheck).

// wireFetchRequest returns a request with every field set that version carries; the rest
// hold the defaults kmsg leaves out (kmsg writes a tagged field whenever it differs from its
// default, whatever the version).
func wireFetchRequest(v int16) *wire.FetchRequest {
	q := &wire.FetchRequest{
		ClusterID:      sp("cluster-1"),
		ReplicaID:      -1,
		ReplicaState:   wire.FetchReplicaState{ReplicaID: -1, ReplicaEpoch: -1},
		MaxWaitMs:      500,
		MinBytes:       1,
		MaxBytes:       50 << 20,
		IsolationLevel: wire.ReadCommitted,
		SessionID:      0,
		SessionEpoch:   -1,
		Topics: []wire.FetchTopic{
			{Name: "orders", Partitions: []wire.FetchPartition{
				{Index: 0, CurrentLeaderEpoch: 5, FetchOffset: 1 << 33, LastFetchedEpoch: 4, LogStartOffset: -1,
					PartitionMaxBytes: 1 << 20, HighWatermark: math.MaxInt64},
				{Index: 9, CurrentLeaderEpoch: -1, FetchOffset: 0, LastFetchedEpoch: -1, LogStartOffset: 12,
					PartitionMaxBytes: 0, HighWatermark: math.MaxInt64},
			}},
			{Name: "audit", Partitions: []wire.FetchPartition{{Index: 1, CurrentLeaderEpoch: -1, LastFetchedEpoch: -1,
				LogStartOffset: -1, PartitionMaxBytes: 100, HighWatermark: math.MaxInt64}}},
		},
		RackID: "rack-a",
	}
	if v >= 7 {
		q.SessionID, q.SessionEpoch = 42, 3
		q.ForgottenTopics = []wire.FetchForgottenTopic{{Name: "gone", Partitions: []int32{4, 5}}}
	}
	if v >= 13 {
		q.Topics[0].Name, q.Topics[0].TopicID = "", topicID
		q.Topics[1].Name, q.Topics[1].TopicID = "", wire.UUID{1: 1}
		q.ForgottenTopics[0].Name, q.ForgottenTopics[0].TopicID = "", wire.UUID{2: 2}
	} else {
		q.ReplicaID = 2
	}
	if v >= 15 {
		q.ReplicaState = wire.FetchReplicaState{ReplicaID: 2, ReplicaEpoch: 1 << 40}
	}
	if v >= 17 {
		q.Topics[0].Partitions[0].ReplicaDirectoryID = wire.UUID{3: 3}
	}
	if v >= 18 {
		q.Topics[0].Partitions[0].HighWatermark = 1 << 33
		q.Topics[1].Partitions[0].HighWatermark = -1
	}
	return q
}

func kmsgFetchRequest(q *wire.FetchRequest) *kmsg.FetchRequest {
	kq := kmsg.NewPtrFetchRequest()
	kq.ClusterID, kq.ReplicaID = q.ClusterID, q.ReplicaID
	kq.ReplicaState.ID, kq.ReplicaState.Epoch = q.ReplicaState.ReplicaID, q.ReplicaState.ReplicaEpoch
	kq.MaxWaitMillis, kq.MinBytes, kq.MaxBytes, kq.IsolationLevel = q.MaxWaitMs, q.MinBytes, q.MaxBytes, q.IsolationLevel
	kq.SessionID, kq.SessionEpoch, kq.Rack = q.SessionID, q.SessionEpoch, q.RackID
	for _, t := range q.Topics {
		kt := kmsg.FetchRequestTopic{Topic: t.Name, TopicID: t.TopicID}
		for _, p := range t.Partitions {
			kt.Partitions = append(kt.Partitions, kmsg.FetchRequestTopicPartition{Partition: p.Index,
				CurrentLeaderEpoch: p.CurrentLeaderEpoch, FetchOffset: p.FetchOffset, LastFetchedEpoch: p.LastFetchedEpoch,
				LogStartOffset: p.LogStartOffset, PartitionMaxBytes: p.PartitionMaxBytes,
				ReplicaDirectoryID: p.ReplicaDirectoryID, HighWatermark: p.HighWatermark})
		}
		kq.Topics = append(kq.Topics, kt)
	}
	for _, t := range q.ForgottenTopics {
		kq.ForgottenTopics = append(kq.ForgottenTopics, kmsg.FetchRequestForgottenTopic{Topic: t.Name, TopicID: t.TopicID, Partitions: t.Partitions})
	}
	return kq
}

func wireFetchResponse(v int16) *wire.FetchResponse {
	none := wire.FetchEpochEndOffset{Epoch: -1, EndOffset: -1}
	noLeader := wire.LeaderIDAndEpoch{LeaderID: -1, LeaderEpoch: -1}
	noSnap := wire.FetchSnapshotID{EndOffset: -1, Epoch: -1}
	p := &wire.FetchResponse{
		ThrottleTimeMs: 3,
		Topics: []wire.FetchTopicResponse{
			{Name: "orders", Partitions: []wire.FetchPartitionResponse{
				{Index: 0, HighWatermark: 1000, LastStableOffset: 990, LogStartOffset: 10,
					DivergingEpoch: none, CurrentLeader: noLeader, SnapshotID: noSnap,
					AbortedTransactions:  []wire.FetchAbortedTransaction{{ProducerID: 1000, FirstOffset: 950}},
					PreferredReadReplica: -1, Records: bytes.Repeat([]byte{0x5a}, 200)},
				{Index: 1, ErrorCode: 6, HighWatermark: -1, LastStableOffset: -1, LogStartOffset: -1,
					DivergingEpoch: none, CurrentLeader: noLeader, SnapshotID: noSnap,
					PreferredReadReplica: -1, Records: []byte{}},
				{Index: 2, HighWatermark: 5, LastStableOffset: 5, LogStartOffset: 0,
					DivergingEpoch: none, CurrentLeader: noLeader, SnapshotID: noSnap,
					AbortedTransactions: []wire.FetchAbortedTransaction{}, PreferredReadReplica: -1},
			}},
		},
	}
	if v >= 7 {
		p.ErrorCode, p.SessionID = 0, 7
	}
	if v >= 11 {
		p.Topics[0].Partitions[0].PreferredReadReplica = 2
	}
	if v >= 12 {
		p.Topics[0].Partitions[0].DivergingEpoch = wire.FetchEpochEndOffset{Epoch: 3, EndOffset: 900}
		p.Topics[0].Partitions[0].SnapshotID = wire.FetchSnapshotID{EndOffset: 800, Epoch: 2}
		p.Topics[0].Partitions[1].CurrentLeader = wire.LeaderIDAndEpoch{LeaderID: 2, LeaderEpoch: 8}
	}
	if v >= 13 {
		p.Topics[0].Name, p.Topics[0].TopicID = "", topicID
	}
	if v >= 16 {
		p.NodeEndpoints = []wire.NodeEndpoint{{NodeID: 2, Host: "kafka-2", Port: 9093, Rack: sp("b")}, {NodeID: 3, Host: "kafka-3", Port: 9094}}
	}
	return p
}

func kmsgFetchResponse(p *wire.FetchResponse) *kmsg.FetchResponse {
	kp := kmsg.NewPtrFetchResponse()
	kp.ThrottleMillis, kp.ErrorCode, kp.SessionID = p.ThrottleTimeMs, p.ErrorCode, p.SessionID
	for _, e := range p.NodeEndpoints {
		kp.Brokers = append(kp.Brokers, kmsg.FetchResponseBroker{NodeID: e.NodeID, Host: e.Host, Port: e.Port, Rack: e.Rack})
	}
	for _, t := range p.Topics {
		kt := kmsg.FetchResponseTopic{Topic: t.Name, TopicID: t.TopicID}
		for _, pt := range t.Partitions {
			kpt := kmsg.NewFetchResponseTopicPartition()
			kpt.Partition, kpt.ErrorCode, kpt.HighWatermark = pt.Index, pt.ErrorCode, pt.HighWatermark
			kpt.LastStableOffset, kpt.LogStartOffset = pt.LastStableOffset, pt.LogStartOffset
			kpt.DivergingEpoch.Epoch, kpt.DivergingEpoch.EndOffset = pt.DivergingEpoch.Epoch, pt.DivergingEpoch.EndOffset
			kpt.CurrentLeader.LeaderID, kpt.CurrentLeader.LeaderEpoch = pt.CurrentLeader.LeaderID, pt.CurrentLeader.LeaderEpoch
			kpt.SnapshotID.EndOffset, kpt.SnapshotID.Epoch = pt.SnapshotID.EndOffset, pt.SnapshotID.Epoch
			if pt.AbortedTransactions != nil {
				kpt.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
			}
			for _, a := range pt.AbortedTransactions {
				kpt.AbortedTransactions = append(kpt.AbortedTransactions, kmsg.FetchResponseTopicPartitionAbortedTransaction{ProducerID: a.ProducerID, FirstOffset: a.FirstOffset})
			}
			kpt.PreferredReadReplica, kpt.RecordBatches = pt.PreferredReadReplica, pt.Records
			kt.Partitions = append(kt.Partitions, kpt)
		}
		kp.Topics = append(kp.Topics, kt)
	}
	return kp
}

func TestKmsgFetch(t *testing.T) {
	for _, v := range versions(t, wire.KeyFetch) {
		q := wireFetchRequest(v)
		crossCheck(t, "FetchRequest", v, q, kmsgFetchRequest(q), new(wire.FetchRequest), new(kmsg.FetchRequest))
		// A consumer's plain request: every default, no cluster id.
		plain := &wire.FetchRequest{ReplicaID: -1, ReplicaState: wire.FetchReplicaState{ReplicaID: -1, ReplicaEpoch: -1},
			MaxWaitMs: 100, MaxBytes: 1 << 20, SessionEpoch: -1}
		crossCheck(t, "FetchRequest plain", v, plain, kmsgFetchRequest(plain), new(wire.FetchRequest), new(kmsg.FetchRequest))

		p := wireFetchResponse(v)
		crossCheck(t, "FetchResponse", v, p, kmsgFetchResponse(p), new(wire.FetchResponse), new(kmsg.FetchResponse))
		failed := &wire.FetchResponse{ErrorCode: 70}
		if v < 7 {
			failed.ErrorCode = 0
		}
		crossCheck(t, "FetchResponse error", v, failed, kmsgFetchResponse(failed), new(wire.FetchResponse), new(kmsg.FetchResponse))
	}
}

func TestKmsgListOffsets(t *testing.T) {
	for _, v := range versions(t, wire.KeyListOffsets) {
		q := &wire.ListOffsetsRequest{ReplicaID: -1, Topics: []wire.ListOffsetsTopic{
			{Name: "orders", Partitions: []wire.ListOffsetsPartition{
				{Index: 0, CurrentLeaderEpoch: -1, Timestamp: wire.ListOffsetsEarliest},
				{Index: 3, CurrentLeaderEpoch: -1, Timestamp: 1700000000000},
			}},
			{Name: "audit", Partitions: []wire.ListOffsetsPartition{{Index: 1, CurrentLeaderEpoch: -1, Timestamp: wire.ListOffsetsLatest}}},
		}}
		if v >= 2 {
			q.IsolationLevel = wire.ReadCommitted
		}
		if v >= 4 {
			q.Topics[0].Partitions[0].CurrentLeaderEpoch = 7
		}
		if v >= 10 {
			q.TimeoutMs = 30000
		}
		kq := kmsg.NewPtrListOffsetsRequest()
		kq.ReplicaID, kq.IsolationLevel, kq.TimeoutMillis = q.ReplicaID, q.IsolationLevel, q.TimeoutMs
		for _, tp := range q.Topics {
			kt := kmsg.ListOffsetsRequestTopic{Topic: tp.Name}
			for _, pt := range tp.Partitions {
				kpt := kmsg.NewListOffsetsRequestTopicPartition()
				kpt.Partition, kpt.CurrentLeaderEpoch, kpt.Timestamp = pt.Index, pt.CurrentLeaderEpoch, pt.Timestamp
				kt.Partitions = append(kt.Partitions, kpt)
			}
			kq.Topics = append(kq.Topics, kt)
		}
		crossCheck(t, "ListOffsetsRequest", v, q, kq, new(wire.ListOffsetsRequest), new(kmsg.ListOffsetsRequest))

		p := &wire.ListOffsetsResponse{Topics: []wire.ListOffsetsTopicResponse{
			{Name: "orders", Partitions: []wire.ListOffsetsPartitionResponse{
				{Index: 0, Timestamp: -1, Offset: 1 << 35, LeaderEpoch: -1},
				{Index: 3, ErrorCode: 6, Timestamp: -1, Offset: -1, LeaderEpoch: -1},
			}},
		}}
		if v >= 2 {
			p.ThrottleTimeMs = 11
		}
		if v >= 4 {
			p.Topics[0].Partitions[0].LeaderEpoch = 3
		}
		kp := kmsg.NewPtrListOffsetsResponse()
		kp.ThrottleMillis = p.ThrottleTimeMs
		for _, tp := range p.Topics {
			kt := kmsg.ListOffsetsResponseTopic{Topic: tp.Name}
			for _, pt := range tp.Partitions {
				kpt := kmsg.NewListOffsetsResponseTopicPartition()
				kpt.Partition, kpt.ErrorCode, kpt.Timestamp, kpt.Offset, kpt.LeaderEpoch = pt.Index, pt.ErrorCode, pt.Timestamp, pt.Offset, pt.LeaderEpoch
				kt.Partitions = append(kt.Partitions, kpt)
			}
			kp.Topics = append(kp.Topics, kt)
		}
		crossCheck(t, "ListOffsetsResponse", v, p, kp, new(wire.ListOffsetsResponse), new(kmsg.ListOffsetsResponse))
	}
}
