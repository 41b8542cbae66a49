package producer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gregor-kafka/producer/internal/conn"
	"github.com/gregor-kafka/producer/wire"
)

// topicState is what the producer knows of one topic. parts is nil until the first
// metadata answer that gives the topic's partitions.
type topicState struct {
	name   string
	id     atomic.Pointer[wire.UUID]
	parts  atomic.Pointer[[]*partition]
	err    atomic.Pointer[error] // a topic error that fails sends (authorization, invalid topic)
	sticky atomic.Pointer[stickyState]
	// lastUsed is when the topic was last known to be sent to (clock ms), for
	// metadata.max.idle.ms: a send sets used, and each metadata fetch moves lastUsed to
	// its own time for a topic used since the one before (a flag, so that a send does not
	// write a shared word or read the clock for it).
	lastUsed atomic.Int64
	used     atomic.Bool
	// idle is set while the topic is left out of metadata requests (metadata.max.idle.ms);
	// stale, once a send found it idle, until its metadata was fetched again.
	idle, stale atomic.Bool
	// cause is why the last metadata answer did not resolve the topic (a retriable topic
	// error, such as UNKNOWN_TOPIC_OR_PARTITION), for the error of a send that times out.
	cause atomic.Pointer[error]
	// pastIDs are the ids the topic had before it was recreated; owned by the metadata
	// goroutine.
	pastIDs map[wire.UUID]bool
}

// wanted reports whether ts's metadata is still wanted at nowMs: it was sent to within
// metadata.max.idle.ms, or a record of it waits for delivery. It first counts the sends
// since its last call as use at nowMs (so a topic stays at most one refresh interval longer
// than metadata.max.idle.ms); the metadata goroutine calls it once per fetch.
func (ts *topicState) wanted(nowMs int64, maxIdle time.Duration) bool {
	if ts.used.Swap(false) {
		ts.lastUsed.Store(nowMs)
	}
	if nowMs-ts.lastUsed.Load() < maxIdle.Milliseconds() {
		return true
	}
	if parts := ts.parts.Load(); parts != nil {
		for _, pa := range *parts {
			pa.mu.Lock()
			pending := pa.open != nil || len(pa.queue) > 0
			pa.mu.Unlock()
			if pending {
				return true
			}
		}
	}
	return false
}

// notifier lets goroutines wait for the next event of some kind without a lost wake-up:
// take the channel, check the condition, then wait on the channel.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

func (n *notifier) notify() {
	n.mu.Lock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
	n.mu.Unlock()
}

// metadata owns the cluster view: brokers and partition leaders. One goroutine refreshes it
// on request (requests coalesce), every metadata.max.age.ms, and while topics are unresolved.
type metadata struct {
	p       *Producer
	refresh chan struct{} // cap 1: a pending refresh request
	updated notifier      // notified after every refresh attempt

	// Owned by the metadata goroutine.
	conn    *conn.Conn
	brokers map[int32]string // the brokers to ask; empty before the first answer and after a rebootstrap
	fails   int
	dialed  bool // the last fetch attempted a connection (authBackoff refused none)
	// failingSince is when metadata requests began to go unanswered, zero while they are
	// answered: metadata.recovery.rebootstrap.trigger.ms counts from it.
	failingSince time.Time

	// lastErr is why the last fetch failed (no broker reachable, or none answered), nil
	// after one succeeded: the cause a send that times out waiting for metadata reports.
	lastErr atomic.Pointer[error]
}

// fetchError returns why the last metadata fetch failed, or nil.
func (m *metadata) fetchError() error {
	if e := m.lastErr.Load(); e != nil {
		return *e
	}
	return nil
}

func newMetadata(p *Producer) *metadata {
	return &metadata{p: p, refresh: make(chan struct{}, 1), brokers: map[int32]string{}}
}

// requestRefresh asks for a refresh; concurrent requests coalesce into one.
func (m *metadata) requestRefresh() {
	select {
	case m.refresh <- struct{}{}:
	default:
	}
}

