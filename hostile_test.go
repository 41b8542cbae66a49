package producer

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"github.com/gregor-kafka/producer/internal/testutil"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

// hostileHook decides what a proxy writes back for one request: given the request's header
// and the broker's whole answer (size prefix included; nil for an answer the proxy makes up
// itself, as for ApiVersions), it returns the bytes to write (nil: nothing) and whether to
// close the connection after them.
type hostileHook func(h wire.RequestHeader, answer []byte) (out []byte, closeConn bool)

// proxy stands in front of one kafkatest broker, built on wire/ only: it forwards every
// request, rewrites broker addresses in Metadata and Produce answers to the proxies', and
// lets a hook replace answers. A cluster behind proxies is a cluster with one hostile node.
type proxy struct {
	ln       net.Listener
	upstream string
	net      *proxyNet
	hook     atomic.Pointer[hostileHook]
	accepts  atomic.Int64
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	wg       sync.WaitGroup
}

// proxyNet maps node ids to proxy addresses.
type proxyNet struct {
	proxies []*proxy
}

func startProxies(t testing.TB, c *kafkatest.Cluster) *proxyNet {
	t.Helper()
	return proxiesFor(t, c.Addrs())
}

func newProxy(tb testing.TB, pn *proxyNet, upstream string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return &proxy{ln: ln, upstream: upstream, net: pn, conns: map[net.Conn]struct{}{}}
}

// dropAll closes every connection through the proxy.
func (px *proxy) dropAll() {
	px.mu.Lock()
	defer px.mu.Unlock()
	for c := range px.conns {
		_ = c.Close()
	}
}

func (pn *proxyNet) addrs() []string {
	var out []string
	for _, px := range pn.proxies {
		out = append(out, px.ln.Addr().String())
	}
	return out
}

func (pn *proxyNet) close() {
	for _, px := range pn.proxies {
		_ = px.ln.Close()
		px.mu.Lock()
		for c := range px.conns {
			_ = c.Close()
		}
		px.mu.Unlock()
	}
	for _, px := range pn.proxies {
		px.wg.Wait()
	}
}

// setHook sets the proxy's hostility; nil makes it transparent.
func (px *proxy) setHook(h hostileHook) {
	if h == nil {
		px.hook.Store(nil)
		return
	}
	px.hook.Store(&h)
}

func (px *proxy) track(c net.Conn, add bool) {
	px.mu.Lock()
	defer px.mu.Unlock()
	if add {
		px.conns[c] = struct{}{}
	} else {
		delete(px.conns, c)
	}
}

func (px *proxy) serve() {
	defer px.wg.Done()
	for {
		c, err := px.ln.Accept()
		if err != nil {
			return
		}
		px.accepts.Add(1)
		px.wg.Add(1)
		go func() {
			defer px.wg.Done()
			px.handle(c)
		}()
	}
}

func (px *proxy) handle(c net.Conn) {
	defer c.Close()
	px.track(c, true)
	defer px.track(c, false)
	up, err := net.Dial("tcp", px.upstream)
	if err != nil {
		return
	}
	defer up.Close()
	px.track(up, true)
	defer px.track(up, false)
	cr, ur := bufio.NewReader(c), bufio.NewReader(up)
	for {
		req, err := wire.ReadFrame(cr, nil, 64<<20)
		if err != nil {
			return
		}
		h, _, err := wire.ParseRequestHeader(req)
		if err != nil {
			return
		}
		var hook hostileHook
		if hp := px.hook.Load(); hp != nil {
			hook = *hp
		}
		if h.APIKey == wire.KeyApiVersions && hook != nil {
			if out, closeConn := hook(h, nil); out != nil || closeConn {
				if _, err := c.Write(out); err != nil || closeConn {
					return
				}
				continue
			}
		}
		if _, err := up.Write(binary.BigEndian.AppendUint32(nil, uint32(len(req)))); err != nil {
			return
		}
		if _, err := up.Write(req); err != nil {
			return
		}
		resp, err := wire.ReadFrame(ur, nil, 64<<20)
		if err != nil {
			return
		}
		out := px.net.rewrite(h, resp)
		closeConn := false
		if hook != nil {
			out, closeConn = hook(h, out)
		}
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
		}
		if closeConn {
			return
		}
	}
}

