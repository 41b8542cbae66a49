// Package conn is one client connection to a Kafka broker: dialing with the configured socket
// buffers, ApiVersions negotiation (KIP-511), correlation ids, pipelined requests whose
// responses are read in order by one reader goroutine, and request deadlines.
package conn

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// ErrClosed is the error of calls on, or pending on, a connection that was closed.
var ErrClosed = errors.New("conn: connection closed")

// ErrRequestTimeout is the error of requests whose answer did not come within the request
// timeout; the connection is closed with them, since later answers cannot be trusted.
var ErrRequestTimeout = errors.New("conn: request timed out")

// ErrNotKafka is the error of a connection whose peer answered with bytes that are not a
// Kafka response (an HTTP server, say).
var ErrNotKafka = errors.New("not a Kafka broker")

// ErrBrokerSpeaksTLS is the error of a plaintext connection whose peer answered with a TLS
// record (an alert, or a handshake): the listener is SSL or SASL_SSL.
var ErrBrokerSpeaksTLS = errors.New("the broker port speaks TLS (security.protocol?)")

// Options configure a connection.
type Options struct {
	ClientID string
	// SendBufferBytes and ReceiveBufferBytes set the socket buffers; 0 or -1 keeps the OS
	// defaults.
	SendBufferBytes, ReceiveBufferBytes int
	// RequestTimeout bounds each request's wait for its answer; 0 means 30 s.
	RequestTimeout time.Duration
	// MaxResponseSize caps a response frame; 0 means 100 MiB.
	MaxResponseSize int
	// Dialer dials; nil means a net.Dialer.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
	// SoftwareName and SoftwareVersion go in ApiVersions v3+ (KIP-511).
	SoftwareName, SoftwareVersion string

	// TLS, when not nil, secures the connection (security.protocol SSL or SASL_SSL); an
	// empty ServerName is taken from the host of the address dialed.
	TLS *tls.Config
	// SASL, when not nil, authenticates the connection after ApiVersions (SASL_PLAINTEXT or
	// SASL_SSL) and re-authenticates it before its session expires (KIP-368).
	SASL Mechanism
}

// Handler receives the answer to a request sent with [Conn.Send]: the response body, or
// the error that ended the request. It runs on the connection's reader goroutine, must not
// block, and must not keep body after returning.
type Handler interface {
	HandleResponse(body []byte, err error)
}

// Conn is a connection to one broker. Its methods are safe for concurrent use.
type Conn struct {
	nc       net.Conn
	addr     string
	opts     Options
	clientID *string
	versions [64]int16        // by API key: the version to use, or -1 when none is shared
	features map[string]int16 // finalized feature levels (KIP-584), read-only after Dial

	wmu  sync.Mutex // guards wbuf, cuts, refs, iov, corr and the order of pending with writes
	wbuf []byte
	corr int32
	// A PiecewiseRequest is written with one vectored write: wbuf cut at cuts, refs between.
	cuts []int
	refs [][]byte
	iov  net.Buffers

	pmu        sync.Mutex
	pending    []pendingCall // FIFO of requests awaiting an answer, from head
	head       int
	err        error // set once when the connection dies
	dead       chan struct{}
	readerDone chan struct{}
	lastUse    time.Time
}

type pendingCall struct {
	corr     int32
	key, ver int16
	deadline time.Time
	h        Handler
}

