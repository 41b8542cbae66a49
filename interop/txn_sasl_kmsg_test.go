package interop

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/gregor-kafka/producer/wire"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Cross-checks of wire's InitProducerId, FindCoordinator, AddPartitionsToTxn, EndTxn,
// SaslHandshake and SaslAuthenticate messages against franz-go's kmsg, an encoder written
// independently from the same Kafka JSON specs: for random values at every version, both
// must produce the same bytes, and each must decode the other's bytes.

// kmsgMsg is what kmsg requests and responses have in common.
type kmsgMsg interface {
	SetVersion(int16)
	AppendTo([]byte) []byte
	ReadFrom([]byte) error
}

// wireMsg is what wire requests and responses have in common.
type wireMsg interface {
	Key() int16
	AppendTo(dst []byte, version int16) []byte
	Decode(b []byte, version int16) error
}

// txnSaslPair is one message type: a random wire value and its kmsg twin.
type txnSaslPair struct {
	name string
	gen  func(*rand.Rand) (wireMsg, kmsgMsg)
	// newKmsg returns an empty kmsg value of the type, to decode wire's bytes into.
	newKmsg func() kmsgMsg
}

func TestTxnSaslMatchKmsg(t *testing.T) {
	checkPairsMatchKmsg(t, rand.New(rand.NewPCG(1, 2)), txnSaslPairs())
}

// checkPairsMatchKmsg checks 300 random values of each pair at every version wire
// implements: both encoders give the same bytes, and each decodes the other's bytes to a
// value that re-encodes to them.
func checkPairsMatchKmsg(t *testing.T, rng *rand.Rand, pairs []txnSaslPair) {
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			for i := range 300 {
				ours, theirs := p.gen(rng)
				a, ok := wire.LookupAPI(ours.Key())
				if !ok {
					t.Fatalf("key %d not implemented", ours.Key())
				}
				for v := a.Min; v <= a.Max; v++ {
					theirs.SetVersion(v)
					want := theirs.AppendTo(nil)
					got := ours.AppendTo(nil, v)
					if !bytes.Equal(got, want) {
						t.Fatalf("value %d v%d: %+v\n ours % x\nkmsg  % x", i, v, ours, got, want)
					}

					// kmsg's bytes decode with wire to a value that encodes the same.
					back := reflect.New(reflect.TypeOf(ours).Elem()).Interface().(wireMsg)
					if err := back.Decode(want, v); err != nil {
						t.Fatalf("value %d v%d: wire cannot decode kmsg bytes: %v", i, v, err)
					}
					if re := back.AppendTo(nil, v); !bytes.Equal(re, want) {
						t.Fatalf("value %d v%d: kmsg bytes decode and re-encode to\n% x\nnot\n% x", i, v, re, want)
					}

					// wire's bytes decode with kmsg.
					k := p.newKmsg()
					k.SetVersion(v)
					if err := k.ReadFrom(got); err != nil {
						t.Fatalf("value %d v%d: kmsg cannot decode wire bytes: %v", i, v, err)
					}
					if re := k.AppendTo(nil); !bytes.Equal(re, got) {
						t.Fatalf("value %d v%d: wire bytes read by kmsg re-encode to\n% x\nnot\n% x", i, v, re, got)
					}
				}
			}
		})
	}
}

// Random value helpers. Strings and byte slices are often empty; slices are nil, empty or
// short; nullable strings are nil a third of the time.

func rstr(r *rand.Rand) string {
	n := r.IntN(4) * r.IntN(6)
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + r.IntN(26))
	}
	if r.IntN(8) == 0 {
		return "ü-" + string(b)
	}
	return string(b)
}

func rnstr(r *rand.Rand) *string {
	if r.IntN(3) == 0 {
		return nil
	}
	s := rstr(r)
	return &s
}

