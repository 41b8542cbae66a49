package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gregor-kafka/producer/compress"
	"github.com/gregor-kafka/producer/wire"
)

// raw is the baseline: no client at all. It encodes one Produce request per broker once,
// with our wire package, and writes it over and over, pipelined, up to MaxInFlight
// requests in flight per connection, counting the acknowledged records from the answers.
// Its rate is the ceiling of the loopback and the sink broker. It sends no producer id
// even when the scenario is idempotent (the sink does not check sequences).
type raw struct {
	s        Scenario
	counters *Counters
	acks     int16
	topic    string
	topicID  wire.UUID
	leaders  []int32            // partition → node id
	addrs    map[int32]string   // node id → address
	conns    map[int32]*rawConn // by node id, dialed on first use

	plans     []*rawPlan // throughput runs: the request of each broker connection
	sync      *rawConn   // latency runs: the connection to partition 0's leader
	syncFrame []byte     // latency runs: a one-record request for partition 0
}

// rawConn is one connection to a broker with the Produce version to use on it.
type rawConn struct {
	nc      net.Conn
	br      *bufio.Reader
	version int16
	corr    int32
	buf     []byte
}

func dialRaw(ctx context.Context, addr string) (*rawConn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &rawConn{nc: nc, br: bufio.NewReaderSize(nc, 64<<10)}
	var av wire.ApiVersionsResponse
	if err := c.call(&wire.ApiVersionsRequest{}, 0, &av); err != nil {
		nc.Close()
		return nil, fmt.Errorf("raw: ApiVersions: %w", err)
	}
	c.version = -1
	for _, k := range av.APIKeys {
		if k.APIKey == wire.KeyProduce {
			c.version = min(k.MaxVersion, 13)
		}
	}
	if c.version < 3 {
		nc.Close()
		return nil, errors.New("raw: the broker supports no Produce version from 3")
	}
	return c, nil
}

// call sends req at version and decodes the one answer into resp.
func (c *rawConn) call(req wire.Request, version int16, resp wire.Response) error {
	c.corr++
	c.buf = wire.AppendRequest(c.buf[:0], wire.RequestHeader{APIVersion: version, CorrelationID: c.corr}, req)
	if _, err := c.nc.Write(c.buf); err != nil {
		return err
	}
	frame, err := wire.ReadFrame(c.br, c.buf, 64<<20)
	if err != nil {
		return err
	}
	_, body, err := wire.ParseResponseHeader(frame, req.Key(), version)
	if err != nil {
		return err
	}
	return resp.Decode(body, version)
}

func newRaw(o Options) (Client, error) {
	s := o.Scenario
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := &raw{s: s, counters: o.Counters, acks: 1, topic: s.Topic, conns: map[int32]*rawConn{}, addrs: map[int32]string{}}
	if s.Acks == "all" {
		r.acks = -1
	}
	boot, err := dialRaw(ctx, o.Brokers[0])
	if err != nil {
		return nil, err
	}
	defer boot.nc.Close()
	name := s.Topic
	var md wire.MetadataResponse
	if err := boot.call(&wire.MetadataRequest{Topics: []wire.MetadataRequestTopic{{Name: &name}}, AllowAutoTopicCreation: true}, 12, &md); err != nil {
		return nil, fmt.Errorf("raw: Metadata: %w", err)
	}
	for _, b := range md.Brokers {
		r.addrs[b.NodeID] = net.JoinHostPort(b.Host, fmt.Sprint(b.Port))
	}
	if len(md.Topics) != 1 || md.Topics[0].ErrorCode != 0 || len(md.Topics[0].Partitions) == 0 {
		return nil, fmt.Errorf("raw: no partitions for topic %q in %+v", s.Topic, md.Topics)
	}
	r.topicID = md.Topics[0].TopicID
	r.leaders = make([]int32, len(md.Topics[0].Partitions))
	for _, p := range md.Topics[0].Partitions {
		if p.PartitionIndex < 0 || int(p.PartitionIndex) >= len(r.leaders) {
			return nil, fmt.Errorf("raw: partition %d out of range", p.PartitionIndex)
		}
		r.leaders[p.PartitionIndex] = p.LeaderID
	}
	// The requests are encoded before the clock starts, from the payloads the harness
	// makes too.
	p := NewPayloads(s)
	if !s.Latency {
		if err := r.prepare(ctx, p); err != nil {
			return nil, err
		}
	} else {
		if r.sync, err = r.conn(ctx, r.leaders[0]); err != nil {
			return nil, err
		}
		b, err := r.batch(p, 0, 1)
		if err != nil {
			return nil, err
		}
		r.syncFrame = r.request(r.sync.version, []int32{0}, [][]byte{b})
	}
	return r, nil
}