// Dial connects to addr, negotiates API versions and starts the reader goroutine.
func Dial(ctx context.Context, addr string, opts Options) (*Conn, error) {
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 30 * time.Second
	}
	if opts.MaxResponseSize <= 0 {
		opts.MaxResponseSize = 100 << 20
	}
	if opts.SoftwareName == "" {
		opts.SoftwareName, opts.SoftwareVersion = "gregor", "0.1.0"
	}
	dial := opts.Dialer
	if dial == nil {
		d := &net.Dialer{Timeout: opts.RequestTimeout}
		dial = d.DialContext
	}
	nc, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("conn: dial %s: %w", addr, err)
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		if opts.SendBufferBytes > 0 {
			_ = tc.SetWriteBuffer(opts.SendBufferBytes)
		}
		if opts.ReceiveBufferBytes > 0 {
			_ = tc.SetReadBuffer(opts.ReceiveBufferBytes)
		}
		_ = tc.SetNoDelay(true)
	}
	if opts.TLS != nil {
		if nc, err = startTLS(ctx, nc, addr, opts.TLS); err != nil {
			return nil, err
		}
	}
	c := &Conn{nc: nc, addr: addr, opts: opts, dead: make(chan struct{}), readerDone: make(chan struct{}), lastUse: time.Now()}
	c.clientID = &c.opts.ClientID
	for i := range c.versions {
		c.versions[i] = -1
	}
	av, _ := wire.LookupAPI(wire.KeyApiVersions)
	c.versions[wire.KeyApiVersions] = av.Max
	go c.readLoop()
	if err := c.negotiate(ctx); err != nil {
		c.Close()
		if pe := (*peerError)(nil); errors.As(err, &pe) {
			return nil, pe
		}
		if ae := tlsAuthError(addr, err); opts.TLS != nil && ae != nil {
			return nil, ae
		}
		return nil, fmt.Errorf("conn: %s: %w", addr, err)
	}
	if opts.SASL != nil {
		if err := c.startSASL(ctx); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// negotiate sends ApiVersions and keeps, for each API, the highest version both sides
// support. A broker that does not know our ApiVersions version answers with a v0 body and
// error UNSUPPORTED_VERSION (KIP-511); we then ask again at the highest version it gave.
func (c *Conn) negotiate(ctx context.Context) error {
	req := &wire.ApiVersionsRequest{ClientSoftwareName: c.opts.SoftwareName, ClientSoftwareVersion: c.opts.SoftwareVersion}
	var resp wire.ApiVersionsResponse
	for attempt := 0; ; attempt++ {
		err := c.Call(ctx, req, &resp)
		if err != nil && !errors.Is(err, wire.ErrUnsupportedVersion) {
			return fmt.Errorf("ApiVersions: %w", err)
		}
		if resp.ErrorCode == 0 && err == nil {
			break
		}
		if attempt > 0 || !errors.Is(wire.ErrorForCode(resp.ErrorCode), wire.ErrUnsupportedVersion) {
			return fmt.Errorf("ApiVersions: %w", wire.ErrorForCode(resp.ErrorCode))
		}
		theirs := int16(0)
		for _, k := range resp.APIKeys {
			if k.APIKey == wire.KeyApiVersions {
				theirs = k.MaxVersion
			}
		}
		c.versions[wire.KeyApiVersions] = min(theirs, c.versions[wire.KeyApiVersions])
	}
	c.features = make(map[string]int16, len(resp.FinalizedFeatures))
	for _, f := range resp.FinalizedFeatures {
		c.features[f.Name] = f.MaxVersionLevel
	}
	for _, ours := range wire.SupportedAPIs() {
		for _, k := range resp.APIKeys {
			if k.APIKey != ours.Key {
				continue
			}
			if v := min(ours.Max, k.MaxVersion); v >= max(ours.Min, k.MinVersion) {
				c.versions[ours.Key] = v
			}
		}
	}
	return nil
}

// Addr returns the address dialed.
func (c *Conn) Addr() string { return c.addr }

// Version returns the version of API key to use on this connection: the highest both sides
// support. It fails when the broker supports none of the versions we implement.
func (c *Conn) Version(key int16) (int16, error) {
	if key < 0 || int(key) >= len(c.versions) || c.versions[key] < 0 {
		return 0, fmt.Errorf("conn: broker %s supports no version of %s that we implement: %w",
			c.addr, wire.APIName(key), wire.ErrUnsupportedVersion)
	}
	return c.versions[key], nil
}

// FinalizedFeature returns the cluster-wide level of a feature (KIP-584) as the broker
// reported it in ApiVersions v3+, such as "transaction.version"; 0 when not finalized.
func (c *Conn) FinalizedFeature(name string) int16 { return c.features[name] }

// Done is closed when the connection has died or been closed.
func (c *Conn) Done() <-chan struct{} { return c.dead }

// Err returns why the connection died, or nil while it is alive.
func (c *Conn) Err() error {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	return c.err
}

// Idle returns how long the connection has had no request in flight and none sent.
func (c *Conn) Idle() time.Duration {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if c.head < len(c.pending) {
		return 0
	}
	return time.Since(c.lastUse)
}

// InFlight returns how many requests await their answer.
func (c *Conn) InFlight() int {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	return len(c.pending) - c.head
}

// Close closes the connection and waits for its reader goroutine to end; pending requests
// fail with [ErrClosed]. It must not be called from a [Handler]; use Abort there.
func (c *Conn) Close() error {
	c.die(ErrClosed)
	<-c.readerDone
	return nil
}

// Abort closes the connection because of err without waiting; pending requests fail with
// err. It may be called from a Handler.
func (c *Conn) Abort(err error) { c.die(err) }

// die closes the connection with err and fails every pending request with it, once.
func (c *Conn) die(err error) {
	c.pmu.Lock()
	if c.err != nil {
		c.pmu.Unlock()
		return
	}
	c.err = err
	calls := c.pending[c.head:]
	c.pending, c.head = nil, 0
	close(c.dead)
	c.pmu.Unlock()
	_ = c.nc.Close()
	for _, p := range calls {
		p.h.HandleResponse(nil, err)
	}
}

// Send writes req at version and registers h for its answer. With expectResponse, h is
// called exactly once: with the answer, or with the error that ended the request, also when
// Send itself fails. With expectResponse false (Produce with acks=0) h is never called. An
// error means the request was not written (and the connection is dead).
func (c *Conn) Send(req wire.Request, version int16, expectResponse bool, h Handler) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.sendLocked(req, version, expectResponse, h)
}

