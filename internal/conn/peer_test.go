package conn

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// answerWith listens on loopback and answers the first request frame of each connection
// with reply's bytes, then closes the connection.
func answerWith(t *testing.T, reply []byte) string {
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
				if _, err := wire.ReadFrame(bufio.NewReader(c), nil, 1<<20); err != nil {
					return
				}
				_, _ = c.Write(reply)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestPeerNotKafka: what answers the first request tells a Kafka broker from a TLS listener
// (as a Java broker answers a plaintext client: a TLS alert), an HTTP server, or anything
// else; a peer that closes at once gets a hint, not a frame-size riddle.
func TestPeerNotKafka(t *testing.T) {
	tlsLn := tlsListener(t)
	cases := []struct {
		name, addr string
		is         error
		says       string
	}{
		{"TLS alert", answerWith(t, []byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x0a}), ErrBrokerSpeaksTLS, "the broker port speaks TLS (security.protocol?)"},
		{"TLS handshake", answerWith(t, []byte{0x16, 0x03, 0x01, 0x00, 0x40, 0x02}), ErrBrokerSpeaksTLS, "speaks TLS"},
		{"Go TLS server", tlsLn, io.EOF, "closed the connection without answering (a listener for another security.protocol"},
		// An HTTP server that answers a line it cannot parse, as nginx does (Go's waits for a
		// newline a Kafka request need not have).
		{"HTTP", answerWith(t, []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")), ErrNotKafka, "not a Kafka broker: it answered HTTP"},
		{"SSH banner", answerWith(t, []byte("SSH-2.0-OpenSSH_9.6\r\n")), ErrNotKafka, `not a Kafka broker: its answer starts with "SSH-"`},
		{"wrong correlation id", answerWith(t, []byte{0, 0, 0, 8, 0, 0, 0x7f, 0x7f, 0, 0, 0, 0}), ErrNotKafka, "correlation id 32639 to the first request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dial(t, tc.addr, 5*time.Second)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want %v saying %q", err, tc.is, tc.says)
			}
			if !strings.Contains(err.Error(), tc.addr) || strings.Count(err.Error(), "conn:") != 1 {
				t.Fatalf("%q: want the address once and one prefix", err)
			}
			if strings.Contains(err.Error(), "frame size ") {
				t.Fatalf("%q: a frame size riddle", err)
			}
		})
	}
}

// tlsListener returns the address of a Go TLS server that accepts connections and reads
// from them (the handshake), with a throwaway self-signed certificate.
func tlsListener(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
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
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	return ln.Addr().String()
}