// conn returns the connection to node, dialing it the first time.
func (r *raw) conn(ctx context.Context, node int32) (*rawConn, error) {
	if c := r.conns[node]; c != nil {
		return c, nil
	}
	addr, ok := r.addrs[node]
	if !ok {
		return nil, fmt.Errorf("raw: no address for node %d", node)
	}
	c, err := dialRaw(ctx, addr)
	if err != nil {
		return nil, err
	}
	r.conns[node] = c
	return c, nil
}

// batch encodes a RecordBatch of records first..first+n-1 of p, compressed as the scenario
// says.
func (r *raw) batch(p *Payloads, first, n int) ([]byte, error) {
	now := time.Now().UnixMilli()
	recs := make([]byte, 0, n*(r.s.ValueSize+r.s.KeySize+16))
	for i := range n {
		recs = wire.AppendRecord(recs, int32(i), 0, p.Key(first+i), p.Value(first+i), nil)
	}
	codec, err := compress.ParseCodec(r.s.Codec)
	if err != nil {
		return nil, err
	}
	h := wire.BatchHeader{PartitionLeaderEpoch: -1, LastOffsetDelta: int32(n - 1), BaseTimestamp: now, MaxTimestamp: now,
		ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, NumRecords: int32(n)}
	b := make([]byte, wire.RecordBatchHeaderSize, wire.RecordBatchHeaderSize+len(recs))
	if codec == compress.None {
		b = append(b, recs...)
	} else {
		comp, err := compress.NewCompressor(codec, compress.DefaultLevel(codec))
		if err != nil {
			return nil, err
		}
		if b, err = comp.AppendCompress(b, recs); err != nil {
			return nil, err
		}
		h.Attributes = int16(codec)
	}
	wire.FinishBatch(b, &h)
	return b, nil
}

// request encodes a whole Produce request frame holding batches[i] for partitions[i].
func (r *raw) request(version int16, partitions []int32, batches [][]byte) []byte {
	req := &wire.ProduceRequest{Acks: r.acks, TimeoutMs: 30000, Topics: []wire.ProduceTopic{{Name: r.topic, TopicID: r.topicID}}}
	for i, p := range partitions {
		req.Topics[0].Partitions = append(req.Topics[0].Partitions, wire.ProducePartition{Index: p, Records: batches[i]})
	}
	return wire.AppendRequest(nil, wire.RequestHeader{APIVersion: version}, req)
}

// rawPlan is the pre-encoded request one broker connection sends over and over.
type rawPlan struct {
	c          *rawConn
	frame      []byte
	perRequest int // records in one request
	requests   int // how many times to send it
}

// prepare encodes, once, the request each broker connection will send: about batch.size
// bytes, one batch for every partition the broker leads, made from p.
func (r *raw) prepare(ctx context.Context, p *Payloads) error {
	byNode := map[int32][]int32{}
	var nodes []int32
	for part, node := range r.leaders {
		if _, ok := byNode[node]; !ok {
			nodes = append(nodes, node)
		}
		byNode[node] = append(byNode[node], int32(part))
	}
	recSize := wire.RecordSize(0, 0, p.Key(0), p.Value(0), nil)
	for _, node := range nodes {
		c, err := r.conn(ctx, node)
		if err != nil {
			return err
		}
		parts := byNode[node]
		per := max(1, (r.s.BatchBytes-wire.RecordBatchHeaderSize*len(parts))/len(parts)/recSize)
		var batches [][]byte
		for i := range parts {
			b, err := r.batch(p, i*per, per)
			if err != nil {
				return err
			}
			batches = append(batches, b)
		}
		r.plans = append(r.plans, &rawPlan{c: c, frame: r.request(c.version, parts, batches), perRequest: per * len(parts)})
	}
	return nil
}