// rewrite returns the answer with its size prefix, broker addresses replaced by the
// proxies' (Metadata brokers, Produce node endpoints).
func (pn *proxyNet) rewrite(h wire.RequestHeader, resp []byte) []byte {
	same := func() []byte { return append(binary.BigEndian.AppendUint32(nil, uint32(len(resp))), resp...) }
	corr, body, err := wire.ParseResponseHeader(resp, h.APIKey, h.APIVersion)
	if err != nil {
		return same()
	}
	hostPort := func(id int32) (string, int32, bool) {
		if id < 0 || int(id) >= len(pn.proxies) {
			return "", 0, false
		}
		a := pn.proxies[id].ln.Addr().(*net.TCPAddr)
		return a.IP.String(), int32(a.Port), true
	}
	switch h.APIKey {
	case wire.KeyMetadata:
		var m wire.MetadataResponse
		if m.Decode(body, h.APIVersion) != nil {
			return same()
		}
		for i := range m.Brokers {
			if host, port, ok := hostPort(m.Brokers[i].NodeID); ok {
				m.Brokers[i].Host, m.Brokers[i].Port = host, port
			}
		}
		return wire.AppendResponse(nil, corr, h.APIVersion, &m)
	case wire.KeyProduce:
		var p wire.ProduceResponse
		if p.Decode(body, h.APIVersion) != nil || len(p.NodeEndpoints) == 0 {
			return same()
		}
		for i := range p.NodeEndpoints {
			if host, port, ok := hostPort(p.NodeEndpoints[i].NodeID); ok {
				p.NodeEndpoints[i].Host, p.NodeEndpoints[i].Port = host, port
			}
		}
		return wire.AppendResponse(nil, corr, h.APIVersion, &p)
	}
	return same()
}

// Hostile behaviours. Each applies to the answers of one API key; the others pass.

func onKey(key int16, every int, f hostileHook) hostileHook {
	var n atomic.Int64
	return func(h wire.RequestHeader, answer []byte) ([]byte, bool) {
		if h.APIKey != key || answer == nil {
			return answer, false
		}
		if every > 1 && n.Add(1)%int64(every) != 0 {
			return answer, false
		}
		return f(h, answer)
	}
}

func wrongCorrelation(_ wire.RequestHeader, a []byte) ([]byte, bool) {
	out := append([]byte(nil), a...)
	binary.BigEndian.PutUint32(out[4:], binary.BigEndian.Uint32(out[4:])+1)
	return out, false
}

func truncatedThenClose(_ wire.RequestHeader, a []byte) ([]byte, bool) {
	return a[:4+(len(a)-4)/2], true
}

func truncatedStaysOpen(_ wire.RequestHeader, a []byte) ([]byte, bool) {
	return a[:4+(len(a)-4)/2], false
}

func hugeLengthPrefix(_ wire.RequestHeader, a []byte) ([]byte, bool) {
	out := append([]byte(nil), a...)
	binary.BigEndian.PutUint32(out, 0x7fffffff)
	return out, false
}

func garbageBody(seed uint64) hostileHook {
	rng := rand.New(rand.NewPCG(seed, seed))
	var mu sync.Mutex
	return func(_ wire.RequestHeader, a []byte) ([]byte, bool) {
		mu.Lock()
		defer mu.Unlock()
		out := append([]byte(nil), a[:8]...) // size and correlation id kept
		for len(out) < len(a) {
			out = append(out, byte(rng.Uint32()))
		}
		return out, false
	}
}

// emptyProduceAnswer is a well-formed Produce answer that names no partition at all.
func emptyProduceAnswer(h wire.RequestHeader, _ []byte) ([]byte, bool) {
	return wire.AppendResponse(nil, h.CorrelationID, h.APIVersion, &wire.ProduceResponse{}), false
}

// otherPartitionAnswer answers for a partition that was not asked about.
func otherPartitionAnswer(h wire.RequestHeader, a []byte) ([]byte, bool) {
	corr, body, err := wire.ParseResponseHeader(a[4:], h.APIKey, h.APIVersion)
	var p wire.ProduceResponse
	if err != nil || p.Decode(body, h.APIVersion) != nil {
		return a, false
	}
	for i := range p.Topics {
		for j := range p.Topics[i].Partitions {
			p.Topics[i].Partitions[j].Index += 1000
		}
	}
	return wire.AppendResponse(nil, corr, h.APIVersion, &p), false
}

