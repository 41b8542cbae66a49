package kafkatest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// broker is one node of the cluster: a listener and the connections it accepted. It can be
// stopped and started again, on the same address or a new one.
type broker struct {
	c  *Cluster
	id int32

	mu      sync.Mutex
	addr    string // the address to listen on; after the first start, the bound one
	host    string
	port    int32
	ln      net.Listener
	running bool
	done    chan struct{} // closed by stop; the running generation's signal
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup // the accept loop and the connection goroutines

	unlisted atomic.Bool // left out of Metadata answers' broker lists (Cluster.UnlistBroker)
}

// start listens on b.addr and serves connections until stop. It does nothing if b runs.
func (b *broker) start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running {
		return nil
	}
	return b.listenLocked()
}

// startAt starts the stopped b on addr, a new address.
func (b *broker) startAt(addr string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running {
		return fmt.Errorf("kafkatest: broker %d runs: stop it before it moves to a new address", b.id)
	}
	old, host, port := b.addr, b.host, b.port
	b.addr, b.host = addr, ""
	if err := b.listenLocked(); err != nil {
		b.addr, b.host, b.port = old, host, port
		return err
	}
	return nil
}

// listenLocked listens on b.addr, learns the address bound, and serves. b.mu is held.
func (b *broker) listenLocked() error {
	ln, err := net.Listen("tcp", b.addr)
	if err != nil {
		return fmt.Errorf("kafkatest: broker %d: %w", b.id, err)
	}
	if b.host == "" {
		host, port, err := net.SplitHostPort(ln.Addr().String())
		if err != nil {
			ln.Close()
			return fmt.Errorf("kafkatest: broker %d: %w", b.id, err)
		}
		p, _ := strconv.Atoi(port)
		b.addr, b.host, b.port = ln.Addr().String(), host, int32(p)
	}
	b.ln, b.running = ln, true
	b.done = make(chan struct{})
	b.conns = make(map[net.Conn]struct{})
	b.wg.Add(1)
	go b.acceptLoop(ln, b.done)
	return nil
}

// stop closes the listener and every connection and waits for their goroutines to end.
func (b *broker) stop() {
	b.mu.Lock()
	if !b.running {
		b.mu.Unlock()
		return
	}
	b.running = false
	close(b.done)
	b.ln.Close()
	for nc := range b.conns {
		nc.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *broker) address() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addr
}

// endpoint returns the broker's host and port, as Metadata and Produce responses name it.
func (b *broker) endpoint() (string, int32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.host, b.port
}

func (b *broker) acceptLoop(ln net.Listener, done chan struct{}) {
	defer b.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			select {
			case <-done:
			default:
				b.c.log.Error("kafkatest: accept failed", "broker", b.id, "err", err)
			}
			return
		}
		b.mu.Lock()
		select {
		case <-done:
			b.mu.Unlock()
			nc.Close()
			return
		default:
		}
		b.conns[nc] = struct{}{}
		b.wg.Add(1)
		b.mu.Unlock()
		go b.serve(nc, done)
	}
}

// conn is one client connection. Its goroutine reads a request, handles it and writes the
// answer before reading the next, so answers leave in request order, as from Kafka.
type conn struct {
	sasl saslState // authentication, when the cluster has SASL on: sasl.go

	b    *broker
	nc   net.Conn
	done <-chan struct{}

	in      []byte
	out     []byte
	produce wire.ProduceRequest // reused by every Produce request
	recs    []wire.Record       // scratch for validating records
}

// maxKeptBuffer is the largest request or response buffer a connection keeps between
// requests; a larger one, needed once, is dropped.
const maxKeptBuffer = 4 << 20

func (b *broker) serve(nc net.Conn, done <-chan struct{}) {
	defer b.wg.Done()
	cn := &conn{b: b, nc: b.c.serverConn(nc), done: done}
	defer func() {
		nc.Close()
		b.mu.Lock()
		delete(b.conns, nc)
		b.mu.Unlock()
	}()
	for {
		frame, err := wire.ReadFrame(cn.nc, cn.in, b.c.cfg.maxFrameSize)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				cn.logClose(nil, err)
			}
			return
		}
		if !cn.handle(frame) {
			return
		}
		cn.in = frame[:0]
		if cap(cn.in) > maxKeptBuffer {
			cn.in = nil
		}
		if cap(cn.out) > maxKeptBuffer {
			cn.out = nil
		}
	}
}

