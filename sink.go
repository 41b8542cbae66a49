package producer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
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
	conn     *conn.Conn
	redialAt time.Time // no dial before then
	calls    sync.Pool // *produceCall
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
	p := s.p
	addr := *s.addr.Load()
	if s.conn != nil && s.conn.Err() == nil {
		if s.conn.Addr() == addr {
			return s.conn, nil
		}
		// Metadata gives the node a new address (a broker replaced, a rebootstrap into a
		// new cluster): what answers at the old one is another broker now, or none.
		old := s.conn.Addr()
		p.logDebug("broker has a new address, reconnecting", "node", s.node, "old", old, "addr", addr)
		s.conn.Close()
		s.conn = nil
		p.hookEvent(hookEvent{kind: evBrokerDisconnect, node: s.node, addr: old})
	}
	if s.conn != nil {
		err := s.conn.Err()
		s.conn.Close()
		s.conn = nil
		p.stats.connErrors.Add(1)
		p.logWarn("connection to broker lost", "node", s.node, "addr", addr, "error", err)
		p.hookEvent(hookEvent{kind: evBrokerDisconnect, node: s.node, addr: addr, err: err})
	}
	c, attempted, err := p.connectBroker(p.ctx, s.node, addr)
	if err != nil {
		if attempted {
			p.meta.requestRefresh()
		}
		return nil, err
	}
	s.conn = c
	return c, nil
}

// connectBroker dials a broker (node -1: a bootstrap server, whose id is not known) for a
// sink or the metadata goroutine, and counts, logs and tells the hooks of the attempt: once
// per real attempt. A dial the authentication backoff refuses here (authBackoff) was no
// attempt: it returns the authentication error with attempted false, and nothing is counted
// or logged. A failed attempt is logged at warn level when it is the first in a row to that
// address (or says something new), at debug level while it repeats. The dial ends with ctx
// or the producer; one that ctx ended says nothing of the broker, and is only returned.
func (p *Producer) connectBroker(ctx context.Context, node int32, addr string) (c *conn.Conn, attempted bool, err error) {
	if err := p.authBackoff(); err != nil {
		return nil, false, err
	}
	start := time.Now()
	c, err = p.dialNow(ctx, addr)
	p.hookEvent(hookEvent{kind: evBrokerConnect, node: node, addr: addr, d: time.Since(start), err: err})
	if err != nil && ctx.Err() != nil && p.ctx.Err() == nil {
		return nil, true, err
	}
	if err != nil {
		p.stats.connErrors.Add(1)
		if p.dialFails.firstOrNew(addr, err) {
			p.logWarn("connecting to broker failed", "node", node, "addr", addr, "error", err)
		} else {
			p.logDebug("connecting to broker failed again", "node", node, "addr", addr, "error", err)
		}
		return nil, true, err
	}
	p.logDebug("connected to broker", "node", node, "addr", addr)
	return c, true, nil
}

// drain sends what is ready, as long as in-flight slots are free. It returns when it
// should run again even if nobody wakes it (a linger, backoff or redial deadline), or zero.
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
		if now := time.Now(); now.Before(s.redialAt) {
			later(s.redialAt)
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
		if err != nil {
			s.unreachable(call, err)
			later(s.redialAt)
			return next
		}
		s.send(call, c)
	}
}

// unreachable puts the batches of call back, unsent: as in the Java client, batches wait
// for a broker that cannot be reached (delivery.timeout.ms bounds them) and no attempt is
// counted, since nothing was written. Wrong credentials or certificates cannot heal by
// waiting: an authentication failure fails what waits for this broker, as the Java client
// aborts its batches.
func (s *sink) unreachable(call *produceCall, err error) {
	p := s.p
	for _, b := range call.batches {
		p.unsend(b)
	}
	clear(call.batches)
	call.batches = call.batches[:0]
	<-s.slots
	s.calls.Put(call)
	s.redialAt = p.dialFails.backoffEnd(*s.addr.Load(), p.reconnectBackoff(1))
	if errors.Is(err, ErrAuthentication) {
		s.failAll(err)
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
		p.idem.boundary.RLock()
		defer p.idem.boundary.RUnlock()
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
		b, restamp, seq := p.takeBatch(pa, now, flushing, perPartition, pid, epoch, size, later)
		if b == nil {
			continue
		}
		if p.cfg.idempotent {
			p.idem.sent()
		}
		if b.wireBuf == nil {
			if err := p.encode(b); err != nil {
				p.attemptDone(b, fmt.Errorf("compressing batch: %w", err), false, false)
				continue
			}
		}
		if restamp {
			p.stamp(b, pid, epoch, seq)
		}
		size += len(b.wireBuf) + 64
		call.batches = append(call.batches, b)
	}
	return len(call.batches) > 0
}

