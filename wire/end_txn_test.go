package wire

import "testing"

func endTxnCases(t testing.TB) []msgCase {
	var cases []msgCase
	for _, v := range versionsOf(t, KeyEndTxn) {
		commit := &EndTxnRequest{TransactionalID: "txn-ü-1", ProducerID: 1 << 50, ProducerEpoch: 32000, Committed: true}
		abort := &EndTxnRequest{TransactionalID: "", ProducerID: -1, ProducerEpoch: -1}
		cases = append(cases,
			msgCase{"EndTxnRequest/commit", v, commit, commit},
			msgCase{"EndTxnRequest/abort", v, abort, abort})

		resp := &EndTxnResponse{ThrottleTimeMs: 11, ErrorCode: 47, ProducerID: 1 << 50, ProducerEpoch: 32001}
		want := *resp
		if v < 5 {
			want.ProducerID, want.ProducerEpoch = -1, -1
		}
		cases = append(cases, msgCase{"EndTxnResponse/full", v, resp, &want})
	}
	return cases
}

func TestEndTxnRoundTrip(t *testing.T) { runMsgCases(t, endTxnCases(t)) }

func TestEndTxnGolden(t *testing.T) {
	req := &EndTxnRequest{TransactionalID: "t1", ProducerID: 0x1234, ProducerEpoch: 7, Committed: true}
	checkGoldenBytes(t, "request", req, 0, []byte{
		0x00, 0x02, 't', '1', // TransactionalId
		0, 0, 0, 0, 0, 0, 0x12, 0x34, // ProducerId
		0x00, 0x07, // ProducerEpoch
		0x01, // Committed
	})
	checkGoldenBytes(t, "request", req, 3, []byte{
		0x03, 't', '1', // compact string: uvarint 2+1
		0, 0, 0, 0, 0, 0, 0x12, 0x34,
		0x00, 0x07,
		0x01,
		0x00, // no tagged fields
	})
	checkGoldenBytes(t, "response", &EndTxnResponse{ErrorCode: 48, ProducerID: -1, ProducerEpoch: -1}, 0, []byte{
		0x00, 0x00, 0x00, 0x00, // ThrottleTimeMs
		0x00, 0x30, // ErrorCode 48 INVALID_TXN_STATE
	})
	checkGoldenBytes(t, "response", &EndTxnResponse{ProducerID: 0x1234, ProducerEpoch: 8}, 5, []byte{
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00,
		0, 0, 0, 0, 0, 0, 0x12, 0x34, // ProducerId
		0x00, 0x08, // ProducerEpoch
		0x00,
	})
}

func TestEndTxnDecodeNormalizesBool(t *testing.T) {
	// Kafka reads any non-zero byte as true; we do too, and re-encode it as 1.
	b := []byte{0x00, 0x01, 't', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0x02}
	var m EndTxnRequest
	if err := m.Decode(b, 2); err != nil || !m.Committed {
		t.Fatalf("got %+v, %v", m, err)
	}
	if got := m.AppendTo(nil, 2); got[len(got)-1] != 1 {
		t.Fatalf("re-encoded Committed as %d", got[len(got)-1])
	}
}
