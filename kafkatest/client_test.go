package kafkatest

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/compress"
	"github.com/gregor-kafka/producer/wire"
)

// A minimal Kafka client built on wire/, enough to drive the brokers from tests.

type testClient struct {
	t    testing.TB
	nc   net.Conn
	corr int32
}

func dial(t testing.TB, addr string) *testClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { nc.Close() })
	return &testClient{t: t, nc: nc}
}

// send writes one request at version and returns its correlation id.
func (tc *testClient) send(version int16, req wire.Request) int32 {
	tc.t.Helper()
	tc.corr++
	cid := "kafkatest-client"
	frame := wire.AppendRequest(nil, wire.RequestHeader{APIVersion: version, CorrelationID: tc.corr, ClientID: &cid}, req)
	tc.writeRaw(frame)
	return tc.corr
}

func (tc *testClient) writeRaw(b []byte) {
	tc.t.Helper()
	if _, err := tc.nc.Write(b); err != nil {
		tc.t.Fatalf("write: %v", err)
	}
}

// recvFrame reads one response frame within timeout.
func (tc *testClient) recvFrame(timeout time.Duration) ([]byte, error) {
	tc.nc.SetReadDeadline(time.Now().Add(timeout))
	defer tc.nc.SetReadDeadline(time.Time{})
	frame, err := wire.ReadFrame(tc.nc, nil, 64<<20)
	return frame, err
}

// recv reads the answer to a request of key at version into resp and checks its
// correlation id.
func (tc *testClient) recv(wantCorr int32, version int16, resp wire.Response) {
	tc.t.Helper()
	frame, err := tc.recvFrame(5 * time.Second)
	if err != nil {
		tc.t.Fatalf("reading %s v%d response: %v", wire.APIName(resp.Key()), version, err)
	}
	corr, body, err := wire.ParseResponseHeader(frame, resp.Key(), version)
	if err != nil {
		tc.t.Fatal(err)
	}
	if corr != wantCorr {
		tc.t.Fatalf("correlation id %d, want %d", corr, wantCorr)
	}
	if err := resp.Decode(body, version); err != nil {
		tc.t.Fatalf("decoding %s v%d response: %v", wire.APIName(resp.Key()), version, err)
	}
}

func (tc *testClient) roundTrip(version int16, req wire.Request, resp wire.Response) {
	tc.t.Helper()
	tc.recv(tc.send(version, req), version, resp)
}

// expectClosed checks that the broker closes the connection without answering.
func (tc *testClient) expectClosed() {
	tc.t.Helper()
	frame, err := tc.recvFrame(5 * time.Second)
	if err == nil {
		tc.t.Fatalf("got a %d-byte answer, want the connection closed", len(frame))
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		tc.t.Fatalf("got %v, want the connection closed", err)
	}
}

// expectSilence checks that nothing arrives within d.
func (tc *testClient) expectSilence(d time.Duration) {
	tc.t.Helper()
	frame, err := tc.recvFrame(d)
	if err == nil {
		tc.t.Fatalf("got a %d-byte answer, want none", len(frame))
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		tc.t.Fatalf("got %v, want a timeout", err)
	}
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe)
}

func (tc *testClient) metadata(version int16, topics ...string) *wire.MetadataResponse {
	tc.t.Helper()
	req := &wire.MetadataRequest{AllowAutoTopicCreation: true}
	for _, n := range topics {
		req.Topics = append(req.Topics, wire.MetadataRequestTopic{Name: &n})
	}
	var resp wire.MetadataResponse
	tc.roundTrip(version, req, &resp)
	return &resp
}

func (tc *testClient) initProducerID() (int64, int16) {
	tc.t.Helper()
	var resp wire.InitProducerIDResponse
	tc.roundTrip(4, &wire.InitProducerIDRequest{TransactionTimeoutMs: 60000, ProducerID: -1, ProducerEpoch: -1}, &resp)
	if resp.ErrorCode != 0 {
		tc.t.Fatalf("InitProducerId: error %d", resp.ErrorCode)
	}
	return resp.ProducerID, resp.ProducerEpoch
}

