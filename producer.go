// Package producer is gregor, a Kafka producer client: records go in through [Producer.Send]
// (synchronous with [Future.Get], asynchronous with [Producer.SendAsync] and a callback, or
// fire-and-forget), are batched per partition and written to the partition leaders with a
// hand-written implementation of the Kafka protocol.
//
// The configuration mirrors the Java producer's properties ([Config],
// [ConfigFromProperties]), keys are partitioned as the Java client does ([Murmur2]), and
// package kafkatest provides an in-memory cluster for tests.
package producer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gregor-kafka/producer/compress"
	"github.com/gregor-kafka/producer/wire"
)

// Callback receives the outcome of one record sent with [Producer.SendAsync]: its metadata,
// or the error that failed it. Callbacks of one partition run in record order, on the
// producer's completion goroutine (not a network reader), with no lock of the producer
// held; they must not block for long, since later callbacks wait for them. A callback may
// call Send, SendAsync (a send that would have to wait for buffer.memory fails at once with
// [ErrBufferFull], since only this goroutine frees memory), Stats and Close (which then
// closes without waiting); Flush, CommitTransaction and AbortTransaction fail there with
// [ErrInCallback], as they would wait for the callback itself.
type Callback func(RecordMetadata, error)

// Producer sends records to Kafka. It is safe for concurrent use. Create it with [New] and
// end it with [Producer.Close].
type Producer struct {
	cfg        settings
	compressor *compress.Compressor
	mem        memPool
	batches    sync.Pool // *batch

	topics sync.Map // name -> *topicState
	// recent caches topics looked up lately by a cheap hash of their name, so that a send
	// does not hash the whole name (topicSlot); topics are never removed from topics.
	recent [16]atomic.Pointer[topicState]
	gone   goneParts
	meta   *metadata
	idem   *idempotence
	txn    *transactions // nil without transactional.id

	sinksMu sync.Mutex
	sinks   map[int32]*sink
	addrs   map[int32]string // replaced, never written in place

	leaderMu sync.Mutex // orders changes of a partition's (leader, leaderEpoch)

	dialFails dialFailures // connection set-ups failed in a row, per address

	clock    clock
	stats    counters
	done     completionQueue
	draining atomic.Int32 // > 0 while Flush or Close wants everything sent now
	progress notifier     // notified after each batch completes

	closed    atomic.Bool
	closing   chan struct{} // closed when Close starts: blocked sends give up
	stop      chan struct{} // closed when the goroutines must end
	stopOnce  sync.Once
	ctx       context.Context // ends with stop: bounds dials and requests of our goroutines
	cancel    context.CancelFunc
	wg        sync.WaitGroup // every goroutine but the completion goroutine
	completed chan struct{}  // closed when the completion goroutine ends
	closeDone chan struct{}  // closed when the first Close returns, closeErr set
	closeErr  error
}