// run is the metadata goroutine.
func (m *metadata) run() {
	defer m.p.wg.Done()
	defer func() {
		if m.conn != nil {
			m.conn.Close()
		}
	}()
	const sweepEvery = 100 * time.Millisecond
	sweep := time.NewTicker(sweepEvery)
	defer sweep.Stop()
	next := time.Now().Add(m.p.cfg.MetadataMaxAge)
	// earliest spaces fetches by retry.backoff.ms (growing while they fail), however often
	// a refresh is asked for, as the Java client's metadata refresh backoff.
	var earliest time.Time
	for {
		wait := time.Until(next)
		timer := time.NewTimer(max(wait, 0))
		select {
		case <-m.p.stop:
			timer.Stop()
			return
		case <-m.refresh:
			if time.Now().Before(earliest) {
				timer.Stop()
				if earliest.Before(next) {
					next = earliest
				}
				continue
			}
		case <-timer.C:
		case <-sweep.C:
			timer.Stop()
			m.p.clock.sweep(m.p.stats.recordsSent.Load(), sweepEvery, m.p.stop, &m.p.wg)
			m.p.expireStale()
			continue
		}
		timer.Stop()
		unresolved, err := m.fetch()
		if err != nil {
			m.lastErr.Store(&err)
		} else {
			m.lastErr.Store(nil)
		}
		failed := "metadata refresh failed"
		if err == nil && m.p.cfg.idempotent && m.p.txn == nil && m.p.idem.wantsInit() {
			if err = m.initProducerID(); err != nil {
				unresolved = true
				failed = "InitProducerId failed"
			}
		}
		m.updated.notify()
		switch {
		case err != nil || unresolved:
			m.fails++
			next = time.Now().Add(m.p.backoff(m.fails))
			earliest = next
		default:
			m.fails = 0
			next = time.Now().Add(m.p.cfg.MetadataMaxAge)
			earliest = time.Now().Add(m.p.backoff(1))
		}
		switch {
		case err == nil:
		case m.dialed:
			m.p.logWarn(failed, "error", err)
		default: // no connection was attempted: the authentication backoff holds
			m.p.logDebug(failed, "error", err)
		}
	}
}

// candidates returns the addresses to ask for metadata: the known brokers, in random order
// to spread load; before the first answer and after a rebootstrap, the bootstrap servers,
// in their order. Either way, addresses in reconnect backoff come last (preferDialable).
func (m *metadata) candidates() []string {
	var out []string
	if len(m.brokers) == 0 {
		out = slices.Clone(m.p.bootstrapServers())
	} else {
		out = make([]string, 0, len(m.brokers))
		for _, a := range m.brokers {
			out = append(out, a)
		}
		rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	}
	m.p.dialFails.preferDialable(out)
	return out
}

// rebootstrap forgets the known brokers, so that metadata is asked of bootstrap.servers
// again (metadata.recovery.strategy=rebootstrap, KIP-899 and KIP-1102): the brokers the
// producer knew may all have been replaced by new ones, at new addresses. The sinks keep
// their connections until the next answer names the brokers anew.
func (m *metadata) rebootstrap(why string) {
	m.p.logWarn("metadata goes back to bootstrap.servers (metadata.recovery.strategy=rebootstrap)",
		"reason", why, "bootstrap.servers", m.p.cfg.BootstrapServers)
	m.brokers = map[int32]string{}
	if m.conn != nil {
		m.conn.Close()
		m.conn = nil
	}
	m.failingSince = time.Now() // the trigger counts again from here
	m.p.stats.rebootstraps.Add(1)
}

// recovering reports whether metadata.recovery.strategy lets the producer rebootstrap now:
// it is rebootstrap and known brokers are in use.
func (m *metadata) recovering() bool {
	return m.p.cfg.MetadataRecovery == Rebootstrap && len(m.brokers) > 0
}

// dialCandidate connects m.conn to the first candidate not tried yet in this fetch; it
// reports whether it did, and in held that the authentication backoff let it try none.
func (m *metadata) dialCandidate(tried map[string]bool, errs *[]error) (connected, held bool) {
	for _, addr := range m.candidates() {
		if tried[addr] {
			continue
		}
		tried[addr] = true
		c, attempted, err := m.p.connectBroker(m.p.ctx, m.nodeOf(addr), addr)
		m.dialed = m.dialed || attempted
		if err != nil {
			if !attempted {
				// The authentication backoff holds for every broker; its error is the one
				// just met, unless nothing was attempted.
				if len(*errs) == 0 {
					*errs = append(*errs, err)
				}
				return false, true
			}
			*errs = append(*errs, err)
			continue
		}
		m.conn = c
		return true, false
	}
	return false, false
}

