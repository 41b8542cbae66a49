package producer

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The completion goroutine is the only goroutine of the producer that runs user code:
// callbacks, futures' completion, and every Hooks method. It holds no lock of ours while it
// does, so that code may call the producer: Send, SendAsync, Stats, and Close (which then
// does not wait, see Close). Flush, CommitTransaction and AbortTransaction would wait for the
// goroutine they run on, so from there they fail with [ErrInCallback]; a Send that would
// have to wait for buffer.memory fails at once with [ErrBufferFull], since only this
// goroutine frees memory. The other calls work from there too, holding up later callbacks
// while they wait for a broker. Partitioners and serializers run on the caller's goroutine,
// before any lock is taken; a Logger's handler may be called from any goroutine of the
// producer, with no lock of ours held, and may call Stats.

// hook event kinds, delivered on the completion goroutine.
const (
	evBrokerConnect uint8 = iota + 1
	evBrokerDisconnect
	evProduceRequest
)

// hookEvent is one call of a Hooks method other than the per-batch and per-record ones.
type hookEvent struct {
	kind  uint8
	node  int32
	bytes int
	d     time.Duration
	addr  string
	err   error
}

// completionItem is a batch to complete, or a hook event when b is nil.
type completionItem struct {
	b  *batch
	ev hookEvent
}

// completionQueue carries batches whose outcome is known, and hook events, to the
// completion goroutine. It never blocks the pusher; its length is bounded by buffer.memory,
// which completed batches still hold, and by the requests and dials behind the events.
type completionQueue struct {
	mu    sync.Mutex
	items []completionItem
	wake  chan struct{}
	// gid is the completion goroutine's id, to refuse calls that would wait for it.
	gid atomic.Uint64
}

func (q *completionQueue) push(it completionItem) {
	q.mu.Lock()
	q.items = append(q.items, it)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *completionQueue) pushBatch(b *batch) { q.push(completionItem{b: b}) }

// take returns the queued items, leaving work (emptied) in their place.
func (q *completionQueue) take(work []completionItem) []completionItem {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.items
	q.items = work[:0]
	return out
}

// hookEvent queues a Hooks call for the completion goroutine, when hooks are set.
func (p *Producer) hookEvent(ev hookEvent) {
	if p.cfg.Hooks != nil {
		p.done.push(completionItem{ev: ev})
	}
}

// complete is the completion goroutine: it completes batches in the order they were handed
// over (callbacks and futures in record order, Stats, hooks, memory, recycling) and runs the
// other hooks.
func (p *Producer) complete() {
	defer close(p.completed)
	p.done.gid.Store(goid())
	var work []completionItem
	for {
		select {
		case <-p.done.wake:
		case <-p.stop:
			// Close stops us once every batch it waited for was handed over; what is left
			// (or handed over by a Close called from a callback) is delivered now.
			p.runItems(p.done.take(work))
			return
		}
		work = p.runItems(p.done.take(work))
	}
}

// runItems completes each item and returns the slice, cleared, for reuse.
func (p *Producer) runItems(work []completionItem) []completionItem {
	for i := range work {
		it := &work[i]
		if it.b != nil {
			p.finishBatch(it.b)
		} else {
			p.runHook(&it.ev)
		}
		*it = completionItem{}
	}
	return work
}

func (p *Producer) runHook(ev *hookEvent) {
	h := p.cfg.Hooks
	switch ev.kind {
	case evBrokerConnect:
		h.OnBrokerConnect(ev.node, ev.addr, ev.d, ev.err)
	case evBrokerDisconnect:
		h.OnBrokerDisconnect(ev.node, ev.addr, ev.err)
	case evProduceRequest:
		h.OnProduceRequest(ev.node, ev.bytes, ev.d, ev.err)
	}
}

// inCompletion reports whether the caller runs on the completion goroutine (in a callback
// or hook).
func (p *Producer) inCompletion() bool {
	return goid() == p.done.gid.Load()
}

// goid returns the id of the calling goroutine, from the first line of its stack trace
// ("goroutine 123 [running]:"). It costs about a microsecond: it is only for calls that may
// wait (Flush, Close, the transaction calls, a Send waiting for memory), never the hot path.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	const prefix = "goroutine "
	if len(b) < len(prefix) {
		return 0
	}
	var id uint64
	for _, c := range b[len(prefix):] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}
