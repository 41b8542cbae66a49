package conn

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// ErrAuthentication matches, with errors.Is, every error of a connection that failed to
// authenticate: a TLS handshake or certificate the other side refused, a SASL mechanism the
// broker does not enable, credentials the broker rejected (then the error also matches
// [wire.ErrSaslAuthenticationFailed]), or a broker that failed SCRAM's proof of knowing
// them. Retrying at once cannot help, so callers back off or give up.
var ErrAuthentication = errors.New("authentication failed")

// AuthError is the error of a connection that failed to authenticate. It matches
// [ErrAuthentication] and its cause. Its message never holds a password or a token.
type AuthError struct {
	// Addr is the broker's address.
	Addr string
	// Stage is "TLS" or "SASL <mechanism>".
	Stage string
	// Err is the cause, such as [wire.ErrSaslAuthenticationFailed] or an x509 error.
	Err error
}

// Error names the broker, the stage and the cause.
func (e *AuthError) Error() string {
	return fmt.Sprintf("conn: %s: %s authentication failed: %v", e.Addr, e.Stage, e.Err)
}

// Unwrap returns [ErrAuthentication] and the cause.
func (e *AuthError) Unwrap() []error { return []error{ErrAuthentication, e.Err} }

// Mechanism is the client side of a SASL mechanism. Each authentication of a connection
// (the first, and each KIP-368 re-authentication) runs one [Session].
type Mechanism interface {
	// Name is the mechanism's name in SaslHandshake, such as "SCRAM-SHA-512".
	Name() string
	// Start begins an authentication and returns its session and the first client
	// message.
	Start(ctx context.Context) (Session, []byte, error)
}

// Session is one authentication in progress.
type Session interface {
	// Next takes the server's answer to the last client message and returns the next client
	// message, or done once the exchange is complete and the server's last answer checked.
	Next(server []byte) (msg []byte, done bool, err error)
}

// redacter is implemented by mechanisms and sessions that know a secret which must not
// reach an error message, such as a broker's error text echoing a PLAIN password.
type redacter interface {
	redact(string) string
}

func redactSecret(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[redacted]")
}

// plainMech is SASL PLAIN (RFC 4616): one message, "authzid NUL user NUL password", with an
// empty authzid as Kafka clients send it.
type plainMech struct{ user, password string }

// Plain returns the PLAIN mechanism for user and password. PLAIN sends the password as it
// is: use it over TLS only.
func Plain(user, password string) Mechanism { return &plainMech{user, password} }

func (*plainMech) Name() string { return "PLAIN" }

func (m *plainMech) Start(context.Context) (Session, []byte, error) {
	msg := make([]byte, 0, 2+len(m.user)+len(m.password))
	msg = append(msg, 0)
	msg = append(msg, m.user...)
	msg = append(msg, 0)
	msg = append(msg, m.password...)
	return plainSession{}, msg, nil
}

func (m *plainMech) redact(s string) string { return redactSecret(s, m.password) }

type plainSession struct{}

// Next accepts the broker's (empty) answer: a broker that rejects the credentials answers
// with an error code instead.
func (plainSession) Next([]byte) ([]byte, bool, error) { return nil, true, nil }

// rawKey is the pending-call key of a SASL token sent without Kafka framing.
const rawKey int16 = -1

// rawToken is a SASL token framed as a bare int32-length frame, as after a v0 SaslHandshake:
// as a request it is sent without a request header, and as a response it is the whole frame.
type rawToken []byte

func (rawToken) Key() int16                            { return rawKey }
func (t rawToken) AppendTo(dst []byte, _ int16) []byte { return append(dst, t...) }
func (t *rawToken) Decode(b []byte, _ int16) error     { *t = append((*t)[:0], b...); return nil }

// appendRawFrame appends t as a frame: its int32 length, then its bytes.
func appendRawFrame(dst []byte, t rawToken) []byte {
	return append(wire.AppendInt32(dst, int32(len(t))), t...)
}

// redact removes the secrets the connection's mechanism and sess know from s.
func (c *Conn) redact(s string, sess Session) string {
	if r, ok := c.opts.SASL.(redacter); ok {
		s = r.redact(s)
	}
	if r, ok := sess.(redacter); ok {
		s = r.redact(s)
	}
	return s
}

// startSASL authenticates a new connection and, when the broker gives the session a
// lifetime (SaslAuthenticate v1+, KIP-368), starts the goroutine that re-authenticates it.
func (c *Conn) startSASL(ctx context.Context) error {
	lifetime, err := c.authenticate(ctx, false)
	if err != nil {
		return err
	}
	if lifetime > 0 {
		go c.reauthLoop(lifetime)
	}
	return nil
}

// reauthLoop re-authenticates the connection in place before each session expires (see
// reauthDelay). Sends wait while it runs (see authenticate). If re-authentication fails the
// connection dies with the error, which every request in flight receives. The loop ends
// with the connection.
func (c *Conn) reauthLoop(lifetime time.Duration) {
	for lifetime > 0 {
		t := time.NewTimer(reauthDelay(lifetime))
		select {
		case <-c.dead:
			t.Stop()
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.opts.RequestTimeout)
		var err error
		lifetime, err = c.authenticate(ctx, true)
		cancel()
		if err != nil {
			c.die(err)
			return
		}
	}
}

