package conn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

const (
	alicePassword = "alice-Pa55word"
	goodToken     = "good.token.value"
)

func newCluster(t *testing.T, opts ...kafkatest.Option) *kafkatest.Cluster {
	t.Helper()
	c, err := kafkatest.NewCluster(append([]kafkatest.Option{kafkatest.NumBrokers(1), kafkatest.SeedTopic("t", 1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func saslOpts(extra ...kafkatest.Option) []kafkatest.Option {
	return append([]kafkatest.Option{
		kafkatest.SASL(kafkatest.MechanismPlain, kafkatest.MechanismScramSHA256, kafkatest.MechanismScramSHA512, kafkatest.MechanismOAuthBearer),
		kafkatest.User("alice", alicePassword),
		kafkatest.OAuthValidator(func(token string) error {
			if token != goodToken {
				return errors.New("unknown token")
			}
			return nil
		}),
	}, extra...)
}

func staticToken(tok string) TokenProvider {
	return func(context.Context) (string, map[string]string, error) {
		return tok, map[string]string{"logicalCluster": "lkc-1"}, nil
	}
}

// mechanisms returns each mechanism with the given secret (password, or token).
func mechanisms(secret string) []Mechanism {
	return []Mechanism{Plain("alice", secret), ScramSHA256("alice", secret), ScramSHA512("alice", secret), OAuthBearer(staticToken(secret))}
}

func secretFor(m Mechanism) string {
	if m.Name() == "OAUTHBEARER" {
		return goodToken
	}
	return alicePassword
}

func dialT(t *testing.T, addr string, opts Options) (*Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 5 * time.Second
	}
	c, err := Dial(ctx, addr, opts)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// metadata checks that the connection serves a Metadata request.
func metadata(t *testing.T, c *Conn) error {
	t.Helper()
	name := "t"
	var resp wire.MetadataResponse
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Call(ctx, &wire.MetadataRequest{Topics: []wire.MetadataRequestTopic{{Name: &name}}}, &resp); err != nil {
		return err
	}
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
		return fmt.Errorf("metadata answer %+v", resp.Topics)
	}
	return nil
}

type testTLS struct {
	ca     *kafkatest.TestCA
	server *tls.Config
	client *tls.Config
}

func newTestTLS(t *testing.T) *testTLS {
	t.Helper()
	ca, err := kafkatest.NewTestCA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	return &testTLS{ca: ca, server: srv, client: &tls.Config{RootCAs: ca.Pool()}}
}

func TestSASLMechanismsAgainstKafkatest(t *testing.T) {
	tt := newTestTLS(t)
	for _, secure := range []bool{false, true} {
		opts := saslOpts()
		var tlsCfg *tls.Config
		if secure {
			opts = append(opts, kafkatest.TLS(tt.server))
			tlsCfg = tt.client
		}
		for _, legacy := range []bool{false, true} {
			o := opts
			if legacy {
				o = append(o, kafkatest.SASLHandshakeV0())
			}
			cl := newCluster(t, o...)
			for _, m := range mechanisms("") {
				name := fmt.Sprintf("%s/tls=%v/v0=%v", m.Name(), secure, legacy)
				t.Run(name, func(t *testing.T) {
					good := mechanisms(secretFor(m))
					for _, g := range good {
						if g.Name() != m.Name() {
							continue
						}
						c, err := dialT(t, cl.Addrs()[0], Options{TLS: tlsCfg, SASL: g})
						if err != nil {
							t.Fatal(err)
						}
						if err := metadata(t, c); err != nil {
							t.Fatal(err)
						}
						wantHS := int16(1)
						if legacy {
							wantHS = 0
						}
						if v, _ := c.Version(wire.KeySaslHandshake); v != wantHS {
							t.Fatalf("SaslHandshake v%d, want v%d", v, wantHS)
						}
					}
					// Wrong credentials.
					const wrong = "Wr0ng-secret-value"
					for _, b := range mechanisms(wrong) {
						if b.Name() != m.Name() {
							continue
						}
						_, err := dialT(t, cl.Addrs()[0], Options{TLS: tlsCfg, SASL: b})
						var ae *AuthError
						if !errors.Is(err, wire.ErrSaslAuthenticationFailed) || !errors.Is(err, ErrAuthentication) || !errors.As(err, &ae) {
							t.Fatalf("wrong credentials: %v", err)
						}
						if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), alicePassword) {
							t.Fatalf("error %q holds a secret", err)
						}
						if ae.Addr != cl.Addrs()[0] || ae.Stage != "SASL "+m.Name() {
							t.Fatalf("AuthError %+v", ae)
						}
					}
				})
			}
		}
	}
}

func TestSASLUnsupportedMechanismError(t *testing.T) {
	cl := newCluster(t, kafkatest.SASL(kafkatest.MechanismScramSHA512), kafkatest.User("alice", alicePassword))
	_, err := dialT(t, cl.Addrs()[0], Options{SASL: Plain("alice", alicePassword)})
	if !errors.Is(err, wire.ErrUnsupportedSaslMechanism) || !errors.Is(err, ErrAuthentication) || !strings.Contains(err.Error(), "SCRAM-SHA-512") {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), alicePassword) {
		t.Fatalf("error %q holds the password", err)
	}
	// A broker without SASL does not offer SaslHandshake: a configuration error, not a
	// network one.
	plain := newCluster(t)
	if _, err := dialT(t, plain.Addrs()[0], Options{SASL: Plain("alice", alicePassword)}); !errors.Is(err, ErrAuthentication) || !errors.Is(err, wire.ErrUnsupportedVersion) {
		t.Fatalf("SASL to a broker without it: %v", err)
	}
}

func TestOAuthProviderError(t *testing.T) {
	cl := newCluster(t, saslOpts()...)
	provErr := errors.New("identity provider unreachable")
	_, err := dialT(t, cl.Addrs()[0], Options{SASL: OAuthBearer(func(context.Context) (string, map[string]string, error) {
		return "", nil, provErr
	})})
	if !errors.Is(err, provErr) || !errors.Is(err, ErrAuthentication) {
		t.Fatalf("got %v", err)
	}
}

func TestTLSVerification(t *testing.T) {
	tt := newTestTLS(t)
	cl := newCluster(t, kafkatest.TLS(tt.server))
	addr := cl.Addrs()[0]
	_, port, _ := net.SplitHostPort(addr)
	other, err := kafkatest.NewTestCA()
	if err != nil {
		t.Fatal(err)
	}

	// The server name defaults to the host dialed: an IP address or a DNS name the
	// certificate has.
	for _, a := range []string{addr, net.JoinHostPort("localhost", port)} {
		c, err := dialT(t, a, Options{TLS: tt.client})
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		if err := metadata(t, c); err != nil {
			t.Fatal(err)
		}
	}
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	for _, tc := range []struct {
		name  string
		cfg   *tls.Config
		check func(error) bool
	}{
		{"wrong CA", &tls.Config{RootCAs: other.Pool()}, func(err error) bool { return errors.As(err, &unknownAuthority) }},
		{"wrong server name", &tls.Config{RootCAs: tt.ca.Pool(), ServerName: "broker.example.com"}, func(err error) bool { return errors.As(err, &hostname) }},
	} {
		_, err := dialT(t, addr, Options{TLS: tc.cfg})
		var ae *AuthError
		if !errors.Is(err, ErrAuthentication) || !errors.As(err, &ae) || ae.Stage != "TLS" || !tc.check(err) {
			t.Errorf("%s: got %v", tc.name, err)
		}
	}
}

func TestMutualTLS(t *testing.T) {
	tt := newTestTLS(t)
	srv := tt.server.Clone()
	srv.ClientAuth, srv.ClientCAs = tls.RequireAndVerifyClientCert, tt.ca.Pool()
	cl := newCluster(t, append(saslOpts(), kafkatest.TLS(srv))...)
	addr := cl.Addrs()[0]

	_, err := dialT(t, addr, Options{TLS: tt.client, SASL: ScramSHA512("alice", alicePassword)})
	if !errors.Is(err, ErrAuthentication) {
		t.Fatalf("without a client certificate: %v", err)
	}
	cert, err := tt.ca.Issue("alice")
	if err != nil {
		t.Fatal(err)
	}
	withCert := tt.client.Clone()
	withCert.Certificates = []tls.Certificate{cert}
	c, err := dialT(t, addr, Options{TLS: withCert, SASL: ScramSHA512("alice", alicePassword)})
	if err != nil {
		t.Fatal(err)
	}
	if err := metadata(t, c); err != nil {
		t.Fatal(err)
	}
	// A certificate from another CA is refused.
	other, _ := kafkatest.NewTestCA()
	bad, _ := other.Issue("mallory")
	withBad := tt.client.Clone()
	withBad.Certificates = []tls.Certificate{bad}
	if _, err := dialT(t, addr, Options{TLS: withBad, SASL: ScramSHA512("alice", alicePassword)}); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("certificate of another CA: %v", err)
	}
}

