package interop

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gregor-kafka/producer/wire"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Cross-checks of wire's AddOffsetsToTxn and TxnOffsetCommit messages against franz-go's
// kmsg, as TestTxnSaslMatchKmsg does for the other transaction messages: for random values
// at every version both encoders give the same bytes, and each decodes the other's bytes to
// a value that re-encodes to them.

func TestOffsetsTxnMatchKmsg(t *testing.T) {
	checkPairsMatchKmsg(t, rand.New(rand.NewPCG(5, 6)), offsetsTxnPairs())
}

// TestOffsetsTxnKmsgVersions checks that wire implements exactly the versions kmsg knows of
// the two APIs, which are those Kafka 4.x accepts (TxnOffsetCommit v6 from 4.4).
func TestOffsetsTxnKmsgVersions(t *testing.T) {
	for _, k := range []kmsg.Request{kmsg.NewPtrAddOffsetsToTxnRequest(), kmsg.NewPtrTxnOffsetCommitRequest()} {
		a, ok := wire.LookupAPI(k.Key())
		if !ok || a.Min != 0 || a.Max != k.MaxVersion() {
			t.Errorf("key %d: wire implements %+v, kmsg up to v%d", k.Key(), a, k.MaxVersion())
		}
		for v := a.Min; v <= a.Max; v++ {
			k.SetVersion(v)
			if k.IsFlexible() != wire.IsFlexible(k.Key(), v) {
				t.Errorf("%s v%d: flexible %v in kmsg", a.Name, v, k.IsFlexible())
			}
		}
	}
}

func ruuid(r *rand.Rand) wire.UUID {
	var id wire.UUID
	if r.IntN(4) == 0 {
		return id
	}
	for i := range id {
		id[i] = byte(r.UintN(256))
	}
	return id
}

func offsetsTxnPairs() []txnSaslPair {
	return []txnSaslPair{
		{"AddOffsetsToTxnRequest", func(r *rand.Rand) (wireMsg, kmsgMsg) {
			m := &wire.AddOffsetsToTxnRequest{TransactionalID: rstr(r), ProducerID: ri64(r), ProducerEpoch: ri16(r), GroupID: rstr(r)}
			k := kmsg.NewPtrAddOffsetsToTxnRequest()
			k.TransactionalID, k.ProducerID, k.ProducerEpoch, k.Group = m.TransactionalID, m.ProducerID, m.ProducerEpoch, m.GroupID
			return m, k
		}, func() kmsgMsg { return kmsg.NewPtrAddOffsetsToTxnRequest() }},

		{"AddOffsetsToTxnResponse", func(r *rand.Rand) (wireMsg, kmsgMsg) {
			m := &wire.AddOffsetsToTxnResponse{ThrottleTimeMs: ri32(r), ErrorCode: ri16(r)}
			k := kmsg.NewPtrAddOffsetsToTxnResponse()
			k.ThrottleMillis, k.ErrorCode = m.ThrottleTimeMs, m.ErrorCode
			return m, k
		}, func() kmsgMsg { return kmsg.NewPtrAddOffsetsToTxnResponse() }},

		{"TxnOffsetCommitRequest", func(r *rand.Rand) (wireMsg, kmsgMsg) {
			m := &wire.TxnOffsetCommitRequest{
				TransactionalID: rstr(r), GroupID: rstr(r), ProducerID: ri64(r), ProducerEpoch: ri16(r),
				GenerationID: ri32(r), MemberID: rstr(r), GroupInstanceID: rnstr(r),
			}
			k := kmsg.NewPtrTxnOffsetCommitRequest()
			k.TransactionalID, k.Group, k.ProducerID, k.ProducerEpoch = m.TransactionalID, m.GroupID, m.ProducerID, m.ProducerEpoch
			k.Generation, k.MemberID, k.InstanceID = m.GenerationID, m.MemberID, m.GroupInstanceID
			for range rcount(r) {
				tp := wire.TxnOffsetCommitTopic{Name: rstr(r), TopicID: ruuid(r)}
				kt := kmsg.NewTxnOffsetCommitRequestTopic()
				kt.Topic, kt.TopicID = tp.Name, tp.TopicID
				for range rcount(r) {
					p := wire.TxnOffsetCommitPartition{PartitionIndex: ri32(r), CommittedOffset: ri64(r), CommittedLeaderEpoch: ri32(r), CommittedMetadata: rnstr(r)}
					tp.Partitions = append(tp.Partitions, p)
					kp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
					kp.Partition, kp.Offset, kp.LeaderEpoch, kp.Metadata = p.PartitionIndex, p.CommittedOffset, p.CommittedLeaderEpoch, p.CommittedMetadata
					kt.Partitions = append(kt.Partitions, kp)
				}
				m.Topics = append(m.Topics, tp)
				k.Topics = append(k.Topics, kt)
			}
			return m, k
		}, func() kmsgMsg { return kmsg.NewPtrTxnOffsetCommitRequest() }},

		{"TxnOffsetCommitResponse", func(r *rand.Rand) (wireMsg, kmsgMsg) {
			m := &wire.TxnOffsetCommitResponse{ThrottleTimeMs: ri32(r)}
			k := kmsg.NewPtrTxnOffsetCommitResponse()
			k.ThrottleMillis = m.ThrottleTimeMs
			for range rcount(r) {
				tr := wire.TxnOffsetCommitTopicResult{Name: rstr(r), TopicID: ruuid(r)}
				kt := kmsg.NewTxnOffsetCommitResponseTopic()
				kt.Topic, kt.TopicID = tr.Name, tr.TopicID
				for range rcount(r) {
					p := wire.TxnOffsetCommitPartitionResult{PartitionIndex: ri32(r), ErrorCode: ri16(r)}
					tr.Partitions = append(tr.Partitions, p)
					kp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
					kp.Partition, kp.ErrorCode = p.PartitionIndex, p.ErrorCode
					kt.Partitions = append(kt.Partitions, kp)
				}
				m.Topics = append(m.Topics, tr)
				k.Topics = append(k.Topics, kt)
			}
			return m, k
		}, func() kmsgMsg { return kmsg.NewPtrTxnOffsetCommitResponse() }},
	}
}

// TestOffsetsTxnKmsgCoversEveryType guards the table above: one pair per message type.
func TestOffsetsTxnKmsgCoversEveryType(t *testing.T) {
	seen := map[string]bool{}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, p := range offsetsTxnPairs() {
		ours, _ := p.gen(rng)
		seen[fmt.Sprintf("%T", ours)] = true
	}
	if len(seen) != 4 {
		t.Fatalf("%d message types covered, want 4: %v", len(seen), seen)
	}
}