// sendLocked is Send with c.wmu held.
func (c *Conn) sendLocked(req wire.Request, version int16, expectResponse bool, h Handler) error {
	c.corr++
	c.cuts, c.refs = c.cuts[:0], c.refs[:0]
	hdr := wire.RequestHeader{APIVersion: version, CorrelationID: c.corr, ClientID: c.clientID}
	switch r := req.(type) {
	case *rawToken:
		c.wbuf = appendRawFrame(c.wbuf[:0], *r)
	case wire.PiecewiseRequest:
		c.wbuf, c.cuts, c.refs = wire.AppendRequestPieces(c.wbuf[:0], hdr, r, c.cuts, c.refs)
	default:
		c.wbuf = wire.AppendRequest(c.wbuf[:0], hdr, req)
	}
	now := time.Now()
	deadline := now.Add(c.opts.RequestTimeout)

	c.pmu.Lock()
	if c.err != nil {
		err := c.err
		c.pmu.Unlock()
		if expectResponse {
			h.HandleResponse(nil, err)
		}
		return err
	}
	c.lastUse = now
	if expectResponse {
		if c.head == len(c.pending) {
			c.pending, c.head = c.pending[:0], 0
			_ = c.nc.SetReadDeadline(deadline)
		}
		c.pending = append(c.pending, pendingCall{corr: c.corr, key: req.Key(), ver: version, deadline: deadline, h: h})
	}
	c.pmu.Unlock()

	_ = c.nc.SetWriteDeadline(deadline)
	if err := c.write(); err != nil {
		c.die(fmt.Errorf("conn: write to %s: %w", c.addr, err))
		return c.Err() // the first cause: the reader may have met it (a TLS alert) first
	}
	if cap(c.wbuf) > 4<<20 { // do not pin a huge buffer after one large request
		c.wbuf = nil
	}
	return nil
}