// New validates cfg and starts a producer. It does not wait for the cluster: the first
// sends wait, up to max.block.ms, for the metadata of their topics.
func New(cfg Config) (*Producer, error) {
	s, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	p := &Producer{
		cfg:       s,
		sinks:     map[int32]*sink{},
		closing:   make(chan struct{}),
		stop:      make(chan struct{}),
		completed: make(chan struct{}),
		closeDone: make(chan struct{}),
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	if s.Compression != compress.None {
		if p.compressor, err = compress.NewCompressor(s.Compression, s.level); err != nil {
			return nil, fmt.Errorf("producer: %w", err)
		}
	}
	p.clock.reanchor()
	p.mem.limit = s.BufferMemory
	// batch.size is where a batch is sealed; buffers grow no larger than a request can be
	// (batch.size may be up to 2 GiB), but for a single larger record.
	p.mem.top = min(s.BatchSize, s.MaxRequestSize) + recordOverhead
	p.batches.New = func() any { return new(batch) }
	p.done.wake = make(chan struct{}, 1)
	p.meta = newMetadata(p)
	p.idem = newIdempotence(s.TransactionalID != "")
	if s.TransactionalID != "" {
		p.txn = newTransactions(p)
	}
	p.wg.Add(1)
	go p.meta.run()
	go p.complete()
	p.meta.requestRefresh()
	return p, nil
}

// Future is the outcome of one record sent with [Producer.Send]. The record's delivery does
// not depend on anyone waiting for the Future.
type Future struct {
	done chan struct{}
	md   RecordMetadata
	err  error
}

func failedFuture(err error) *Future {
	f := &Future{done: make(chan struct{}), err: err}
	close(f.done)
	return f
}

// Get waits for the record to be acknowledged or to fail, or for ctx to end. When ctx ends
// first, Get returns ctx's error and the record stays in flight: it is still delivered or
// failed (within delivery.timeout.ms), and a later Get or [Future.Done] tells which. ctx
// bounds the wait, not the delivery.
func (f *Future) Get(ctx context.Context) (RecordMetadata, error) {
	select {
	case <-f.done:
		return f.md, f.err
	case <-ctx.Done():
		return RecordMetadata{}, ctx.Err()
	}
}

// Wait is [Future.Get] without the metadata.
func (f *Future) Wait(ctx context.Context) error {
	_, err := f.Get(ctx)
	return err
}

// Done is closed when the outcome is known.
func (f *Future) Done() <-chan struct{} { return f.done }

// Send sends rec and returns its [Future]. It blocks only while buffer.memory is full or the
// topic's metadata is unknown, up to max.block.ms or until ctx ends; ctx does not bound the
// delivery itself (delivery.timeout.ms does). Errors found before the record is enqueued
// (too large, closed producer, full buffer) are in the Future at once. Once Send has
// returned, the record is enqueued: ctx ending later does not withdraw it.
func (p *Producer) Send(ctx context.Context, rec Record) *Future {
	f := &Future{done: make(chan struct{})}
	if err := p.send(ctx, &rec, nil, f); err != nil {
		p.stats.recordsFailed.Add(1)
		f.err = err
		f.md = RecordMetadata{Topic: rec.Topic, Partition: -1, Offset: -1}
		close(f.done)
	}
	return f
}

// SendAsync sends rec and calls cb, if not nil, exactly once with its outcome. When the
// record cannot be enqueued, SendAsync calls cb with the error before returning it, as the
// Java client does; otherwise it returns nil and cb runs later. With a nil cb this is
// fire-and-forget, the fastest mode: the record costs no allocation, and a failure to
// deliver it is seen only in [Producer.Stats] (RecordsFailed, which also counts the records
// SendAsync refused with an error).
//
// SendAsync is asynchronous about delivery, not about enqueuing: like Send, it blocks while
// the topic's metadata is unknown (the first send to a topic) or buffer.memory is full, up
// to max.block.ms ([Config.MaxBlock], 60 s by default) or until ctx ends. [NoBlock] makes
// such a send fail at once instead. ctx bounds only that wait.
func (p *Producer) SendAsync(ctx context.Context, rec Record, cb Callback) error {
	err := p.send(ctx, &rec, cb, nil)
	if err != nil {
		p.stats.recordsFailed.Add(1)
		if cb != nil {
			cb(RecordMetadata{Topic: rec.Topic, Partition: -1, Offset: -1}, err)
		}
	}
	return err
}

// send validates rec, picks its partition, reserves buffer memory and appends it to the
// partition's open batch.
func (p *Producer) send(ctx context.Context, rec *Record, cb Callback, fut *Future) (err error) {
	if p.txn != nil {
		defer func() {
			if err != nil && failsTransaction(err) {
				p.txn.fail(err) // before the caller can see the error
			}
		}()
	}
	if p.closed.Load() {
		return ErrClosed
	}
	if rec.Topic == "" {
		return fmt.Errorf("%w: empty topic", ErrInvalidRecord)
	}
	if p.txn != nil {
		if err := p.txn.checkSend(); err != nil { // fail fast; beginSend decides
			return err
		}
	}
	if n, ok := rec.Partition.Get(); ok && n < 0 {
		return fmt.Errorf("%w: partition %d", ErrInvalidRecord, n)
	}
	for i := range rec.Headers {
		if !utf8.ValidString(rec.Headers[i].Key) {
			return fmt.Errorf("%w: header key %q is not valid UTF-8", ErrInvalidRecord, rec.Headers[i].Key)
		}
	}
	body := wire.RecordBodySize(rec.Key, rec.Value, rec.Headers)
	size := wire.RecordSizeOfBody(body)
	if total := size + recordOverhead + wire.RecordBatchHeaderSize; total > p.cfg.MaxRequestSize || int64(total) > p.cfg.BufferMemory {
		return fmt.Errorf("%w: %d bytes encoded, max.request.size is %d and buffer.memory %d",
			ErrRecordTooLarge, total, p.cfg.MaxRequestSize, p.cfg.BufferMemory)
	}
	var ts int64
	if rec.Timestamp.IsZero() {
		ts = p.clock.nowMs()
	} else {
		ts = rec.Timestamp.UnixMilli()
	}

	// max.block.ms bounds the whole send: the wait for metadata and the wait for memory.
	// The clock is read only when a wait may come: most sends never wait.
	var deadline time.Time
	blockDeadline := func() time.Time {
		if deadline.IsZero() && p.cfg.MaxBlock > 0 {
			deadline = time.Now().Add(p.cfg.MaxBlock)
		}
		return deadline
	}
	want := int32(0)
	if n, ok := rec.Partition.Get(); ok {
		want = n
	}
	t, parts := p.knownParts(rec.Topic, want)
	if parts == nil {
		var err error
		if t, parts, err = p.topicParts(ctx, rec.Topic, want, blockDeadline()); err != nil {
			return err
		}
	}
choose:
	var idx int32
	var sticky *stickyState
	turn := int64(-1)
	if n, ok := rec.Partition.Get(); ok {
		idx = n
	} else if p.cfg.Partitioner != nil {
		r := *rec // a copy: a custom partitioner must not make every record escape
		idx = p.cfg.Partitioner.Partition(&r, len(parts))
	} else if rec.Key != nil && !p.cfg.PartitionerIgnoreKeys {
		idx = KeyPartition(rec.Key, len(parts))
	} else {
		sticky = t.sticky.Load()
		idx, turn = sticky.partition(len(parts))
	}
	if idx < 0 || int(idx) >= len(parts) {
		return fmt.Errorf("%w: partition %d of topic %q, which has %d", ErrInvalidRecord, idx, rec.Topic, len(parts))
	}
	pa := parts[idx]
	locked, admitted := false, false
	if sticky != nil && len(parts) > 1 {
		// Another send appending to the sticky partition: take the spill partition rather
		// than wait for its lock. A transactional send joins its partition first, and then
		// spills only to partitions in the transaction already (see lockSticky).
		if p.txn != nil {
			if err := p.txn.beginSend(pa); err != nil {
				return err
			}
			admitted = true
		}
		pa = sticky.lockSticky(parts, idx, admitted)
		locked = true
	}
	// A record that fits its partition's open batch takes no memory of its own: memory is
	// counted per batch buffer, which appendRecord asks for when it needs one.
	var spare []byte
	for {
		if p.txn != nil && !admitted {
			// From here to the append, commit and abort wait for this send: the record is in
			// the transaction that was open when it was checked, or fails.
			if err := p.txn.beginSend(pa); err != nil {
				if spare != nil {
					p.mem.put(spare)
				}
				return err
			}
		}
		wake, need, ok, switchSticky := pa.appendRecord(p, rec, ts, body, cb, fut, spare, locked, turn)
		if p.txn != nil {
			p.txn.endSend()
		}
		if switchSticky {
			sticky.switchFrom(turn, parts, p.cfg.adaptive, p.cfg.PartitionerAvailabilityTimeout)
		}
		spare, locked, admitted = nil, false, false
		if !ok && pa.gone.Load() && !p.closed.Load() {
			// The topic was recreated without this partition since its metadata was read:
			// choose again among the partitions it has now.
			var err error
			if t, parts, err = p.topicParts(ctx, rec.Topic, want, blockDeadline()); err != nil {
				return err
			}
			goto choose
		}
		if !ok {
			return ErrClosed
		}
		if need == 0 {
			if wake {
				p.wakeLeader(pa)
			}
			return nil
		}
		if wake {
			p.wakeLeader(pa) // a batch sealed: send it while we wait
		}
		var err error
		if spare, err = p.mem.get(ctx, need, blockDeadline, p.closing, p.inCompletion); err != nil {
			if errors.Is(err, ErrBufferFull) {
				return fmt.Errorf("%w: %d bytes buffered after waiting max.block.ms (%v)", ErrBufferFull, p.mem.inUse.Load(), p.cfg.MaxBlock)
			}
			return err
		}
	}
}

// failsTransaction reports whether a send that failed with err makes the transaction
// abortable, as in the Java client: a record lost for a Kafka reason (too large, buffer full,
// metadata not found, authorization) or because the producer is closing, not misuse (a
// record refused as invalid, a call in the wrong state) nor the caller's own ctx ending.
func failsTransaction(err error) bool {
	switch {
	case errors.Is(err, ErrTransactionState), errors.Is(err, ErrInvalidRecord),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	}
	return true
}

// PartitionInfo is one partition of a topic, as [Producer.PartitionsFor] reports it.
type PartitionInfo struct {
	Topic     string
	Partition int32
	// Leader is the node id of the partition's leader, -1 while it has none (an election).
	Leader int32
}

// PartitionsFor returns the partitions of topic and their leaders, in partition order, as
// the Java client's partitionsFor. When the topic's metadata is not known yet it asks for it
// and waits, up to max.block.ms ([Config.MaxBlock]) or until ctx ends, as a first send
// would; with [NoBlock], which makes sends fail rather than wait, it waits until ctx ends. A
// service can call it at start-up to warm up, then send with NoBlock without failing for
// want of metadata. An unknown topic is created by the brokers if they allow it
// (auto.create.topics.enable), as for a send.
func (p *Producer) PartitionsFor(ctx context.Context, topic string) ([]PartitionInfo, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	if topic == "" {
		return nil, fmt.Errorf("%w: empty topic", ErrInvalidRecord)
	}
	// With NoBlock, sends never wait for metadata: this is how to wait for it, bounded by ctx.
	deadline := time.Now().Add(1 << 62)
	if p.cfg.MaxBlock > 0 {
		deadline = time.Now().Add(p.cfg.MaxBlock)
	}
	_, parts, err := p.topicParts(ctx, topic, 0, deadline)
	if err != nil {
		return nil, err
	}
	out := make([]PartitionInfo, len(parts))
	for i, pa := range parts {
		out[i] = PartitionInfo{Topic: topic, Partition: pa.id, Leader: pa.leader.Load()}
	}
	return out, nil
}

// knownParts returns the topic's state and partitions when its metadata is known and has
// partition want; else nil partitions (and maybe a nil state). It never waits.
func (p *Producer) knownParts(name string, want int32) (*topicState, []*partition) {
	slot := &p.recent[topicSlot(name)]
	t := slot.Load()
	if t == nil || t.name != name {
		v, ok := p.topics.Load(name)
		if !ok {
			return nil, nil
		}
		t = v.(*topicState)
		slot.Store(t)
	}
	if !t.used.Load() {
		t.used.Store(true) // for metadata.max.idle.ms
	}
	if t.idle.Load() {
		return t, nil // forgotten: topicParts learns it again, as the Java client does
	}
	if parts := t.parts.Load(); parts != nil && int(want) < len(*parts) {
		return t, *parts
	}
	return t, nil
}

// topicSlot is the index in Producer.recent for a topic name.
func topicSlot(name string) int {
	if name == "" {
		return 0
	}
	return (len(name) + int(name[len(name)-1])) & 15
}

// topicParts returns the topic's state and partitions, waiting for its metadata until
// deadline (max.block.ms; zero: no wait) when it is not known yet, or when it has no
// partition want yet (a partition just added, as the Java client waits for it).
func (p *Producer) topicParts(ctx context.Context, name string, want int32, deadline time.Time) (*topicState, []*partition, error) {
	v, ok := p.topics.Load(name)
	if !ok {
		ts := &topicState{name: name}
		ts.lastUsed.Store(p.clock.nowMs())
		v, _ = p.topics.LoadOrStore(name, ts)
	}
	t := v.(*topicState)
	t.used.Store(true)
	if t.idle.CompareAndSwap(true, false) {
		// Left out of metadata for metadata.max.idle.ms: learn it again, as a new topic.
		t.stale.Store(true)
		p.meta.requestRefresh()
	}
	if parts := t.parts.Load(); parts != nil && int(want) < len(*parts) && !t.stale.Load() {
		return t, *parts, nil
	}
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		timer := time.NewTimer(time.Until(deadline))
		defer timer.Stop()
		timeout = timer.C
	}
	for {
		updated := p.meta.updated.wait()
		parts := t.parts.Load()
		if parts != nil && int(want) < len(*parts) && !t.stale.Load() {
			return t, *parts, nil
		}
		if e := t.err.Load(); e != nil {
			return t, nil, *e
		}
		if err := p.lastAuthError(); err != nil { // as Java: no waiting on metadata that cannot come
			return t, nil, &PartitionError{Topic: name, Partition: -1, Err: err}
		}
		p.meta.requestRefresh()
		if deadline.IsZero() {
			return t, nil, p.metadataTimeout(t, parts, want, "and max.block.ms is 0")
		}
		select {
		case <-updated:
		case <-timeout:
			return t, nil, p.metadataTimeout(t, parts, want, fmt.Sprintf("after max.block.ms (%v)", p.cfg.MaxBlock))
		case <-ctx.Done():
			return t, nil, ctx.Err()
		case <-p.closing:
			return t, nil, ErrClosed
		}
	}
}

