package sinkbroker

import (
	"bufio"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/compress"
	"github.com/gregor-kafka/producer/wire"
)

func startCluster(t *testing.T, cfg Config) *Cluster {
	t.Helper()
	c, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// client is a bare test connection speaking wire directly.
type client struct {
	t    *testing.T
	nc   net.Conn
	br   *bufio.Reader
	corr int32
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// send writes req at version and returns its correlation id.
func (c *client) send(req wire.Request, version int16) int32 {
	c.t.Helper()
	c.corr++
	id := "test"
	frame := wire.AppendRequest(nil, wire.RequestHeader{APIVersion: version, CorrelationID: c.corr, ClientID: &id}, req)
	if _, err := c.nc.Write(frame); err != nil {
		c.t.Fatal(err)
	}
	return c.corr
}

// recv reads one answer to a request of key at version with correlation id corr.
func (c *client) recv(key, version int16, corr int32, resp wire.Response) {
	c.t.Helper()
	frame, err := wire.ReadFrame(c.br, nil, 1<<24)
	if err != nil {
		c.t.Fatal(err)
	}
	got, body, err := wire.ParseResponseHeader(frame, key, version)
	if err != nil {
		c.t.Fatal(err)
	}
	if got != corr {
		c.t.Fatalf("correlation id %d, want %d", got, corr)
	}
	if err := resp.Decode(body, version); err != nil {
		c.t.Fatalf("decoding %s v%d: %v", wire.APIName(key), version, err)
	}
}

func (c *client) call(req wire.Request, version int16, resp wire.Response) {
	c.t.Helper()
	c.recv(req.Key(), version, c.send(req, version), resp)
}

func TestApiVersionsEveryVersionAndDowngrade(t *testing.T) {
	c := startCluster(t, Config{})
	cl := dial(t, c.Addrs()[0])
	for v := int16(0); v <= 4; v++ {
		var resp wire.ApiVersionsResponse
		cl.call(&wire.ApiVersionsRequest{ClientSoftwareName: "t", ClientSoftwareVersion: "1"}, v, &resp)
		// Every API wire implements but Fetch and ListOffsets, which the sink does not
		// serve; then Fetch v4–12 alone, for librdkafka's record format choice.
		if resp.ErrorCode != 0 || len(resp.APIKeys) != len(wire.SupportedAPIs())-1 {
			t.Fatalf("v%d: error %d, %d keys", v, resp.ErrorCode, len(resp.APIKeys))
		}
		var fetches []wire.ApiVersionsKey
		for _, k := range resp.APIKeys {
			if k.APIKey == wire.KeyFetch || k.APIKey == wire.KeyListOffsets {
				fetches = append(fetches, k)
			}
		}
		if len(fetches) != 1 || fetches[0] != (wire.ApiVersionsKey{APIKey: wire.KeyFetch, MinVersion: 4, MaxVersion: 12}) {
			t.Fatalf("v%d: Fetch and ListOffsets advertised as %+v", v, fetches)
		}
	}
	// A version above ours gets a v0 body with UNSUPPORTED_VERSION (KIP-511). The request
	// header of such a version is v2; build it by hand since wire refuses the version.
	frame := []byte{0, 0, 0, 0, 0, 18, 0, 99, 0, 0, 0, 7, 0, 1, 'x', 0, 2, 'n', 2, 'v', 0}
	wire.PutInt32(frame, 0, int32(len(frame)-4))
	if _, err := cl.nc.Write(frame); err != nil {
		t.Fatal(err)
	}
	var resp wire.ApiVersionsResponse
	cl.recv(wire.KeyApiVersions, 0, 7, &resp)
	if resp.ErrorCode != wire.ErrUnsupportedVersion.Code {
		t.Fatalf("error %d, want 35", resp.ErrorCode)
	}
	found := false
	for _, k := range resp.APIKeys {
		found = found || k.APIKey == wire.KeyApiVersions && k.MaxVersion == 4
	}
	if !found {
		t.Fatalf("no ApiVersions 0-4 in %+v", resp.APIKeys)
	}
}

func TestMetadataCreatesTopicsAndSpreadsLeaders(t *testing.T) {
	c := startCluster(t, Config{Partitions: 6})
	cl := dial(t, c.Addrs()[1])
	for _, v := range []int16{0, 1, 4, 7, 9, 12, 13} {
		name := "t"
		var resp wire.MetadataResponse
		cl.call(&wire.MetadataRequest{Topics: []wire.MetadataRequestTopic{{Name: &name}}, AllowAutoTopicCreation: true}, v, &resp)
		if len(resp.Brokers) != 3 || len(resp.Topics) != 1 {
			t.Fatalf("v%d: %d brokers, %d topics", v, len(resp.Brokers), len(resp.Topics))
		}
		tp := resp.Topics[0]
		if tp.ErrorCode != 0 || *tp.Name != "t" || len(tp.Partitions) != 6 {
			t.Fatalf("v%d: topic %+v", v, tp)
		}
		for _, p := range tp.Partitions {
			if p.LeaderID != p.PartitionIndex%3 {
				t.Fatalf("v%d: partition %d led by %d", v, p.PartitionIndex, p.LeaderID)
			}
		}
		if v >= 10 && tp.TopicID == (wire.UUID{}) {
			t.Fatalf("v%d: no topic id", v)
		}
	}
	// All topics (null list) includes the one created.
	var all wire.MetadataResponse
	cl.call(&wire.MetadataRequest{}, 9, &all)
	if len(all.Topics) != 1 {
		t.Fatalf("%d topics listed, want 1", len(all.Topics))
	}
}

// batch returns a RecordBatch of n records.
func batch(t *testing.T, n int, codec compress.Codec) []byte {
	t.Helper()
	recs := make([]byte, 0, 1024)
	for i := range n {
		recs = wire.AppendRecord(recs, int32(i), 0, nil, []byte("value"), nil)
	}
	b := make([]byte, wire.RecordBatchHeaderSize, 2048)
	h := wire.BatchHeader{PartitionLeaderEpoch: -1, LastOffsetDelta: int32(n - 1), NumRecords: int32(n),
		ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}
	if codec == compress.None {
		b = append(b, recs...)
	} else {
		comp, err := compress.NewCompressor(codec, compress.DefaultLevel(codec))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = comp.AppendCompress(b, recs); err != nil {
			t.Fatal(err)
		}
		h.Attributes = int16(codec)
	}
	wire.FinishBatch(b, &h)
	return b
}

func TestProduceOffsetsAcksAndVerify(t *testing.T) {
	for _, verify := range []bool{false, true} {
		c := startCluster(t, Config{Partitions: 2, Verify: verify})
		cl := dial(t, c.Addrs()[0])
		for _, v := range []int16{3, 7, 9, 12} {
			req := &wire.ProduceRequest{Acks: 1, TimeoutMs: 1000, Topics: []wire.ProduceTopic{{
				Name: "p",
				Partitions: []wire.ProducePartition{
					{Index: 0, Records: batch(t, 3, compress.None)},
					{Index: 1, Records: batch(t, 5, compress.LZ4)},
					{Index: 7, Records: batch(t, 1, compress.None)},
				},
			}}}
			var resp wire.ProduceResponse
			cl.call(req, v, &resp)
			ps := resp.Topics[0].Partitions
			if resp.Topics[0].Name != "p" || len(ps) != 3 {
				t.Fatalf("v%d: %+v", v, resp)
			}
			if ps[0].ErrorCode != 0 || ps[1].ErrorCode != 0 || ps[2].ErrorCode != wire.ErrUnknownTopicOrPartition.Code {
				t.Fatalf("v%d: error codes %d %d %d", v, ps[0].ErrorCode, ps[1].ErrorCode, ps[2].ErrorCode)
			}
		}
		// Four requests of 3 and 5 records: the next offsets are 12 and 20. acks=0 gets no
		// answer, so the following request's answer comes first.
		cl.send(&wire.ProduceRequest{Acks: 0, Topics: []wire.ProduceTopic{{Name: "p",
			Partitions: []wire.ProducePartition{{Index: 0, Records: batch(t, 2, compress.None)}}}}}, 9)
		var resp wire.ProduceResponse
		cl.call(&wire.ProduceRequest{Acks: -1, Topics: []wire.ProduceTopic{{Name: "p",
			Partitions: []wire.ProducePartition{{Index: 0, Records: batch(t, 1, compress.None)}, {Index: 1, Records: batch(t, 1, compress.Zstd)}}}}}, 9, &resp)
		if got := resp.Topics[0].Partitions; got[0].BaseOffset != 14 || got[1].BaseOffset != 20 {
			t.Fatalf("verify=%v: base offsets %d %d, want 14 20", verify, got[0].BaseOffset, got[1].BaseOffset)
		}
		// A batch with a bad CRC passes the counting path but not verification.
		bad := batch(t, 2, compress.None)
		bad[len(bad)-1] ^= 1
		cl.call(&wire.ProduceRequest{Acks: 1, Topics: []wire.ProduceTopic{{Name: "p",
			Partitions: []wire.ProducePartition{{Index: 0, Records: bad}}}}}, 9, &resp)
		want := int16(0)
		if verify {
			want = wire.ErrCorruptMessage.Code
		}
		if code := resp.Topics[0].Partitions[0].ErrorCode; code != want {
			t.Fatalf("verify=%v: bad CRC answered %d, want %d", verify, code, want)
		}
		st := c.Stats()
		if wantRecs := int64(4*8 + 2 + 2); !verify && st.Records != wantRecs+2 || verify && st.Records != wantRecs {
			t.Fatalf("verify=%v: %d records counted", verify, st.Records)
		}
	}
}

func TestProduceByTopicIDAndInitProducerID(t *testing.T) {
	c := startCluster(t, Config{})
	cl := dial(t, c.Addrs()[0])
	name := "ids"
	var md wire.MetadataResponse
	cl.call(&wire.MetadataRequest{Topics: []wire.MetadataRequestTopic{{Name: &name}}}, 12, &md)
	id := md.Topics[0].TopicID
	var resp wire.ProduceResponse
	cl.call(&wire.ProduceRequest{Acks: 1, Topics: []wire.ProduceTopic{
		{TopicID: id, Partitions: []wire.ProducePartition{{Index: 2, Records: batch(t, 4, compress.None)}}},
		{TopicID: wire.UUID{1}, Partitions: []wire.ProducePartition{{Index: 0, Records: batch(t, 1, compress.None)}}},
	}}, 13, &resp)
	if resp.Topics[0].TopicID != id || resp.Topics[0].Partitions[0].ErrorCode != 0 ||
		resp.Topics[1].Partitions[0].ErrorCode != wire.ErrUnknownTopicID.Code {
		t.Fatalf("%+v", resp)
	}
	// A batch with a producer id counts as idempotent; the others do not.
	idem := append(make([]byte, wire.RecordBatchHeaderSize), wire.AppendRecord(nil, 0, 0, nil, []byte("v"), nil)...)
	wire.FinishBatch(idem, &wire.BatchHeader{NumRecords: 1, ProducerID: 1001, BaseSequence: 0})
	cl.call(&wire.ProduceRequest{Acks: -1, Topics: []wire.ProduceTopic{{Name: name, Partitions: []wire.ProducePartition{{Index: 0, Records: idem}}}}}, 9, &resp)
	if st := c.Stats(); resp.Topics[0].Partitions[0].ErrorCode != 0 || st.IdempotentBatches != 1 || st.Batches != 2 {
		t.Fatalf("stats %+v", st)
	}
	var p1, p2, bump wire.InitProducerIDResponse
	cl.call(&wire.InitProducerIDRequest{ProducerID: -1, ProducerEpoch: -1}, 4, &p1)
	cl.call(&wire.InitProducerIDRequest{ProducerID: -1, ProducerEpoch: -1}, 1, &p2)
	cl.call(&wire.InitProducerIDRequest{ProducerID: p1.ProducerID, ProducerEpoch: 0}, 4, &bump)
	if p1.ProducerID == p2.ProducerID || p1.ProducerID < 0 || bump.ProducerID != p1.ProducerID || bump.ProducerEpoch != 1 {
		t.Fatalf("producer ids %+v %+v, bump %+v", p1, p2, bump)
	}
	var fc wire.FindCoordinatorResponse
	cl.call(&wire.FindCoordinatorRequest{CoordinatorKeys: []string{"a", "b"}, KeyType: 1}, 4, &fc)
	if len(fc.Coordinators) != 2 || fc.Coordinators[1].Key != "b" {
		t.Fatalf("%+v", fc)
	}
}

func TestUnsupportedRequestClosesConnection(t *testing.T) {
	c := startCluster(t, Config{})
	cl := dial(t, c.Addrs()[0])
	cl.send(&wire.EndTxnRequest{}, 1)
	if _, err := wire.ReadFrame(cl.br, nil, 1<<20); err == nil {
		t.Fatal("an answer to EndTxn, want the connection closed")
	} else if ne := (net.Error)(nil); errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("connection left open")
	}
	if c.Stats().BadRequests != 1 {
		t.Fatalf("stats %+v", c.Stats())
	}
}

func TestFrameReaderGrowsAndCompacts(t *testing.T) {
	var stream []byte
	sizes := []int{0, 3, 100, 5000, 1, 70000, 2}
	for i, n := range sizes {
		f := make([]byte, 4+n)
		wire.PutInt32(f, 0, int32(n))
		for j := range n {
			f[4+j] = byte(i)
		}
		stream = append(stream, f...)
	}
	fr := frameReader{rd: &trickle{b: stream, step: 777}, buf: make([]byte, 16)}
	for i, n := range sizes {
		f, err := fr.next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if len(f) != n || n > 0 && (f[0] != byte(i) || f[n-1] != byte(i)) {
			t.Fatalf("frame %d: %d bytes, want %d", i, len(f), n)
		}
	}
	if _, err := fr.next(); err == nil {
		t.Fatal("no error at the end of the stream")
	}
	bad := frameReader{rd: &trickle{b: []byte{0xff, 0xff, 0xff, 0xff}, step: 4}, buf: make([]byte, 16)}
	if _, err := bad.next(); err == nil {
		t.Fatal("negative frame size accepted")
	}
}

// trickle reads at most step bytes at a time.
type trickle struct {
	b    []byte
	step int
}

func (t *trickle) Read(p []byte) (int, error) {
	if len(t.b) == 0 {
		return 0, errors.New("eof")
	}
	n := copy(p[:min(len(p), t.step)], t.b)
	t.b = t.b[n:]
	return n, nil
}

func TestPartitionsOf(t *testing.T) {
	for name, want := range map[string]int{"t": 6, "t.p1000": 1000, "a.p1": 1, "t.p0": 6, "t.p10001": 6, "t.px": 6, "t.p-3": 6, "x.p2.p7": 7} {
		if got := PartitionsOf(name, 6); got != want {
			t.Errorf("PartitionsOf(%q) = %d, want %d", name, got, want)
		}
	}
}
