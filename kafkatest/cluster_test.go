package kafkatest

import (
	"context"
	"encoding/binary"
	"github.com/gregor-kafka/producer/internal/testutil"
	"log/slog"
	"net"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

func TestApiVersions(t *testing.T) {
	c := newTestCluster(t)
	tc := dial(t, c.Addrs()[0])
	want := []wire.ApiVersionsKey{
		{APIKey: wire.KeyProduce, MinVersion: 0, MaxVersion: 13}, // KAFKA-18659: v0–2 listed, refused
		{APIKey: wire.KeyFetch, MinVersion: 4, MaxVersion: 18},
		{APIKey: wire.KeyListOffsets, MinVersion: 1, MaxVersion: 11},
		{APIKey: wire.KeyMetadata, MinVersion: 0, MaxVersion: 13},
		{APIKey: wire.KeyFindCoordinator, MinVersion: 0, MaxVersion: 6},
		{APIKey: wire.KeyApiVersions, MinVersion: 0, MaxVersion: 4},
		{APIKey: wire.KeyInitProducerID, MinVersion: 0, MaxVersion: 5},
		{APIKey: wire.KeyAddPartitionsToTxn, MinVersion: 0, MaxVersion: 5},
		{APIKey: wire.KeyAddOffsetsToTxn, MinVersion: 0, MaxVersion: 4},
		{APIKey: wire.KeyEndTxn, MinVersion: 0, MaxVersion: 5},
		{APIKey: wire.KeyTxnOffsetCommit, MinVersion: 0, MaxVersion: 6},
	}
	for v := int16(0); v <= 4; v++ {
		var resp wire.ApiVersionsResponse
		tc.roundTrip(v, &wire.ApiVersionsRequest{ClientSoftwareName: "gregor", ClientSoftwareVersion: "0.1.0"}, &resp)
		if resp.ErrorCode != 0 {
			t.Fatalf("v%d: error %d", v, resp.ErrorCode)
		}
		if !slices.Equal(resp.APIKeys, want) {
			t.Fatalf("v%d: keys %+v, want %+v", v, resp.APIKeys, want)
		}
	}
	// KIP-511 software name check.
	for _, bad := range []wire.ApiVersionsRequest{
		{ClientSoftwareName: "-gregor", ClientSoftwareVersion: "1"},
		{ClientSoftwareName: "gregor", ClientSoftwareVersion: "1.0."},
		{ClientSoftwareName: "", ClientSoftwareVersion: "1"},
		{ClientSoftwareName: "gre gor", ClientSoftwareVersion: "1"},
	} {
		var resp wire.ApiVersionsResponse
		tc.roundTrip(3, &bad, &resp)
		if resp.ErrorCode != wire.ErrInvalidRequest.Code {
			t.Errorf("%+v: error %d, want INVALID_REQUEST", bad, resp.ErrorCode)
		}
	}
}

func TestApiVersionsTooNew(t *testing.T) {
	c := newTestCluster(t)
	tc := dial(t, c.Addrs()[1])
	corr := tc.send(7, &wire.ApiVersionsRequest{ClientSoftwareName: "x", ClientSoftwareVersion: "1"})
	frame, err := tc.recvFrame(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	gotCorr, body, err := wire.ParseResponseHeader(frame, wire.KeyApiVersions, 7)
	if err != nil || gotCorr != corr {
		t.Fatalf("header: corr %d err %v", gotCorr, err)
	}
	var resp wire.ApiVersionsResponse
	v, err := resp.DecodeWithFallback(body, 4)
	if err != nil || v != 0 {
		t.Fatalf("decoded at v%d: %v", v, err)
	}
	want := []wire.ApiVersionsKey{{APIKey: wire.KeyApiVersions, MinVersion: 0, MaxVersion: 4}}
	if resp.ErrorCode != wire.ErrUnsupportedVersion.Code || !slices.Equal(resp.APIKeys, want) {
		t.Fatalf("got error %d keys %+v", resp.ErrorCode, resp.APIKeys)
	}
	// The connection stays usable.
	var ok wire.ApiVersionsResponse
	tc.roundTrip(4, &wire.ApiVersionsRequest{ClientSoftwareName: "x", ClientSoftwareVersion: "1"}, &ok)
	if ok.ErrorCode != 0 {
		t.Fatalf("retry: error %d", ok.ErrorCode)
	}
}

func TestNewClusterOptions(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []Option
	}{
		{"zero brokers", []Option{NumBrokers(0)}},
		{"ports disagree", []Option{NumBrokers(2), Ports(0, 0, 0)}},
		{"bad port", []Option{Ports(70000)}},
		{"zero partitions", []Option{DefaultPartitions(0)}},
		{"bad seed name", []Option{SeedTopic("a/b", 1)}},
		{"bad seed count", []Option{SeedTopic("a", 0)}},
		{"max message", []Option{MaxMessageBytes(0)}},
		{"frame", []Option{MaxFrameSize(-1)}},
		{"logger", []Option{Logger(nil)}},
		{"duplicate seeds", []Option{SeedTopic("a", 1), SeedTopic("a", 2)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCluster(tt.opts...)
			if err == nil {
				c.Close()
				t.Fatal("no error")
			}
		})
	}
	c := newTestCluster(t, NumBrokers(2), SeedTopic("seeded", 5))
	if len(c.Addrs()) != 2 || c.Partitions("seeded") != 5 || !slices.Equal(c.Topics(), []string{"seeded"}) {
		t.Fatalf("addrs %v partitions %d topics %v", c.Addrs(), c.Partitions("seeded"), c.Topics())
	}
}

func TestFixedPorts(t *testing.T) {
	// Find two free ports, release them and ask for them.
	var ports []int
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
		ln.Close()
	}
	c := newTestCluster(t, Ports(ports...))
	for i, a := range c.Addrs() {
		if want := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[i])); a != want {
			t.Fatalf("addr %d = %s, want %s", i, a, want)
		}
	}
	md := dial(t, c.Addrs()[1]).metadata(12)
	for i, b := range md.Brokers {
		if b.NodeID != int32(i) || b.Host != "127.0.0.1" || int(b.Port) != ports[i] {
			t.Fatalf("broker %d: %+v", i, b)
		}
	}
}