// metadataTimeout is the error of a send that gave up waiting for the metadata of topic t
// (or of its partition want, when parts are known): a [*PartitionError] for which
// errors.Is(err, [ErrTimeout]) holds, carrying the last cause known (the last failed
// metadata fetch: a connection refused, a host not found, a peer that is not a Kafka broker;
// else the topic's error in the last answer, such as UNKNOWN_TOPIC_OR_PARTITION), which
// errors.Is and errors.As see too.
func (p *Producer) metadataTimeout(t *topicState, parts *[]*partition, want int32, when string) error {
	what := "not present in metadata"
	if parts != nil {
		what = fmt.Sprintf("partition %d not present in metadata (the topic has %d)", want, len(*parts))
	}
	cause := p.meta.fetchError()
	if c := t.cause.Load(); cause == nil && c != nil {
		cause = *c
	}
	if cause == nil {
		return &PartitionError{Topic: t.name, Partition: -1, Err: fmt.Errorf("%w: %s %s", ErrTimeout, what, when)}
	}
	return &PartitionError{Topic: t.name, Partition: -1, Err: fmt.Errorf("%w: %s %s; last error: %w", ErrTimeout, what, when, cause)}
}

// wakeLeader pokes the sink of pa's leader, if it has one. It takes no lock: after a leader
// change, the sink assignPartitions set last is poked until it runs again, and then it
// pokes every sink anyway.
func (p *Producer) wakeLeader(pa *partition) {
	if s := pa.sink.Load(); s != nil {
		s.poke()
	}
}