// fetch asks one broker for the metadata of every known topic and applies the answer. It
// reports whether some topic is still unresolved (unknown, or a partition has no leader).
func (m *metadata) fetch() (bool, error) {
	var names []string
	now := m.p.clock.nowMs()
	m.p.topics.Range(func(k, v any) bool {
		ts := v.(*topicState)
		wanted := ts.wanted(now, m.p.cfg.MetadataMaxIdle)
		if !wanted && !ts.idle.Load() {
			m.p.logDebug("topic idle, leaving it out of metadata", "topic", ts.name, "metadata.max.idle.ms", m.p.cfg.MetadataMaxIdle)
		}
		ts.idle.Store(!wanted)
		if wanted {
			names = append(names, k.(string))
		}
		return true
	})
	req := &wire.MetadataRequest{AllowAutoTopicCreation: true, Topics: make([]wire.MetadataRequestTopic, len(names))}
	for i := range names {
		req.Topics[i].Name = &names[i]
	}
	var resp wire.MetadataResponse
	var errs []error
	ok := false
	tried := map[string]bool{}
	if m.recovering() && !m.failingSince.IsZero() && time.Since(m.failingSince) >= m.p.cfg.RebootstrapTrigger {
		m.rebootstrap(fmt.Sprintf("no metadata answer for %v (metadata.recovery.rebootstrap.trigger.ms)", m.p.cfg.RebootstrapTrigger))
	}
	m.dialed = m.conn != nil
	reached := false // some broker accepted a connection in this fetch
	for attempt := 0; attempt < 2 && !ok; attempt++ {
		if m.conn != nil && m.conn.Err() != nil {
			m.lost(m.conn.Err())
		}
		if m.conn == nil {
			connected, held := m.dialCandidate(tried, &errs)
			reached = reached || connected
			if m.conn == nil && !reached && !held && m.recovering() {
				m.rebootstrap("no known broker can be reached")
				m.dialCandidate(tried, &errs)
			}
			if m.conn == nil {
				m.failing()
				return true, fmt.Errorf("no broker answered: %w", errors.Join(errs...))
			}
		}
		ctx, cancel := context.WithTimeout(m.p.ctx, m.p.cfg.RequestTimeout)
		err := m.conn.Call(ctx, req, &resp)
		cancel()
		if err != nil {
			errs = append(errs, err)
			m.lost(err)
			continue
		}
		ok = true
	}
	if !ok {
		m.failing()
		return true, errors.Join(errs...)
	}
	if resp.ErrorCode != 0 {
		m.failing()
		err := wire.ErrorForCode(resp.ErrorCode)
		if resp.ErrorCode == wire.ErrRebootstrapRequired.Code && m.recovering() {
			m.rebootstrap("a broker answered REBOOTSTRAP_REQUIRED")
		}
		return true, err
	}
	m.failingSince = time.Time{}
	return m.apply(&resp), nil
}

// failing notes a metadata request that got no answer.
func (m *metadata) failing() {
	if m.failingSince.IsZero() {
		m.failingSince = time.Now()
	}
}

// nodeOf returns the node id of the broker at addr, or -1 (a bootstrap server).
func (m *metadata) nodeOf(addr string) int32 {
	for id, a := range m.brokers {
		if a == addr {
			return id
		}
	}
	return -1
}

// lost closes the metadata connection, which died of err, and counts it as the sinks count
// theirs (Stats.ConnectionErrors, OnBrokerDisconnect).
func (m *metadata) lost(err error) {
	addr := m.conn.Addr()
	m.conn.Close()
	m.conn = nil
	m.p.stats.connErrors.Add(1)
	m.p.logDebug("metadata connection lost", "addr", addr, "error", err)
	m.p.hookEvent(hookEvent{kind: evBrokerDisconnect, node: m.nodeOf(addr), addr: addr, err: err})
}

// initProducerID asks for a producer id and epoch (InitProducerId, KIP-98). After an
// epoch overflow it passes the current id and epoch, so the broker bumps them (KIP-360).
func (m *metadata) initProducerID() error {
	if m.conn == nil {
		return errors.New("no connection for InitProducerId")
	}
	pid, epoch, _, _ := m.p.idem.current()
	req := &wire.InitProducerIDRequest{ProducerID: -1, ProducerEpoch: -1, TransactionTimeoutMs: int32(m.p.cfg.TransactionTimeout / time.Millisecond)}
	if pid >= 0 {
		req.ProducerID, req.ProducerEpoch = pid, epoch
	}
	var resp wire.InitProducerIDResponse
	ctx, cancel := context.WithTimeout(m.p.ctx, m.p.cfg.RequestTimeout)
	err := m.conn.Call(ctx, req, &resp)
	cancel()
	if err != nil {
		m.lost(err)
		return fmt.Errorf("InitProducerId: %w", err)
	}
	if err := wire.ErrorForCode(resp.ErrorCode); err != nil {
		if !err.(*wire.Error).Retriable {
			m.p.idem.failed(fmt.Errorf("InitProducerId: %w", err))
			m.p.pokeAll()
		}
		return fmt.Errorf("InitProducerId: %w", err)
	}
	m.p.idem.initialized(resp.ProducerID, resp.ProducerEpoch)
	m.p.logDebug("producer id", "id", resp.ProducerID, "epoch", resp.ProducerEpoch)
	m.p.pokeAll()
	return nil
}

