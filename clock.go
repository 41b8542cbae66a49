package producer

import (
	"sync/atomic"
	"time"
)

// clock gives record timestamps in milliseconds with one monotonic clock read: the wall
// time of an anchor plus the monotonic time since. time.Now reads the wall and monotonic
// clocks both, which costs twice as much on virtual machines (kvm-clock). The anchor is
// renewed every tick of the metadata goroutine, so a step of the wall clock shows within
// 100 ms.
type clock struct {
	anchor atomic.Pointer[time.Time]
}

func (c *clock) reanchor() {
	now := time.Now()
	c.anchor.Store(&now)
}

// nowMs returns the current time in Unix milliseconds.
func (c *clock) nowMs() int64 {
	a := c.anchor.Load()
	return (a.UnixNano() + int64(time.Since(*a))) / int64(time.Millisecond)
}
