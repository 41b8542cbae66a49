package wire

import (
	"reflect"
	"testing"
)

func addPartitionsToTxnCases(t testing.TB) []msgCase {
	topics := func(prefix string) []AddPartitionsToTxnTopic {
		return []AddPartitionsToTxnTopic{
			{Name: prefix + "orders", Partitions: []int32{0, 1, 2147483647}},
			{Name: prefix + "empty"},
			{Name: "", Partitions: []int32{-1}},
		}
	}
	topicResults := func(prefix string) []AddPartitionsToTxnTopicResult {
		return []AddPartitionsToTxnTopicResult{
			{Name: prefix + "orders", Results: []AddPartitionsToTxnPartitionResult{
				{PartitionIndex: 0}, {PartitionIndex: 1, ErrorCode: 51}, {PartitionIndex: 7, ErrorCode: -1},
			}},
			{Name: prefix + "none"},
		}
	}
	var cases []msgCase
	for _, v := range versionsOf(t, KeyAddPartitionsToTxn) {
		req := &AddPartitionsToTxnRequest{
			TransactionalID: "txn-1",
			ProducerID:      77,
			ProducerEpoch:   3,
			Topics:          topics("c-"),
			Transactions: []AddPartitionsToTxnTransaction{
				{TransactionalID: "txn-a", ProducerID: 1, ProducerEpoch: 2, VerifyOnly: true, Topics: topics("a-")},
				{TransactionalID: "txn-b", ProducerID: -1, ProducerEpoch: -1},
			},
		}
		wantReq := &AddPartitionsToTxnRequest{Transactions: req.Transactions}
		if v <= 3 {
			wantReq = &AddPartitionsToTxnRequest{
				TransactionalID: req.TransactionalID, ProducerID: req.ProducerID,
				ProducerEpoch: req.ProducerEpoch, Topics: req.Topics,
			}
		}
		cases = append(cases, msgCase{"AddPartitionsToTxnRequest/full", v, req, wantReq})
		empty := &AddPartitionsToTxnRequest{}
		cases = append(cases, msgCase{"AddPartitionsToTxnRequest/empty", v, empty, empty})

		resp := &AddPartitionsToTxnResponse{
			ThrottleTimeMs: 9,
			ErrorCode:      53,
			ResultsByTransaction: []AddPartitionsToTxnResult{
				{TransactionalID: "txn-a", TopicResults: topicResults("a-")},
				{TransactionalID: "txn-b"},
			},
			ResultsByTopicV3AndBelow: topicResults("c-"),
		}
		wantResp := &AddPartitionsToTxnResponse{ThrottleTimeMs: 9, ResultsByTopicV3AndBelow: resp.ResultsByTopicV3AndBelow}
		if v >= 4 {
			wantResp = &AddPartitionsToTxnResponse{ThrottleTimeMs: 9, ErrorCode: 53, ResultsByTransaction: resp.ResultsByTransaction}
		}
		cases = append(cases, msgCase{"AddPartitionsToTxnResponse/full", v, resp, wantResp})
	}
	return cases
}

func TestAddPartitionsToTxnRoundTrip(t *testing.T) { runMsgCases(t, addPartitionsToTxnCases(t)) }

