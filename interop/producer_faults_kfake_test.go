package interop

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	producer "github.com/gregor-kafka/producer"
)

// TestIdempotentUnderFaultsKfake produces a keyed stream to kfake, which checks producer
// sequences and epochs, while faults are injected: REQUEST_TIMED_OUT after the append
// (the retry must be deduplicated), leader moves (NOT_LEADER_OR_FOLLOWER) and dropped
// connections. franz-go's consumer then reads everything back: every record exactly once,
// and each key's records in send order.
func TestIdempotentUnderFaultsKfake(t *testing.T) {
	for _, kinds := range []string{"timeouts", "moves", "drops", "all"} {
		t.Run(kinds, func(t *testing.T) { idempotentUnderFaults(t, kinds) })
	}
}

func idempotentUnderFaults(t *testing.T, kinds string) {
	const topic, partitions, n, keys = "faults", 6, 20000, 60
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(partitions, topic))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	p, err := producer.New(producer.Config{
		BootstrapServers: c.ListenAddrs(),
		Linger:           time.Millisecond,
		BatchSize:        2048,
		RetryBackoff:     5 * time.Millisecond,
		RetryBackoffMax:  50 * time.Millisecond,
		RequestTimeout:   5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	var drops, moves atomic.Int64
	var timeouts []*kfake.FaultHandle
	wg.Add(1)
	go func() { // the fault injector
		defer wg.Done()
		for i := 0; i < 150 && !stop.Load(); i++ { // a bounded storm, then the stream must finish
			kind := i % 3
			if kinds != "all" {
				kind = map[string]int{"timeouts": 0, "moves": 1, "drops": 2}[kinds]
			}
			switch kind {
			case 0:
				timeouts = append(timeouts, c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.RequestTimedOut}))
			case 1:
				part := int32(i % partitions)
				to := (c.LeaderFor(topic, part) + 1) % 3
				if c.MoveTopicPartition(topic, part, to) == nil {
					moves.Add(1)
				}
			case 2:
				c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
					drops.Add(1)
					return nil, errors.New("injected connection drop"), true
				})
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()

	ctx := context.Background()
	var failed atomic.Int64
	for i := 0; i < n; i++ {
		if i%20 == 0 {
			time.Sleep(time.Millisecond) // spread the stream over the fault storm
		}
		rec := producer.Record{Topic: topic, Key: []byte(fmt.Sprintf("key-%d", i%keys)), Value: []byte(strconv.Itoa(i))}
		if err := p.SendAsync(ctx, rec, func(_ producer.RecordMetadata, err error) {
			if err != nil {
				failed.Add(1)
				t.Errorf("record failed: %v", err)
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := p.Flush(fctx); err != nil {
		buf := make([]byte, 1<<20)
		t.Fatalf("flush: %v\n%s", err, buf[:runtime.Stack(buf, true)])
	}
	stop.Store(true)
	wg.Wait()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	hits := 0
	for _, h := range timeouts {
		hits += int(h.Hits())
	}
	t.Logf("injected %d REQUEST_TIMED_OUT after append, %d leader moves, %d connection drops", hits, moves.Load(), drops.Load())

	recs := consumeAll(t, c.ListenAddrs(), topic, n)
	seen := make([]int, n)
	last := map[string]int{}
	for _, r := range recs {
		v, err := strconv.Atoi(string(r.Value))
		if err != nil || v < 0 || v >= n {
			t.Fatalf("bad value %q", r.Value)
		}
		seen[v]++
		k := string(r.Key)
		if prev, ok := last[k]; ok && v <= prev {
			t.Errorf("key %s: value %d after %d (reordered or duplicated)", k, v, prev)
		}
		last[k] = v
	}
	missing, dups := 0, 0
	for _, c := range seen {
		switch {
		case c == 0:
			missing++
		case c > 1:
			dups++
		}
	}
	if missing != 0 || dups != 0 || len(recs) != n {
		t.Errorf("read %d records: %d missing, %d duplicated", len(recs), missing, dups)
	}
}