// SendAll sends the prepared requests round-robin over the brokers until at least n
// records went.
func (r *raw) SendAll(ctx context.Context, n int, _ *Payloads) (int, error) {
	sent := 0
	for _, pl := range r.plans {
		pl.requests = 0
	}
	for i := 0; sent < n; i++ {
		pl := r.plans[i%len(r.plans)]
		pl.requests++
		sent += pl.perRequest
	}
	var wg sync.WaitGroup
	errs := make([]error, len(r.plans))
	for i, pl := range r.plans {
		if pl.requests == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.pipeline(ctx, pl)
		}()
	}
	wg.Wait()
	return sent, errors.Join(errs...)
}

// pipeline writes pl's request pl.requests times with at most MaxInFlight unanswered, and
// counts the answers.
func (r *raw) pipeline(ctx context.Context, pl *rawPlan) error {
	c := pl.c
	slots := make(chan struct{}, r.s.MaxInFlight)
	dead := make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		var resp wire.ProduceResponse
		buf := make([]byte, 0, 4096)
		for got := 0; got < pl.requests; got++ {
			frame, err := wire.ReadFrame(c.br, buf, 64<<20)
			if err == nil {
				var body []byte
				if _, body, err = wire.ParseResponseHeader(frame, wire.KeyProduce, c.version); err == nil {
					err = resp.Decode(body, c.version)
				}
			}
			if err != nil {
				r.counters.Fail(int64((pl.requests-got)*pl.perRequest), err)
				close(dead)
				readErr <- err
				return
			}
			buf = frame[:0]
			if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) == 0 {
				err := fmt.Errorf("raw: answer with %d topics", len(resp.Topics))
				r.counters.Fail(int64((pl.requests-got)*pl.perRequest), err)
				close(dead)
				readErr <- err
				return
			}
			perBatch := int64(pl.perRequest / len(resp.Topics[0].Partitions))
			for _, pr := range resp.Topics[0].Partitions {
				if pr.ErrorCode != 0 {
					r.counters.Fail(perBatch, wire.ErrorForCode(pr.ErrorCode))
				} else {
					r.counters.Ack(perBatch)
				}
			}
			<-slots
		}
		readErr <- nil
	}()
	for range pl.requests {
		select {
		case slots <- struct{}{}:
		case <-dead:
			return <-readErr
		case <-ctx.Done():
			c.nc.Close()
			return ctx.Err()
		}
		c.corr++
		wire.PutInt32(pl.frame, 8, c.corr) // size, key and version come first
		if _, err := c.nc.Write(pl.frame); err != nil {
			c.nc.Close()
			<-readErr
			return err
		}
	}
	return <-readErr
}

// Send is not used: the harness calls SendAll.
func (r *raw) Send(context.Context, []byte, []byte) error {
	return errors.New("raw: Send is not supported; use SendAll")
}

// Flush returns at once: SendAll returns when every answer came.
func (r *raw) Flush(context.Context) error { return nil }

// SendSync writes the pre-encoded one-record request and waits for its answer.
func (r *raw) SendSync(_ context.Context, _, _ []byte) error {
	c := r.sync
	c.corr++
	wire.PutInt32(r.syncFrame, 8, c.corr)
	if _, err := c.nc.Write(r.syncFrame); err != nil {
		return err
	}
	frame, err := wire.ReadFrame(c.br, c.buf, 1<<20)
	if err != nil {
		return err
	}
	c.buf = frame[:0]
	var resp wire.ProduceResponse
	_, body, err := wire.ParseResponseHeader(frame, wire.KeyProduce, c.version)
	if err == nil {
		err = resp.Decode(body, c.version)
	}
	if err != nil {
		return err
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return fmt.Errorf("raw: answer with %d topics", len(resp.Topics))
	}
	return wire.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
}

func (r *raw) Close(context.Context) error {
	for _, c := range r.conns {
		c.nc.Close()
	}
	return nil
}