// broker is a broker's address and node id (-1 for a bootstrap server).
type broker struct {
	node int32
	addr string
}

// brokerList returns the known brokers, then the bootstrap servers.
func (p *Producer) brokerList() []broker {
	p.sinksMu.Lock()
	out := make([]broker, 0, len(p.addrs)+len(p.cfg.BootstrapServers))
	for node, a := range p.addrs {
		out = append(out, broker{node, a})
	}
	p.sinksMu.Unlock()
	for _, a := range p.bootstrapServers() {
		out = append(out, broker{-1, a})
	}
	return out
}

// blockCtx bounds ctx by max.block.ms.
func (p *Producer) blockCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if p.cfg.MaxBlock <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, p.cfg.MaxBlock)
}

// setBrokers records the broker addresses from a metadata answer.
func (p *Producer) setBrokers(addrs map[int32]string) {
	p.sinksMu.Lock()
	defer p.sinksMu.Unlock()
	p.addrs = addrs
	for node, s := range p.sinks {
		if a, ok := addrs[node]; ok && a != *s.addr.Load() {
			s.addr.Store(&a)
		}
	}
}

// setLeader makes leader (-1: none) the leader of pa as a metadata answer says, unless a
// newer leader epoch is known already (from a KIP-951 hint, or a broker that answered
// later): a metadata answer may be older than the hint that moved the partition. A topic
// recreated under its name starts its epochs again (force).
func (p *Producer) setLeader(pa *partition, leader, epoch int32, force bool) {
	p.leaderMu.Lock()
	defer p.leaderMu.Unlock()
	if !force && epoch >= 0 && pa.leaderEpoch.Load() > epoch {
		return
	}
	pa.leader.Store(leader)
	pa.leaderEpoch.Store(epoch)
}

