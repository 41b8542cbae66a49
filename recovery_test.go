package producer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/internal/testutil"
	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

// switchProxy is a bootstrap address in front of a cluster that a test can repoint: each
// new connection goes to the current upstream; connections made before a switch stay where
// they went. It forwards bytes and knows nothing of Kafka.
type switchProxy struct {
	ln       net.Listener
	upstream atomic.Pointer[string]
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
}

func newSwitchProxy(t *testing.T, upstream string) *switchProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	px := &switchProxy{ln: ln, conns: map[net.Conn]struct{}{}}
	px.upstream.Store(&upstream)
	px.wg.Add(1)
	go func() {
		defer px.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			px.wg.Add(1)
			go func() {
				defer px.wg.Done()
				px.forward(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		px.mu.Lock()
		for c := range px.conns {
			c.Close()
		}
		px.mu.Unlock()
		px.wg.Wait()
	})
	return px
}

func (px *switchProxy) addr() string { return px.ln.Addr().String() }

func (px *switchProxy) point(upstream string) { px.upstream.Store(&upstream) }

func (px *switchProxy) track(cs ...net.Conn) {
	px.mu.Lock()
	defer px.mu.Unlock()
	for _, c := range cs {
		px.conns[c] = struct{}{}
	}
}

func (px *switchProxy) forward(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", *px.upstream.Load())
	if err != nil {
		return
	}
	defer up.Close()
	px.track(c, up)
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(up, c)
		up.Close()
		close(done)
	}()
	_, _ = io.Copy(c, up)
	c.Close()
	<-done
	px.mu.Lock()
	delete(px.conns, c)
	delete(px.conns, up)
	px.mu.Unlock()
}

// sendAll sends n records numbered from `from` to topic and waits for every outcome; it
// returns the errors, one per record.
func sendAll(ctx context.Context, p *Producer, topic string, from, n int) []error {
	futs := make([]*Future, n)
	for i := range n {
		futs[i] = p.Send(ctx, Record{Topic: topic, Value: []byte(strconv.Itoa(from + i))})
	}
	errs := make([]error, n)
	for i, f := range futs {
		errs[i] = f.Wait(ctx)
	}
	return errs
}

// checkValues checks that the topic's partition 0 holds exactly the records numbered from
// to from+n-1, in order.
func checkValues(t *testing.T, c *kafkatest.Cluster, topic string, from, n int) {
	t.Helper()
	recs := c.Records(topic, 0)
	if len(recs) != n {
		t.Fatalf("%s holds %d records, want %d", topic, len(recs), n)
	}
	for i, r := range recs {
		if string(r.Value) != strconv.Itoa(from+i) {
			t.Fatalf("%s offset %d holds %q, want %d", topic, i, r.Value, from+i)
		}
	}
}

// recoveryConfig is a producer behind the proxy, with timeouts short enough for tests.
func recoveryConfig(px *switchProxy, recovery MetadataRecovery) Config {
	return Config{
		BootstrapServers: []string{px.addr()}, MetadataRecovery: recovery,
		Linger: time.Millisecond, RequestTimeout: 300 * time.Millisecond, DeliveryTimeout: 2 * time.Second,
		RetryBackoff: 5 * time.Millisecond, RetryBackoffMax: 50 * time.Millisecond,
		ReconnectBackoff: 5 * time.Millisecond, ReconnectBackoffMax: 50 * time.Millisecond,
		SetupTimeout: 300 * time.Millisecond, MaxBlock: 2 * time.Second,
	}
}