// apply installs a metadata answer: broker addresses, partitions and their leaders.
func (m *metadata) apply(resp *wire.MetadataResponse) (unresolved bool) {
	p := m.p
	var gone []*partition // partitions of recreated topics that the new topic lacks
	p.stats.metadataRefreshes.Add(1)
	brokers := make(map[int32]string, len(resp.Brokers))
	for _, b := range resp.Brokers {
		brokers[b.NodeID] = net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
	}
	m.brokers = brokers
	p.setBrokers(brokers)
	for i := range resp.Topics {
		t := &resp.Topics[i]
		if t.Name == nil {
			continue
		}
		v, ok := p.topics.Load(*t.Name)
		if !ok {
			continue
		}
		ts := v.(*topicState)
		if err := wire.ErrorForCode(t.ErrorCode); err != nil {
			var ke *wire.Error
			if errors.As(err, &ke) && ke.Retriable {
				unresolved = true // not created yet, or leader election: try again
				if ke.Code == wire.ErrUnknownTopicOrPartition.Code {
					err = fmt.Errorf("%w (the topic does not exist and the brokers did not create it: auto.create.topics.enable is off?)", err)
				}
				ts.cause.Store(&err)
				continue
			}
			e := error(&PartitionError{Topic: ts.name, Partition: -1, Err: err})
			ts.err.Store(&e)
			continue
		}
		id := t.TopicID
		if ts.pastIDs[id] {
			// A broker that has not learned of the recreation yet describes the topic that
			// was deleted: taken as another recreation, it would replace the partitions and
			// restart their sequences again. Ask again.
			unresolved = true
			continue
		}
		ts.err.Store(nil)
		ts.cause.Store(nil)
		ts.stale.Store(false)
		prevID := ts.id.Swap(&id)
		if len(t.Partitions) == 0 {
			unresolved = true
			continue
		}
		old := ts.parts.Load()
		// A new topic id is a new topic under the old name (deleted and created again): its
		// partitions replace the old ones. Otherwise partitions are never removed.
		recreated := old != nil && prevID != nil && *prevID != (wire.UUID{}) && id != (wire.UUID{}) && *prevID != id
		if recreated {
			if ts.pastIDs == nil {
				ts.pastIDs = map[wire.UUID]bool{}
			}
			ts.pastIDs[*prevID] = true
		}
		n := len(t.Partitions)
		if old != nil && len(*old) > n && !recreated {
			n = len(*old)
		}
		parts := make([]*partition, n)
		if old != nil {
			copy(parts, *old)
		}
		for j := range parts {
			if parts[j] == nil {
				parts[j] = &partition{topic: ts, id: int32(j), seqPID: -1}
				parts[j].leader.Store(-1)
				parts[j].leaderEpoch.Store(-1)
			}
		}
		for _, mp := range t.Partitions {
			if mp.PartitionIndex < 0 || int(mp.PartitionIndex) >= n {
				continue
			}
			leader := mp.LeaderID
			if mp.ErrorCode != 0 || leader < 0 {
				leader = -1
				unresolved = true
			}
			p.setLeader(parts[mp.PartitionIndex], leader, mp.LeaderEpoch, recreated)
		}
		if recreated {
			for _, pa := range (*old)[:min(len(*old), n)] {
				restartSequences(pa)
			}
		}
		if old == nil || len(*old) != n {
			ts.parts.Store(&parts)
			if ts.sticky.Load() == nil || recreated {
				ts.sticky.Store(newStickyState(n))
			}
		}
		if recreated && len(*old) > n {
			for _, pa := range (*old)[n:] {
				pa.gone.Store(true) // an answer for a batch in flight ends it for good
				gone = append(gone, pa)
			}
		}
	}
	p.assignPartitions()
	if len(gone) > 0 {
		// Their records were for partitions the topic no longer has.
		p.addGone(gone)
		p.failBatches(failWaiting, errPartitionGone, func(fn func(*partition)) {
			for _, pa := range gone {
				fn(pa)
			}
		})
	}
	return unresolved
}
