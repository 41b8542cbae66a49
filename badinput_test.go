package producer

import (
	"context"
	"errors"
	"fmt"
	"github.com/gregor-kafka/producer/internal/testutil"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/kafkatest"
)

// TestBadPropertyValuesNeverPanic feeds every property a set of hostile values. Each must
// give an error naming the property and the value (not a secret's value), or be accepted; an accepted
// configuration must then be refused by New with an error, or make a producer that closes.
func TestBadPropertyValuesNeverPanic(t *testing.T) {
	values := []string{"", " ", "x", "-2", "-1", "0", "1", "1.5", "1e3", "0x10", "true",
		"99999999999999999999", "-99999999999999999999", "9223372036854775807", "2147483648",
		"\x00", "\xff\xfe", "all,1", "nohost", "a:b:c", strings.Repeat("9", 400)}
	for _, key := range PropertyNames() {
		for _, v := range values {
			cfg, err := ConfigFromProperties(map[string]string{key: v})
			if err != nil {
				// Secrets are named by their key only: their values must not be printed.
				if !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), fmt.Sprintf("%q", propertyShown(key, v))) {
					t.Errorf("%s=%q: error %q does not name key and value", key, v, err)
				}
				continue
			}
			if key != "bootstrap.servers" {
				cfg.BootstrapServers = []string{"127.0.0.1:1"}
			}
			p, err := New(cfg)
			if err != nil {
				if !strings.HasPrefix(err.Error(), "producer: ") {
					t.Errorf("%s=%q: New: %q", key, v, err)
				}
				continue
			}
			if err := p.Close(context.Background()); err != nil {
				t.Errorf("%s=%q: Close: %v", key, v, err)
			}
		}
	}
}

// TestNewRefusesBadCombinations: values each property accepts alone but New refuses,
// with an error naming the property to change.
func TestNewRefusesBadCombinations(t *testing.T) {
	for _, tc := range []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"compression.type": "gzip", "compression.gzip.level": "99"}, "compression.gzip.level"},
		{map[string]string{"compression.lz4.level": "18"}, "compression.lz4.level"},
		{map[string]string{"compression.zstd.level": "23"}, "compression.zstd.level"},
		{map[string]string{"enable.idempotence": "true", "acks": "1"}, "acks"},
		{map[string]string{"enable.idempotence": "true", "retries": "0"}, "retries"},
		{map[string]string{"enable.idempotence": "true", "max.in.flight.requests.per.connection": "6"}, "max.in.flight"},
		{map[string]string{"delivery.timeout.ms": "100", "request.timeout.ms": "1000"}, "delivery.timeout.ms"},
		{map[string]string{"transactional.id": "t", "enable.idempotence": "false"}, "transactional.id"},
		{map[string]string{"transactional.id": "t", "acks": "0"}, "transactional.id"},
		{map[string]string{"bootstrap.servers": "nohost"}, "bootstrap.servers"},
		{map[string]string{"bootstrap.servers": "a:1,b"}, "bootstrap.servers"},
		{map[string]string{}, "bootstrap.servers"},
	} {
		props := map[string]string{"bootstrap.servers": "127.0.0.1:1"}
		for k, v := range tc.props {
			props[k] = v
		}
		if len(tc.props) == 0 {
			props = nil
		}
		cfg, err := ConfigFromProperties(props)
		if err != nil {
			t.Errorf("%v: ConfigFromProperties: %v", tc.props, err)
			continue
		}
		p, err := New(cfg)
		if err == nil {
			_ = p.Close(context.Background())
			t.Errorf("%v: accepted", tc.props)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %q does not name %s", tc.props, err, tc.want)
		}
	}
}

