package wire

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

var (
	_ Request  = (*TxnOffsetCommitRequest)(nil)
	_ Response = (*TxnOffsetCommitResponse)(nil)
)

// fullTxnOffsetCommitRequest returns a request with every field of every version set, and
// the value decoding its encoding at version must give.
func fullTxnOffsetCommitRequest(version int16) (in, want *TxnOffsetCommitRequest) {
	id1 := UUID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	id2 := UUID{0xff, 15: 0xee}
	in = &TxnOffsetCommitRequest{
		TransactionalID: "txn-ü-1",
		GroupID:         "orders",
		ProducerID:      1 << 40,
		ProducerEpoch:   9,
		GenerationID:    42,
		MemberID:        "member-1",
		GroupInstanceID: strp("instance-a"),
		Topics: []TxnOffsetCommitTopic{
			{Name: "in", TopicID: id1, Partitions: []TxnOffsetCommitPartition{
				{PartitionIndex: 0, CommittedOffset: 100, CommittedLeaderEpoch: 3, CommittedMetadata: strp("meta")},
				{PartitionIndex: 7, CommittedOffset: 1 << 60, CommittedLeaderEpoch: -1},
				{PartitionIndex: 2147483647, CommittedOffset: 0, CommittedLeaderEpoch: 0, CommittedMetadata: strp("")},
			}},
			{Name: "", TopicID: id2},
		},
	}
	w := *in
	w.Topics = make([]TxnOffsetCommitTopic, len(in.Topics))
	for i, t := range in.Topics {
		if version >= 6 {
			t.Name = ""
		} else {
			t.TopicID = UUID{}
		}
		t.Partitions = append([]TxnOffsetCommitPartition(nil), t.Partitions...)
		for j := range t.Partitions {
			if version < 2 {
				t.Partitions[j].CommittedLeaderEpoch = -1
			}
		}
		w.Topics[i] = t
	}
	if version < 3 {
		w.GenerationID, w.MemberID, w.GroupInstanceID = -1, "", nil
	}
	return in, &w
}

func txnOffsetCommitCases(t testing.TB) []msgCase {
	var cases []msgCase
	for _, v := range versionsOf(t, KeyTxnOffsetCommit) {
		in, want := fullTxnOffsetCommitRequest(v)
		cases = append(cases, msgCase{"TxnOffsetCommitRequest/full", v, in, want})
		// The Java client's deprecated form: a group id only, generation -1.
		bare := &TxnOffsetCommitRequest{TransactionalID: "t", GroupID: "g", ProducerID: -1, ProducerEpoch: -1, GenerationID: -1}
		cases = append(cases, msgCase{"TxnOffsetCommitRequest/bare", v, bare, bare})

		resp := &TxnOffsetCommitResponse{ThrottleTimeMs: 5, Topics: []TxnOffsetCommitTopicResult{
			{Name: "in", TopicID: UUID{7}, Partitions: []TxnOffsetCommitPartitionResult{{0, 0}, {7, 22}, {-1, -1}}},
			{Name: "none", TopicID: UUID{8}},
		}}
		wantResp := &TxnOffsetCommitResponse{ThrottleTimeMs: 5, Topics: make([]TxnOffsetCommitTopicResult, len(resp.Topics))}
		for i, t := range resp.Topics {
			if v >= 6 {
				t.Name = ""
			} else {
				t.TopicID = UUID{}
			}
			wantResp.Topics[i] = t
		}
		cases = append(cases, msgCase{"TxnOffsetCommitResponse/full", v, resp, wantResp})
		cases = append(cases, msgCase{"TxnOffsetCommitResponse/empty", v, &TxnOffsetCommitResponse{}, &TxnOffsetCommitResponse{}})
	}
	return cases
}

func TestTxnOffsetCommitRoundTrip(t *testing.T) { runMsgCases(t, txnOffsetCommitCases(t)) }

