package wire

import "testing"

func initProducerIDCases(t testing.TB) []msgCase {
	var cases []msgCase
	for _, v := range versionsOf(t, KeyInitProducerID) {
		full := &InitProducerIDRequest{
			TransactionalID:      strp("txn-ü-1"),
			TransactionTimeoutMs: 60000,
			ProducerID:           1234567890123,
			ProducerEpoch:        42,
		}
		want := *full
		if v < 3 {
			want.ProducerID, want.ProducerEpoch = -1, -1
		}
		cases = append(cases, msgCase{"InitProducerIDRequest/full", v, full, &want})

		idem := &InitProducerIDRequest{TransactionTimeoutMs: 0, ProducerID: -1, ProducerEpoch: -1}
		cases = append(cases, msgCase{"InitProducerIDRequest/idempotent", v, idem, idem})

		resp := &InitProducerIDResponse{ThrottleTimeMs: 5, ErrorCode: 90, ProducerID: -1, ProducerEpoch: -1}
		cases = append(cases, msgCase{"InitProducerIDResponse/error", v, resp, resp})
		ok := &InitProducerIDResponse{ProducerID: 1 << 40, ProducerEpoch: 32767}
		cases = append(cases, msgCase{"InitProducerIDResponse/ok", v, ok, ok})
	}
	return cases
}

func TestInitProducerIDRoundTrip(t *testing.T) { runMsgCases(t, initProducerIDCases(t)) }

func TestInitProducerIDGolden(t *testing.T) {
	txn := &InitProducerIDRequest{TransactionalID: strp("txn"), TransactionTimeoutMs: 60000, ProducerID: -1, ProducerEpoch: -1}
	idem := &InitProducerIDRequest{TransactionTimeoutMs: 60000, ProducerID: -1, ProducerEpoch: -1}
	bump := &InitProducerIDRequest{TransactionTimeoutMs: 60000, ProducerID: 0x0102030405060708, ProducerEpoch: 9}
	checkGoldenBytes(t, "txn request", txn, 0, []byte{
		0x00, 0x03, 't', 'x', 'n', // TransactionalId: int16 length 3
		0x00, 0x00, 0xea, 0x60, // TransactionTimeoutMs 60000
	})
	checkGoldenBytes(t, "idempotent request", idem, 0, []byte{
		0xff, 0xff, // TransactionalId null: int16 -1
		0x00, 0x00, 0xea, 0x60,
	})
	checkGoldenBytes(t, "txn request", txn, 2, []byte{
		0x04, 't', 'x', 'n', // compact string: uvarint 3+1
		0x00, 0x00, 0xea, 0x60,
		0x00, // no tagged fields
	})
	checkGoldenBytes(t, "idempotent request", idem, 2, []byte{
		0x00, // compact null string
		0x00, 0x00, 0xea, 0x60,
		0x00,
	})
	checkGoldenBytes(t, "epoch bump request", bump, 3, []byte{
		0x00,
		0x00, 0x00, 0xea, 0x60,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // ProducerId
		0x00, 0x09, // ProducerEpoch
		0x00,
	})
	resp := &InitProducerIDResponse{ProducerID: 1000, ProducerEpoch: 0}
	checkGoldenBytes(t, "response", resp, 0, []byte{
		0x00, 0x00, 0x00, 0x00, // ThrottleTimeMs
		0x00, 0x00, // ErrorCode
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8, // ProducerId 1000
		0x00, 0x00, // ProducerEpoch
	})
	checkGoldenBytes(t, "response", resp, 2, []byte{
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8,
		0x00, 0x00,
		0x00,
	})
}

func TestInitProducerIDSkipsUnknownTags(t *testing.T) {
	b := []byte{
		0x00, 0x00, 0x00, 0xea, 0x60, // null id, 60000
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // -1, -1
		0x02,             // two tagged fields
		0x00, 0x01, 0x07, // tag 0: 1 byte
		0x05, 0x02, 0x08, 0x09, // tag 5: 2 bytes
	}
	var m InitProducerIDRequest
	if err := m.Decode(b, 4); err != nil {
		t.Fatal(err)
	}
	want := InitProducerIDRequest{TransactionTimeoutMs: 60000, ProducerID: -1, ProducerEpoch: -1}
	if m != want {
		t.Fatalf("got %+v", m)
	}
}