// TestBadRecordsEveryMode sends each kind of bad record in every send mode: the error comes
// at once, is the documented sentinel, and nothing reaches the broker.
func TestBadRecordsEveryMode(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("bad", 2))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), MaxRequestSize: 10000, MaxBlock: 500 * time.Millisecond})
	ctx := ctxTimeout(t, 30*time.Second)
	big := make([]byte, 10000)
	for _, tc := range []struct {
		name string
		rec  Record
		want error
	}{
		{"empty topic", Record{Value: []byte("v")}, ErrInvalidRecord},
		{"zero record", Record{}, ErrInvalidRecord},
		{"invalid UTF-8 header key", Record{Topic: "bad", Headers: []Header{{Key: "ok"}, {Key: "a\xc3\x28"}}}, ErrInvalidRecord},
		// As the Java client, a partition the metadata lacks is waited for (max.block.ms):
		// it may have just been added.
		{"partition out of range", Record{Topic: "bad", Partition: ToPartition(2)}, ErrTimeout},
		{"negative partition", Record{Topic: "bad", Partition: ToPartition(-7)}, ErrInvalidRecord},
		{"oversized key", Record{Topic: "bad", Key: big}, ErrRecordTooLarge},
		{"oversized value", Record{Topic: "bad", Value: big}, ErrRecordTooLarge},
		{"oversized header value", Record{Topic: "bad", Headers: []Header{{Key: "h", Value: big}}}, ErrRecordTooLarge},
		{"oversized header key", Record{Topic: "bad", Headers: []Header{{Key: string(big)}}}, ErrRecordTooLarge},
		{"many headers", Record{Topic: "bad", Headers: make([]Header, 5000)}, ErrRecordTooLarge},
		{"key and value together too large", Record{Topic: "bad", Key: big[:5000], Value: big[:5000]}, ErrRecordTooLarge},
	} {
		if err := p.Send(ctx, tc.rec).Wait(ctx); !errors.Is(err, tc.want) {
			t.Errorf("%s, Send: %v, want %v", tc.name, err, tc.want)
		}
		var cbErr error
		calls := 0
		err := p.SendAsync(ctx, tc.rec, func(_ RecordMetadata, err error) { calls++; cbErr = err })
		if !errors.Is(err, tc.want) || calls != 1 || cbErr != err {
			t.Errorf("%s, SendAsync: %v, callback called %d times with %v", tc.name, err, calls, cbErr)
		}
		if err := p.SendAsync(ctx, tc.rec, nil); !errors.Is(err, tc.want) {
			t.Errorf("%s, fire-and-forget: %v", tc.name, err)
		}
	}
	// A topic name the broker refuses fails within max.block.ms; it does not hang.
	for _, topic := range []string{"bad topic", strings.Repeat("x", 300), "..", "a/b"} {
		err := p.Send(ctx, Record{Topic: topic, Value: []byte("v")}).Wait(ctx)
		if err == nil {
			t.Errorf("topic %q: accepted", topic)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(c.Records("bad", 0)) + len(c.Records("bad", 1)); n != 0 {
		t.Errorf("%d bad records reached the broker", n)
	}
	// The producer still works.
	if err := p.Send(ctx, Record{Topic: "bad", Value: []byte("good")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestClosedProducerRefusesEverything: after Close, every call fails with ErrClosed or is a
// no-op, in every mode, from many goroutines.
func TestClosedProducerRefusesEverything(t *testing.T) {
	c := newCluster(t)
	p, err := New(Config{BootstrapServers: c.Addrs()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxTimeout(t, 10*time.Second)
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := Record{Topic: "closed", Value: []byte("v")}
			if err := p.Send(ctx, rec).Wait(ctx); !errors.Is(err, ErrClosed) {
				t.Errorf("Send: %v", err)
			}
			if err := p.SendAsync(ctx, rec, nil); !errors.Is(err, ErrClosed) {
				t.Errorf("SendAsync: %v", err)
			}
			if err := p.Flush(ctx); err != nil {
				t.Errorf("Flush after Close: %v", err)
			}
			if err := p.Close(ctx); err != nil {
				t.Errorf("Close again: %v", err)
			}
		}()
	}
	wg.Wait()
}

// TestConcurrentCloseSendFlush races many senders in every mode, flushers and several
// Close calls: every record is reported exactly once (acknowledged, or failed with
// ErrClosed), every Future ends, every acknowledged record is in the log, and no goroutine
// is left.
func TestConcurrentCloseSendFlush(t *testing.T) {
	testutil.CheckNoLeaks(t)
	c := newCluster(t, kafkatest.SeedTopic("race", 4))
	for round := 0; round < 5; round++ {
		p, err := New(Config{BootstrapServers: c.Addrs(), Linger: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx := ctxTimeout(t, 20*time.Second)
		// Metadata known, so that sends race Close and not the first metadata fetch.
		if err := p.Send(ctx, Record{Topic: "race", Value: []byte("warm-up")}).Wait(ctx); err != nil {
			t.Fatal(err)
		}
		const senders, per = 12, 300
		var calls [senders * per]atomic.Int32
		var futs [senders * per]*Future
		var refused [senders * per]atomic.Bool // failed before being enqueued
		var errs [senders * per]error          // callback errors, read after wg.Wait
		var acked, failed atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := 0; g < senders; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := g * per; i < (g+1)*per; i++ {
					rec := Record{Topic: "race", Key: []byte{byte(i)}, Value: []byte(fmt.Sprintf("%d-%d", round, i))}
					if i%2 == 0 {
						futs[i] = p.Send(ctx, rec)
						select {
						case <-futs[i].Done():
							refused[i].Store(futs[i].Wait(ctx) != nil)
						default:
						}
						continue
					}
					err := p.SendAsync(ctx, rec, func(_ RecordMetadata, err error) {
						calls[i].Add(1)
						errs[i] = err
						if err == nil {
							acked.Add(1)
						} else if errors.Is(err, ErrClosed) {
							failed.Add(1)
						} else {
							t.Errorf("record %d: %v", i, err)
						}
					})
					if err != nil {
						refused[i].Store(true)
					}
					if i%50 == 0 {
						runtime.Gosched()
					}
				}
			}()
		}
		for g := 0; g < 2; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_ = p.Flush(ctx)
			}()
		}
		close(start)
		time.Sleep(time.Duration(round) * time.Millisecond)
		var closers sync.WaitGroup
		for g := 0; g < 3; g++ {
			closers.Add(1)
			go func() {
				defer closers.Done()
				if err := p.Close(ctx); err != nil {
					t.Errorf("Close: %v", err)
				}
			}()
		}
		closers.Wait()
		wg.Wait()
		for i := range futs {
			if futs[i] == nil {
				if n := calls[i].Load(); n != 1 {
					t.Fatalf("round %d: record %d: callback called %d times", round, i, n)
				}
			}
			if !refused[i].Load() && errs[i] != nil {
				// Close had time (ctx is live): what it accepted, it delivers.
				t.Errorf("round %d: record %d accepted, then failed: %v", round, i, errs[i])
			}
			if futs[i] == nil {
				continue
			}
			select {
			case <-futs[i].Done():
			default:
				t.Fatalf("round %d: record %d: Future not done after Close", round, i)
			}
			if _, err := futs[i].Get(ctx); err == nil {
				if refused[i].Load() {
					t.Errorf("record %d: refused, then acknowledged", i)
				}
				acked.Add(1)
			} else if !errors.Is(err, ErrClosed) {
				t.Errorf("record %d: %v", i, err)
			} else {
				failed.Add(1)
				if !refused[i].Load() {
					t.Errorf("round %d: record %d accepted, then failed: %v", round, i, err)
				}
			}
		}
		stored := 0
		for pa := int32(0); pa < 4; pa++ {
			for _, r := range c.Records("race", pa) {
				if strings.HasPrefix(string(r.Value), fmt.Sprintf("%d-", round)) {
					stored++
				}
			}
		}
		if int64(stored) < acked.Load() {
			t.Errorf("round %d: %d acknowledged, %d stored", round, acked.Load(), stored)
		}
		t.Logf("round %d: %d acknowledged, %d failed with ErrClosed, %d stored", round, acked.Load(), failed.Load(), stored)
	}
}

// TestHugeBatchSizeBoundedMemory: batch.size is a threshold, not an allocation; a huge value
// (accepted by the property parser up to 2^31-1) must not make every partition allocate it.
func TestHugeBatchSizeBoundedMemory(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("huge", 4))
	cfg, err := ConfigFromProperties(map[string]string{"bootstrap.servers": c.Addrs()[0], "batch.size": "1073741824"})
	if err != nil {
		t.Fatal(err)
	}
	p := newProducer(t, cfg)
	ctx := ctxTimeout(t, 20*time.Second)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for pa := int32(0); pa < 4; pa++ {
		if err := p.Send(ctx, Record{Topic: "huge", Partition: ToPartition(pa), Value: []byte("v")}).Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 64<<20 {
		t.Fatalf("4 one-byte records with batch.size=1GiB allocated %d MiB", d>>20)
	}
}