// failAll fails every batch of the sink's partitions that is not in flight with err.
func (s *sink) failAll(err error) {
	s.p.failBatches(failWaiting, err, func(fn func(*partition)) {
		for _, pa := range *s.parts.Load() {
			fn(pa)
		}
	})
}

// send builds the Produce request of call and writes it on c.
func (s *sink) send(call *produceCall, c *conn.Conn) {
	p := s.p
	call.conn = c
	p.stats.inFlight.Add(1) // until the answer (complete or fail)
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
	call.s.p.hookEvent(hookEvent{kind: evProduceRequest, node: call.s.node, bytes: call.bytes, d: latency, err: err})
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
		call.s.p.attemptDone(b, err, retriable, false)
	}
	call.release()
}

// complete ends every batch of the call with its partition's answer.
func (call *produceCall) complete() {
	p := call.s.p
	p.stats.inFlight.Add(-1) // before any batch completes, so Flush never sees it
	moved := false
	for _, b := range call.batches {
		if p.cfg.Acks == AcksNone {
			b.baseOffset, b.logAppendTime = -1, -1
			p.attemptDone(b, nil, false, false)
			continue
		}
		pr := call.find(b)
		if pr == nil {
			p.attemptDone(b, fmt.Errorf("broker answered without partition %s-%d", b.part.topic.name, b.part.id), true, false)
			continue
		}
		b.baseOffset, b.logAppendTime = pr.BaseOffset, pr.LogAppendTimeMs
		err := wire.ErrorForCode(pr.ErrorCode)
		if err == nil {
			p.attemptDone(b, nil, false, false)
			continue
		}
		retriable := err.(*wire.Error).Retriable
		if pr.ErrorMessage != nil && *pr.ErrorMessage != "" {
			err = fmt.Errorf("%w: %s", err, *pr.ErrorMessage)
		}
		// KIP-951: a broker that no longer leads the partition names the one that does.
		hinted := false
		if pr.ErrorCode == wire.ErrNotLeaderOrFollower.Code || pr.ErrorCode == wire.ErrFencedLeaderEpoch.Code {
			hinted = p.followHint(b.part, call.s.node, pr.CurrentLeader, call.resp.NodeEndpoints)
			moved = moved || hinted
		}
		p.attemptDone(b, err, retriable, hinted)
	}
	if moved {
		p.assignPartitions() // the new leaders' sinks take the partitions, and are woken
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

// reconnectBackoff returns the wait before dialing a broker again after failures dials
// to it failed in a row: reconnect.backoff.ms doubling up to reconnect.backoff.max.ms, with
// ±20% jitter, as the Java client's per-broker reconnect backoff.
func (p *Producer) reconnectBackoff(failures int) time.Duration {
	return growJitter(p.cfg.ReconnectBackoff, p.cfg.ReconnectBackoffMax, failures)
}

// setupTimeout returns the time a connection to a broker may take to set up after failures
// set-ups in a row failed: socket.connection.setup.timeout.ms doubling up to
// socket.connection.setup.timeout.max.ms, with ±20% jitter, as in the Java client.
func (p *Producer) setupTimeout(failures int) time.Duration {
	return growJitter(p.cfg.SetupTimeout, p.cfg.SetupTimeoutMax, failures+1)
}

// growJitter returns base doubled n-1 times, capped at limit, with ±20% jitter.
func growJitter(base, limit time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// dialFailures counts, per address, the connection set-ups that failed in a row, which
// grow the next one's timeout (setupTimeout); keeps the last failure's text, to log a
// failure that repeats once; and keeps when each failing address's reconnect backoff ends,
// which its sink waits out and the metadata goroutine's choice of broker heeds
// (preferDialable).
type dialFailures struct {
	mu    sync.Mutex
	n     map[string]int
	last  map[string]string
	until map[string]time.Time
}

// firstOrNew reports whether err, a failed set-up to addr already noted, is the first in a
// row or says something other than the one before, and keeps its text.
func (d *dialFailures) firstOrNew(addr string, err error) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	msg := err.Error()
	if d.last == nil {
		d.last = map[string]string{}
	}
	news := d.n[addr] <= 1 || d.last[addr] != msg
	d.last[addr] = msg
	return news
}

func (d *dialFailures) get(addr string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n[addr]
}

// note records that a set-up to addr failed or succeeded. After a failure, addr is in
// reconnect backoff until now plus backoff(the failures in a row). A failure within the
// backoff (two dialers failing at once, or the metadata goroutine trying the address as a
// last resort) neither counts nor moves the backoff's end: as in the Java client, one
// connection state per broker, the count grows once per backoff, however many dial.
func (d *dialFailures) note(addr string, failed bool, backoff func(failures int) time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !failed {
		delete(d.n, addr)
		delete(d.last, addr)
		delete(d.until, addr)
		return
	}
	if d.n == nil {
		d.n, d.until = map[string]int{}, map[string]time.Time{}
	}
	now := time.Now()
	if _, ok := d.backingOffLocked(addr, now); ok {
		return
	}
	if d.n[addr] < 32 {
		d.n[addr]++
	}
	d.until[addr] = now.Add(backoff(d.n[addr]))
}

// backoffEnd returns when addr's reconnect backoff ends; if addr is in none (the
// authentication backoff let no dial be attempted), otherwise from now.
func (d *dialFailures) backoffEnd(addr string, otherwise time.Duration) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	if end, ok := d.backingOffLocked(addr, now); ok {
		return end
	}
	return now.Add(otherwise)
}

// backingOffLocked returns when addr's reconnect backoff ends, and whether it still runs at
// now. d.mu is held.
func (d *dialFailures) backingOffLocked(addr string, now time.Time) (time.Time, bool) {
	end, ok := d.until[addr]
	return end, ok && now.Before(end)
}

// preferDialable reorders addrs, stably, so that the addresses in reconnect backoff come
// last, the one whose backoff ends first first among them. The Java client asks for
// metadata only of a broker not in reconnect backoff; here such a broker is still tried,
// after all others, so that a fetch is not put off while every broker is backing off. A
// broker that hangs costs a connection setup timeout each time it is dialed; one that
// failed is thus not dialed again while another may answer.
func (d *dialFailures) preferDialable(addrs []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.until) == 0 {
		return
	}
	now := time.Now()
	key := func(a string) time.Time {
		if end, ok := d.backingOffLocked(a, now); ok {
			return end
		}
		return time.Time{}
	}
	slices.SortStableFunc(addrs, func(a, b string) int { return key(a).Compare(key(b)) })
}

// dialNow opens a connection to addr with the producer's settings (connOptions), within the
// connection setup timeout (setupTimeout), not request.timeout.ms: a broker that accepts
// and never answers must not hold a sink or the metadata goroutine that long. It gives up
// when parent ends, or the producer stops. It is the connection attempt of connectBroker,
// which checks the authentication backoff first.
func (p *Producer) dialNow(parent context.Context, addr string) (*conn.Conn, error) {
	timeout := p.setupTimeout(p.dialFails.get(addr))
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	defer context.AfterFunc(p.ctx, cancel)()
	c, err := conn.Dial(ctx, addr, p.connOptions())
	switch {
	case err == nil:
	case parent.Err() != nil && p.ctx.Err() == nil:
		// The caller gave up: no verdict on the broker, no backoff.
		return nil, fmt.Errorf("connecting to %s: %w: %w", addr, parent.Err(), err)
	case ctx.Err() == context.DeadlineExceeded:
		err = fmt.Errorf("connection setup to %s timed out after %v (socket.connection.setup.timeout.ms): %w", addr, timeout.Round(time.Millisecond), err)
	}
	p.dialFails.note(addr, err != nil, p.reconnectBackoff)
	p.noteDial(err)
	return c, err
}