func TestTxnOffsetCommitGolden(t *testing.T) {
	req := &TxnOffsetCommitRequest{
		TransactionalID: "t", GroupID: "g", ProducerID: 1, ProducerEpoch: 2, GenerationID: -1,
		Topics: []TxnOffsetCommitTopic{{Name: "a", Partitions: []TxnOffsetCommitPartition{
			{PartitionIndex: 3, CommittedOffset: 10, CommittedLeaderEpoch: -1},
		}}},
	}
	checkGoldenBytes(t, "request", req, 0, []byte{
		0x00, 0x01, 't', // TransactionalId
		0x00, 0x01, 'g', // GroupId
		0, 0, 0, 0, 0, 0, 0, 1, // ProducerId
		0x00, 0x02, // ProducerEpoch
		0x00, 0x00, 0x00, 0x01, // Topics: 1
		0x00, 0x01, 'a', // Name
		0x00, 0x00, 0x00, 0x01, // Partitions: 1
		0x00, 0x00, 0x00, 0x03, // PartitionIndex
		0, 0, 0, 0, 0, 0, 0, 10, // CommittedOffset
		0xff, 0xff, // CommittedMetadata: null
	})
	req.Topics[0].Partitions[0].CommittedLeaderEpoch = 5
	req.Topics[0].Partitions[0].CommittedMetadata = strp("m")
	checkGoldenBytes(t, "request", req, 2, []byte{
		0x00, 0x01, 't',
		0x00, 0x01, 'g',
		0, 0, 0, 0, 0, 0, 0, 1,
		0x00, 0x02,
		0x00, 0x00, 0x00, 0x01,
		0x00, 0x01, 'a',
		0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x03,
		0, 0, 0, 0, 0, 0, 0, 10,
		0x00, 0x00, 0x00, 0x05, // CommittedLeaderEpoch (v2+)
		0x00, 0x01, 'm', // CommittedMetadata
	})
	req.GenerationID, req.MemberID, req.GroupInstanceID = 4, "m1", strp("i")
	checkGoldenBytes(t, "request", req, 3, []byte{
		0x02, 't',
		0x02, 'g',
		0, 0, 0, 0, 0, 0, 0, 1,
		0x00, 0x02,
		0x00, 0x00, 0x00, 0x04, // GenerationId (v3+)
		0x03, 'm', '1', // MemberId
		0x02, 'i', // GroupInstanceId
		0x02,      // Topics: 1
		0x02, 'a', // Name
		0x02,                   // Partitions: 1
		0x00, 0x00, 0x00, 0x03, // PartitionIndex
		0, 0, 0, 0, 0, 0, 0, 10,
		0x00, 0x00, 0x00, 0x05,
		0x02, 'm',
		0x00, // partition tags
		0x00, // topic tags
		0x00, // top-level tags
	})
	byID := *req
	byID.Topics = []TxnOffsetCommitTopic{{TopicID: UUID{15: 1}, Partitions: req.Topics[0].Partitions}}
	checkGoldenBytes(t, "request", &byID, 6, []byte{
		0x02, 't',
		0x02, 'g',
		0, 0, 0, 0, 0, 0, 0, 1,
		0x00, 0x02,
		0x00, 0x00, 0x00, 0x04,
		0x03, 'm', '1',
		0x02, 'i',
		0x02,                                           // Topics: 1
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, // TopicId (v6+)
		0x02,
		0x00, 0x00, 0x00, 0x03,
		0, 0, 0, 0, 0, 0, 0, 10,
		0x00, 0x00, 0x00, 0x05,
		0x02, 'm',
		0x00, 0x00, 0x00,
	})

	resp := &TxnOffsetCommitResponse{Topics: []TxnOffsetCommitTopicResult{
		{Name: "a", Partitions: []TxnOffsetCommitPartitionResult{{PartitionIndex: 3, ErrorCode: 22}}},
	}}
	checkGoldenBytes(t, "response", resp, 1, []byte{
		0x00, 0x00, 0x00, 0x00, // ThrottleTimeMs
		0x00, 0x00, 0x00, 0x01, // Topics: 1
		0x00, 0x01, 'a',
		0x00, 0x00, 0x00, 0x01, // Partitions: 1
		0x00, 0x00, 0x00, 0x03,
		0x00, 0x16, // ErrorCode 22 ILLEGAL_GENERATION
	})
	checkGoldenBytes(t, "response", resp, 5, []byte{
		0x00, 0x00, 0x00, 0x00,
		0x02,
		0x02, 'a',
		0x02,
		0x00, 0x00, 0x00, 0x03,
		0x00, 0x16,
		0x00, 0x00, 0x00,
	})
}