// followHint applies the new leader a Produce answer of node named for pa (KIP-951):
// CurrentLeader, with its address among endpoints. It learns that address (a broker may be
// new, or have moved) and makes hint the leader of pa if its epoch is newer than the one
// known. It reports whether pa is now led by another broker than node whose address is
// known, so that a batch node refused can go there at once.
func (p *Producer) followHint(pa *partition, node int32, hint wire.LeaderIDAndEpoch, endpoints []wire.NodeEndpoint) bool {
	if hint.LeaderID < 0 || hint.LeaderEpoch < 0 {
		return false
	}
	p.sinksMu.Lock()
	defer p.sinksMu.Unlock()
	for _, e := range endpoints {
		if e.NodeID != hint.LeaderID || e.Host == "" || e.Port <= 0 {
			continue
		}
		addr := net.JoinHostPort(e.Host, strconv.Itoa(int(e.Port)))
		if p.addrs[e.NodeID] != addr {
			addrs := maps.Clone(p.addrs)
			if addrs == nil {
				addrs = map[int32]string{}
			}
			addrs[e.NodeID] = addr
			p.addrs = addrs
			if s := p.sinks[e.NodeID]; s != nil {
				s.addr.Store(&addr)
			}
		}
		break
	}
	p.leaderMu.Lock()
	if hint.LeaderEpoch > pa.leaderEpoch.Load() {
		pa.leader.Store(hint.LeaderID)
		pa.leaderEpoch.Store(hint.LeaderEpoch)
	}
	leader := pa.leader.Load()
	p.leaderMu.Unlock()
	_, known := p.addrs[leader]
	return leader >= 0 && leader != node && known
}