func TestMetadataAutoCreate(t *testing.T) {
	c := newTestCluster(t, DefaultPartitions(4))
	tc := dial(t, c.Addrs()[2])
	var id wire.UUID
	for v := int16(0); v <= 13; v++ {
		md := tc.metadata(v, "auto")
		if len(md.Brokers) != 3 {
			t.Fatalf("v%d: %d brokers", v, len(md.Brokers))
		}
		if len(md.Topics) != 1 {
			t.Fatalf("v%d: %d topics", v, len(md.Topics))
		}
		mt := md.Topics[0]
		if mt.ErrorCode != 0 || *mt.Name != "auto" || len(mt.Partitions) != 4 {
			t.Fatalf("v%d: %+v", v, mt)
		}
		if v >= 10 {
			if mt.TopicID == (wire.UUID{}) || (id != (wire.UUID{}) && id != mt.TopicID) {
				t.Fatalf("v%d: topic id %x, earlier %x", v, mt.TopicID, id)
			}
			id = mt.TopicID
		}
		leaders := map[int32]int{}
		for i, p := range mt.Partitions {
			if p.PartitionIndex != int32(i) || p.ErrorCode != 0 {
				t.Fatalf("v%d: partition %+v", v, p)
			}
			if p.LeaderID != c.Leader("auto", int32(i)) {
				t.Fatalf("v%d: partition %d leader %d, cluster says %d", v, i, p.LeaderID, c.Leader("auto", int32(i)))
			}
			if v >= 7 && p.LeaderEpoch != 0 {
				t.Fatalf("v%d: leader epoch %d", v, p.LeaderEpoch)
			}
			if len(p.ReplicaNodes) != 3 || p.ReplicaNodes[0] != p.LeaderID || !slices.Equal(p.IsrNodes, p.ReplicaNodes) {
				t.Fatalf("v%d: replicas %v isr %v", v, p.ReplicaNodes, p.IsrNodes)
			}
			leaders[p.LeaderID]++
		}
		if len(leaders) != 3 {
			t.Fatalf("v%d: leaders not spread: %v", v, leaders)
		}
		if v >= 2 && (md.ClusterID == nil || *md.ClusterID != clusterID) {
			t.Fatalf("v%d: cluster id %v", v, md.ClusterID)
		}
		if md.ErrorCode != 0 {
			t.Fatalf("v%d: top-level error %d", v, md.ErrorCode)
		}
	}
	if c.Partitions("auto") != 4 {
		t.Fatal("topic not created")
	}
	// Lookup by id (v12+), known and unknown.
	var resp wire.MetadataResponse
	tc.roundTrip(12, &wire.MetadataRequest{Topics: []wire.MetadataRequestTopic{{TopicID: id}, {TopicID: wire.UUID{1}}}}, &resp)
	if len(resp.Topics) != 2 || *resp.Topics[0].Name != "auto" || resp.Topics[1].ErrorCode != wire.ErrUnknownTopicID.Code || resp.Topics[1].Name != nil {
		t.Fatalf("by id: %+v", resp.Topics)
	}
	// All topics: null list (v1+), empty list at v0.
	if err := c.CreateTopic("other", 1); err != nil {
		t.Fatal(err)
	}
	for _, v := range []int16{0, 1, 9, 13} {
		var all wire.MetadataResponse
		tc.roundTrip(v, &wire.MetadataRequest{}, &all)
		if len(all.Topics) != 2 || *all.Topics[0].Name != "auto" || *all.Topics[1].Name != "other" {
			t.Fatalf("v%d all topics: %+v", v, all.Topics)
		}
	}
	// An empty non-null list asks for none.
	var none wire.MetadataResponse
	tc.roundTrip(9, &wire.MetadataRequest{Topics: []wire.MetadataRequestTopic{}}, &none)
	if len(none.Topics) != 0 {
		t.Fatalf("empty list: %d topics", len(none.Topics))
	}
}