// produceReq returns a Produce request with one batch for one partition.
func produceReq(acks int16, topic string, partition int32, batch []byte) *wire.ProduceRequest {
	return &wire.ProduceRequest{
		Acks:      acks,
		TimeoutMs: 5000,
		Topics: []wire.ProduceTopic{{
			Name:       topic,
			Partitions: []wire.ProducePartition{{Index: partition, Records: batch}},
		}},
	}
}

// produce sends one batch with acks=-1 at version and returns the partition's answer.
func (tc *testClient) produce(version int16, topic string, partition int32, batch []byte) wire.ProducePartitionResponse {
	tc.t.Helper()
	var resp wire.ProduceResponse
	tc.roundTrip(version, produceReq(-1, topic, partition, batch), &resp)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		tc.t.Fatalf("Produce answer has %d topics, want 1 with 1 partition", len(resp.Topics))
	}
	return resp.Topics[0].Partitions[0]
}

// rec is a record to put in a test batch.
type rec struct {
	key, value []byte
	headers    []wire.RecordHeader
	ts         int64 // ms; 0 means the batch's base timestamp
}

// batchSpec describes a test batch.
type batchSpec struct {
	codec         int8
	producerID    int64
	epoch         int16
	baseSequence  int32
	transactional bool
	baseTimestamp int64
}

func plainSpec() batchSpec {
	return batchSpec{producerID: -1, epoch: -1, baseSequence: -1, baseTimestamp: 1700000000000}
}

func idemSpec(pid int64, epoch int16, seq int32) batchSpec {
	s := plainSpec()
	s.producerID, s.epoch, s.baseSequence = pid, epoch, seq
	return s
}

// makeBatch encodes a RecordBatch v2 as a producer would.
func makeBatch(t testing.TB, s batchSpec, recs ...rec) []byte {
	t.Helper()
	var region []byte
	maxTS := s.baseTimestamp
	for i, r := range recs {
		ts := r.ts
		if ts == 0 {
			ts = s.baseTimestamp
		}
		maxTS = max(maxTS, ts)
		region = wire.AppendRecord(region, int32(i), ts-s.baseTimestamp, r.key, r.value, r.headers)
	}
	if s.codec != wire.CodecNone {
		cmp, err := compress.NewCompressor(compress.Codec(s.codec), compress.DefaultLevel(compress.Codec(s.codec)))
		if err != nil {
			t.Fatal(err)
		}
		if region, err = cmp.AppendCompress(nil, region); err != nil {
			t.Fatal(err)
		}
	}
	batch := append(make([]byte, wire.RecordBatchHeaderSize), region...)
	h := wire.BatchHeader{
		PartitionLeaderEpoch: -1,
		Attributes:           int16(s.codec),
		LastOffsetDelta:      int32(len(recs)) - 1,
		BaseTimestamp:        s.baseTimestamp,
		MaxTimestamp:         maxTS,
		ProducerID:           s.producerID,
		ProducerEpoch:        s.epoch,
		BaseSequence:         s.baseSequence,
		NumRecords:           int32(len(recs)),
	}
	if s.transactional {
		h.Attributes |= wire.AttrTransactional
	}
	wire.FinishBatch(batch, &h)
	return batch
}

// values returns n records with values "v0".."v(n-1)".
func values(n int) []rec {
	out := make([]rec, n)
	for i := range out {
		out[i] = rec{value: []byte{'v', byte('0' + i%10)}}
	}
	return out
}

// newTestCluster starts a cluster closed at the end of the test.
func newTestCluster(t testing.TB, opts ...Option) *Cluster {
	t.Helper()
	c, err := NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// dialLeader connects to the leader of the partition.
func dialLeader(t testing.TB, c *Cluster, topic string, partition int32) *testClient {
	t.Helper()
	l := c.Leader(topic, partition)
	if l < 0 {
		t.Fatalf("no leader for %s/%d", topic, partition)
	}
	return dial(t, c.Addrs()[l])
}