func TestAddPartitionsToTxnGolden(t *testing.T) {
	req := &AddPartitionsToTxnRequest{
		TransactionalID: "t", ProducerID: 1, ProducerEpoch: 0,
		Topics: []AddPartitionsToTxnTopic{{Name: "a", Partitions: []int32{0, 1}}},
	}
	checkGoldenBytes(t, "request", req, 0, []byte{
		0x00, 0x01, 't', // V3AndBelowTransactionalId
		0, 0, 0, 0, 0, 0, 0, 1, // V3AndBelowProducerId
		0x00, 0x00, // V3AndBelowProducerEpoch
		0x00, 0x00, 0x00, 0x01, // V3AndBelowTopics: 1
		0x00, 0x01, 'a', // Name
		0x00, 0x00, 0x00, 0x02, // Partitions: 2
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x01,
	})
	checkGoldenBytes(t, "request", req, 3, []byte{
		0x02, 't',
		0, 0, 0, 0, 0, 0, 0, 1,
		0x00, 0x00,
		0x02,      // compact array of 1 topic
		0x02, 'a', // Name
		0x03, // compact array of 2 partitions
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x01,
		0x00, // topic tagged fields
		0x00, // top-level tagged fields
	})
	batched := &AddPartitionsToTxnRequest{Transactions: []AddPartitionsToTxnTransaction{{
		TransactionalID: "t", ProducerID: 1, ProducerEpoch: 2, VerifyOnly: true,
		Topics: []AddPartitionsToTxnTopic{{Name: "a", Partitions: []int32{5}}},
	}}}
	checkGoldenBytes(t, "request", batched, 4, []byte{
		0x02,      // Transactions: 1
		0x02, 't', // TransactionalId
		0, 0, 0, 0, 0, 0, 0, 1, // ProducerId
		0x00, 0x02, // ProducerEpoch
		0x01,      // VerifyOnly
		0x02,      // Topics: 1
		0x02, 'a', // Name
		0x02, 0x00, 0x00, 0x00, 0x05, // Partitions: [5]
		0x00, // topic tags
		0x00, // transaction tags
		0x00, // top-level tags
	})

	resp := &AddPartitionsToTxnResponse{ResultsByTopicV3AndBelow: []AddPartitionsToTxnTopicResult{
		{Name: "a", Results: []AddPartitionsToTxnPartitionResult{{PartitionIndex: 3, ErrorCode: 51}}},
	}}
	checkGoldenBytes(t, "response", resp, 0, []byte{
		0x00, 0x00, 0x00, 0x00, // ThrottleTimeMs
		0x00, 0x00, 0x00, 0x01, // ResultsByTopicV3AndBelow: 1
		0x00, 0x01, 'a',
		0x00, 0x00, 0x00, 0x01, // ResultsByPartition: 1
		0x00, 0x00, 0x00, 0x03, // PartitionIndex
		0x00, 0x33, // PartitionErrorCode 51 CONCURRENT_TRANSACTIONS
	})
	byTxn := &AddPartitionsToTxnResponse{ResultsByTransaction: []AddPartitionsToTxnResult{{
		TransactionalID: "t", TopicResults: resp.ResultsByTopicV3AndBelow,
	}}}
	checkGoldenBytes(t, "response", byTxn, 4, []byte{
		0x00, 0x00, 0x00, 0x00, // ThrottleTimeMs
		0x00, 0x00, // ErrorCode
		0x02,      // ResultsByTransaction: 1
		0x02, 't', // TransactionalId
		0x02,      // TopicResults: 1
		0x02, 'a', // Name
		0x02,                   // ResultsByPartition: 1
		0x00, 0x00, 0x00, 0x03, // PartitionIndex
		0x00, 0x33, // PartitionErrorCode
		0x00, // partition tags
		0x00, // topic tags
		0x00, // transaction tags
		0x00, // top-level tags
	})
}

func TestAddPartitionsToTxnHostile(t *testing.T) {
	requests := map[string][]byte{
		"null topics":        {0x00, 0x01, 't', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff},
		"null partitions":    {0x00, 0x01, 't', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 'a', 0xff, 0xff, 0xff, 0xff},
		"partitions too big": {0x00, 0x01, 't', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 'a', 0, 0, 0, 2, 0, 0, 0, 0},
		"topics too big":     {0x00, 0x01, 't', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0x7f, 0xff, 0xff, 0xff},
	}
	for name, b := range requests {
		if err := new(AddPartitionsToTxnRequest).Decode(b, 2); err == nil {
			t.Errorf("request %s: no error", name)
		}
	}
	responses := map[string][]byte{
		"null transactions":  {0, 0, 0, 0, 0, 0, 0x00, 0x00},
		"null topic results": {0, 0, 0, 0, 0, 0, 0x02, 0x02, 't', 0x00, 0x00, 0x00},
		"huge partitions":    {0, 0, 0, 0, 0, 0, 0x02, 0x02, 't', 0x02, 0x02, 'a', 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
	for name, b := range responses {
		if err := new(AddPartitionsToTxnResponse).Decode(b, 5); err == nil {
			t.Errorf("response %s: no error", name)
		}
	}
}

func TestAddPartitionsToTxnSkipsUnknownTags(t *testing.T) {
	b := []byte{
		0x02, 't', 0, 0, 0, 0, 0, 0, 0, 1, 0x00, 0x00,
		0x02, 0x02, 'a', 0x01, // topic "a", no partitions
		0x01, 0x00, 0x01, 0xee, // topic tags: tag 0, 1 byte
		0x01, 0x09, 0x00, // top-level tags: tag 9, empty
	}
	var m AddPartitionsToTxnRequest
	if err := m.Decode(b, 3); err != nil {
		t.Fatal(err)
	}
	want := AddPartitionsToTxnRequest{TransactionalID: "t", ProducerID: 1, Topics: []AddPartitionsToTxnTopic{{Name: "a"}}}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got %+v", m)
	}
}