// write writes the frame in wbuf, with refs inserted at cuts: one write, vectored (writev)
// when there are refs, so that they are not copied.
func (c *Conn) write() error {
	if len(c.refs) == 0 {
		_, err := c.nc.Write(c.wbuf)
		return err
	}
	iov := c.iov[:0]
	from := 0
	for i, cut := range c.cuts {
		if cut > from {
			iov = append(iov, c.wbuf[from:cut])
		}
		iov = append(iov, c.refs[i])
		from = cut
	}
	if from < len(c.wbuf) {
		iov = append(iov, c.wbuf[from:])
	}
	c.iov = iov
	_, err := c.iov.WriteTo(c.nc) // consumes c.iov's elements, not the buffers
	clear(iov)                    // keep no reference to batches once written
	clear(c.refs)
	c.iov = iov[:0]
	return err
}

// callHandler turns an asynchronous answer into a synchronous one.
type callHandler struct {
	resp    wire.Response
	version int16
	done    chan error
	check   func() error // optional, run once resp is decoded: see callLocked
}

func (h *callHandler) HandleResponse(body []byte, err error) {
	if err == nil {
		err = decodeResponse(h.resp, body, h.version)
	}
	if err == nil && h.check != nil {
		err = h.check()
	}
	h.done <- err
}

// decodeResponse decodes body into resp. An ApiVersions answer may come as a v0 body
// whatever version was asked (KIP-511).
func decodeResponse(resp wire.Response, body []byte, version int16) error {
	var err error
	if av, ok := resp.(*wire.ApiVersionsResponse); ok {
		_, err = av.DecodeWithFallback(body, version)
	} else {
		err = resp.Decode(body, version)
	}
	if err != nil {
		return fmt.Errorf("decoding %s v%d response: %w", wire.APIName(resp.Key()), version, err)
	}
	return nil
}

// Call sends req at the negotiated version and decodes the answer into resp. It returns
// when the answer arrives, the request times out, the connection dies or ctx ends (the
// request then stays in flight, and its answer is discarded).
func (c *Conn) Call(ctx context.Context, req wire.Request, resp wire.Response) error {
	return c.CallMax(ctx, req, resp, math.MaxInt16)
}

// CallMax is Call at the negotiated version capped at maxVersion (AddPartitionsToTxn v4+ is
// for brokers only, for example).
func (c *Conn) CallMax(ctx context.Context, req wire.Request, resp wire.Response, maxVersion int16) error {
	version, err := c.Version(req.Key())
	if err != nil {
		return err
	}
	version = min(version, maxVersion)
	h := &callHandler{resp: resp, version: version, done: make(chan error, 1)}
	if err := c.Send(req, version, true, h); err != nil {
		return err
	}
	if err := h.wait(ctx); err != nil {
		return &unansweredError{err}
	}
	return nil
}

// unansweredError is the error of a call whose request was written but got no usable
// answer (the connection ended, the answer did not decode, or ctx ended first): the broker
// may have acted on it. Its text and what it wraps are the cause's.
type unansweredError struct{ err error }

func (e *unansweredError) Error() string { return e.err.Error() }
func (e *unansweredError) Unwrap() error { return e.err }

// Unanswered reports whether err, from Call or CallMax, came after the request was written:
// the broker may have acted on it. Errors of a request never written report false.
func Unanswered(err error) bool {
	var u *unansweredError
	return errors.As(err, &u)
}