// logClose logs why the connection is being closed, naming the request when there is one.
func (cn *conn) logClose(h *wire.RequestHeader, err error) {
	args := []any{"broker", cn.b.id, "remote", cn.nc.RemoteAddr().String(), "err", err}
	if h != nil {
		args = append(args, "api", wire.APIName(h.APIKey), "version", h.APIVersion, "correlation_id", h.CorrelationID)
	}
	cn.b.c.log.Info("kafkatest: closing connection", args...)
}

// exchange is one request being handled: its header and body, the fault that matched it
// (non-Produce APIs; Produce matches per partition) and what the faults ask of the answer.
type exchange struct {
	hdr   wire.RequestHeader
	body  []byte
	fault *Fault

	delay   time.Duration
	swallow bool
	drop    bool
}

// addEffects records what fault f does to the answer: the longest delay wins; any swallow
// or drop applies.
func (ex *exchange) addEffects(f *Fault) {
	ex.delay = max(ex.delay, f.Delay)
	ex.swallow = ex.swallow || f.Swallow
	ex.drop = ex.drop || f.DropConnection
}

// faultCode returns the error code the matched fault asks for, or 0.
func (ex *exchange) faultCode() int16 {
	if ex.fault == nil {
		return 0
	}
	return ex.fault.ErrorCode
}

// handler answers one request. It returns the response to send, nil to send none (acks=0),
// or an error to close the connection, as Kafka does for requests it cannot parse.
type handler func(cn *conn, ex *exchange) (wire.Response, error)

// handlers maps each API key the brokers answer to its handler, one file per API. Requests
// for any other key close the connection. ApiVersions advertises exactly these APIs.
var handlers = map[int16]handler{
	wire.KeyProduce:            handleProduce,
	wire.KeyFetch:              handleFetch,
	wire.KeyListOffsets:        handleListOffsets,
	wire.KeyMetadata:           handleMetadata,
	wire.KeyFindCoordinator:    handleFindCoordinator,
	wire.KeyApiVersions:        handleApiVersions,
	wire.KeyInitProducerID:     handleInitProducerID,
	wire.KeyAddPartitionsToTxn: handleAddPartitionsToTxn,
	wire.KeyEndTxn:             handleEndTxn,
	wire.KeyAddOffsetsToTxn:    handleAddOffsetsToTxn,
	wire.KeyTxnOffsetCommit:    handleTxnOffsetCommit,
}

// handle handles one request frame and reports whether the connection stays open.
func (cn *conn) handle(frame []byte) bool {
	if cn.sasl.raw {
		return cn.saslRawToken(frame)
	}
	c := cn.b.c
	hdr, body, err := wire.ParseRequestHeader(frame)
	if len(frame) >= 4 {
		c.countRequest(hdr.APIKey)
	}
	if err != nil {
		if hdr.APIKey == wire.KeyApiVersions && body != nil {
			return cn.write(unsupportedApiVersions(hdr))
		}
		cn.logClose(&hdr, err)
		return false
	}
	if handled, keep := cn.saslRequest(&hdr, body); handled {
		return keep
	}
	h, ok := c.handler(hdr.APIKey, hdr.APIVersion)
	if !ok {
		cn.logClose(&hdr, fmt.Errorf("no handler for %s", wire.APIName(hdr.APIKey)))
		return false
	}
	ex := &exchange{hdr: hdr, body: body}
	if hdr.APIKey != wire.KeyProduce {
		if f := c.faults.match(hdr.APIKey, cn.b.id); f != nil {
			ex.fault = f
			ex.addEffects(f)
		}
	}
	resp, err := h(cn, ex)
	if err != nil {
		cn.logClose(&hdr, err)
		return false
	}
	if ex.delay > 0 {
		t := time.NewTimer(ex.delay)
		select {
		case <-t.C:
		case <-cn.done:
			t.Stop()
			return false
		}
	}
	if ex.drop {
		cn.logClose(&hdr, errors.New("fault injected: DropConnection"))
		return false
	}
	if ex.swallow || resp == nil {
		return true
	}
	cn.out = wire.AppendResponse(cn.out[:0], hdr.CorrelationID, hdr.APIVersion, resp)
	return cn.write(cn.out)
}

// write writes one response frame and reports whether that worked.
func (cn *conn) write(frame []byte) bool {
	if _, err := cn.nc.Write(frame); err != nil {
		if !errors.Is(err, net.ErrClosed) {
			cn.logClose(nil, err)
		}
		return false
	}
	return true
}