// reauthDelay returns when to re-authenticate a session of the given lifetime: at a random
// point between 85% and 95% of it, as the Java client does (KIP-368), so that many
// connections do not re-authenticate at once; but at least a second (or half the lifetime,
// if shorter) before it ends, since the broker refuses the handshake that comes late, and
// requests queued before it at the broker are served first.
func reauthDelay(lifetime time.Duration) time.Duration {
	d := time.Duration(float64(lifetime) * (0.85 + 0.1*rand.Float64()))
	return min(d, lifetime-min(time.Second, lifetime/2))
}

// authenticate runs SASL on the connection: SaslHandshake naming the mechanism, then the
// mechanism's messages in SaslAuthenticate requests, or as raw frames when the broker
// offers only SaslHandshake v0. It holds the write lock throughout, so no other request is
// sent until it is done: requests already in flight are answered first (the broker
// handles one connection's requests in order), and sends wait. It returns the session
// lifetime the broker gave, 0 for none.
//
// When reauth is set the connection is in use, and a broker's refusal kills it on the
// reader goroutine as the answer arrives: the broker closes the connection right after
// refusing, and the refusal, not the end of the stream, is what requests in flight must
// fail with.
func (c *Conn) authenticate(ctx context.Context, reauth bool) (time.Duration, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	mech := c.opts.SASL
	var sess Session
	fail := func(err error) error {
		return &AuthError{Addr: c.addr, Stage: "SASL " + mech.Name(), Err: err}
	}
	call := func(req wire.Request, version int16, resp wire.Response, refused func() error) error {
		err := c.callLocked(ctx, req, version, resp, func() error {
			if err := refused(); err != nil {
				err = fail(err)
				if reauth {
					c.Abort(err)
				}
				return err
			}
			return nil
		})
		var ae *AuthError
		if err != nil && !errors.As(err, &ae) {
			err = fmt.Errorf("conn: %s: %s: %w", c.addr, wire.APIName(req.Key()), err)
		}
		return err
	}

	hv, err := c.Version(wire.KeySaslHandshake)
	if err != nil {
		return 0, fail(err)
	}
	var av int16
	if hv >= 1 {
		if av, err = c.Version(wire.KeySaslAuthenticate); err != nil {
			return 0, fail(err)
		}
	}
	var hs wire.SaslHandshakeResponse
	if err := call(&wire.SaslHandshakeRequest{Mechanism: mech.Name()}, hv, &hs, func() error {
		err := wire.ErrorForCode(hs.ErrorCode)
		if err != nil && hs.ErrorCode == wire.ErrUnsupportedSaslMechanism.Code {
			err = fmt.Errorf("%w; the broker enables %q", err, hs.Mechanisms)
		}
		return err
	}); err != nil {
		return 0, err
	}
	sess, msg, err := mech.Start(ctx)
	if err != nil {
		return 0, fail(err)
	}
	var lifetime time.Duration
	for {
		var server []byte
		if hv == 0 {
			req, tok := rawToken(msg), rawToken(nil)
			if err := c.callLocked(ctx, &req, 0, &tok, nil); err != nil {
				if ctx.Err() != nil {
					return 0, fmt.Errorf("conn: %s: SASL: %w", c.addr, err)
				}
				// A broker answering raw tokens has no way to say why: it closes the
				// connection, most often because it refused the credentials.
				return 0, fail(fmt.Errorf("%w (connection closed during SASL with SaslHandshake v0: %v)",
					wire.ErrSaslAuthenticationFailed, err))
			}
			server = tok
		} else {
			var resp wire.SaslAuthenticateResponse
			if err := call(&wire.SaslAuthenticateRequest{AuthBytes: msg}, av, &resp, func() error {
				err := wire.ErrorForCode(resp.ErrorCode)
				if err != nil && resp.ErrorMessage != nil && *resp.ErrorMessage != "" {
					err = fmt.Errorf("%w: %s", err, c.redact(*resp.ErrorMessage, sess))
				}
				return err
			}); err != nil {
				return 0, err
			}
			server = resp.AuthBytes
			lifetime = time.Duration(max(resp.SessionLifetimeMs, 0)) * time.Millisecond
		}
		var done bool
		msg, done, err = sess.Next(server)
		if err != nil {
			if msg := c.redact(err.Error(), sess); msg != err.Error() {
				err = errors.New(msg)
			}
			return 0, fail(err)
		}
		if done {
			return lifetime, nil
		}
	}
}

// callLocked sends req at version and decodes its answer into resp; c.wmu is held. A
// non-nil check runs on the reader goroutine once resp is decoded, and its error is the
// call's.
func (c *Conn) callLocked(ctx context.Context, req wire.Request, version int16, resp wire.Response, check func() error) error {
	h := &callHandler{resp: resp, version: version, done: make(chan error, 1), check: check}
	if err := c.sendLocked(req, version, true, h); err != nil {
		return err
	}
	return h.wait(ctx)
}