// assignPartitions gives each sink the list of partitions its broker leads, creating sinks
// for new leaders, and wakes them all.
func (p *Producer) assignPartitions() {
	byNode := map[int32][]*partition{}
	p.forEachPartition(func(pa *partition) {
		if l := pa.leader.Load(); l >= 0 {
			byNode[l] = append(byNode[l], pa)
		}
	})
	p.sinksMu.Lock()
	defer p.sinksMu.Unlock()
	select {
	case <-p.stop:
		return
	default:
	}
	for node, parts := range byNode {
		s, ok := p.sinks[node]
		if !ok {
			addr, known := p.addrs[node]
			if !known {
				for _, pa := range parts {
					pa.sink.Store(nil)
				}
				continue
			}
			s = newSink(p, node, addr)
			p.sinks[node] = s
			p.wg.Add(1)
			go s.run()
		}
		s.parts.Store(&parts)
		for _, pa := range parts {
			pa.sink.Store(s)
		}
	}
	for node, s := range p.sinks {
		if _, ok := byNode[node]; !ok {
			empty := []*partition{}
			s.parts.Store(&empty)
		}
		s.poke()
	}
}

// errPartitionGone fails the records of a partition that a recreated topic no longer has.
var errPartitionGone = fmt.Errorf("%w: the topic was recreated without this partition", wire.ErrUnknownTopicOrPartition)