// absurdCounts answers with an array count of 2^31-1 where the first array starts, and a
// few bytes behind it.
func absurdCounts(h wire.RequestHeader, _ []byte) ([]byte, bool) {
	out := []byte{0, 0, 0, 0}
	out = wire.AppendInt32(out, h.CorrelationID)
	out = wire.AppendEmptyTags(out, wire.ResponseHeaderFlexible(h.APIKey, h.APIVersion))
	out = wire.AppendInt32(out, 0) // throttle
	if wire.IsFlexible(h.APIKey, h.APIVersion) {
		out = wire.AppendUvarint(out, 0x7fffffff)
	} else {
		out = wire.AppendInt32(out, 0x7fffffff)
	}
	out = append(out, 0, 0, 0, 1, 0, 0)
	wire.PutInt32(out, 0, int32(len(out)-4))
	return out, false
}

// oldVersionsOnly answers ApiVersions with ranges the producer cannot use.
func oldVersionsOnly(h wire.RequestHeader, a []byte) ([]byte, bool) {
	if h.APIKey != wire.KeyApiVersions || a != nil {
		return a, false
	}
	resp := &wire.ApiVersionsResponse{FinalizedFeaturesEpoch: -1}
	for _, r := range wire.SupportedAPIs() {
		k := wire.ApiVersionsKey{APIKey: r.Key, MinVersion: 0, MaxVersion: 0}
		if r.Key == wire.KeyApiVersions {
			k.MaxVersion = 3
		}
		resp.APIKeys = append(resp.APIKeys, k)
	}
	return wire.AppendResponse(nil, h.CorrelationID, min(h.APIVersion, 3), resp), false
}

// TestHostileBroker runs a stream against three brokers, one of them hostile behind its
// proxy. With the hostility on every answer (persistent), the records of the partitions it
// leads fail with an error naming them and the others are all acknowledged; on every other
// answer (intermittent), everything is acknowledged, exactly once. Either way the producer
// reconnects with backoff, its memory stays bounded and it leaves no goroutine.
func TestHostileBroker(t *testing.T) {
	for _, tc := range []struct {
		name string
		hook func(every int) hostileHook
		// metadataOnly: the hostility hits Metadata, which other brokers answer; nothing may fail.
		metadataOnly bool
		intermittent bool // run the every-other-answer variant too
	}{
		{name: "wrong correlation id", hook: func(e int) hostileHook { return onKey(wire.KeyProduce, e, wrongCorrelation) }, intermittent: true},
		{name: "truncated frame, closed", hook: func(e int) hostileHook { return onKey(wire.KeyProduce, e, truncatedThenClose) }, intermittent: true},
		// Left open, the half answer takes the start of the next one: every answer after it
		// is misread, so there is no intermittent variant where everything gets through.
		{name: "truncated frame, left open", hook: func(e int) hostileHook { return onKey(wire.KeyProduce, e, truncatedStaysOpen) }},
		{name: "2 GiB length prefix", hook: func(e int) hostileHook { return onKey(wire.KeyProduce, e, hugeLengthPrefix) }, intermittent: true},
		// A size just under conn's 100 MiB cap and nothing behind it: the client may
		// allocate the frame before reading it; the log line says how much that costs.
		{name: "100 MiB length prefix, nothing behind", hook: func(e int) hostileHook {
			return onKey(wire.KeyProduce, e, func(_ wire.RequestHeader, a []byte) ([]byte, bool) {
				return binary.BigEndian.AppendUint32(nil, 100<<20-1), false
			})
		}},
		{name: "garbage Produce body", hook: func(e int) hostileHook { return onKey(wire.KeyProduce, e, garbageBody(1)) }, intermittent: true},
		{name: "Produce answer naming nothing", hook: func(e int) hostileHook { return onKey(wire.KeyProduce, e, emptyProduceAnswer) }, intermittent: true},
		{name: "Produce answer for other partitions", hook: func(e int) hostileHook { return onKey(wire.KeyProduce, e, otherPartitionAnswer) }, intermittent: true},
		{name: "Metadata with absurd counts", hook: func(e int) hostileHook { return onKey(wire.KeyMetadata, e, absurdCounts) }, metadataOnly: true},
		{name: "garbage Metadata body", hook: func(e int) hostileHook { return onKey(wire.KeyMetadata, e, garbageBody(2)) }, metadataOnly: true},
		{name: "unsupported versions only", hook: func(int) hostileHook { return oldVersionsOnly }},
	} {
		variants := []int{1}
		if tc.intermittent {
			variants = append(variants, 2)
		}
		for _, every := range variants {
			name := tc.name
			if every > 1 {
				name += "/intermittent"
			}
			t.Run(name, func(t *testing.T) {
				runHostile(t, tc.hook(every), every > 1 || tc.metadataOnly)
			})
		}
	}
}

