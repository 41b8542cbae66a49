package sinkbroker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/gregor-kafka/producer/compress"
	"github.com/gregor-kafka/producer/wire"
)

// maxFrame caps a request frame, as Kafka's socket.request.max.bytes (100 MiB).
const maxFrame = 100 << 20

// maxDecompressed caps a batch's decompressed records when verifying.
const maxDecompressed = 64 << 20

// writeHigh is how many response bytes a connection buffers before writing them even
// though more requests are waiting.
const writeHigh = 256 << 10

// frameReader reads size-prefixed frames straight into one growing buffer, so a frame is
// handled in place: no copy out of a bufio.Reader, and one read syscall brings in as many
// pipelined requests as fit.
type frameReader struct {
	rd   io.Reader
	buf  []byte
	r, w int // unread bytes are buf[r:w]
	err  error
}

// frameLen returns the size of the frame at the read position with its prefix, or 0 when
// fewer than 4 bytes are buffered.
func (f *frameReader) frameLen() (int, error) {
	if f.w-f.r < 4 {
		return 0, nil
	}
	n := int32(binary.BigEndian.Uint32(f.buf[f.r:]))
	if n < 0 || n > maxFrame {
		return 0, fmt.Errorf("frame size %d outside 0..%d", n, maxFrame)
	}
	return 4 + int(n), nil
}

// ready reports whether a whole frame is buffered, so that the next call to next will not
// block.
func (f *frameReader) ready() bool {
	n, err := f.frameLen()
	return err == nil && n > 0 && f.w-f.r >= n
}

// next returns the next frame without its size prefix. The frame aliases the buffer and is
// valid until the following call.
func (f *frameReader) next() ([]byte, error) {
	for {
		n, err := f.frameLen()
		if err != nil {
			return nil, err
		}
		if n > 0 && f.w-f.r >= n {
			frame := f.buf[f.r+4 : f.r+n : f.r+n]
			f.r += n
			return frame, nil
		}
		if f.err != nil {
			return nil, f.err
		}
		if f.r == f.w {
			f.r, f.w = 0, 0
		}
		need := max(n, 4)
		if f.r+need > len(f.buf) {
			if need > len(f.buf) {
				nb := make([]byte, max(need, 2*len(f.buf)))
				f.w = copy(nb, f.buf[f.r:f.w])
				f.buf, f.r = nb, 0
			} else {
				f.w = copy(f.buf, f.buf[f.r:f.w])
				f.r = 0
			}
		}
		m, err := f.rd.Read(f.buf[f.w:])
		f.w += m
		if err != nil {
			f.err = err
		}
	}
}

// conn is the state of one client connection; it is owned by the connection's goroutine
// and reused for every request.
type conn struct {
	c   *Cluster
	b   *broker
	rd  wire.Reader
	out []byte // answers not yet written

	produceResp wire.ProduceResponse
	metaReq     wire.MetadataRequest
	metaResp    wire.MetadataResponse
	decompBuf   []byte
}

// serve answers the requests of one connection, in order, until it fails or closes.
func (c *Cluster) serve(b *broker, nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	fr := frameReader{rd: nc, buf: make([]byte, 1<<20)}
	cn := &conn{c: c, b: b}
	for {
		frame, err := fr.next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.logf("broker %d: %s: read: %v", b.id, nc.RemoteAddr(), err)
			}
			return
		}
		c.stats.requests.Add(1)
		if err := cn.handle(frame); err != nil {
			c.stats.badRequests.Add(1)
			c.logf("broker %d: %s: closing the connection: %v", b.id, nc.RemoteAddr(), err)
			_, _ = nc.Write(cn.out)
			return
		}
		if len(cn.out) > 0 && (len(cn.out) >= writeHigh || !fr.ready()) {
			if _, err := nc.Write(cn.out); err != nil {
				return
			}
			cn.out = cn.out[:0]
		}
	}
}