// TestRebootstrapReplacedCluster: every broker of the cluster is replaced by new brokers at
// new addresses, behind the same bootstrap address. With metadata.recovery.strategy=
// rebootstrap the producer finds them (no known broker can be reached: KIP-899) and delivers
// the records sent after the switch, without a restart; with none it cannot, and they time
// out.
func TestRebootstrapReplacedCluster(t *testing.T) {
	for _, recovery := range []MetadataRecovery{Rebootstrap, NoRecovery} {
		t.Run(string(recovery), func(t *testing.T) {
			testutil.CheckNoLeaks(t)
			a := newCluster(t, kafkatest.SeedTopic("r", 1))
			b := newCluster(t, kafkatest.SeedTopic("r", 1))
			px := newSwitchProxy(t, a.Addrs()[0])
			p := newProducer(t, recoveryConfig(px, recovery))
			ctx := ctxTimeout(t, 30*time.Second)
			for i, err := range sendAll(ctx, p, "r", 0, 10) {
				if err != nil {
					t.Fatalf("record %d to the first cluster: %v", i, err)
				}
			}
			checkValues(t, a, "r", 0, 10)

			px.point(b.Addrs()[0])
			a.Close() // every broker the producer knows is gone

			errs := sendAll(ctx, p, "r", 10, 10)
			st := p.Stats()
			if recovery == NoRecovery {
				for i, err := range errs {
					if !errors.Is(err, ErrTimeout) {
						t.Errorf("record %d with metadata.recovery.strategy=none: %v, want a timeout", 10+i, err)
					}
				}
				if n := len(b.Records("r", 0)); n != 0 || st.Rebootstraps != 0 {
					t.Errorf("with none: %d records reached the new cluster, %d rebootstraps", n, st.Rebootstraps)
				}
				return
			}
			for i, err := range errs {
				if err != nil {
					t.Fatalf("record %d after the brokers were replaced: %v", 10+i, err)
				}
			}
			checkValues(t, b, "r", 10, 10)
			if st.Rebootstraps == 0 {
				t.Error("Stats.Rebootstraps is 0")
			}
		})
	}
}

// TestRebootstrapTriggers: the known brokers still accept connections, but give no usable
// metadata: they answer REBOOTSTRAP_REQUIRED (KIP-1102), or never answer metadata requests
// at all (metadata.recovery.rebootstrap.trigger.ms). The producer goes back to the bootstrap
// address, now in front of another cluster, and learns a topic only that one has.
func TestRebootstrapTriggers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault kafkatest.Fault
	}{
		{"REBOOTSTRAP_REQUIRED", kafkatest.Fault{ErrorCode: wire.ErrRebootstrapRequired.Code}},
		{"trigger.ms", kafkatest.Fault{Swallow: true}},
	} {
		for _, recovery := range []MetadataRecovery{Rebootstrap, NoRecovery} {
			t.Run(fmt.Sprintf("%s/%s", tc.name, recovery), func(t *testing.T) {
				testutil.CheckNoLeaks(t)
				a := newCluster(t, kafkatest.SeedTopic("r", 1))
				b := newCluster(t, kafkatest.SeedTopic("only-b", 1))
				px := newSwitchProxy(t, a.Addrs()[0])
				cfg := recoveryConfig(px, recovery)
				cfg.RebootstrapTrigger = 500 * time.Millisecond
				p := newProducer(t, cfg)
				ctx := ctxTimeout(t, 30*time.Second)
				if errs := sendAll(ctx, p, "r", 0, 1); errs[0] != nil {
					t.Fatal(errs[0])
				}

				f := tc.fault
				f.Key, f.Broker, f.Times = wire.KeyMetadata, kafkatest.AnyBroker, -1
				a.InjectFault(f)
				px.point(b.Addrs()[0])

				err := sendAll(ctx, p, "only-b", 0, 1)[0]
				if recovery == NoRecovery {
					if !errors.Is(err, ErrTimeout) {
						t.Errorf("with metadata.recovery.strategy=none: %v, want a timeout waiting for metadata", err)
					}
					if st := p.Stats(); st.Rebootstraps != 0 {
						t.Errorf("with none: %d rebootstraps", st.Rebootstraps)
					}
					return
				}
				if err != nil {
					t.Fatalf("record for the topic only the new cluster has: %v", err)
				}
				checkValues(t, b, "only-b", 0, 1)
				if st := p.Stats(); st.Rebootstraps == 0 {
					t.Error("Stats.Rebootstraps is 0")
				}
			})
		}
	}
}
