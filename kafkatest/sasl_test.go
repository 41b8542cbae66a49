package kafkatest

import (
	"context"
	"crypto/tls"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	client "github.com/gregor-kafka/producer/internal/conn"
	"github.com/gregor-kafka/producer/wire"
)

var allMechanisms = []string{MechanismPlain, MechanismScramSHA256, MechanismScramSHA512, MechanismOAuthBearer}

func clientMechanism(name, user, password string) client.Mechanism {
	switch name {
	case MechanismPlain:
		return client.Plain(user, password)
	case MechanismScramSHA256:
		return client.ScramSHA256(user, password)
	case MechanismScramSHA512:
		return client.ScramSHA512(user, password)
	}
	return client.OAuthBearer(func(context.Context) (string, map[string]string, error) {
		return password, map[string]string{"logicalCluster": "lkc-1"}, nil
	})
}

// handshake sends SaslHandshake at version and returns the answer.
func (tc *testClient) handshake(version int16, mechanism string) *wire.SaslHandshakeResponse {
	tc.t.Helper()
	var resp wire.SaslHandshakeResponse
	tc.roundTrip(version, &wire.SaslHandshakeRequest{Mechanism: mechanism}, &resp)
	return &resp
}

// authenticate runs mech's exchange in SaslAuthenticate requests at version after a v1
// handshake. It returns the last answer: an error code, or success.
func (tc *testClient) authenticate(version int16, mech client.Mechanism) *wire.SaslAuthenticateResponse {
	tc.t.Helper()
	if hs := tc.handshake(1, mech.Name()); hs.ErrorCode != 0 {
		tc.t.Fatalf("SaslHandshake: error %d", hs.ErrorCode)
	}
	sess, msg, err := mech.Start(context.Background())
	if err != nil {
		tc.t.Fatal(err)
	}
	for {
		var resp wire.SaslAuthenticateResponse
		tc.roundTrip(version, &wire.SaslAuthenticateRequest{AuthBytes: msg}, &resp)
		if resp.ErrorCode != 0 {
			return &resp
		}
		var done bool
		msg, done, err = sess.Next(resp.AuthBytes)
		if err != nil {
			tc.t.Fatalf("client: %v", err)
		}
		if done {
			return &resp
		}
	}
}

func saslCluster(t *testing.T, opts ...Option) *Cluster {
	t.Helper()
	base := []Option{NumBrokers(1), SASL(allMechanisms...), User("alice", "alice-secret"), User("bob", "bob-secret"),
		OAuthValidator(func(token string) error {
			if token != "good-token" {
				return errors.New("unknown token")
			}
			return nil
		})}
	return newTestCluster(t, append(base, opts...)...)
}

func TestSASLAdvertised(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      []Option
		hs, auth  int16 // max versions; -1 absent
		withoutOn bool
	}{
		{"off", nil, -1, -1, true},
		{"on", []Option{SASL(MechanismPlain)}, 1, 2, false},
		{"v0", []Option{SASL(MechanismPlain), SASLHandshakeV0()}, 0, -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCluster(t, append([]Option{NumBrokers(1)}, tc.opts...)...)
			var resp wire.ApiVersionsResponse
			dial(t, c.Addrs()[0]).roundTrip(3, &wire.ApiVersionsRequest{ClientSoftwareName: "t", ClientSoftwareVersion: "1"}, &resp)
			max := func(key int16) int16 {
				for _, k := range resp.APIKeys {
					if k.APIKey == key {
						return k.MaxVersion
					}
				}
				return -1
			}
			if got := max(wire.KeySaslHandshake); got != tc.hs {
				t.Errorf("SaslHandshake max %d, want %d", got, tc.hs)
			}
			if got := max(wire.KeySaslAuthenticate); got != tc.auth {
				t.Errorf("SaslAuthenticate max %d, want %d", got, tc.auth)
			}
			if !slices.IsSortedFunc(resp.APIKeys, func(a, b wire.ApiVersionsKey) int { return int(a.APIKey) - int(b.APIKey) }) {
				t.Errorf("keys not sorted: %+v", resp.APIKeys)
			}
		})
	}
}