// hostileLogger logs the producer's retries and reconnections when GREGOR_TEST_DEBUG is set.
var hostileLogger = func() *slog.Logger {
	if os.Getenv("GREGOR_TEST_DEBUG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}()

func runHostile(t *testing.T, hook hostileHook, allAcked bool) {
	testutil.CheckNoLeaks(t)
	c := newCluster(t, kafkatest.NumBrokers(3), kafkatest.SeedTopic("hostile", 6))
	pn := startProxies(t, c)
	pn.proxies[0].setHook(hook)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	// When every record must get through (every other answer is good), the retries need
	// room on a loaded machine: each bad answer kills the connection and its requests.
	delivery := 1500 * time.Millisecond
	if allAcked {
		delivery = 15 * time.Second
	}
	p, err := New(Config{BootstrapServers: pn.addrs(), Linger: time.Millisecond, BatchSize: 512,
		RequestTimeout: 300 * time.Millisecond, DeliveryTimeout: delivery,
		RetryBackoff: 10 * time.Millisecond, RetryBackoffMax: 100 * time.Millisecond, MaxBlock: 3 * time.Second, Logger: hostileLogger})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxTimeout(t, 30*time.Second)
	hostileParts := map[int32]bool{}
	for pa := int32(0); pa < 6; pa++ {
		hostileParts[pa] = c.Leader("hostile", pa) == 0
	}
	const n = 600
	futs := make([]*Future, n)
	for i := range futs {
		futs[i] = p.Send(ctx, Record{Topic: "hostile", Partition: ToPartition(int32(i % 6)), Value: []byte(strconv.Itoa(i))})
		if i%50 == 49 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	acked, failed := 0, 0
	for i, f := range futs {
		md, err := f.Get(ctx)
		pa := int32(i % 6)
		switch {
		case err == nil:
			acked++
			if md.Partition != pa {
				t.Errorf("record %d acknowledged in partition %d", i, md.Partition)
			}
		case allAcked || !hostileParts[pa]:
			t.Errorf("record %d (partition %d, hostile leader %v) failed: %v", i, pa, hostileParts[pa], err)
		default:
			failed++
			if failed == 1 {
				t.Logf("first failure: %v", err)
			}
			var pe *PartitionError
			if !errors.As(err, &pe) || pe.Partition != pa || pe.Topic != "hostile" {
				t.Errorf("record %d: error does not name its partition: %v", i, err)
			}
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	seen := make([]int, n)
	for pa := int32(0); pa < 6; pa++ {
		last := -1
		for _, r := range c.Records("hostile", pa) {
			v, _ := strconv.Atoi(string(r.Value))
			seen[v]++
			if hostileLogger != nil && hostileParts[pa] {
				t.Logf("p%d off %d v %d pid %d epoch %d seq %d", pa, r.Offset, v, r.ProducerID, r.ProducerEpoch, r.Sequence)
			}
			if v <= last {
				t.Errorf("partition %d: %d after %d", pa, v, last)
			}
			last = v
		}
	}
	for i, k := range seen {
		if k > 1 {
			t.Errorf("record %d stored %d times", i, k)
		}
		if k == 0 && futs[i].Wait(ctx) == nil {
			t.Errorf("record %d acknowledged but not stored", i)
		}
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grow := int64(after.HeapInuse) - int64(before.HeapInuse); grow > 32<<20 {
		t.Errorf("heap in use grew by %d MiB", grow>>20)
	}
	accepts := pn.proxies[0].accepts.Load()
	if accepts > 100 {
		t.Errorf("%d connections to the hostile broker: no backoff", accepts)
	}
	t.Logf("%d acknowledged, %d failed; %d connections to the hostile broker; heap in use %d → %d KiB, allocated %d MiB",
		acked, failed, accepts, before.HeapInuse>>10, after.HeapInuse>>10, (after.TotalAlloc-before.TotalAlloc)>>20)
}

// FuzzProducerAgainstBroker gives the producer fuzzed bytes as a broker's answer to its first
// Produce request (framed with the right size and correlation id, or raw), end to end through
// the producer; the following answers are the broker's. The send must end, with any outcome,
// within its deadline, the record must not be stored twice, and a second send must then be
// acknowledged: a bad answer costs one connection, not the producer.
func FuzzProducerAgainstBroker(f *testing.F) {
	ok := wire.AppendResponse(nil, 0, 13, &wire.ProduceResponse{Topics: []wire.ProduceTopicResponse{{
		Partitions: []wire.ProducePartitionResponse{{Index: 0, LogAppendTimeMs: -1, LogStartOffset: -1}}}}})
	f.Add(ok[8:], false)
	f.Add(ok, true)
	fatal := wire.AppendResponse(nil, 0, 13, &wire.ProduceResponse{Topics: []wire.ProduceTopicResponse{{
		Partitions: []wire.ProducePartitionResponse{{Index: 0, ErrorCode: wire.ErrInvalidRecord.Code}}}}})
	f.Add(fatal[8:], false)
	f.Add([]byte{}, false)
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff}, true)
	f.Add([]byte{0, 0, 0, 4, 0, 0, 0, 9}, true)
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xf0}, false) // an array count near 2^31
	f.Fuzz(runFuzzBody)
}

func runFuzzBody(t *testing.T, answer []byte, raw bool) {
	{
		c, err := kafkatest.NewCluster(kafkatest.NumBrokers(1), kafkatest.SeedTopic("fz", 1))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		pn := startProxies(t, c)
		var used atomic.Bool
		pn.proxies[0].setHook(func(h wire.RequestHeader, a []byte) ([]byte, bool) {
			if h.APIKey != wire.KeyProduce || a == nil || used.Swap(true) {
				return a, false
			}
			if raw {
				return answer, false
			}
			out := wire.AppendInt32(nil, 0)
			out = wire.AppendInt32(out, h.CorrelationID)
			out = wire.AppendEmptyTags(out, wire.ResponseHeaderFlexible(h.APIKey, h.APIVersion))
			out = append(out, answer...)
			wire.PutInt32(out, 0, int32(len(out)-4))
			return out, false
		})
		p, err := New(Config{BootstrapServers: pn.addrs(), Linger: -1, RequestTimeout: 200 * time.Millisecond,
			DeliveryTimeout: 2 * time.Second, RetryBackoff: 5 * time.Millisecond, RetryBackoffMax: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		first := p.Send(ctx, Record{Topic: "fz", Value: []byte("first")})
		select {
		case <-first.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("the first send did not end within 5s")
		}
		if err := p.Send(ctx, Record{Topic: "fz", Value: []byte("second")}).Wait(ctx); err != nil {
			t.Fatalf("second send after the fuzzed answer (first: %v): %v", first.Wait(ctx), err)
		}
		var firsts, seconds int
		for _, r := range c.Records("fz", 0) {
			switch string(r.Value) {
			case "first":
				firsts++
			case "second":
				seconds++
			}
		}
		if firsts > 1 || seconds != 1 {
			t.Fatalf("stored %d firsts and %d seconds", firsts, seconds)
		}
		if err := first.Wait(ctx); err == nil && firsts != 1 {
			t.Fatal("first acknowledged but not stored")
		}
	}
}

// TestFramePrefixDoesNotAllocateAhead: a broker that announces a 100 MiB answer (under
// conn's default cap) and sends nothing more makes the client allocate the whole frame up
// front, per connection and per retry; the memory should follow the bytes that arrive.
func TestFramePrefixDoesNotAllocateAhead(t *testing.T) {
	c := newCluster(t, kafkatest.NumBrokers(1), kafkatest.SeedTopic("prefix", 1))
	pn := startProxies(t, c)
	var once atomic.Bool
	once.Store(true) // armed after the warm-up
	pn.proxies[0].setHook(func(h wire.RequestHeader, a []byte) ([]byte, bool) {
		if h.APIKey == wire.KeyProduce && a != nil && !once.Swap(true) {
			return binary.BigEndian.AppendUint32(nil, 100<<20-1), false
		}
		return a, false
	})
	p := newProducer(t, Config{BootstrapServers: pn.addrs(), RequestTimeout: 200 * time.Millisecond, Linger: -1})
	ctx := ctxTimeout(t, 20*time.Second)
	if err := p.Send(ctx, Record{Topic: "prefix", Value: []byte("warm")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	once.Store(false)
	if err := p.Send(ctx, Record{Topic: "prefix", Value: []byte("v")}).Wait(ctx); err != nil {
		t.Fatal(err) // retried on a new connection
	}
	runtime.ReadMemStats(&after)
	if !once.Load() {
		t.Fatal("the hostile answer was not sent")
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 16<<20 {
		t.Fatalf("a 4-byte answer cost %d MiB of allocation", d>>20)
	}
}