// wait returns the call's outcome, or ctx's error if it ends first (the answer is then
// discarded when it comes).
func (h *callHandler) wait(ctx context.Context) error {
	select {
	case err := <-h.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// readLoop reads answers in order and hands each to the request at the head of the queue.
func (c *Conn) readLoop() {
	defer close(c.readerDone)
	br := bufio.NewReaderSize(c.nc, 64<<10)
	var buf []byte
	for first := true; ; first = false {
		if first {
			// What answers the first request tells a Kafka broker from something else.
			if err := c.checkFirstBytes(br); err != nil {
				c.die(err)
				return
			}
		}
		frame, err := wire.ReadFrame(br, buf, c.opts.MaxResponseSize)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				err = fmt.Errorf("%w (broker %s, after %v)", ErrRequestTimeout, c.addr, c.opts.RequestTimeout)
			} else {
				err = fmt.Errorf("conn: read from %s: %w", c.addr, err)
			}
			c.die(err)
			return
		}
		buf = frame[:0]
		c.pmu.Lock()
		if c.head == len(c.pending) {
			c.pmu.Unlock()
			c.die(fmt.Errorf("conn: %s sent an answer to no request", c.addr))
			return
		}
		p := c.pending[c.head]
		c.pending[c.head] = pendingCall{}
		c.head++
		if c.head >= 64 && c.head*2 >= len(c.pending) { // keep the queue from creeping
			n := copy(c.pending, c.pending[c.head:])
			clear(c.pending[n:])
			c.pending, c.head = c.pending[:n], 0
		}
		if c.head < len(c.pending) {
			_ = c.nc.SetReadDeadline(c.pending[c.head].deadline)
		} else {
			_ = c.nc.SetReadDeadline(time.Time{})
			c.lastUse = time.Now()
		}
		c.pmu.Unlock()

		id, body, err := p.corr, frame, error(nil) // a raw SASL token has no header
		if p.key != rawKey {
			id, body, err = wire.ParseResponseHeader(frame, p.key, p.ver)
		}
		if err == nil && id != p.corr {
			err = fmt.Errorf("conn: %s answered correlation id %d, expected %d", c.addr, id, p.corr)
			if first {
				err = &peerError{fmt.Sprintf("conn: %s: %v: it answered correlation id %d to the first request", c.addr, ErrNotKafka, id), ErrNotKafka}
			}
		}
		if err != nil {
			p.h.HandleResponse(nil, err)
			c.die(err)
			return
		}
		p.h.HandleResponse(body, nil)
		if cap(buf) > 1<<20 {
			buf = nil
		}
	}
}

// checkFirstBytes looks at the first bytes of the peer's first answer, before they are read
// as a frame: a TLS record (an alert, or a handshake: 0x15 or 0x16, then version 3.x) means a
// TLS listener met by a plaintext client; "HTTP" an HTTP server; a size no Kafka answer has,
// or a connection closed before any byte, perhaps a listener for another security.protocol
// (Go's TLS servers close without an alert). It returns
// nil when the bytes may start a Kafka response, or when reading them failed otherwise (the
// frame read then meets the same failure).
func (c *Conn) checkFirstBytes(br *bufio.Reader) error {
	hdr, err := br.Peek(4)
	switch {
	case len(hdr) >= 2 && (hdr[0] == 0x15 || hdr[0] == 0x16) && hdr[1] == 0x03:
		return &peerError{fmt.Sprintf("conn: %s: %v: it answered with a TLS record", c.addr, ErrBrokerSpeaksTLS), ErrBrokerSpeaksTLS}
	case len(hdr) >= 4 && string(hdr) == "HTTP":
		return &peerError{fmt.Sprintf("conn: %s: %v: it answered HTTP", c.addr, ErrNotKafka), ErrNotKafka}
	case len(hdr) == 4:
		if n := int32(binary.BigEndian.Uint32(hdr)); n < 4 || int(n) > c.opts.MaxResponseSize {
			return &peerError{fmt.Sprintf("conn: %s: %v: its answer starts with %q, not a frame size", c.addr, ErrNotKafka, hdr), ErrNotKafka}
		}
	case errors.Is(err, io.EOF) && len(hdr) == 0:
		// A Kafka broker may do this too (max.connections.per.ip, shutting down): a hint only.
		return &peerError{fmt.Sprintf("conn: %s closed the connection without answering (a listener for another security.protocol, or not a Kafka broker?)", c.addr), err}
	}
	return nil
}

// peerError says what the peer's first answer, or its absence, tells of it. Dial returns it
// as it is: it names the address.
type peerError struct {
	msg   string
	cause error // ErrNotKafka, ErrBrokerSpeaksTLS or io.EOF
}

func (e *peerError) Error() string { return e.msg }
func (e *peerError) Unwrap() error { return e.cause }