// handle answers one request frame, appending the answer, if any, to cn.out. An error means
// the request could not be understood and the connection must be closed, as Kafka does.
func (cn *conn) handle(frame []byte) error {
	r := &cn.rd
	r.Reset(frame)
	key := r.Int16()
	version := r.Int16()
	corr := r.Int32()
	if err := r.Err(); err != nil {
		return fmt.Errorf("request header: %w", err)
	}
	api, known := wire.LookupAPI(key)
	// An ApiVersions request newer than we know is still answered (KIP-511); its header
	// is v2.
	tooNew := key == wire.KeyApiVersions && version > api.Max
	if !known || !tooNew && (version < api.Min || version > api.Max) {
		return fmt.Errorf("unsupported request: %s v%d", wire.APIName(key), version)
	}
	// The client id is never needed: skip it rather than copy it.
	if n := r.Int16(); n > 0 {
		r.Raw(int(n))
	}
	r.Tags(tooNew || wire.IsFlexible(key, version), nil)
	if err := r.Err(); err != nil {
		return fmt.Errorf("%s v%d request header: %w", api.Name, version, err)
	}
	body := frame[r.Offset():]
	if cn.c.cfg.LogRequests {
		cn.c.logf("broker %d: %s v%d, correlation id %d", cn.b.id, api.Name, version, corr)
	}
	var err error
	switch key {
	case wire.KeyProduce:
		err = cn.produce(corr, version, body)
	case wire.KeyApiVersions:
		err = cn.apiVersions(corr, version, body, tooNew)
	case wire.KeyMetadata:
		err = cn.metadata(corr, version, body)
	case wire.KeyInitProducerID:
		err = cn.initProducerID(corr, version, body)
	case wire.KeyFindCoordinator:
		err = cn.findCoordinator(corr, version, body)
	default:
		err = errors.New("not implemented by the sink broker")
	}
	if err != nil {
		return fmt.Errorf("%s v%d: %w", api.Name, version, err)
	}
	return nil
}

func (cn *conn) apiVersions(corr int32, version int16, body []byte, tooNew bool) error {
	resp := wire.ApiVersionsResponse{APIKeys: cn.c.apiKeys(), FinalizedFeaturesEpoch: -1}
	if tooNew {
		// Answer with a v0 body holding UNSUPPORTED_VERSION and our range; the client
		// retries at the highest version we both know.
		resp.ErrorCode = wire.ErrUnsupportedVersion.Code
		version = 0
	} else {
		var req wire.ApiVersionsRequest
		if err := req.Decode(body, version); err != nil {
			return err
		}
	}
	cn.out = wire.AppendResponse(cn.out, corr, version, &resp)
	return nil
}

// apiKeys lists what ApiVersions answers: the APIs and versions the wire package implements,
// except Fetch and ListOffsets, which the sink does not serve, and Fetch v4–12. librdkafka
// decides which record format to write from the versions of Produce and Fetch together:
// without Fetch v4 it falls back to magic-0 message sets, and without Fetch v10 it refuses
// zstd. A Fetch request closes the connection.
func (c *Cluster) apiKeys() []wire.ApiVersionsKey {
	apis := wire.SupportedAPIs()
	out := make([]wire.ApiVersionsKey, 0, len(apis))
	for _, a := range apis {
		if a.Key == wire.KeyFetch || a.Key == wire.KeyListOffsets {
			continue
		}
		out = append(out, wire.ApiVersionsKey{APIKey: a.Key, MinVersion: a.Min, MaxVersion: a.Max})
	}
	return append(out, wire.ApiVersionsKey{APIKey: wire.KeyFetch, MinVersion: 4, MaxVersion: 12})
}

