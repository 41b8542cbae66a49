package wire

import (
	"reflect"
	"testing"
)

func findCoordinatorCases(t testing.TB) []msgCase {
	var cases []msgCase
	for _, v := range versionsOf(t, KeyFindCoordinator) {
		req := &FindCoordinatorRequest{
			CoordinatorKey:  "txn-1",
			KeyType:         CoordinatorKeyTransaction,
			CoordinatorKeys: []string{"txn-1", "", "txn-ü"},
		}
		wantReq := &FindCoordinatorRequest{}
		if v <= 3 {
			wantReq.CoordinatorKey = req.CoordinatorKey
		}
		if v >= 1 {
			wantReq.KeyType = req.KeyType
		}
		if v >= 4 {
			wantReq.CoordinatorKeys = req.CoordinatorKeys
		}
		cases = append(cases, msgCase{"FindCoordinatorRequest/full", v, req, wantReq})
		empty := &FindCoordinatorRequest{}
		cases = append(cases, msgCase{"FindCoordinatorRequest/empty", v, empty, empty})

		resp := &FindCoordinatorResponse{
			ThrottleTimeMs: 7,
			ErrorCode:      15,
			ErrorMessage:   strp("coordinator not available"),
			NodeID:         3,
			Host:           "broker-3.example",
			Port:           9093,
			Coordinators: []Coordinator{
				{Key: "txn-1", NodeID: 1, Host: "broker-1.example", Port: 9091},
				{Key: "txn-2", NodeID: -1, Host: "", Port: -1, ErrorCode: 15, ErrorMessage: strp("loading")},
			},
		}
		wantResp := &FindCoordinatorResponse{}
		if v >= 1 {
			wantResp.ThrottleTimeMs = resp.ThrottleTimeMs
		}
		if v <= 3 {
			wantResp.ErrorCode = resp.ErrorCode
			wantResp.NodeID, wantResp.Host, wantResp.Port = resp.NodeID, resp.Host, resp.Port
			if v >= 1 {
				wantResp.ErrorMessage = resp.ErrorMessage
			}
		} else {
			wantResp.Coordinators = resp.Coordinators
		}
		cases = append(cases, msgCase{"FindCoordinatorResponse/full", v, resp, wantResp})
		ok := &FindCoordinatorResponse{NodeID: 2, Host: "b2", Port: 9092}
		if v >= 4 {
			ok = &FindCoordinatorResponse{Coordinators: []Coordinator{{Key: "g", NodeID: 2, Host: "b2", Port: 9092}}}
		}
		cases = append(cases, msgCase{"FindCoordinatorResponse/ok", v, ok, ok})
	}
	return cases
}

func TestFindCoordinatorRoundTrip(t *testing.T) { runMsgCases(t, findCoordinatorCases(t)) }