// goneParts are the partitions that topics recreated with fewer partitions lost, kept until
// their batches are completed, so that Flush, Close and the expiry sweep still see them.
type goneParts struct {
	mu    sync.Mutex
	parts []*partition
}

func (p *Producer) addGone(parts []*partition) {
	p.gone.mu.Lock()
	p.gone.parts = append(p.gone.parts, parts...)
	p.gone.mu.Unlock()
}

// pruneGone forgets the gone partitions that hold no batch any more.
func (p *Producer) pruneGone() {
	p.gone.mu.Lock()
	defer p.gone.mu.Unlock()
	kept := p.gone.parts[:0]
	for _, pa := range p.gone.parts {
		pa.mu.Lock()
		busy := pa.open != nil || len(pa.queue) > 0
		pa.mu.Unlock()
		if busy {
			kept = append(kept, pa)
		}
	}
	clear(p.gone.parts[len(kept):])
	p.gone.parts = kept
}

// forEachPartitionAll is forEachPartition and the gone partitions: for the paths that must
// reach every batch (Flush, Close, expiry, a transaction's end).
func (p *Producer) forEachPartitionAll(fn func(*partition)) {
	p.forEachPartition(fn)
	p.gone.mu.Lock()
	gone := append([]*partition(nil), p.gone.parts...)
	p.gone.mu.Unlock()
	for _, pa := range gone {
		fn(pa)
	}
}

// forEachPartition calls fn for every partition of every known topic.
func (p *Producer) forEachPartition(fn func(*partition)) {
	p.topics.Range(func(_, v any) bool {
		if parts := v.(*topicState).parts.Load(); parts != nil {
			for _, pa := range *parts {
				fn(pa)
			}
		}
		return true
	})
}

// stopping reports whether Close has given up on delivering.
func (p *Producer) stopping() bool {
	select {
	case <-p.stop:
		return true
	default:
		return false
	}
}

// Flush sends every record sent before it and waits until each is acknowledged or failed,
// or until ctx ends (then it returns ctx's error, and the records stay in flight).
//
// Flush returns nil once every record has an outcome, even when some records failed: a
// failure goes to the record's [Callback] or [Future], and is counted in [Producer.Stats]
// (RecordsFailed). To learn of failures, send with a callback or keep the Futures; with
// fire-and-forget sends, compare Stats().RecordsFailed before and after. From a callback or
// hook it fails with [ErrInCallback].
func (p *Producer) Flush(ctx context.Context) error {
	if p.inCompletion() {
		return fmt.Errorf("%w: Flush", ErrInCallback)
	}
	return p.flush(ctx)
}