// TestReauthentication keeps a connection busy from several goroutines across many session
// lifetimes: the broker closes a connection whose session expired, so every call
// succeeding means each re-authentication happened in time, and none mixed with other
// requests (the broker closes a connection that sends anything else mid-authentication).
func TestReauthentication(t *testing.T) {
	// Long enough that a loaded CI machine still re-authenticates (half a lifetime before
	// expiry) in time.
	const lifetime = 2 * time.Second
	for _, m := range []Mechanism{ScramSHA256("alice", alicePassword), Plain("alice", alicePassword), OAuthBearer(staticToken(goodToken))} {
		t.Run(m.Name(), func(t *testing.T) {
			cl := newCluster(t, saslOpts(kafkatest.SessionLifetime(lifetime))...)
			c, err := dialT(t, cl.Addrs()[0], Options{SASL: m})
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(2*lifetime + lifetime/2)
			var wg sync.WaitGroup
			var calls atomic.Int64
			for g := 0; g < 4; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for time.Now().Before(deadline) {
						if err := metadata(t, c); err != nil {
							t.Error(err)
							return
						}
						calls.Add(1)
					}
				}()
			}
			wg.Wait()
			if hs := cl.RequestCount(wire.KeySaslHandshake); hs < 3 {
				t.Fatalf("%d handshakes in 2.5 session lifetimes, want at least 3 (one per lifetime and the first)", hs)
			}
			if c.Err() != nil || calls.Load() < 10 {
				t.Fatalf("connection error %v after %d calls", c.Err(), calls.Load())
			}
		})
	}
}