func TestFindCoordinatorGolden(t *testing.T) {
	checkGoldenBytes(t, "request", &FindCoordinatorRequest{CoordinatorKey: "g"}, 0, []byte{
		0x00, 0x01, 'g', // Key
	})
	txn := &FindCoordinatorRequest{CoordinatorKey: "g", KeyType: CoordinatorKeyTransaction}
	checkGoldenBytes(t, "request", txn, 1, []byte{
		0x00, 0x01, 'g',
		0x01, // KeyType
	})
	checkGoldenBytes(t, "request", txn, 3, []byte{
		0x02, 'g', // compact string
		0x01,
		0x00, // no tagged fields
	})
	batch := &FindCoordinatorRequest{KeyType: CoordinatorKeyTransaction, CoordinatorKeys: []string{"t1", "t2"}}
	checkGoldenBytes(t, "request", batch, 4, []byte{
		0x01,                                 // KeyType
		0x03, 0x03, 't', '1', 0x03, 't', '2', // CoordinatorKeys: compact array of 2
		0x00,
	})

	single := &FindCoordinatorResponse{NodeID: 1, Host: "h", Port: 9092}
	checkGoldenBytes(t, "response", single, 0, []byte{
		0x00, 0x00, // ErrorCode
		0x00, 0x00, 0x00, 0x01, // NodeId
		0x00, 0x01, 'h', // Host
		0x00, 0x00, 0x23, 0x84, // Port 9092
	})
	checkGoldenBytes(t, "response", single, 3, []byte{
		0x00, 0x00, 0x00, 0x00, // ThrottleTimeMs
		0x00, 0x00, // ErrorCode
		0x00,                   // ErrorMessage: compact null
		0x00, 0x00, 0x00, 0x01, // NodeId
		0x02, 'h', // Host
		0x00, 0x00, 0x23, 0x84,
		0x00,
	})
	batched := &FindCoordinatorResponse{
		ThrottleTimeMs: 100,
		Coordinators: []Coordinator{
			{Key: "t1", NodeID: 2, Host: "b2", Port: 9092},
			{Key: "t2", NodeID: -1, Port: -1, ErrorCode: 15, ErrorMessage: strp("x")},
		},
	}
	checkGoldenBytes(t, "response", batched, 4, []byte{
		0x00, 0x00, 0x00, 0x64, // ThrottleTimeMs 100
		0x03,           // Coordinators: compact array of 2
		0x03, 't', '1', // Key
		0x00, 0x00, 0x00, 0x02, // NodeId
		0x03, 'b', '2', // Host
		0x00, 0x00, 0x23, 0x84, // Port
		0x00, 0x00, // ErrorCode
		0x00, // ErrorMessage null
		0x00, // Coordinator tagged fields
		0x03, 't', '2',
		0xff, 0xff, 0xff, 0xff, // NodeId -1
		0x01,                   // Host ""
		0xff, 0xff, 0xff, 0xff, // Port -1
		0x00, 0x0f, // ErrorCode 15 COORDINATOR_NOT_AVAILABLE
		0x02, 'x', // ErrorMessage "x"
		0x00,
		0x00, // top-level tagged fields
	})
}

func TestFindCoordinatorHostile(t *testing.T) {
	type hostile struct {
		version int16
		b       []byte
	}
	requests := map[string]hostile{
		"null keys array":     {4, []byte{0x01, 0x00, 0x00}},
		"keys count past end": {4, []byte{0x01, 0x7f, 0x02, 'a', 0x00}},
		"null key string":     {3, []byte{0x00, 0x01, 0x00}},
		"negative key length": {0, []byte{0xff, 0xfe}},
	}
	for name, c := range requests {
		if err := new(FindCoordinatorRequest).Decode(c.b, c.version); err == nil {
			t.Errorf("request %s: no error", name)
		}
	}
	responses := map[string]hostile{
		"null coordinators":      {4, []byte{0, 0, 0, 0, 0x00, 0x00}},
		"huge coordinators":      {6, []byte{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}},
		"coordinator tag no end": {4, []byte{0, 0, 0, 0, 0x02, 0x01, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0x00, 0x01}},
		"negative host length":   {0, []byte{0, 0, 0, 0, 0, 1, 0xff, 0xfe}},
	}
	for name, c := range responses {
		if err := new(FindCoordinatorResponse).Decode(c.b, c.version); err == nil {
			t.Errorf("response %s: no error", name)
		}
	}
}

func TestFindCoordinatorSkipsUnknownTags(t *testing.T) {
	b := []byte{
		0x00, 0x00, 0x00, 0x00, // ThrottleTimeMs
		0x02,      // one coordinator
		0x02, 'g', // Key
		0x00, 0x00, 0x00, 0x01, // NodeId
		0x02, 'h', // Host
		0x00, 0x00, 0x23, 0x84, // Port
		0x00, 0x00, // ErrorCode
		0x00,                   // ErrorMessage
		0x01, 0x03, 0x02, 1, 2, // coordinator tags: tag 3, 2 bytes
		0x01, 0x00, 0x00, // top-level tags: tag 0, empty
	}
	var m FindCoordinatorResponse
	if err := m.Decode(b, 5); err != nil {
		t.Fatal(err)
	}
	want := FindCoordinatorResponse{Coordinators: []Coordinator{{Key: "g", NodeID: 1, Host: "h", Port: 9092}}}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got %+v", m)
	}
}