func (p *Producer) flush(ctx context.Context) error {
	p.draining.Add(1)
	defer p.draining.Add(-1)
	type mark struct {
		pa     *partition
		target uint64
	}
	var marks []mark
	p.forEachPartitionAll(func(pa *partition) {
		pa.mu.Lock()
		pa.sealLocked()
		if pa.completed < pa.created {
			marks = append(marks, mark{pa, pa.created})
		}
		pa.mu.Unlock()
	})
	p.pokeAll()
	for _, m := range marks {
		for {
			ch := p.progress.wait()
			m.pa.mu.Lock()
			done := m.pa.completed >= m.target
			m.pa.mu.Unlock()
			if done {
				break
			}
			select {
			case <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

func (p *Producer) pokeAll() {
	p.sinksMu.Lock()
	for _, s := range p.sinks {
		s.poke()
	}
	p.sinksMu.Unlock()
}

// Close flushes what was sent and stops the producer. Sends after Close fail with
// [ErrClosed]. A CommitTransaction or AbortTransaction under way is waited for; later ones
// fail with ErrClosed. When ctx ends before everything is delivered, records still buffered
// or in flight fail with ErrClosed, and an end under way fails with ErrClosed (with
// [ErrTransactionOutcomeUnknown] if a commit's EndTxn was written but not answered). Close
// waits for every goroutine of the producer to end.
//
// Close may be called more than once, from any goroutine: a later call waits until the
// first returns (or its own ctx ends), and returns the first's error.
//
// Called from a callback or hook, Close cannot wait for the callbacks' goroutine, which is
// its own: as the Java client does, it closes at once, without flushing; the records not yet
// delivered fail with ErrClosed, and their callbacks run after the calling one returns. A
// later call from a callback or hook returns nil at once.
func (p *Producer) Close(ctx context.Context) error {
	if !p.closed.CompareAndSwap(false, true) {
		if p.inCompletion() { // the first Close may be waiting for this callback
			return nil
		}
		select {
		case <-p.closeDone:
			return p.closeErr
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := p.close(ctx)
	p.closeErr = err
	close(p.closeDone)
	return err
}

// close is the first Close.
func (p *Producer) close(ctx context.Context) error {
	close(p.closing)
	// A send that passed the closed check before now may still be appending: taking every
	// partition's lock once orders those appends before the flush below, and later ones
	// see closed under the lock and refuse.
	p.forEachPartitionAll(func(pa *partition) {
		pa.mu.Lock()
		//lint:ignore SA2001 the empty critical section is the barrier
		pa.mu.Unlock()
	})
	inCallback := p.inCompletion()
	var err error
	if !inCallback {
		err = p.flush(ctx)
		if err == nil && p.txn != nil {
			err = p.txn.waitEnd(ctx)
		}
	}
	p.stopOnce.Do(func() {
		close(p.stop)
		p.cancel()
	})
	p.wg.Wait() // no goroutine but the completion goroutine waits for it
	if p.txn != nil {
		p.txn.close()
	}
	// Every goroutine that could answer a batch is gone: what has no outcome fails.
	p.failBatches(failClosed, ErrClosed, p.forEachPartitionAll)
	p.mem.close() // the buffers of those batches are dropped as their outcomes are delivered
	if inCallback {
		return nil // the completion goroutine delivers the rest once this callback returns
	}
	<-p.completed
	// Deliver what was handed over after the completion goroutine's last look. This
	// goroutine stands in for it: a callback or hook that calls Flush here gets
	// ErrInCallback rather than waiting for itself.
	p.done.gid.Store(goid())
	p.runItems(p.done.take(nil))
	p.done.gid.Store(0)
	return err
}

func (p *Producer) logWarn(msg string, args ...any) {
	if p.cfg.Logger != nil {
		p.cfg.Logger.Warn(msg, args...)
	}
}

func (p *Producer) logDebug(msg string, args ...any) {
	if p.cfg.Logger != nil && p.cfg.Logger.Enabled(context.Background(), slog.LevelDebug) {
		p.cfg.Logger.Debug(msg, args...)
	}
}