// TestReauthenticationFailure: when re-authentication fails the connection dies with the
// authentication error, so requests fail with it.
func TestReauthenticationFailure(t *testing.T) {
	cl := newCluster(t, saslOpts(kafkatest.SessionLifetime(150*time.Millisecond))...)
	var n atomic.Int32
	c, err := dialT(t, cl.Addrs()[0], Options{SASL: OAuthBearer(func(context.Context) (string, map[string]string, error) {
		if n.Add(1) == 1 {
			return goodToken, nil, nil
		}
		return "revoked.token", nil, nil
	})})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("connection still alive after a failed re-authentication")
	}
	if err := c.Err(); !errors.Is(err, wire.ErrSaslAuthenticationFailed) || strings.Contains(err.Error(), "revoked.token") {
		t.Fatalf("connection error %v", err)
	}
	if err := metadata(t, c); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("call on the dead connection: %v", err)
	}
}

func TestReauthDelay(t *testing.T) {
	for _, tc := range []struct{ lifetime, lo, hi time.Duration }{
		{time.Hour, 51 * time.Minute, 57 * time.Minute},
		{10 * time.Second, 8500 * time.Millisecond, 9 * time.Second},
		{time.Second, 500 * time.Millisecond, 500 * time.Millisecond},
		{200 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond},
	} {
		for i := 0; i < 100; i++ {
			if d := reauthDelay(tc.lifetime); d < tc.lo || d > tc.hi {
				t.Fatalf("lifetime %v: delay %v outside %v..%v", tc.lifetime, d, tc.lo, tc.hi)
			}
		}
	}
}

func TestRedaction(t *testing.T) {
	m := Plain("alice", "hunter2").(*plainMech)
	if got := m.redact("bad password hunter2 for alice"); got != "bad password [redacted] for alice" {
		t.Fatalf("got %q", got)
	}
	s := &oauthSession{token: "tok.en"}
	if got := s.redact("token tok.en refused"); strings.Contains(got, "tok.en") {
		t.Fatalf("got %q", got)
	}
	if got := redactSecret("x", ""); got != "x" {
		t.Fatalf("empty secret: %q", got)
	}
}
