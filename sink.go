package producer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gregor-kafka/producer/internal/conn"
	"github.com/gregor-kafka/producer/wire"
)

// sink drains the partitions one broker leads into Produce requests on one connection, with
// at most max.in.flight.requests.per.connection requests in flight. One goroutine per sink
// sends; the connection's reader goroutine handles the answers.
type sink struct {
	p    *Producer
	node int32
	addr atomic.Pointer[string]

	wake  chan struct{}                // cap 1
	parts atomic.Pointer[[]*partition] // the partitions this broker leads

	slots   chan struct{} // in-flight requests; cap max.in.flight
	latency latencyHist

	// Owned by the sink goroutine.
	conn  *conn.Conn
	calls sync.Pool // *produceCall
}

func newSink(p *Producer, node int32, addr string) *sink {
	s := &sink{p: p, node: node, wake: make(chan struct{}, 1), slots: make(chan struct{}, p.cfg.MaxInFlight)}
	s.addr.Store(&addr)
	empty := []*partition{}
	s.parts.Store(&empty)
	s.calls.New = func() any { return &produceCall{s: s} }
	return s
}

// poke wakes the sink goroutine; wakes coalesce.
func (s *sink) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run is the sink goroutine.
func (s *sink) run() {
	defer s.p.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	defer func() {
		if s.conn != nil {
			s.conn.Close()
		}
	}()
	for {
		next := s.drain()
		if !next.IsZero() {
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			timer.Reset(max(time.Until(next), 0))
		}
		select {
		case <-s.p.stop:
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// ensureConn returns a live connection, dialing if needed, or the dial's error.
func (s *sink) ensureConn() (*conn.Conn, error) {
	if s.conn != nil && s.conn.Err() == nil {
		return s.conn, nil
	}
	p := s.p
	addr := *s.addr.Load()
	if s.conn != nil {
		err := s.conn.Err()
		s.conn.Close()
		s.conn = nil
		p.stats.connErrors.Add(1)
		p.logWarn("connection to broker lost", "node", s.node, "addr", addr, "error", err)
		if p.cfg.Hooks != nil {
			p.cfg.Hooks.OnBrokerDisconnect(s.node, addr, err)
		}
	}
	start := time.Now()
	c, err := p.dial(addr)
	if p.cfg.Hooks != nil {
		p.cfg.Hooks.OnBrokerConnect(s.node, addr, time.Since(start), err)
	}
	if err != nil {
		p.stats.connErrors.Add(1)
		p.logWarn("connecting to broker failed", "node", s.node, "addr", addr, "error", err)
		p.meta.requestRefresh()
		return nil, err
	}
	p.logDebug("connected to broker", "node", s.node, "addr", addr)
	s.conn = c
	return c, nil
}

// drain sends what is ready, as long as in-flight slots are free. It returns when it
// should run again even if nobody wakes it (a linger or backoff deadline), or zero.
func (s *sink) drain() time.Time {
	var next time.Time
	later := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for {
		if len(*s.parts.Load()) == 0 {
			s.closeIdle(later)
			return next
		}
		select {
		case s.slots <- struct{}{}:
		default:
			return next // an answer frees a slot and wakes us
		}
		call := s.calls.Get().(*produceCall)
		if !s.collect(call, later) {
			<-s.slots
			s.calls.Put(call)
			s.closeIdle(later)
			return next
		}
		c, err := s.ensureConn()
		s.send(call, c, err)
	}
}

// closeIdle closes the connection once it has been idle for connections.max.idle.ms, or
// notes when it will have been.
func (s *sink) closeIdle(later func(time.Time)) {
	maxIdle := s.p.cfg.ConnectionsMaxIdle
	if s.conn == nil || maxIdle <= 0 || s.conn.Err() != nil {
		return
	}
	if idle := s.conn.Idle(); idle < maxIdle {
		later(time.Now().Add(maxIdle - idle))
		return
	}
	s.p.logDebug("closing idle connection", "node", s.node)
	s.conn.Close()
	s.conn = nil
}

// collect takes at most one ready batch of each partition this sink leads into call, up to
// max.request.size, and notes in later when the next batch becomes ready. It reports
// whether it took any.
func (s *sink) collect(call *produceCall, later func(time.Time)) bool {
	p := s.p
	now := time.Now()
	flushing := p.draining.Load() > 0
	perPartition := 1
	var pid int64 = -1
	var epoch int16 = -1
	if p.cfg.idempotent {
		perPartition = p.cfg.MaxInFlight
		var ok bool
		var fatal error
		pid, epoch, ok, fatal = p.idem.current()
		if fatal != nil {
			s.failAll(fatal)
			return false
		}
		if !ok {
			return false // woken when the id arrives or the bump is done
		}
	}
	size := 0
	for _, pa := range *s.parts.Load() {
		if pa.leader.Load() != s.node || p.txn != nil && !pa.txnAdded.Load() {
			continue
		}
		pa.mu.Lock()
		if pa.rewind {
			if pa.inFlight > 0 {
				pa.mu.Unlock()
				continue
			}
			pa.rewind = false
		}
		if pa.inFlight >= perPartition || pa.inFlight > 0 && !pa.seqAcked {
			pa.mu.Unlock()
			continue
		}
		// Only the oldest perPartition batches of the queue may be out: then no more than
		// four batches can be written after the oldest unacknowledged one, and a retry of it
		// is still in the broker's window of five for deduplication.
		var b *batch
		for i, q := range pa.queue {
			if i >= perPartition {
				break
			}
			if q.state == batchQueued {
				b = q
				break
			}
		}
		if b == nil && pa.open != nil && len(pa.queue) < perPartition {
			if deadline := pa.open.created.Add(p.cfg.Linger); flushing || !deadline.After(now) {
				b = pa.open
				pa.sealLocked()
			} else {
				later(deadline)
			}
		}
		if b == nil {
			pa.mu.Unlock()
			continue
		}
		if b.retryAt.After(now) {
			later(b.retryAt)
			pa.mu.Unlock()
			continue
		}
		n := len(b.buf)
		if b.wireBuf != nil {
			n = len(b.wireBuf)
		}
		if size > 0 && size+n+64 > p.cfg.MaxRequestSize {
			pa.mu.Unlock()
			continue
		}
		// Choose the header stamp: sequences count per (producer id, epoch) and restart at
		// 0 after a bump, once the batches stamped before it are answered. A batch that
		// may have been written keeps its stamp, as in the Java client: restamped, the
		// broker could not tell it is a duplicate.
		restamp := !b.stamped
		seq := int32(-1)
		// It keeps it only while its partition still numbers in its epoch: once an earlier
		// batch moved the partition to the new epoch, the broker refuses the old one (47).
		keep := b.stamped && (b.pid == pid && b.epoch == epoch ||
			b.maybeWritten && b.pid == pa.seqPID && b.epoch == pa.seqEpoch)
		if p.cfg.idempotent && !keep {
			if pa.seqPID != pid || pa.seqEpoch != epoch {
				if pa.inFlight > 0 {
					pa.mu.Unlock()
					continue
				}
				pa.seqPID, pa.seqEpoch, pa.nextSeq, pa.seqAcked = pid, epoch, 0, false
			}
			seq = pa.nextSeq
			pa.nextSeq = nextSequence(pa.nextSeq, b.count)
			restamp = true
		}
		size += n + 64
		b.state = batchInFlight
		pa.inFlight++
		pa.mu.Unlock()
		if p.cfg.idempotent {
			p.idem.sent()
		}

		if b.wireBuf == nil {
			if err := p.encode(b); err != nil {
				p.batchDone(b, fmt.Errorf("compressing batch: %w", err), false)
				continue
			}
		}
		if restamp {
			p.stamp(b, pid, epoch, seq)
		}
		call.batches = append(call.batches, b)
	}
	return len(call.batches) > 0
}

// failAll fails every batch of the sink's partitions that is not in flight with err.
func (s *sink) failAll(err error) {
	for _, pa := range *s.parts.Load() {
		pa.mu.Lock()
		pa.sealLocked()
		for _, b := range pa.queue {
			if b.state == batchQueued {
				b.state = batchDone
				b.err = &PartitionError{Topic: pa.topic.name, Partition: pa.id, Err: err}
			}
		}
		s.p.popDoneLocked(pa)
		pa.mu.Unlock()
	}
}

// send builds the Produce request of call and writes it on c. When there is no connection
// (dialErr), the batches fail with that retriable error and back off.
func (s *sink) send(call *produceCall, c *conn.Conn, dialErr error) {
	p := s.p
	call.conn = c
	p.stats.inFlight.Add(1) // until the answer (complete or fail)
	if c == nil {
		// Wrong credentials or certificates cannot heal by retrying: fail what waits for
		// this broker, as the Java client aborts its batches on authentication errors.
		auth := errors.Is(dialErr, ErrAuthentication)
		call.fail(dialErr, !auth)
		if auth {
			s.failAll(dialErr)
		}
		return
	}
	version, err := c.Version(wire.KeyProduce)
	if err != nil {
		call.fail(err, false)
		return
	}
	if p.txn != nil && !p.txn.isV2() {
		version = min(version, 11) // v12+ adds partitions implicitly: transactions V2 only
	}
	if version >= 13 {
		for _, b := range call.batches {
			if id := b.part.topic.id.Load(); id == nil || *id == (wire.UUID{}) {
				version = 12 // we know this topic by name only
				break
			}
		}
	}
	call.version = version
	req := &call.req
	req.Acks = p.cfg.Acks.wire()
	req.TransactionalID = nil
	if p.txn != nil {
		req.TransactionalID = &p.txn.id
	}
	req.TimeoutMs = int32(p.cfg.RequestTimeout / time.Millisecond)
	req.Topics = req.Topics[:0]
	for _, b := range call.batches {
		t := b.part.topic
		var pt *wire.ProduceTopic
		for i := range req.Topics {
			if req.Topics[i].Name == t.name {
				pt = &req.Topics[i]
				break
			}
		}
		if pt == nil {
			if n := len(req.Topics); n < cap(req.Topics) {
				req.Topics = req.Topics[:n+1] // reuse the element and its partitions' capacity
			} else {
				req.Topics = append(req.Topics, wire.ProduceTopic{})
			}
			pt = &req.Topics[len(req.Topics)-1]
			pt.Name, pt.TopicID, pt.Partitions = t.name, wire.UUID{}, pt.Partitions[:0]
			if id := t.id.Load(); id != nil {
				pt.TopicID = *id
			}
		}
		pt.Partitions = append(pt.Partitions, wire.ProducePartition{Index: b.part.id, Records: b.wireBuf})
	}
	expect := p.cfg.Acks != AcksNone
	call.sentAt = time.Now()
	call.bytes = 0
	for _, b := range call.batches {
		call.bytes += len(b.wireBuf)
	}
	p.stats.requests.Add(1)
	if err := c.Send(req, version, expect, call); err != nil {
		if !expect {
			call.fail(err, true)
		}
		return // with expect, the handler was called with the error
	}
	if !expect {
		call.complete()
	}
}

// produceCall is one Produce request in flight and its answer's handling.
type produceCall struct {
	s       *sink
	conn    *conn.Conn
	sentAt  time.Time
	bytes   int
	batches []*batch
	req     wire.ProduceRequest
	resp    wire.ProduceResponse
	version int16
}

// HandleResponse runs on the connection's reader goroutine.
func (call *produceCall) HandleResponse(body []byte, err error) {
	latency := time.Since(call.sentAt)
	call.s.latency.observe(latency)
	if h := call.s.p.cfg.Hooks; h != nil {
		h.OnProduceRequest(call.s.node, call.bytes, latency, err)
	}
	if err == nil {
		if err = call.resp.Decode(body, call.version); err != nil {
			err = fmt.Errorf("decoding Produce v%d response: %w", call.version, err)
			call.conn.Abort(err)
		}
	}
	if err != nil {
		call.fail(err, true)
		return
	}
	call.complete()
}

// fail ends every batch of the call with a connection-level error, retrying those it may.
func (call *produceCall) fail(err error, retriable bool) {
	call.s.p.stats.inFlight.Add(-1) // before any batch completes, so Flush never sees it
	for _, b := range call.batches {
		call.s.p.batchDone(b, err, retriable)
	}
	call.release()
}

// complete ends every batch of the call with its partition's answer.
func (call *produceCall) complete() {
	p := call.s.p
	p.stats.inFlight.Add(-1) // before any batch completes, so Flush never sees it
	for _, b := range call.batches {
		if p.cfg.Acks == AcksNone {
			b.baseOffset, b.logAppendTime = -1, -1
			p.batchDone(b, nil, false)
			continue
		}
		pr := call.find(b)
		if pr == nil {
			p.batchDone(b, fmt.Errorf("broker answered without partition %s-%d", b.part.topic.name, b.part.id), true)
			continue
		}
		b.baseOffset, b.logAppendTime = pr.BaseOffset, pr.LogAppendTimeMs
		err := wire.ErrorForCode(pr.ErrorCode)
		if err == nil {
			p.batchDone(b, nil, false)
			continue
		}
		retriable := err.(*wire.Error).Retriable
		if pr.ErrorMessage != nil && *pr.ErrorMessage != "" {
			err = fmt.Errorf("%w: %s", err, *pr.ErrorMessage)
		}
		p.batchDone(b, err, retriable)
	}
	call.release()
}

// find returns the answer for b's partition.
func (call *produceCall) find(b *batch) *wire.ProducePartitionResponse {
	for i := range call.resp.Topics {
		t := &call.resp.Topics[i]
		if call.version >= 13 {
			if id := b.part.topic.id.Load(); id == nil || *id != t.TopicID {
				continue
			}
		} else if t.Name != b.part.topic.name {
			continue
		}
		for j := range t.Partitions {
			if t.Partitions[j].Index == b.part.id {
				return &t.Partitions[j]
			}
		}
	}
	return nil
}

// release frees the call's in-flight slot and returns it to the pool.
func (call *produceCall) release() {
	s := call.s
	clear(call.batches)
	call.batches = call.batches[:0]
	for i := range call.req.Topics {
		clear(call.req.Topics[i].Partitions)
	}
	<-s.slots
	s.calls.Put(call)
	s.poke()
}

// backoff returns the wait before retry number attempt (1 for the first): retry.backoff.ms
// doubling up to retry.backoff.max.ms, with ±20% jitter (KIP-580).
func (p *Producer) backoff(attempt int) time.Duration {
	d := p.cfg.RetryBackoff
	for i := 1; i < attempt && d < p.cfg.RetryBackoffMax; i++ {
		d *= 2
	}
	d = min(d, p.cfg.RetryBackoffMax)
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}

// dial opens a connection to addr with the producer's settings (connOptions). After an
// authentication failure it fails at once with it until the backoff passes (authBackoff).
func (p *Producer) dial(addr string) (*conn.Conn, error) {
	if err := p.authBackoff(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.RequestTimeout)
	defer cancel()
	c, err := conn.Dial(ctx, addr, p.connOptions())
	p.noteDial(err)
	return c, err
}
