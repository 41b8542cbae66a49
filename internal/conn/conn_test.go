package conn

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// fakeBroker accepts one connection and answers each request frame with respond's bytes
// (a whole frame, size included), or closes the connection when respond returns nil.
type fakeBroker struct {
	ln net.Listener
}

func startFake(t *testing.T, respond func(h wire.RequestHeader, body []byte) []byte) *fakeBroker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					frame, err := wire.ReadFrame(br, nil, 1<<20)
					if err != nil {
						return
					}
					h, body, err := wire.ParseRequestHeader(frame)
					if err != nil && h.APIKey != wire.KeyApiVersions {
						return
					}
					out := respond(h, body)
					if out == nil {
						return
					}
					if _, err := c.Write(out); err != nil {
						return
					}
				}
			}()
		}
	}()
	return &fakeBroker{ln: ln}
}

// apiVersionsAnswer answers ApiVersions with every API at our versions.
func apiVersionsAnswer(h wire.RequestHeader) []byte {
	resp := &wire.ApiVersionsResponse{}
	for _, a := range wire.SupportedAPIs() {
		resp.APIKeys = append(resp.APIKeys, wire.ApiVersionsKey{APIKey: a.Key, MinVersion: a.Min, MaxVersion: a.Max})
	}
	return wire.AppendResponse(nil, h.CorrelationID, h.APIVersion, resp)
}

func dial(t *testing.T, addr string, timeout time.Duration) (*Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return Dial(ctx, addr, Options{ClientID: "test", RequestTimeout: timeout, MaxResponseSize: 1 << 20})
}