func TestTxnOffsetCommitHostile(t *testing.T) {
	head := []byte{0x00, 0x01, 't', 0x00, 0x01, 'g', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}
	requests := map[string][]byte{
		"null topics":        append(append([]byte{}, head...), 0xff, 0xff, 0xff, 0xff),
		"topics too big":     append(append([]byte{}, head...), 0x7f, 0xff, 0xff, 0xff),
		"null partitions":    append(append([]byte{}, head...), 0, 0, 0, 1, 0, 1, 'a', 0xff, 0xff, 0xff, 0xff),
		"partitions too big": append(append([]byte{}, head...), 0, 0, 0, 1, 0, 1, 'a', 0, 0, 0, 1, 0, 0, 0, 0),
		"null topic name":    append(append([]byte{}, head...), 0, 0, 0, 1, 0xff, 0xff, 0, 0, 0, 0),
	}
	for name, b := range requests {
		if err := new(TxnOffsetCommitRequest).Decode(b, 1); err == nil {
			t.Errorf("request %s: no error", name)
		}
	}
	flexHead := []byte{0x02, 't', 0x02, 'g', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00}
	flexRequests := map[string][]byte{
		"null member id":   {0x02, 't', 0x02, 'g', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x01, 0x00},
		"null topics":      append(append([]byte{}, flexHead...), 0x00, 0x00),
		"huge topic count": append(append([]byte{}, flexHead...), 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00),
		"short topic id":   append(append([]byte{}, flexHead...), 0x02, 1, 2, 3),
	}
	for name, b := range flexRequests {
		for _, v := range []int16{3, 6} {
			if err := new(TxnOffsetCommitRequest).Decode(b, v); err == nil {
				t.Errorf("request %s v%d: no error", name, v)
			}
		}
	}
	responses := map[string][]byte{
		"null topics":     {0, 0, 0, 0, 0x00, 0x00},
		"null partitions": {0, 0, 0, 0, 0x02, 0x02, 'a', 0x00, 0x00, 0x00},
		"huge partitions": {0, 0, 0, 0, 0x02, 0x02, 'a', 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
	for name, b := range responses {
		if err := new(TxnOffsetCommitResponse).Decode(b, 4); err == nil {
			t.Errorf("response %s: no error", name)
		}
	}
}

func TestTxnOffsetCommitSkipsUnknownTags(t *testing.T) {
	b := []byte{
		0x02, 't', 0x02, 'g', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0,
		0xff, 0xff, 0xff, 0xff, 0x01, 0x00, // generation -1, member "", instance null
		0x02, 0x02, 'a', // one topic "a"
		0x02, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0xff, 0xff, 0xff, 0xff, 0x00, // partition 1 at 9, epoch -1, null metadata
		0x01, 0x03, 0x02, 0xaa, 0xbb, // partition tags: tag 3, 2 bytes
		0x01, 0x00, 0x00, // topic tags: tag 0, empty
		0x00, // top-level tags
	}
	var m TxnOffsetCommitRequest
	if err := m.Decode(b, 5); err != nil {
		t.Fatal(err)
	}
	want := TxnOffsetCommitRequest{TransactionalID: "t", GroupID: "g", ProducerID: 1, GenerationID: -1,
		Topics: []TxnOffsetCommitTopic{{Name: "a", Partitions: []TxnOffsetCommitPartition{{PartitionIndex: 1, CommittedOffset: 9, CommittedLeaderEpoch: -1}}}}}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got %s", dump(m))
	}
}

// offsetsTxnCases gathers the round-trip cases of AddOffsetsToTxn and TxnOffsetCommit.
func offsetsTxnCases(t testing.TB) []msgCase {
	return append(addOffsetsToTxnCases(t), txnOffsetCommitCases(t)...)
}

// TestOffsetsTxnCasesCoverEveryVersion guards the fixtures: each of the four message types
// has a case at every version its API implements, and rejects versions outside it.
func TestOffsetsTxnCasesCoverEveryVersion(t *testing.T) {
	have := map[reflect.Type]map[int16]bool{}
	for _, c := range offsetsTxnCases(t) {
		typ := reflect.TypeOf(c.in)
		if have[typ] == nil {
			have[typ] = map[int16]bool{}
		}
		have[typ][c.version] = true
	}
	if len(have) != 4 {
		t.Fatalf("cases cover %d message types, want 4", len(have))
	}
	for typ, vs := range have {
		m := reflect.New(typ.Elem()).Interface().(wireMsg)
		a, _ := LookupAPI(m.Key())
		for _, v := range versionsOf(t, m.Key()) {
			if !vs[v] {
				t.Errorf("%v: no case at v%d", typ, v)
			}
		}
		enc := m.AppendTo(nil, a.Max)
		for _, v := range []int16{a.Min - 1, a.Max + 1} {
			if err := m.Decode(enc, v); err == nil {
				t.Errorf("%v: decode at unsupported version %d: no error", typ, v)
			}
		}
	}
}

func TestGroupErrors(t *testing.T) {
	seen := map[int16]bool{}
	for _, e := range knownErrors {
		seen[e.Code] = true
	}
	for _, e := range groupErrors {
		if seen[e.Code] {
			t.Errorf("code %d listed twice", e.Code)
		}
		seen[e.Code] = true
		if got := ErrorForCode(e.Code); got != e {
			t.Errorf("ErrorForCode(%d) = %v", e.Code, got)
		}
		if e.Retriable {
			t.Errorf("%s is retriable", e.Name)
		}
	}
	if !errors.Is(ErrorForCode(82), ErrFencedInstanceID) {
		t.Fatal("code 82 is not FENCED_INSTANCE_ID")
	}
}

// addSeedCases adds to f's corpus, for every case of proto's type, a version byte (as
// fuzzMsgDecode reads it) and the case's encoding.
func addSeedCases(f *testing.F, cases []msgCase, proto wireMsg) {
	a, _ := LookupAPI(proto.Key())
	for _, c := range cases {
		if reflect.TypeOf(c.in) == reflect.TypeOf(proto) {
			f.Add(append([]byte{byte(c.version - a.Min)}, c.in.AppendTo(nil, c.version)...))
		}
	}
}

func FuzzTxnOffsetCommitRequestDecode(f *testing.F) {
	addSeedCases(f, txnOffsetCommitCases(f), (*TxnOffsetCommitRequest)(nil))
	fuzzMsgDecode(f, func() wireMsg { return new(TxnOffsetCommitRequest) })
}

func FuzzTxnOffsetCommitResponseDecode(f *testing.F) {
	addSeedCases(f, txnOffsetCommitCases(f), (*TxnOffsetCommitResponse)(nil))
	fuzzMsgDecode(f, func() wireMsg { return new(TxnOffsetCommitResponse) })
}

var writeOffsetsCorpus = flag.Bool("write-offsets-fuzz-corpus", false,
	"write the seed corpora of the AddOffsetsToTxn and TxnOffsetCommit fuzz targets to testdata/fuzz")

// TestWriteOffsetsFuzzCorpus writes testdata/fuzz/Fuzz{AddOffsetsToTxn,TxnOffsetCommit}*:
// for each case, its encoding behind the version byte; its first half; and, for flexible
// versions, the encoding with unknown tagged fields in place of the empty top-level section.
func TestWriteOffsetsFuzzCorpus(t *testing.T) {
	if !*writeOffsetsCorpus {
		t.Skip("run with -write-offsets-fuzz-corpus to regenerate the seed corpora")
	}
	targets := map[reflect.Type]string{
		reflect.TypeOf(&AddOffsetsToTxnRequest{}):  "FuzzAddOffsetsToTxnRequestDecode",
		reflect.TypeOf(&AddOffsetsToTxnResponse{}): "FuzzAddOffsetsToTxnResponseDecode",
		reflect.TypeOf(&TxnOffsetCommitRequest{}):  "FuzzTxnOffsetCommitRequestDecode",
		reflect.TypeOf(&TxnOffsetCommitResponse{}): "FuzzTxnOffsetCommitResponseDecode",
	}
	unknownTags := []byte{0x02, 0x00, 0x01, 0x07, 0x09, 0x02, 0xaa, 0xbb}
	for _, c := range offsetsTxnCases(t) {
		a, _ := LookupAPI(c.in.Key())
		dir := filepath.Join("testdata", "fuzz", targets[reflect.TypeOf(c.in)])
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("seed-%s-v%d", filepath.Base(c.name), c.version)
		body := append([]byte{byte(c.version - a.Min)}, c.in.AppendTo(nil, c.version)...)
		seeds := map[string][]byte{name: body, name + "-half": body[:len(body)/2]}
		if IsFlexible(c.in.Key(), c.version) {
			seeds[name+"-tags"] = append(body[:len(body)-1:len(body)-1], unknownTags...)
		}
		for n, b := range seeds {
			data := "go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n"
			if err := os.WriteFile(filepath.Join(dir, n), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