func (cn *conn) metadata(corr int32, version int16, body []byte) error {
	c := cn.c
	req := &cn.metaReq
	if err := req.Decode(body, version); err != nil {
		return err
	}
	resp := &cn.metaResp
	*resp = wire.MetadataResponse{
		Brokers:                     resp.Brokers[:0],
		ClusterID:                   &clusterID,
		ControllerID:                0,
		Topics:                      resp.Topics[:0],
		ClusterAuthorizedOperations: wire.AuthorizedOperationsOmitted,
	}
	for _, b := range c.brokers {
		resp.Brokers = append(resp.Brokers, wire.MetadataBroker{NodeID: b.id, Host: b.host, Port: b.port})
	}
	add := func(t *topic) {
		resp.Topics = append(resp.Topics, wire.MetadataTopic{
			Name:                      &t.name,
			TopicID:                   t.id,
			Partitions:                t.meta,
			TopicAuthorizedOperations: wire.AuthorizedOperationsOmitted,
		})
	}
	if req.Topics == nil {
		for _, t := range c.allTopics() {
			add(t)
		}
	}
	for i := range req.Topics {
		rt := &req.Topics[i]
		switch {
		case rt.Name != nil && *rt.Name != "":
			add(c.topicByName(*rt.Name))
		case rt.TopicID != wire.UUID{}:
			if t := c.topicByID(rt.TopicID); t != nil {
				add(t)
			} else {
				resp.Topics = append(resp.Topics, wire.MetadataTopic{
					ErrorCode:                 wire.ErrUnknownTopicID.Code,
					TopicID:                   rt.TopicID,
					TopicAuthorizedOperations: wire.AuthorizedOperationsOmitted,
				})
			}
		default:
			empty := ""
			resp.Topics = append(resp.Topics, wire.MetadataTopic{
				ErrorCode:                 wire.ErrInvalidTopic.Code,
				Name:                      &empty,
				TopicAuthorizedOperations: wire.AuthorizedOperationsOmitted,
			})
		}
	}
	cn.out = wire.AppendResponse(cn.out, corr, version, resp)
	return nil
}

// clusterID is the cluster id every Metadata answer gives.
var clusterID = "gregor-sink"

func (cn *conn) initProducerID(corr int32, version int16, body []byte) error {
	var req wire.InitProducerIDRequest
	if err := req.Decode(body, version); err != nil {
		return err
	}
	resp := wire.InitProducerIDResponse{}
	if req.ProducerID >= 0 && req.ProducerEpoch >= 0 && req.ProducerEpoch < 32767 {
		resp.ProducerID, resp.ProducerEpoch = req.ProducerID, req.ProducerEpoch+1 // KIP-360 bump
	} else {
		resp.ProducerID = cn.c.nextPID.Add(1)
		cn.c.stats.producerIDs.Add(1)
	}
	cn.out = wire.AppendResponse(cn.out, corr, version, &resp)
	return nil
}

func (cn *conn) findCoordinator(corr int32, version int16, body []byte) error {
	var req wire.FindCoordinatorRequest
	if err := req.Decode(body, version); err != nil {
		return err
	}
	b := cn.c.brokers[0]
	resp := wire.FindCoordinatorResponse{NodeID: b.id, Host: b.host, Port: b.port}
	for _, k := range req.CoordinatorKeys {
		resp.Coordinators = append(resp.Coordinators, wire.Coordinator{Key: k, NodeID: b.id, Host: b.host, Port: b.port})
	}
	cn.out = wire.AppendResponse(cn.out, corr, version, &resp)
	return nil
}

// produce acknowledges every batch of a Produce request: it reads the topics, partitions and
// record counts, advances the partitions' offsets and answers, unless acks is 0.
func (cn *conn) produce(corr int32, version int16, body []byte) error {
	c := cn.c
	flex := wire.IsFlexible(wire.KeyProduce, version)
	r := &cn.rd
	r.Reset(body)
	skipNullableString(r, flex) // transactional id
	acks := r.Int16()
	r.Int32() // timeout
	minTopic := 3
	if version >= 13 {
		minTopic = 18
	}
	resp := &cn.produceResp
	resp.ThrottleTimeMs = 0
	resp.NodeEndpoints = nil
	resp.Topics = grow(resp.Topics, r.ArrayLenNonNull(flex, minTopic))
	var records, batches, idempotent, bytes int64
	for i := range resp.Topics {
		rt := &resp.Topics[i]
		var t *topic
		rt.Name, rt.TopicID = "", wire.UUID{}
		if version >= 13 {
			rt.TopicID = r.UUID()
			t = c.topicByID(rt.TopicID)
		} else if name := r.StringBytes(flex); r.Err() == nil {
			t = c.topicByNameBytes(name)
			rt.Name = t.name
		}
		// Smallest partition: index, null records, tags.
		rt.Partitions = grow(rt.Partitions, r.ArrayLenNonNull(flex, 6))
		for j := range rt.Partitions {
			idx := r.Int32()
			data := r.Bytes(flex)
			r.Tags(flex, nil)
			pr := &rt.Partitions[j]
			*pr = wire.ProducePartitionResponse{
				Index:           idx,
				LogAppendTimeMs: -1,
				CurrentLeader:   wire.LeaderIDAndEpoch{LeaderID: -1, LeaderEpoch: -1},
			}
			if r.Err() != nil {
				break
			}
			switch {
			case t == nil:
				pr.ErrorCode = wire.ErrUnknownTopicID.Code
			case idx < 0 || int(idx) >= len(t.offsets):
				pr.ErrorCode = wire.ErrUnknownTopicOrPartition.Code
			default:
				n, nb, idem, code := cn.countRecords(data)
				if code != 0 {
					pr.ErrorCode = code
					c.stats.corruptBatches.Add(1)
					c.logf("broker %d: %s-%d: rejected %d bytes of records with error %d", cn.b.id, t.name, idx, len(data), code)
					continue
				}
				pr.BaseOffset = t.offsets[idx].n.Add(n) - n
				records += n
				batches += nb
				idempotent += idem
				bytes += int64(len(data))
			}
		}
		r.Tags(flex, nil)
	}
	r.Tags(flex, nil)
	if err := r.Complete(); err != nil {
		return err
	}
	c.stats.produceRequests.Add(1)
	c.stats.records.Add(records)
	c.stats.batches.Add(batches)
	c.stats.idempotentBatches.Add(idempotent)
	c.stats.bytes.Add(bytes)
	if acks == 0 {
		return nil
	}
	cn.out = wire.AppendResponse(cn.out, corr, version, resp)
	return nil
}