func TestSASLBeforeAuthentication(t *testing.T) {
	c := saslCluster(t, SeedTopic("t", 1))
	// ApiVersions is allowed; Metadata closes the connection.
	tc := dial(t, c.Addrs()[0])
	var av wire.ApiVersionsResponse
	tc.roundTrip(4, &wire.ApiVersionsRequest{ClientSoftwareName: "t", ClientSoftwareVersion: "1"}, &av)
	tc.send(12, &wire.MetadataRequest{})
	tc.expectClosed()
	// SaslAuthenticate before SaslHandshake closes it too.
	tc = dial(t, c.Addrs()[0])
	tc.send(1, &wire.SaslAuthenticateRequest{AuthBytes: []byte("\x00alice\x00alice-secret")})
	tc.expectClosed()
	// As does anything but SaslAuthenticate after the handshake.
	tc = dial(t, c.Addrs()[0])
	tc.handshake(1, MechanismPlain)
	tc.send(12, &wire.MetadataRequest{})
	tc.expectClosed()
}

func TestSASLMechanisms(t *testing.T) {
	c := saslCluster(t, SeedTopic("t", 1))
	for _, mech := range allMechanisms {
		for _, v := range []int16{0, 1, 2} {
			t.Run(mech+"/v"+string(rune('0'+v)), func(t *testing.T) {
				user, pw := "alice", "alice-secret"
				if mech == MechanismOAuthBearer {
					pw = "good-token"
				}
				tc := dial(t, c.Addrs()[0])
				resp := tc.authenticate(v, clientMechanism(mech, user, pw))
				if resp.ErrorCode != 0 || resp.SessionLifetimeMs != 0 {
					t.Fatalf("error %d lifetime %d", resp.ErrorCode, resp.SessionLifetimeMs)
				}
				if md := tc.metadata(12, "t"); len(md.Topics) != 1 || md.Topics[0].ErrorCode != 0 {
					t.Fatalf("metadata after authentication: %+v", md.Topics)
				}
				// A second authentication without a session lifetime is an illegal state,
				// answered without closing.
				if hs := tc.handshake(1, mech); hs.ErrorCode != wire.ErrIllegalSaslState.Code {
					t.Fatalf("second handshake: error %d", hs.ErrorCode)
				}
				var again wire.SaslAuthenticateResponse
				tc.roundTrip(v, &wire.SaslAuthenticateRequest{}, &again)
				if again.ErrorCode != wire.ErrIllegalSaslState.Code {
					t.Fatalf("SaslAuthenticate after authentication: error %d", again.ErrorCode)
				}
				tc.metadata(12, "t")

				// Wrong credentials: SASL_AUTHENTICATION_FAILED, a message without the
				// secret, and the connection closed.
				bad := "wrong-secret-123"
				tc = dial(t, c.Addrs()[0])
				resp = tc.authenticate(v, clientMechanism(mech, user, bad))
				if resp.ErrorCode != wire.ErrSaslAuthenticationFailed.Code || resp.ErrorMessage == nil {
					t.Fatalf("wrong password: error %d", resp.ErrorCode)
				}
				if strings.Contains(*resp.ErrorMessage, bad) {
					t.Fatalf("error message %q holds the secret", *resp.ErrorMessage)
				}
				tc.expectClosed()
				if mech != MechanismOAuthBearer {
					tc = dial(t, c.Addrs()[0])
					if resp := tc.authenticate(v, clientMechanism(mech, "nobody", pw)); resp.ErrorCode != wire.ErrSaslAuthenticationFailed.Code {
						t.Fatalf("unknown user: error %d", resp.ErrorCode)
					}
					tc.expectClosed()
				}
			})
		}
	}
}

func TestSASLUnsupportedMechanism(t *testing.T) {
	c := newTestCluster(t, NumBrokers(1), SASL(MechanismScramSHA512, MechanismPlain), User("u", "p"))
	tc := dial(t, c.Addrs()[0])
	hs := tc.handshake(1, "GSSAPI")
	if hs.ErrorCode != wire.ErrUnsupportedSaslMechanism.Code || !slices.Equal(hs.Mechanisms, []string{MechanismScramSHA512, MechanismPlain}) {
		t.Fatalf("got %+v", hs)
	}
	tc.expectClosed()
	// An enabled mechanism is answered with the list too.
	tc = dial(t, c.Addrs()[0])
	if hs := tc.handshake(1, MechanismPlain); hs.ErrorCode != 0 || len(hs.Mechanisms) != 2 {
		t.Fatalf("got %+v", hs)
	}
}