// TestUnlistBroker: an unlisted broker is missing from Metadata answers' broker lists and
// still serves; listed again, it is back.
func TestUnlistBroker(t *testing.T) {
	c := newTestCluster(t, SeedTopic("u", 3))
	if err := c.UnlistBroker(1, true); err != nil {
		t.Fatal(err)
	}
	if err := c.UnlistBroker(7, true); err == nil {
		t.Fatal("UnlistBroker(7) of 3 brokers: no error")
	}
	md := dial(t, c.Addrs()[1]).metadata(12, "u")
	var ids []int32
	for _, b := range md.Brokers {
		ids = append(ids, b.NodeID)
	}
	if !slices.Equal(ids, []int32{0, 2}) {
		t.Fatalf("brokers listed %v, want [0 2]", ids)
	}
	if err := c.UnlistBroker(1, false); err != nil {
		t.Fatal(err)
	}
	if md := dial(t, c.Addrs()[0]).metadata(12, "u"); len(md.Brokers) != 3 {
		t.Fatalf("%d brokers listed after UnlistBroker(1, false), want 3", len(md.Brokers))
	}
}

func TestMetadataNoAutoCreate(t *testing.T) {
	c := newTestCluster(t)
	tc := dial(t, c.Addrs()[0])
	// The request forbids it (v4+).
	name := "nope"
	var resp wire.MetadataResponse
	tc.roundTrip(4, &wire.MetadataRequest{Topics: []wire.MetadataRequestTopic{{Name: &name}}, AllowAutoTopicCreation: false}, &resp)
	if resp.Topics[0].ErrorCode != wire.ErrUnknownTopicOrPartition.Code || c.Partitions(name) != 0 {
		t.Fatalf("got %+v", resp.Topics[0])
	}
	// Invalid names are refused whatever the settings.
	bad := "bad/name"
	tc.roundTrip(9, &wire.MetadataRequest{Topics: []wire.MetadataRequestTopic{{Name: &bad}}, AllowAutoTopicCreation: true}, &resp)
	if resp.Topics[0].ErrorCode != wire.ErrInvalidTopic.Code {
		t.Fatalf("bad name: error %d", resp.Topics[0].ErrorCode)
	}
	// The cluster forbids it.
	c2 := newTestCluster(t, AutoCreateTopics(false))
	md := dial(t, c2.Addrs()[0]).metadata(13, "nope")
	if md.Topics[0].ErrorCode != wire.ErrUnknownTopicOrPartition.Code || len(c2.Topics()) != 0 {
		t.Fatalf("got %+v", md.Topics[0])
	}
}