func rbytes(r *rand.Rand) []byte {
	switch r.IntN(4) {
	case 0:
		return nil
	case 1:
		return []byte{}
	}
	b := make([]byte, 1+r.IntN(40))
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

func rcount(r *rand.Rand) int { return r.IntN(4) }

func ri16(r *rand.Rand) int16 { return int16(r.Uint32()) }
func ri32(r *rand.Rand) int32 { return int32(r.Uint32()) }
func ri64(r *rand.Rand) int64 { return int64(r.Uint64()) }

func rstrs(r *rand.Rand) []string {
	var ss []string
	for range rcount(r) {
		ss = append(ss, rstr(r))
	}
	return ss
}

func ri32s(r *rand.Rand) []int32 {
	var vs []int32
	for range rcount(r) {
		vs = append(vs, ri32(r))
	}
	return vs
}

func txnSaslPairs() []txnSaslPair {
	return []txnSaslPair{
		{"InitProducerIDRequest", func(r *rand.Rand) (wireMsg, kmsgMsg) {
			m := &wire.InitProducerIDRequest{TransactionalID: rnstr(r), TransactionTimeoutMs: ri32(r), ProducerID: ri64(r), ProducerEpoch: ri16(r)}
			k := kmsg.NewPtrInitProducerIDRequest()
			k.TransactionalID, k.TransactionTimeoutMillis, k.ProducerID, k.ProducerEpoch = m.TransactionalID, m.TransactionTimeoutMs, m.ProducerID, m.ProducerEpoch
			return m, k
		}, func() kmsgMsg { return kmsg.NewPtrInitProducerIDRequest() }},

		{"InitProducerIDResponse", func(r *rand.Rand) (wireMsg, kmsgMsg) {
			m := &wire.InitProducerIDResponse{ThrottleTimeMs: ri32(r), ErrorCode: ri16(r), ProducerID: ri64(r), ProducerEpoch: ri16(r)}
			k := kmsg.NewPtrInitProducerIDResponse()
			k.ThrottleMillis, k.ErrorCode, k.ProducerID, k.ProducerEpoch = m.ThrottleTimeMs, m.ErrorCode, m.ProducerID, m.ProducerEpoch
			return m, k
		}, func() kmsgMsg { return kmsg.NewPtrInitProducerIDResponse() }},

		{"FindCoordinatorRequest", func(r *rand.Rand) (wireMsg, kmsgMsg) {
			m := &wire.FindCoordinatorRequest{CoordinatorKey: rstr(r), KeyType: int8(r.IntN(3)), CoordinatorKeys: rstrs(r)}
			k := kmsg.NewPtrFindCoordinatorRequest()
			k.CoordinatorKey, k.CoordinatorType, k.CoordinatorKeys = m.CoordinatorKey, m.KeyType, m.CoordinatorKeys
			return m, k
		}, func() kmsgMsg { return kmsg.NewPtrFindCoordinatorRequest() }},

		{"FindCoordinatorResponse", func(r *rand.Rand) (wireMsg, kmsgMsg) {
			m := &wire.FindCoordinatorResponse{
				ThrottleTimeMs: ri32(r), ErrorCode: ri16(r), ErrorMessage: rnstr(r),
				NodeID: ri32(r), Host: rstr(r), Port: ri32(r),
			}
			k := kmsg.NewPtrFindCoordinatorResponse()
			k.ThrottleMillis, k.ErrorCode, k.ErrorMessage = m.ThrottleTimeMs, m.ErrorCode, m.ErrorMessage
			k.NodeID, k.Host, k.Port = m.NodeID, m.Host, m.Port
			for range rcount(r) {
				c := wire.Coordinator{Key: rstr(r), NodeID: ri32(r), Host: rstr(r), Port: ri32(r), ErrorCode: ri16(r), ErrorMessage: rnstr(r)}
				m.Coordinators = append(m.Coordinators, c)
				kc := kmsg.NewFindCoordinatorResponseCoordinator()
				kc.Key, kc.NodeID, kc.Host, kc.Port, kc.ErrorCode, kc.ErrorMessage = c.Key, c.NodeID, c.Host, c.Port, c.ErrorCode, c.ErrorMessage
				k.Coordinators = append(k.Coordinators, kc)
			}
			return m, k
		}, func() kmsgMsg { return kmsg.NewPtrFindCoordinatorResponse() }},

		{"AddPartitionsToTxnRequest", func(r *rand.Rand) (wireMsg, kmsgMsg) {
			m := &wire.AddPartitionsToTxnRequest{TransactionalID: rstr(r), ProducerID: ri64(r), ProducerEpoch: ri16(r)}
			k := kmsg.NewPtrAddPartitionsToTxnRequest()
			k.TransactionalID, k.ProducerID, k.ProducerEpoch = m.TransactionalID, m.ProducerID, m.ProducerEpoch
			for range rcount(r) {
				tp := wire.AddPartitionsToTxnTopic{Name: rstr(r), Partitions: ri32s(r)}
				m.Topics = append(m.Topics, tp)
				kt := kmsg.NewAddPartitionsToTxnRequestTopic()
				kt.Topic, kt.Partitions = tp.Name, tp.Partitions
				k.Topics = append(k.Topics, kt)
			}
			for range rcount(r) {
				tx := wire.AddPartitionsToTxnTransaction{TransactionalID: rstr(r), ProducerID: ri64(r), ProducerEpoch: ri16(r), VerifyOnly: r.IntN(2) == 0}
				kx := kmsg.NewAddPartitionsToTxnRequestTransaction()
				kx.TransactionalID, kx.ProducerID, kx.ProducerEpoch, kx.VerifyOnly = tx.TransactionalID, tx.ProducerID, tx.ProducerEpoch, tx.VerifyOnly
				for range rcount(r) {
					tp := wire.AddPartitionsToTxnTopic{Name: rstr(r), Partitions: ri32s(r)}
					tx.Topics = append(tx.Topics, tp)
					kt := kmsg.NewAddPartitionsToTxnRequestTransactionTopic()
					kt.Topic, kt.Partitions = tp.Name, tp.Partitions
					kx.Topics = append(kx.Topics, kt)
				}
				m.Transactions = append(m.Transactions, tx)
				k.Transactions = append(k.Transactions, kx)
			}
			return m, k
		}, func() kmsgMsg { return kmsg.NewPtrAddPartitionsToTxnRequest() }},

		{"AddPartitionsToTxnResponse", func(r *rand.Rand) (wireMsg, kmsgMsg) {
			m := &wire.AddPartitionsToTxnResponse{ThrottleTimeMs: ri32(r), ErrorCode: ri16(r)}
			k := kmsg.NewPtrAddPartitionsToTxnResponse()
			k.ThrottleMillis, k.ErrorCode = m.ThrottleTimeMs, m.ErrorCode
			for range rcount(r) {
				tr := wire.AddPartitionsToTxnTopicResult{Name: rstr(r)}
				kt := kmsg.NewAddPartitionsToTxnResponseTopic()
				kt.Topic = tr.Name
				for range rcount(r) {
					pr := wire.AddPartitionsToTxnPartitionResult{PartitionIndex: ri32(r), ErrorCode: ri16(r)}
					tr.Results = append(tr.Results, pr)
					kp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
					kp.Partition, kp.ErrorCode = pr.PartitionIndex, pr.ErrorCode
					kt.Partitions = append(kt.Partitions, kp)
				}
				m.ResultsByTopicV3AndBelow = append(m.ResultsByTopicV3AndBelow, tr)
				k.Topics = append(k.Topics, kt)
			}
			for range rcount(r) {
				res := wire.AddPartitionsToTxnResult{TransactionalID: rstr(r)}
				kx := kmsg.NewAddPartitionsToTxnResponseTransaction()
				kx.TransactionalID = res.TransactionalID
				for range rcount(r) {
					tr := wire.AddPartitionsToTxnTopicResult{Name: rstr(r)}
					kt := kmsg.NewAddPartitionsToTxnResponseTransactionTopic()
					kt.Topic = tr.Name
					for range rcount(r) {
						pr := wire.AddPartitionsToTxnPartitionResult{PartitionIndex: ri32(r), ErrorCode: ri16(r)}
						tr.Results = append(tr.Results, pr)
						kp := kmsg.NewAddPartitionsToTxnResponseTransactionTopicPartition()
						kp.Partition, kp.ErrorCode = pr.PartitionIndex, pr.ErrorCode
						kt.Partitions = append(kt.Partitions, kp)
					}
					res.TopicResults = append(res.TopicResults, tr)
					kx.Topics = append(kx.Topics, kt)
				}
				m.ResultsByTransaction = append(m.ResultsByTransaction, res)
				k.Transactions = append(k.Transactions, kx)
			}
			return m, k
		}, func() kmsgMsg { return kmsg.NewPtrAddPartitionsToTxnResponse() }},

		{"EndTxnRequest", func(r *rand.Rand) (wireMsg, kmsgMsg) {
			m := &wire.EndTxnRequest{TransactionalID: rstr(r), ProducerID: ri64(r), ProducerEpoch: ri16(r), Committed: r.IntN(2) == 0}
			k := kmsg.NewPtrEndTxnRequest()
			k.TransactionalID, k.ProducerID, k.ProducerEpoch, k.Commit = m.TransactionalID, m.ProducerID, m.ProducerEpoch, m.Committed
			return m, k
		}, func() kmsgMsg { return kmsg.NewPtrEndTxnRequest() }},

		{"EndTxnResponse", func(r *rand.Rand) (wireMsg, kmsgMsg) {
			m := &wire.EndTxnResponse{ThrottleTimeMs: ri32(r), ErrorCode: ri16(r), ProducerID: ri64(r), ProducerEpoch: ri16(r)}
			k := kmsg.NewPtrEndTxnResponse()
			k.ThrottleMillis, k.ErrorCode, k.ProducerID, k.ProducerEpoch = m.ThrottleTimeMs, m.ErrorCode, m.ProducerID, m.ProducerEpoch
			return m, k
		}, func() kmsgMsg { return kmsg.NewPtrEndTxnResponse() }},

		{"SaslHandshakeRequest", func(r *rand.Rand) (wireMsg, kmsgMsg) {
			m := &wire.SaslHandshakeRequest{Mechanism: rstr(r)}
			k := kmsg.NewPtrSASLHandshakeRequest()
			k.Mechanism = m.Mechanism
			return m, k
		}, func() kmsgMsg { return kmsg.NewPtrSASLHandshakeRequest() }},

		{"SaslHandshakeResponse", func(r *rand.Rand) (wireMsg, kmsgMsg) {
			m := &wire.SaslHandshakeResponse{ErrorCode: ri16(r), Mechanisms: rstrs(r)}
			k := kmsg.NewPtrSASLHandshakeResponse()
			k.ErrorCode, k.SupportedMechanisms = m.ErrorCode, m.Mechanisms
			return m, k
		}, func() kmsgMsg { return kmsg.NewPtrSASLHandshakeResponse() }},

		{"SaslAuthenticateRequest", func(r *rand.Rand) (wireMsg, kmsgMsg) {
			m := &wire.SaslAuthenticateRequest{AuthBytes: rbytes(r)}
			k := kmsg.NewPtrSASLAuthenticateRequest()
			k.SASLAuthBytes = m.AuthBytes
			return m, k
		}, func() kmsgMsg { return kmsg.NewPtrSASLAuthenticateRequest() }},

		{"SaslAuthenticateResponse", func(r *rand.Rand) (wireMsg, kmsgMsg) {
			m := &wire.SaslAuthenticateResponse{ErrorCode: ri16(r), ErrorMessage: rnstr(r), AuthBytes: rbytes(r), SessionLifetimeMs: ri64(r)}
			k := kmsg.NewPtrSASLAuthenticateResponse()
			k.ErrorCode, k.ErrorMessage, k.SASLAuthBytes, k.SessionLifetimeMillis = m.ErrorCode, m.ErrorMessage, m.AuthBytes, m.SessionLifetimeMs
			return m, k
		}, func() kmsgMsg { return kmsg.NewPtrSASLAuthenticateResponse() }},
	}
}

// TestTxnSaslKmsgCoversEveryType guards the table above: one pair per message type.
func TestTxnSaslKmsgCoversEveryType(t *testing.T) {
	seen := map[string]bool{}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, p := range txnSaslPairs() {
		ours, _ := p.gen(rng)
		seen[fmt.Sprintf("%T", ours)] = true
	}
	if len(seen) != 12 {
		t.Fatalf("%d message types covered, want 12: %v", len(seen), seen)
	}
}
