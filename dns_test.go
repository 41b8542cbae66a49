package producer

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/internal/testutil"
	"github.com/gregor-kafka/producer/kafkatest"
)

// fakeResolver answers from fixed tables and records every lookup.
type fakeResolver struct {
	hosts map[string][]string // name -> addresses
	addrs map[string][]string // address -> names

	mu      sync.Mutex
	lookups []string // "host NAME" and "addr ADDRESS", in order
}

func (r *fakeResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lookups = append(r.lookups, "host "+host)
	if a, ok := r.hosts[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func (r *fakeResolver) LookupAddr(_ context.Context, addr string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lookups = append(r.lookups, "addr "+addr)
	if n, ok := r.addrs[addr]; ok {
		return n, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: addr, IsNotFound: true}
}

func (r *fakeResolver) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lookups)
}

func (r *fakeResolver) count(entry string) int {
	n := 0
	for _, l := range r.seen() {
		if l == entry {
			n++
		}
	}
	return n
}

// TestDNSUseAllIPs: client.dns.lookup=use_all_dns_ips. The bootstrap name resolves to an
// address where no broker listens, then to the broker's: the producer connects through the
// second. Every new connection resolves the name again (Ping dials it each time).
func TestDNSUseAllIPs(t *testing.T) {
	testutil.CheckNoLeaks(t)
	c := newCluster(t, kafkatest.SeedTopic("dns", 1), kafkatest.NumBrokers(1))
	_, port, _ := net.SplitHostPort(c.Addrs()[0])
	// The dead address must share the broker's port: 127.0.0.2 is loopback too, and nothing
	// listens there on that port.
	r := &fakeResolver{hosts: map[string][]string{"kafka.test": {"127.0.0.2", "127.0.0.1"}}}
	p := newProducer(t, Config{BootstrapServers: []string{net.JoinHostPort("kafka.test", port)}, Resolver: r,
		SetupTimeout: 5 * time.Second})
	ctx := ctxTimeout(t, 20*time.Second)
	if _, err := p.Send(ctx, Record{Topic: "dns", Value: []byte("v")}).Get(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(c.Records("dns", 0)); n != 1 {
		t.Fatalf("%d records written, want 1", n)
	}
	before := r.count("host kafka.test")
	if before == 0 {
		t.Fatal("the resolver was never asked")
	}
	for range 2 {
		if err := p.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.count("host kafka.test"); got != before+2 {
		t.Errorf("kafka.test looked up %d times after two more connections, want %d: a new connection resolves again", got, before+2)
	}
	if slices.Contains(r.seen(), "addr 127.0.0.1") {
		t.Error("use_all_dns_ips made a reverse lookup")
	}

	// Only the dead address: the producer cannot connect, and says which name failed.
	r2 := &fakeResolver{hosts: map[string][]string{"kafka.test": {"127.0.0.2"}}}
	p2 := newProducer(t, Config{BootstrapServers: []string{net.JoinHostPort("kafka.test", port)}, Resolver: r2,
		SetupTimeout: time.Second})
	if err := p2.Ping(ctx); err == nil {
		t.Fatal("Ping through a name with only a dead address succeeded")
	}
}

// TestDNSCanonicalBootstrap: client.dns.lookup=resolve_canonical_bootstrap_servers_only.
// The bootstrap name is an alias; the producer bootstraps from the canonical name of its
// address, as a reverse lookup gives it.
func TestDNSCanonicalBootstrap(t *testing.T) {
	testutil.CheckNoLeaks(t)
	c := newCluster(t, kafkatest.SeedTopic("dns", 1), kafkatest.NumBrokers(1))
	_, port, _ := net.SplitHostPort(c.Addrs()[0])
	r := &fakeResolver{
		hosts: map[string][]string{"alias.test": {"127.0.0.1"}, "broker1.test": {"127.0.0.1"}},
		addrs: map[string][]string{"127.0.0.1": {"broker1.test."}},
	}
	p := newProducer(t, Config{BootstrapServers: []string{net.JoinHostPort("alias.test", port)}, Resolver: r,
		ClientDNSLookup: ResolveCanonicalBootstrapServersOnly})
	ctx := ctxTimeout(t, 20*time.Second)
	if _, err := p.Send(ctx, Record{Topic: "dns", Value: []byte("v")}).Get(ctx); err != nil {
		t.Fatal(err)
	}
	got := r.seen()
	want := []string{"host alias.test", "addr 127.0.0.1", "host broker1.test"}
	if len(got) < 3 || !slices.Equal(got[:3], want) {
		t.Fatalf("lookups %v, want them to start with %v", got, want)
	}
}