func TestCreateTopic(t *testing.T) {
	c := newTestCluster(t, NumBrokers(2))
	if err := c.CreateTopic("t", 3); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTopic("t", 3); err == nil {
		t.Fatal("duplicate topic created")
	}
	for _, bad := range []string{"", ".", "..", "a b", string(make([]byte, 250))} {
		if c.CreateTopic(bad, 1) == nil {
			t.Errorf("created %q", bad)
		}
	}
	if c.CreateTopic("zero", 0) == nil {
		t.Error("created a topic with no partitions")
	}
	if c.Partitions("t") != 3 || c.Partitions("missing") != 0 || c.Leader("t", 3) != -1 || c.Leader("missing", 0) != -1 {
		t.Fatal("bad partition info")
	}
	if c.Records("missing", 0) != nil || c.Records("t", 7) != nil {
		t.Fatal("records for a missing partition")
	}
}

func TestStopStartBroker(t *testing.T) {
	c := newTestCluster(t, SeedTopic("t", 3))
	addr := c.Addrs()[1]
	tc := dial(t, addr)
	tc.metadata(9)
	if err := c.StopBroker(1); err != nil {
		t.Fatal(err)
	}
	tc.expectClosed()
	if nc, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		nc.Close()
		t.Fatal("dial to a stopped broker worked")
	}
	// Other brokers keep working and still list broker 1.
	md := dial(t, c.Addrs()[0]).metadata(9, "t")
	if len(md.Brokers) != 3 {
		t.Fatalf("%d brokers listed", len(md.Brokers))
	}
	if err := c.StopBroker(1); err != nil { // stopping twice is harmless
		t.Fatal(err)
	}
	if err := c.StartBroker(1); err != nil {
		t.Fatal(err)
	}
	if c.Addrs()[1] != addr {
		t.Fatalf("restarted on %s, was %s", c.Addrs()[1], addr)
	}
	tc2 := dial(t, addr)
	if got := tc2.metadata(9, "t"); len(got.Topics) != 1 {
		t.Fatal("restarted broker does not answer")
	}
	if err := c.StartBroker(1); err != nil { // starting a running broker is harmless
		t.Fatal(err)
	}
	if c.StopBroker(9) == nil || c.StartBroker(-1) == nil {
		t.Fatal("no error for unknown brokers")
	}
}

// A broker started again at a new address keeps its node id and partitions; Metadata names
// the new address, and nothing listens at the old one.
func TestStartBrokerAt(t *testing.T) {
	c := newTestCluster(t, SeedTopic("t", 3))
	old := c.Addrs()[1]
	if c.StartBrokerAt(1, "127.0.0.1:0") == nil {
		t.Fatal("a running broker moved")
	}
	if err := c.StopBroker(1); err != nil {
		t.Fatal(err)
	}
	if c.StartBrokerAt(1, "127.0.0.1:99999") == nil || c.Addrs()[1] != old {
		t.Fatalf("a failed move left the address %s, was %s", c.Addrs()[1], old)
	}
	if err := c.StartBrokerAt(1, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	addr := c.Addrs()[1]
	if addr == old {
		t.Fatalf("the broker came back at its old address %s", addr)
	}
	if nc, err := net.DialTimeout("tcp", old, time.Second); err == nil {
		nc.Close()
		t.Fatal("something still listens at the old address")
	}
	md := dial(t, addr).metadata(9, "t")
	found := false
	for _, b := range md.Brokers {
		if b.NodeID == 1 {
			found = net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))) == addr
		}
	}
	if !found {
		t.Fatalf("Metadata lists %+v, not broker 1 at %s", md.Brokers, addr)
	}
	led := 0
	for p := range int32(3) {
		if c.Leader("t", p) == 1 {
			led++
		}
	}
	if led == 0 {
		t.Fatal("the moved broker leads nothing")
	}
	if c.StartBrokerAt(7, "127.0.0.1:0") == nil {
		t.Fatal("no error for an unknown broker")
	}
}