// countRecords returns the number of records and batches in a partition's records field,
// reading each RecordBatch header's recordsCount (byte 57), and how many of the batches
// carry a producer id (byte 43: idempotent or transactional); or a Kafka error code for a
// field that is not a sequence of well-framed magic-2 batches. With Config.Verify every
// batch is also checked and decoded in full.
func (cn *conn) countRecords(data []byte) (records, batches, idempotent int64, code int16) {
	if len(data) == 0 {
		return 0, 0, 0, wire.ErrInvalidRecord.Code
	}
	for len(data) > 0 {
		if len(data) < wire.RecordBatchHeaderSize {
			return 0, 0, 0, wire.ErrCorruptMessage.Code
		}
		end := 12 + int64(int32(binary.BigEndian.Uint32(data[8:])))
		if end < wire.RecordBatchHeaderSize || end > int64(len(data)) || data[16] != 2 {
			return 0, 0, 0, wire.ErrCorruptMessage.Code
		}
		n := int32(binary.BigEndian.Uint32(data[57:]))
		if n < 0 {
			return 0, 0, 0, wire.ErrCorruptMessage.Code
		}
		if cn.c.cfg.Verify && !cn.verify(data[:end], n) {
			return 0, 0, 0, wire.ErrCorruptMessage.Code
		}
		if int64(binary.BigEndian.Uint64(data[43:])) >= 0 {
			idempotent++
		}
		records += int64(n)
		batches++
		data = data[end:]
	}
	return records, batches, idempotent, 0
}

// verify decodes one batch fully and checks it holds n records.
func (cn *conn) verify(batch []byte, n int32) bool {
	_, recs, _, err := wire.DecodeBatch(batch, func(codec int8, src []byte) ([]byte, error) {
		out, err := compress.Decompress(compress.Codec(codec), cn.decompBuf[:0], src, maxDecompressed)
		cn.decompBuf = out
		return out, err
	})
	if err != nil {
		cn.c.logf("broker %d: bad batch: %v", cn.b.id, err)
		return false
	}
	if len(recs) != int(n) {
		cn.c.logf("broker %d: batch says %d records, holds %d", cn.b.id, n, len(recs))
		return false
	}
	return true
}

// skipNullableString skips a nullable string without copying it.
func skipNullableString(r *wire.Reader, flex bool) {
	if flex {
		if n := r.Uvarint(); n > 1 {
			r.Raw(int(n - 1))
		}
		return
	}
	if n := r.Int16(); n > 0 {
		r.Raw(int(n))
	}
}

// grow returns s resized to n elements, reusing its array when it is large enough.
func grow[T any](s []T, n int) []T {
	if n <= 0 {
		return s[:0]
	}
	if cap(s) >= n {
		return s[:n]
	}
	return append(s[:cap(s)], make([]T, n-cap(s))...)
}