func TestNegotiatesVersions(t *testing.T) {
	fb := startFake(t, func(h wire.RequestHeader, _ []byte) []byte {
		if h.APIKey == wire.KeyApiVersions {
			resp := &wire.ApiVersionsResponse{APIKeys: []wire.ApiVersionsKey{
				{APIKey: wire.KeyApiVersions, MinVersion: 0, MaxVersion: 3},
				{APIKey: wire.KeyProduce, MinVersion: 0, MaxVersion: 9},   // older broker
				{APIKey: wire.KeyMetadata, MinVersion: 0, MaxVersion: 99}, // newer broker
				{APIKey: wire.KeyEndTxn, MinVersion: 9, MaxVersion: 12},   // no overlap
			}}
			return wire.AppendResponse(nil, h.CorrelationID, h.APIVersion, resp)
		}
		return nil
	})
	c, err := dial(t, fb.ln.Addr().String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for key, want := range map[int16]int16{wire.KeyProduce: 9, wire.KeyMetadata: 13, wire.KeyApiVersions: 3} {
		if v, err := c.Version(key); err != nil || v != want {
			t.Errorf("%s: version %d, %v; want %d", wire.APIName(key), v, err, want)
		}
	}
	for _, key := range []int16{wire.KeyEndTxn, wire.KeyInitProducerID} {
		if _, err := c.Version(key); !errors.Is(err, wire.ErrUnsupportedVersion) {
			t.Errorf("%s: %v", wire.APIName(key), err)
		}
	}
}

// TestKIP511Downgrade: a broker that does not know our ApiVersions version answers a v0 body
// with UNSUPPORTED_VERSION and its range; we ask again at its version.
func TestKIP511Downgrade(t *testing.T) {
	asked := []int16{}
	fb := startFake(t, func(h wire.RequestHeader, _ []byte) []byte {
		if h.APIKey != wire.KeyApiVersions {
			return nil
		}
		asked = append(asked, h.APIVersion)
		if h.APIVersion > 2 {
			resp := &wire.ApiVersionsResponse{ErrorCode: wire.ErrUnsupportedVersion.Code,
				APIKeys: []wire.ApiVersionsKey{{APIKey: wire.KeyApiVersions, MinVersion: 0, MaxVersion: 2}}}
			return wire.AppendResponse(nil, h.CorrelationID, 0, resp)
		}
		return apiVersionsAnswer(h)
	})
	c, err := dial(t, fb.ln.Addr().String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if len(asked) != 2 || asked[1] != 2 {
		t.Fatalf("ApiVersions asked at %v", asked)
	}
}

// TestHostileAnswers: every malformed answer kills the connection with an error, fails the
// request, and never panics or allocates what the peer asks for.
func TestHostileAnswers(t *testing.T) {
	metadataReq := &wire.MetadataRequest{}
	cases := map[string]func(h wire.RequestHeader) []byte{
		"wrong correlation id": func(h wire.RequestHeader) []byte {
			return wire.AppendResponse(nil, h.CorrelationID+7, h.APIVersion, &wire.MetadataResponse{})
		},
		"2 GiB length prefix": func(wire.RequestHeader) []byte {
			return binary.BigEndian.AppendUint32(nil, 0x7fffffff)
		},
		"negative length prefix": func(wire.RequestHeader) []byte {
			return binary.BigEndian.AppendUint32(nil, 0xffffff00)
		},
		"truncated frame then close": func(h wire.RequestHeader) []byte {
			full := wire.AppendResponse(nil, h.CorrelationID, h.APIVersion, &wire.MetadataResponse{})
			out := binary.BigEndian.AppendUint32(nil, uint32(len(full)+100))
			return append(out, full[4:]...)
		},
		"absurd broker count": func(h wire.RequestHeader) []byte {
			body := wire.AppendInt32(nil, 0)          // throttle
			body = wire.AppendUvarint(body, 1<<31)    // compact array of 2^31-1 brokers
			return frame(h.CorrelationID, true, body) // flexible header
		},
		"garbage body": func(h wire.RequestHeader) []byte {
			return frame(h.CorrelationID, true, []byte(strings.Repeat("\xff", 64)))
		},
		"trailing bytes": func(h wire.RequestHeader) []byte {
			full := wire.AppendResponse(nil, h.CorrelationID, h.APIVersion, &wire.MetadataResponse{})
			full = append(full, 1, 2, 3)
			binary.BigEndian.PutUint32(full, uint32(len(full)-4))
			return full
		},
	}
	for name, answer := range cases {
		t.Run(name, func(t *testing.T) {
			fb := startFake(t, func(h wire.RequestHeader, _ []byte) []byte {
				if h.APIKey == wire.KeyApiVersions {
					return apiVersionsAnswer(h)
				}
				return answer(h)
			})
			c, err := dial(t, fb.ln.Addr().String(), 500*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = c.Call(context.Background(), metadataReq, &wire.MetadataResponse{})
			if err == nil {
				t.Fatal("a hostile answer was accepted")
			}
			// A body that does not decode leaves the framing intact, so the connection
			// may live on; a bad frame or correlation id must end it.
			if name == "garbage body" || name == "trailing bytes" || name == "absurd broker count" {
				return
			}
			select {
			case <-c.Done():
			case <-time.After(2 * time.Second):
				t.Fatalf("connection still alive after %v", err)
			}
		})
	}
}

// frame builds a response frame with a v0 or v1 (flexible) header.
func frame(corr int32, flexible bool, body []byte) []byte {
	out := []byte{0, 0, 0, 0}
	out = wire.AppendInt32(out, corr)
	out = wire.AppendEmptyTags(out, flexible)
	out = append(out, body...)
	binary.BigEndian.PutUint32(out, uint32(len(out)-4))
	return out
}

func TestRequestTimeoutKillsConnection(t *testing.T) {
	fb := startFake(t, func(h wire.RequestHeader, _ []byte) []byte {
		if h.APIKey == wire.KeyApiVersions {
			return apiVersionsAnswer(h)
		}
		time.Sleep(time.Second) // never in time
		return nil
	})
	c, err := dial(t, fb.ln.Addr().String(), 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Call(context.Background(), &wire.MetadataRequest{}, &wire.MetadataResponse{})
	if !errors.Is(err, ErrRequestTimeout) {
		t.Fatalf("got %v", err)
	}
	if err := c.Send(&wire.MetadataRequest{}, 1, true, nopHandler{}); err == nil {
		t.Fatal("a dead connection accepted a request")
	}
}

type nopHandler struct{}

func (nopHandler) HandleResponse([]byte, error) {}

func TestPipelinedAnswersInOrder(t *testing.T) {
	fb := startFake(t, func(h wire.RequestHeader, _ []byte) []byte {
		if h.APIKey == wire.KeyApiVersions {
			return apiVersionsAnswer(h)
		}
		id := "broker-" + string(rune('a'+h.CorrelationID%26))
		return wire.AppendResponse(nil, h.CorrelationID, h.APIVersion, &wire.MetadataResponse{ClusterID: &id})
	})
	c, err := dial(t, fb.ln.Addr().String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	results := make(chan string, 50)
	v, _ := c.Version(wire.KeyMetadata)
	for i := 0; i < 50; i++ {
		h := &orderHandler{version: v, out: results}
		if err := c.Send(&wire.MetadataRequest{}, v, true, h); err != nil {
			t.Fatal(err)
		}
	}
	prev := ""
	for i := 0; i < 50; i++ {
		got := <-results
		if got == "" {
			t.Fatal("an answer failed")
		}
		if prev != "" && got != nextID(prev) {
			t.Fatalf("answer %q after %q", got, prev)
		}
		prev = got
	}
	if c.InFlight() != 0 {
		t.Fatalf("%d still in flight", c.InFlight())
	}
}

type orderHandler struct {
	version int16
	out     chan string
}

func (h *orderHandler) HandleResponse(body []byte, err error) {
	var resp wire.MetadataResponse
	if err != nil || resp.Decode(body, h.version) != nil || resp.ClusterID == nil {
		h.out <- ""
		return
	}
	h.out <- *resp.ClusterID
}

func nextID(s string) string {
	c := s[len(s)-1] + 1
	if c > 'z' {
		c = 'a'
	}
	return s[:len(s)-1] + string(c)
}

func TestDialFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, err := dial(t, addr, time.Second); err == nil {
		t.Fatal("dialed a closed port")
	}
	// A peer that closes at once fails the negotiation.
	fb := startFake(t, func(wire.RequestHeader, []byte) []byte { return nil })
	if _, err := dial(t, fb.ln.Addr().String(), time.Second); err == nil || !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "ApiVersions") {
		t.Fatalf("negotiation with a closing peer: %v", err)
	}
}

// FuzzHostileBroker feeds arbitrary bytes to the client as a broker's answer to a Metadata
// and a Produce request: the connection must fail or succeed cleanly, never panic or hang.
func FuzzHostileBroker(f *testing.F) {
	ok := wire.AppendResponse(nil, 2, 12, &wire.MetadataResponse{})
	f.Add(ok[4:], false)
	f.Add([]byte{0, 0, 0, 2}, true)
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff, 1}, false)
	f.Fuzz(func(t *testing.T, answer []byte, produce bool) {
		client, server := net.Pipe()
		go func() {
			defer server.Close()
			br := bufio.NewReader(server)
			frame, err := wire.ReadFrame(br, nil, 1<<20)
			if err != nil {
				return
			}
			h, _, _ := wire.ParseRequestHeader(frame)
			if _, err := server.Write(apiVersionsAnswer(h)); err != nil {
				return
			}
			if _, err := wire.ReadFrame(br, nil, 1<<20); err != nil {
				return
			}
			_, _ = server.Write(answer)
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := Dial(ctx, "fuzz:9092", Options{RequestTimeout: 200 * time.Millisecond, MaxResponseSize: 1 << 16,
			Dialer: func(context.Context, string, string) (net.Conn, error) { return client, nil }})
		if err != nil {
			t.Fatalf("negotiation failed: %v", err)
		}
		defer c.Close()
		if produce {
			err = c.Call(ctx, &wire.ProduceRequest{Acks: -1, TimeoutMs: 100}, &wire.ProduceResponse{})
		} else {
			err = c.Call(ctx, &wire.MetadataRequest{}, &wire.MetadataResponse{})
		}
		if ctx.Err() != nil {
			t.Fatalf("the call did not return in time: %v", err)
		}
	})
}