func TestMoveLeader(t *testing.T) {
	c := newTestCluster(t, SeedTopic("t", 1))
	old := c.Leader("t", 0)
	to := (old + 1) % 3
	if err := c.MoveLeader("t", 0, to); err != nil {
		t.Fatal(err)
	}
	if c.Leader("t", 0) != to {
		t.Fatal("leader not moved")
	}
	oldConn := dial(t, c.Addrs()[old])
	for _, v := range []int16{3, 9, 10, 12} {
		got := oldConn.produce(v, "t", 0, makeBatch(t, plainSpec(), values(1)...))
		if got.ErrorCode != wire.ErrNotLeaderOrFollower.Code {
			t.Fatalf("v%d: error %d, want NOT_LEADER_OR_FOLLOWER", v, got.ErrorCode)
		}
		wantHint := wire.LeaderIDAndEpoch{LeaderID: -1, LeaderEpoch: -1}
		if v >= 10 {
			wantHint = wire.LeaderIDAndEpoch{LeaderID: to, LeaderEpoch: 1}
		}
		if got.CurrentLeader != wantHint {
			t.Fatalf("v%d: current leader %+v, want %+v", v, got.CurrentLeader, wantHint)
		}
	}
	// NodeEndpoints names the new leader (v10+).
	var resp wire.ProduceResponse
	oldConn.roundTrip(11, produceReq(1, "t", 0, makeBatch(t, plainSpec(), values(1)...)), &resp)
	host, port := c.brokers[to].endpoint()
	want := []wire.NodeEndpoint{{NodeID: to, Host: host, Port: port}}
	if len(resp.NodeEndpoints) != 1 || resp.NodeEndpoints[0].NodeID != want[0].NodeID || resp.NodeEndpoints[0].Port != port || resp.NodeEndpoints[0].Host != host {
		t.Fatalf("endpoints %+v, want %+v", resp.NodeEndpoints, want)
	}
	// Metadata from any broker has the truth.
	md := dial(t, c.Addrs()[old]).metadata(12, "t")
	if p := md.Topics[0].Partitions[0]; p.LeaderID != to || p.LeaderEpoch != 1 {
		t.Fatalf("metadata: %+v", p)
	}
	if got := dial(t, c.Addrs()[to]).produce(12, "t", 0, makeBatch(t, plainSpec(), values(2)...)); got.ErrorCode != 0 || got.BaseOffset != 0 {
		t.Fatalf("new leader: %+v", got)
	}
	if c.MoveLeader("t", 1, 0) == nil || c.MoveLeader("t", 0, 3) == nil || c.MoveLeader("x", 0, 0) == nil {
		t.Fatal("no error for a bad move")
	}
}

