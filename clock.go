package producer

import (
	"sync"
	"sync/atomic"
	"time"
)

// clock gives record timestamps in milliseconds with one monotonic clock read: the wall
// time of an anchor plus the monotonic time since. time.Now reads the wall and monotonic
// clocks both, which costs twice as much on virtual machines (kvm-clock). The anchor is
// renewed every tick of the metadata goroutine, so a step of the wall clock shows within
// 100 ms.
//
// At high send rates even one clock read per record is a tenth of a send's cost. While
// more than fastClockRate records a second are sent, a goroutine reads the clock every
// millisecond and sends take its reading (fast), as the Java client's
// System.currentTimeMillis has millisecond granularity: a record's timestamp is then at
// most a tick (more when every CPU is busy and the goroutine waits for one) before the
// time of its send.
type clock struct {
	anchor atomic.Pointer[time.Time]
	fast   atomic.Int64 // Unix ms as last read by the ticking goroutine; 0 when none runs

	// Owned by the metadata goroutine (sweep).
	lastSent int64
	quit     chan struct{} // non-nil while the ticking goroutine runs; closed to stop it
}

// fastClockRate is the records sent per second above which the ticking goroutine runs; it
// stops below half that. Its thousand wake-ups a second then cost far less than the clock
// reads they replace.
const fastClockRate = 200_000

func (c *clock) reanchor() {
	now := time.Now()
	c.anchor.Store(&now)
}

// nowMs returns the current time in Unix milliseconds.
func (c *clock) nowMs() int64 {
	if ms := c.fast.Load(); ms != 0 {
		return ms
	}
	return c.readMs()
}

// readMs reads the clock.
func (c *clock) readMs() int64 {
	a := c.anchor.Load()
	return (a.UnixNano() + int64(time.Since(*a))) / int64(time.Millisecond)
}

// sweep runs every interval on the metadata goroutine with the count of records sent so
// far: it renews the anchor, and starts or stops the ticking goroutine by the send rate
// since the last sweep. The ticking goroutine ends with stop too, counted in wg.
func (c *clock) sweep(sent int64, interval time.Duration, stop <-chan struct{}, wg *sync.WaitGroup) {
	c.reanchor()
	perSec := float64(sent-c.lastSent) / interval.Seconds()
	c.lastSent = sent
	switch {
	case perSec >= fastClockRate && c.quit == nil:
		c.quit = make(chan struct{})
		wg.Add(1)
		go c.tick(c.quit, stop, wg)
	case perSec < fastClockRate/2 && c.quit != nil:
		close(c.quit)
		c.quit = nil
	}
}

// tick is the ticking goroutine.
func (c *clock) tick(quit, stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		c.fast.Store(c.readMs())
		select {
		case <-t.C:
		case <-quit:
			c.fast.Store(0)
			return
		case <-stop:
			c.fast.Store(0)
			return
		}
	}
}