// TestSASLRawTokens runs the exchange without Kafka framing, after a v0 handshake.
func TestSASLRawTokens(t *testing.T) {
	c := saslCluster(t, SeedTopic("t", 1), SASLHandshakeV0())
	for _, mech := range allMechanisms {
		t.Run(mech, func(t *testing.T) {
			for _, good := range []bool{true, false} {
				pw := "alice-secret"
				if mech == MechanismOAuthBearer {
					pw = "good-token"
				}
				if !good {
					pw = "bad"
				}
				tc := dial(t, c.Addrs()[0])
				if hs := tc.handshake(0, mech); hs.ErrorCode != 0 {
					t.Fatalf("handshake: %d", hs.ErrorCode)
				}
				sess, msg, err := clientMechanism(mech, "alice", pw).Start(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				for done := false; !done; {
					tc.writeRaw(append(wire.AppendInt32(nil, int32(len(msg))), msg...))
					frame, err := tc.recvFrame(5 * time.Second)
					if err != nil {
						if good {
							t.Fatalf("raw token: %v", err)
						}
						break
					}
					if msg, done, err = sess.Next(frame); err != nil {
						t.Fatalf("client: %v", err)
					}
				}
				if good {
					tc.metadata(12, "t")
				} else {
					tc.expectClosed()
				}
			}
		})
	}
}

func TestSASLSessionLifetime(t *testing.T) {
	const lifetime = 300 * time.Millisecond
	c := saslCluster(t, SeedTopic("t", 1), SessionLifetime(lifetime))
	for _, mech := range []string{MechanismPlain, MechanismScramSHA256, MechanismOAuthBearer} {
		t.Run(mech, func(t *testing.T) {
			pw := "alice-secret"
			if mech == MechanismOAuthBearer {
				pw = "good-token"
			}
			tc := dial(t, c.Addrs()[0])
			resp := tc.authenticate(1, clientMechanism(mech, "alice", pw))
			if resp.ErrorCode != 0 || resp.SessionLifetimeMs != lifetime.Milliseconds() {
				t.Fatalf("error %d lifetime %d", resp.ErrorCode, resp.SessionLifetimeMs)
			}
			// Re-authenticating on the same connection renews the session.
			for i := 0; i < 3; i++ {
				time.Sleep(lifetime / 2)
				if resp := tc.authenticate(2, clientMechanism(mech, "alice", pw)); resp.ErrorCode != 0 {
					t.Fatalf("re-authentication %d: error %d", i, resp.ErrorCode)
				}
				tc.metadata(12, "t")
			}
			// An expired session closes the connection at its next request.
			time.Sleep(lifetime + 50*time.Millisecond)
			tc.send(12, &wire.MetadataRequest{})
			tc.expectClosed()
		})
	}
	// Re-authenticating as somebody else fails.
	tc := dial(t, c.Addrs()[0])
	tc.authenticate(1, client.Plain("alice", "alice-secret"))
	if resp := tc.authenticate(1, client.Plain("bob", "bob-secret")); resp.ErrorCode != wire.ErrSaslAuthenticationFailed.Code {
		t.Fatalf("re-authentication as bob: error %d", resp.ErrorCode)
	}
	tc.expectClosed()
	// As does changing mechanism.
	tc = dial(t, c.Addrs()[0])
	tc.authenticate(1, client.Plain("alice", "alice-secret"))
	if hs := tc.handshake(1, MechanismScramSHA256); hs.ErrorCode != wire.ErrIllegalSaslState.Code {
		t.Fatalf("mechanism change: error %d", hs.ErrorCode)
	}
	tc.expectClosed()
}

func TestParseOAuthInitialResponse(t *testing.T) {
	for _, tc := range []struct {
		msg   string
		token string
		ext   map[string]string
	}{
		{msg: "n,,\x01auth=Bearer abc\x01\x01", token: "abc", ext: map[string]string{}},
		{msg: "n,a=user,\x01auth=bearer  abc\x01x=y z\x01\x01", token: "abc", ext: map[string]string{"x": "y z"}},
		{msg: "n,,\x01x=1\x01auth=Bearer t\x01\x01", token: "t", ext: map[string]string{"x": "1"}},
		{msg: ""},
		{msg: "n,,\x01auth=Bearer abc\x01"},
		{msg: "y,,\x01auth=Bearer abc\x01\x01"},
		{msg: "n,,\x01auth=Basic abc\x01\x01"},
		{msg: "n,,\x01auth=Bearer \x01\x01"},
		{msg: "n,,\x01x=1\x01\x01"},
		{msg: "n,,\x01=1\x01auth=Bearer t\x01\x01"},
		{msg: "n,,,\x01auth=Bearer t\x01\x01"},
	} {
		token, ext, err := parseOAuthInitialResponse(tc.msg)
		if tc.token == "" {
			if err == nil {
				t.Errorf("%q: accepted", tc.msg)
			}
			continue
		}
		if err != nil || token != tc.token || len(ext) != len(tc.ext) {
			t.Errorf("%q: %q %v %v", tc.msg, token, ext, err)
		}
		for k, v := range tc.ext {
			if ext[k] != v {
				t.Errorf("%q: extension %s=%q, want %q", tc.msg, k, ext[k], v)
			}
		}
	}
}

func TestSCRAMUnescape(t *testing.T) {
	for in, want := range map[string]string{"a": "a", "a=2Cb=3D": "a,b=", "=3D=3D": "=="} {
		if got, ok := scramUnescape(in); !ok || got != want {
			t.Errorf("%q: %q %v", in, got, ok)
		}
	}
	for _, in := range []string{"=", "a=2", "=2c", "=41"} {
		if _, ok := scramUnescape(in); ok {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestTLSListeners(t *testing.T) {
	ca, err := NewTestCA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	clientCert, err := ca.Issue("client")
	if err != nil {
		t.Fatal(err)
	}
	dialTLS := func(t *testing.T, addr string, cfg *tls.Config) (*testClient, error) {
		tc := dial(t, addr)
		conn := tls.Client(tc.nc, cfg)
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if err := conn.Handshake(); err != nil {
			return nil, err
		}
		conn.SetDeadline(time.Time{})
		tc.nc = conn
		return tc, nil
	}
	apiVersions := func(tc *testClient) error {
		tc.send(4, &wire.ApiVersionsRequest{ClientSoftwareName: "t", ClientSoftwareVersion: "1"})
		_, err := tc.recvFrame(5 * time.Second)
		return err
	}

	c := newTestCluster(t, NumBrokers(1), TLS(srv))
	tc, err := dialTLS(t, c.Addrs()[0], &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := apiVersions(tc); err != nil {
		t.Fatal(err)
	}
	// A plaintext client gets nowhere.
	tc = dial(t, c.Addrs()[0])
	tc.send(4, &wire.ApiVersionsRequest{ClientSoftwareName: "t", ClientSoftwareVersion: "1"})
	if frame, err := tc.recvFrame(5 * time.Second); err == nil {
		t.Fatalf("plaintext client got a %d-byte answer", len(frame))
	}

	// Mutual TLS: a client without a certificate is refused, one with a certificate from the
	// CA is served.
	mtls := srv.Clone()
	mtls.ClientAuth, mtls.ClientCAs = tls.RequireAndVerifyClientCert, ca.Pool()
	c = newTestCluster(t, NumBrokers(1), TLS(mtls))
	tc, err = dialTLS(t, c.Addrs()[0], &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
	if err == nil {
		err = apiVersions(tc) // TLS 1.3 reports the refusal after the client's handshake
	}
	if err == nil {
		t.Fatal("client without a certificate was served")
	}
	tc, err = dialTLS(t, c.Addrs()[0], &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost", Certificates: []tls.Certificate{clientCert}})
	if err != nil {
		t.Fatal(err)
	}
	if err := apiVersions(tc); err != nil {
		t.Fatal(err)
	}

	if _, err := NewCluster(TLS(&tls.Config{})); err == nil {
		t.Fatal("TLS without a certificate accepted")
	}
}

func TestSASLOptions(t *testing.T) {
	for _, opt := range []Option{SASL(), SASL("GSSAPI"), User("", "x"), OAuthValidator(nil), SessionLifetime(0), TLS(nil)} {
		if _, err := NewCluster(opt); err == nil {
			t.Errorf("option accepted")
		}
	}
}
