package wire

import "testing"

var (
	_ Request  = (*AddOffsetsToTxnRequest)(nil)
	_ Response = (*AddOffsetsToTxnResponse)(nil)
)

func addOffsetsToTxnCases(t testing.TB) []msgCase {
	var cases []msgCase
	for _, v := range versionsOf(t, KeyAddOffsetsToTxn) {
		req := &AddOffsetsToTxnRequest{TransactionalID: "txn-ü-1", ProducerID: 1 << 50, ProducerEpoch: 32000, GroupID: "orders-group"}
		empty := &AddOffsetsToTxnRequest{ProducerID: -1, ProducerEpoch: -1}
		resp := &AddOffsetsToTxnResponse{ThrottleTimeMs: 17, ErrorCode: 30}
		cases = append(cases,
			msgCase{"AddOffsetsToTxnRequest/full", v, req, req},
			msgCase{"AddOffsetsToTxnRequest/empty", v, empty, empty},
			msgCase{"AddOffsetsToTxnResponse/full", v, resp, resp})
	}
	return cases
}

func TestAddOffsetsToTxnRoundTrip(t *testing.T) { runMsgCases(t, addOffsetsToTxnCases(t)) }

func TestAddOffsetsToTxnGolden(t *testing.T) {
	req := &AddOffsetsToTxnRequest{TransactionalID: "t1", ProducerID: 0x1234, ProducerEpoch: 7, GroupID: "g"}
	checkGoldenBytes(t, "request", req, 0, []byte{
		0x00, 0x02, 't', '1', // TransactionalId
		0, 0, 0, 0, 0, 0, 0x12, 0x34, // ProducerId
		0x00, 0x07, // ProducerEpoch
		0x00, 0x01, 'g', // GroupId
	})
	checkGoldenBytes(t, "request", req, 3, []byte{
		0x03, 't', '1', // compact string: uvarint 2+1
		0, 0, 0, 0, 0, 0, 0x12, 0x34,
		0x00, 0x07,
		0x02, 'g',
		0x00, // no tagged fields
	})
	checkGoldenBytes(t, "response", &AddOffsetsToTxnResponse{ThrottleTimeMs: 1, ErrorCode: 90}, 2, []byte{
		0x00, 0x00, 0x00, 0x01, // ThrottleTimeMs
		0x00, 0x5a, // ErrorCode 90 PRODUCER_FENCED
	})
	checkGoldenBytes(t, "response", &AddOffsetsToTxnResponse{ErrorCode: 120}, 4, []byte{
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x78, // ErrorCode 120 TRANSACTION_ABORTABLE
		0x00,
	})
}

func TestAddOffsetsToTxnHostile(t *testing.T) {
	requests := map[int16][]byte{
		0: {0x00, 0x01, 't', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xff, 0xff},          // null group id
		1: {0xff, 0xfe, 't', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0x00, 0x00},          // negative length
		3: {0x02, 't', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0x00, 0x00},                // compact null group id
		4: {0x02, 't', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0x01, 0x01, 0x00, 0x05, 0}, // tag bigger than the body
	}
	for v, b := range requests {
		if err := new(AddOffsetsToTxnRequest).Decode(b, v); err == nil {
			t.Errorf("request v%d % x: no error", v, b)
		}
	}
	for _, v := range []int16{-1, 5} {
		if err := new(AddOffsetsToTxnResponse).Decode([]byte{0, 0, 0, 0, 0, 0, 0}, v); err == nil {
			t.Errorf("response at unsupported v%d: no error", v)
		}
	}
}

func FuzzAddOffsetsToTxnRequestDecode(f *testing.F) {
	addSeedCases(f, addOffsetsToTxnCases(f), (*AddOffsetsToTxnRequest)(nil))
	fuzzMsgDecode(f, func() wireMsg { return new(AddOffsetsToTxnRequest) })
}

func FuzzAddOffsetsToTxnResponseDecode(f *testing.F) {
	addSeedCases(f, addOffsetsToTxnCases(f), (*AddOffsetsToTxnResponse)(nil))
	fuzzMsgDecode(f, func() wireMsg { return new(AddOffsetsToTxnResponse) })
}