func TestBadInputClosesConnection(t *testing.T) {
	var logs testutil.SyncBuffer
	c := newTestCluster(t, MaxFrameSize(1<<10), Logger(slog.New(slog.NewTextHandler(&logs, nil))))
	addr := c.Addrs()[0]
	bystander := dial(t, addr)
	frame := func(body []byte) []byte {
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
	}
	header := func(key, version int16) []byte {
		b := binary.BigEndian.AppendUint16(nil, uint16(key))
		b = binary.BigEndian.AppendUint16(b, uint16(version))
		b = binary.BigEndian.AppendUint32(b, 1)
		return binary.BigEndian.AppendUint16(b, 0xffff) // null client id
	}
	for _, tt := range []struct {
		name string
		raw  []byte
	}{
		{"garbage", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
		{"negative size", []byte{0xff, 0xff, 0xff, 0xfe, 1, 2}},
		{"over the cap", append(binary.BigEndian.AppendUint32(nil, 1<<10+1), make([]byte, 16)...)},
		{"short header", frame([]byte{0, 18, 0})},
		{"produce v2", frame(append(header(wire.KeyProduce, 2), make([]byte, 10)...))},
		{"metadata v14", frame(header(wire.KeyMetadata, 14))},
		{"unknown key", frame(header(999, 0))},
		{"unhandled key", frame(header(wire.KeyFindCoordinator, 1))},
		{"bad body", frame(append(header(wire.KeyProduce, 3), 1, 2, 3))},
		{"trailing body bytes", frame(append(header(wire.KeyMetadata, 1), 0xff, 0xff, 0xff, 0xff, 7))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := strings.Count(logs.String(), "closing connection")
			tc := dial(t, addr)
			tc.writeRaw(tt.raw)
			tc.expectClosed()
			deadline := time.Now().Add(5 * time.Second)
			for strings.Count(logs.String(), "closing connection") == before && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if strings.Count(logs.String(), "closing connection") == before {
				t.Fatal("nothing logged")
			}
		})
	}
	// The bystander's connection is unaffected.
	if md := bystander.metadata(1); len(md.Brokers) != 3 {
		t.Fatal("bystander broken")
	}
	if c.RequestCount(wire.KeyProduce) != 2 || c.RequestCount(wire.KeyMetadata) != 3 || c.RequestCount(999) != 1 {
		t.Fatalf("request counts: produce %d metadata %d unknown %d", c.RequestCount(wire.KeyProduce), c.RequestCount(wire.KeyMetadata), c.RequestCount(999))
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	c, err := NewCluster(SeedTopic("t", 3))
	if err != nil {
		t.Fatal(err)
	}
	// Open connections, one of them mid-delay, one idle, one stopped broker.
	tc := dial(t, c.Addrs()[0])
	tc.metadata(9)
	idle := dial(t, c.Addrs()[1])
	_ = idle
	c.InjectFault(Fault{Key: wire.KeyMetadata, Broker: 2, Delay: time.Hour})
	slow := dial(t, c.Addrs()[2])
	slow.send(9, &wire.MetadataRequest{})
	if err := c.StopBroker(1); err != nil {
		t.Fatal(err)
	}
	waitCtx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _ = c.WaitForRecords(waitCtx, "t", 1)
	deadline := time.Now().Add(2 * time.Second)
	for c.RequestCount(wire.KeyMetadata) < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	c.Close()
	c.Close() // idempotent
	if c.StartBroker(1) == nil {
		t.Fatal("started a broker of a closed cluster")
	}
	tc.expectClosed()
	slow.expectClosed()
	for time.Now().Before(deadline) && runtime.NumGoroutine() > before {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after Close:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// TestConcurrentUse produces from several connections to every broker while leaders move
// and readers read, for the race detector.
func TestConcurrentUse(t *testing.T) {
	c := newTestCluster(t, SeedTopic("t", 6))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var accepted sync.Map
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conns := make([]*testClient, 3)
			for i := range conns {
				conns[i] = dial(t, c.Addrs()[i])
			}
			n := 0
			for i := 0; i < 40; i++ {
				p := int32((w + i) % 6)
				got := conns[c.Leader("t", p)].produce(9, "t", p, makeBatch(t, plainSpec(), values(2)...))
				switch got.ErrorCode {
				case 0:
					n += 2
				case wire.ErrNotLeaderOrFollower.Code: // the leader moved meanwhile
				default:
					t.Errorf("error %d", got.ErrorCode)
					return
				}
			}
			accepted.Store(w, n)
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := c.MoveLeader("t", int32(i%6), int32(i%3)); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	reader := dial(t, c.Addrs()[1])
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = c.Records("t", 0)
			_ = c.topicCount("t")
			reader.metadata(12, "t")
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		done := 0
		accepted.Range(func(any, any) bool { done++; return true })
		if done == 6 || t.Failed() {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	want := 0
	accepted.Range(func(_, v any) bool { want += v.(int); return true })
	if got := len(c.topicRecords("t")); got != want {
		t.Fatalf("%d records stored, %d acknowledged", got, want)
	}
}
