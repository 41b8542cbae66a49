package kafkatest

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// SASL mechanism names, as in SaslHandshake.
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
	MechanismOAuthBearer = "OAUTHBEARER"
)

// ScramIterations is the iteration count of the SCRAM credentials [User] derives, Kafka's
// minimum and the default of its tools.
const ScramIterations = 4096

// securityConfig is what the TLS and SASL options set.
type securityConfig struct {
	tls         *tls.Config
	mechanisms  []string // enabled SASL mechanisms; empty means SASL is off
	users       map[string]*saslUser
	oauth       func(token string) error
	lifetime    time.Duration // KIP-368 session lifetime; 0 means none
	handshakeV0 bool
}

// saslUser is a user's password (for PLAIN) and SCRAM credentials, as a broker stores them.
type saslUser struct {
	password string
	scram    map[string]*scramCredential // by mechanism
}

type scramCredential struct {
	salt                 []byte
	storedKey, serverKey []byte
}

func scramHash(mechanism string) func() hash.Hash {
	if mechanism == MechanismScramSHA512 {
		return sha512.New
	}
	return sha256.New
}

// SASL turns on SASL authentication on every listener with the given mechanisms: any of
// PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER. As on a Kafka SASL listener, a
// connection may then send only ApiVersions, SaslHandshake and SaslAuthenticate until it has
// authenticated; anything else closes it. Wrong credentials get SASL_AUTHENTICATION_FAILED
// and the connection is closed; an unknown mechanism gets UNSUPPORTED_SASL_MECHANISM with the
// enabled ones. Add users with [User]; OAUTHBEARER tokens are checked by [OAuthValidator].
// Without SASL the brokers do not advertise the SASL APIs and close connections that send
// them. Combine with [TLS] for SASL_SSL.
func SASL(mechanisms ...string) Option {
	return func(c *config) error {
		if len(mechanisms) == 0 {
			return errors.New("kafkatest: SASL: no mechanism given")
		}
		for _, m := range mechanisms {
			switch m {
			case MechanismPlain, MechanismScramSHA256, MechanismScramSHA512, MechanismOAuthBearer:
			default:
				return fmt.Errorf("kafkatest: SASL: unknown mechanism %q", m)
			}
			if !slices.Contains(c.sec.mechanisms, m) {
				c.sec.mechanisms = append(c.sec.mechanisms, m)
			}
		}
		return nil
	}
}

// User adds a user who authenticates with password over PLAIN, SCRAM-SHA-256 or
// SCRAM-SHA-512. The brokers keep SCRAM credentials as Kafka does, derived from the
// password with a random salt and [ScramIterations] iterations, not the password itself.
func User(name, password string) Option {
	return func(c *config) error {
		if name == "" {
			return errors.New("kafkatest: User: empty name")
		}
		u := &saslUser{password: password, scram: map[string]*scramCredential{}}
		for _, m := range []string{MechanismScramSHA256, MechanismScramSHA512} {
			salt := make([]byte, 16)
			if _, err := rand.Read(salt); err != nil {
				return fmt.Errorf("kafkatest: User: %w", err)
			}
			h := scramHash(m)
			salted, err := pbkdf2.Key(h, password, salt, ScramIterations, h().Size())
			if err != nil {
				return fmt.Errorf("kafkatest: User: %w", err)
			}
			clientKey := hmacSum(h, salted, "Client Key")
			stored := h()
			stored.Write(clientKey)
			u.scram[m] = &scramCredential{salt: salt, storedKey: stored.Sum(nil), serverKey: hmacSum(h, salted, "Server Key")}
		}
		if c.sec.users == nil {
			c.sec.users = map[string]*saslUser{}
		}
		c.sec.users[name] = u
		return nil
	}
}

// OAuthValidator sets how OAUTHBEARER tokens are checked: a token is accepted when validate
// returns nil. Without it any token is accepted, as by Kafka's unsecured validator.
func OAuthValidator(validate func(token string) error) Option {
	return func(c *config) error {
		if validate == nil {
			return errors.New("kafkatest: OAuthValidator(nil)")
		}
		c.sec.oauth = validate
		return nil
	}
}

// SessionLifetime gives authenticated sessions a lifetime, as a broker with
// connections.max.reauth.ms (KIP-368): SaslAuthenticate v1+ answers carry it, a client may
// re-authenticate on the same connection with a new SaslHandshake (as the same user), and a
// connection that sends any other request after its session expired is closed.
func SessionLifetime(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("kafkatest: SessionLifetime(%v): must be positive", d)
		}
		c.sec.lifetime = d
		return nil
	}
}

// SASLHandshakeV0 makes the brokers advertise SaslHandshake v0 only and no
// SaslAuthenticate, as brokers before Kafka 1.0 (KIP-152): clients then send the SASL tokens
// as bare length-prefixed frames without request headers. A client choosing v0 is served so
// whatever the option.
func SASLHandshakeV0() Option {
	return func(c *config) error {
		c.sec.handshakeV0 = true
		return nil
	}
}

// saslAPIs returns apis with SaslHandshake and SaslAuthenticate added when SASL is on, sorted
// by key.
func saslAPIs(apis []wire.ApiVersionsKey, sec *securityConfig) []wire.ApiVersionsKey {
	if len(sec.mechanisms) == 0 {
		return apis
	}
	out := slices.Clone(apis)
	hs, _ := wire.LookupAPI(wire.KeySaslHandshake)
	au, _ := wire.LookupAPI(wire.KeySaslAuthenticate)
	if sec.handshakeV0 {
		out = append(out, wire.ApiVersionsKey{APIKey: hs.Key, MinVersion: 0, MaxVersion: 0})
	} else {
		out = append(out, wire.ApiVersionsKey{APIKey: hs.Key, MinVersion: hs.Min, MaxVersion: hs.Max},
			wire.ApiVersionsKey{APIKey: au.Key, MinVersion: au.Min, MaxVersion: au.Max})
	}
	slices.SortFunc(out, func(a, b wire.ApiVersionsKey) int { return int(a.APIKey) - int(b.APIKey) })
	return out
}

// saslStage is where a connection is in authenticating.
type saslStage uint8

const (
	saslBegin          saslStage = iota // before SaslHandshake
	saslAuthenticating                  // after SaslHandshake, during the mechanism's exchange
	saslDone                            // authenticated
)

// saslState is a connection's authentication.
type saslState struct {
	stage     saslStage
	raw       bool // after a v0 handshake: the next frames are bare tokens
	mechanism string
	server    saslServer
	principal string    // the authenticated user; empty for OAUTHBEARER
	expires   time.Time // when the session ends (KIP-368); zero for never
}

// saslServer is the broker side of one authentication exchange.
type saslServer interface {
	// step takes a client message and returns the answer, and whether the exchange is
	// complete. An *authFailure error fails the authentication; its message is safe to
	// send and log.
	step(msg []byte) (answer []byte, done bool, err error)
	// principal is the authenticated user, once done.
	principal() string
}

// authFailure is a refused authentication.
type authFailure struct{ msg string }

func (e *authFailure) Error() string { return e.msg }

func invalidCredentials(mechanism string) error {
	return &authFailure{"Authentication failed during authentication due to invalid credentials with SASL mechanism " + mechanism}
}

// saslRequest handles the SASL side of a request when SASL is on: the SASL APIs themselves,
// and refusing everything else before authentication. It reports whether it handled the
// request and, if so, whether the connection stays open.
func (cn *conn) saslRequest(hdr *wire.RequestHeader, body []byte) (handled, keep bool) {
	sec := &cn.b.c.cfg.sec
	if len(sec.mechanisms) == 0 {
		return false, false
	}
	st := &cn.sasl
	closeWith := func(why string) (bool, bool) {
		cn.logClose(hdr, errors.New(why))
		return true, false
	}
	switch st.stage {
	case saslBegin:
		switch hdr.APIKey {
		case wire.KeyApiVersions:
			return false, false
		case wire.KeySaslHandshake:
			return true, cn.saslHandshake(hdr, body)
		}
		return closeWith("request before SASL authentication")
	case saslAuthenticating:
		if hdr.APIKey == wire.KeySaslAuthenticate && !st.raw {
			return true, cn.saslAuthenticate(hdr, body)
		}
		return closeWith("unexpected request during SASL authentication")
	}
	// Authenticated.
	if !st.expires.IsZero() && time.Now().After(st.expires) {
		return closeWith("SASL session expired without re-authentication (KIP-368)")
	}
	if hdr.APIKey == wire.KeySaslHandshake {
		if st.expires.IsZero() {
			return true, cn.saslAnswer(hdr, &wire.SaslHandshakeResponse{ErrorCode: wire.ErrIllegalSaslState.Code}, true)
		}
		return true, cn.saslHandshake(hdr, body) // KIP-368 re-authentication
	}
	if hdr.APIKey == wire.KeySaslAuthenticate {
		msg := "SaslAuthenticate request received after successful authentication"
		return true, cn.saslAnswer(hdr, &wire.SaslAuthenticateResponse{ErrorCode: wire.ErrIllegalSaslState.Code, ErrorMessage: &msg}, true)
	}
	return false, false
}

// saslAnswer writes resp and reports keep when that worked.
func (cn *conn) saslAnswer(hdr *wire.RequestHeader, resp wire.Response, keep bool) bool {
	cn.out = wire.AppendResponse(cn.out[:0], hdr.CorrelationID, hdr.APIVersion, resp)
	return cn.write(cn.out) && keep
}

// saslHandshake answers SaslHandshake: it starts the exchange of the mechanism asked for,
// or refuses it with the enabled ones and closes the connection.
func (cn *conn) saslHandshake(hdr *wire.RequestHeader, body []byte) bool {
	sec := &cn.b.c.cfg.sec
	st := &cn.sasl
	var req wire.SaslHandshakeRequest
	if err := req.Decode(body, hdr.APIVersion); err != nil {
		cn.logClose(hdr, err)
		return false
	}
	resp := &wire.SaslHandshakeResponse{Mechanisms: sec.mechanisms}
	if !slices.Contains(sec.mechanisms, req.Mechanism) {
		resp.ErrorCode = wire.ErrUnsupportedSaslMechanism.Code
		cn.saslAnswer(hdr, resp, false)
		cn.logClose(hdr, fmt.Errorf("unsupported SASL mechanism %q", req.Mechanism))
		return false
	}
	if st.stage == saslDone && (hdr.APIVersion == 0 || req.Mechanism != st.mechanism) {
		resp.ErrorCode = wire.ErrIllegalSaslState.Code
		cn.saslAnswer(hdr, resp, false)
		cn.logClose(hdr, errors.New("re-authentication must use SaslHandshake v1 and the same mechanism"))
		return false
	}
	st.mechanism = req.Mechanism
	st.server = newSASLServer(req.Mechanism, sec)
	st.stage = saslAuthenticating
	st.raw = hdr.APIVersion == 0
	return cn.saslAnswer(hdr, resp, true)
}

// saslAuthenticate answers one SaslAuthenticate request with the mechanism's next message.
func (cn *conn) saslAuthenticate(hdr *wire.RequestHeader, body []byte) bool {
	var req wire.SaslAuthenticateRequest
	if err := req.Decode(body, hdr.APIVersion); err != nil {
		cn.logClose(hdr, err)
		return false
	}
	answer, lifetime, err := cn.saslStep(req.AuthBytes)
	if err != nil {
		msg := err.Error()
		cn.saslAnswer(hdr, &wire.SaslAuthenticateResponse{ErrorCode: wire.ErrSaslAuthenticationFailed.Code, ErrorMessage: &msg}, false)
		cn.logClose(hdr, err)
		return false
	}
	return cn.saslAnswer(hdr, &wire.SaslAuthenticateResponse{AuthBytes: answer, SessionLifetimeMs: lifetime.Milliseconds()}, true)
}

// saslRawToken handles a bare token frame after a v0 SaslHandshake. A refused token closes
// the connection without an answer: raw framing has no way to say why.
func (cn *conn) saslRawToken(frame []byte) bool {
	answer, _, err := cn.saslStep(frame)
	if err != nil {
		cn.logClose(nil, err)
		return false
	}
	cn.out = append(wire.AppendInt32(cn.out[:0], int32(len(answer))), answer...)
	return cn.write(cn.out)
}

// saslStep runs one step of the connection's exchange and, when it completes, marks the
// connection authenticated. It returns the session lifetime to announce.
func (cn *conn) saslStep(msg []byte) ([]byte, time.Duration, error) {
	st := &cn.sasl
	answer, done, err := st.server.step(msg)
	if err != nil || !done {
		return answer, 0, err
	}
	p := st.server.principal()
	if st.principal != "" && p != st.principal {
		return nil, 0, &authFailure{"re-authentication changed the authenticated user"}
	}
	lifetime := cn.b.c.cfg.sec.lifetime
	st.principal, st.stage, st.raw, st.server = p, saslDone, false, nil
	st.expires = time.Time{}
	if lifetime > 0 {
		st.expires = time.Now().Add(lifetime)
	}
	return answer, lifetime, nil
}

func newSASLServer(mechanism string, sec *securityConfig) saslServer {
	switch mechanism {
	case MechanismPlain:
		return &plainServer{users: sec.users}
	case MechanismOAuthBearer:
		return &oauthServer{validate: sec.oauth}
	}
	return &scramServer{mechanism: mechanism, users: sec.users}
}

// plainServer checks "authzid NUL user NUL password" (RFC 4616); the authzid must be empty
// or the user, as Kafka requires.
type plainServer struct {
	users map[string]*saslUser
	user  string
}

func (s *plainServer) step(msg []byte) ([]byte, bool, error) {
	parts := strings.Split(string(msg), "\x00")
	if len(parts) != 3 || parts[1] == "" || parts[0] != "" && parts[0] != parts[1] {
		return nil, false, &authFailure{"Invalid PLAIN message: want authzid NUL user NUL password"}
	}
	u := s.users[parts[1]]
	if u == nil || subtle.ConstantTimeCompare([]byte(u.password), []byte(parts[2])) != 1 {
		return nil, false, invalidCredentials(MechanismPlain)
	}
	s.user = parts[1]
	return []byte{}, true, nil
}

func (s *plainServer) principal() string { return s.user }

// scramServer is the server side of SCRAM-SHA-256/512 (RFC 5802) without channel binding.
type scramServer struct {
	mechanism string
	users     map[string]*saslUser

	user        string
	cred        *scramCredential
	gs2, nonce  string
	authMessage string // client-first-bare "," server-first
}

func (s *scramServer) step(msg []byte) ([]byte, bool, error) {
	if s.cred == nil {
		return s.first(string(msg))
	}
	return s.final(string(msg))
}

// first answers client-first-message ("n,," or "y,," then "n=<user>,r=<nonce>[,ext]") with
// server-first-message.
func (s *scramServer) first(msg string) ([]byte, bool, error) {
	bad := &authFailure{"Invalid SCRAM client-first-message"}
	// gs2 header: a channel-binding flag ("n" or "y"; "p=" asks for binding, which Kafka
	// does not offer), an optional authzid, and a comma.
	i := strings.IndexByte(msg, ',')
	if i < 0 || msg[:i] != "n" && msg[:i] != "y" {
		return nil, false, bad
	}
	j := strings.IndexByte(msg[i+1:], ',')
	if j < 0 {
		return nil, false, bad
	}
	authzid := msg[i+1 : i+1+j]
	s.gs2 = msg[:i+j+2]
	bare := msg[i+j+2:]
	attrs := strings.Split(bare, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "n=") || !strings.HasPrefix(attrs[1], "r=") || len(attrs[1]) < 3 {
		return nil, false, bad
	}
	user, ok := scramUnescape(attrs[0][2:])
	if !ok || user == "" || authzid != "" && authzid != "a="+attrs[0][2:] {
		return nil, false, bad
	}
	u := s.users[user]
	if u == nil {
		return nil, false, invalidCredentials(s.mechanism)
	}
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, false, &authFailure{"server nonce: " + err.Error()}
	}
	s.user, s.cred = user, u.scram[s.mechanism]
	s.nonce = attrs[1][2:] + base64.RawStdEncoding.EncodeToString(b[:])
	serverFirst := fmt.Sprintf("r=%s,s=%s,i=%d", s.nonce, base64.StdEncoding.EncodeToString(s.cred.salt), ScramIterations)
	s.authMessage = bare + "," + serverFirst
	return []byte(serverFirst), false, nil
}

// final checks client-final-message ("c=<gs2 header>,r=<nonce>,p=<proof>") and answers
// server-final-message with the server signature.
func (s *scramServer) final(msg string) ([]byte, bool, error) {
	bad := &authFailure{"Invalid SCRAM client-final-message"}
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return nil, false, bad
	}
	withoutProof := msg[:i]
	attrs := strings.Split(withoutProof, ",")
	if len(attrs) < 2 || attrs[0] != "c="+base64.StdEncoding.EncodeToString([]byte(s.gs2)) || attrs[1] != "r="+s.nonce {
		return nil, false, bad
	}
	proof, err := base64.StdEncoding.DecodeString(msg[i+3:])
	h := scramHash(s.mechanism)
	if err != nil || len(proof) != h().Size() {
		return nil, false, bad
	}
	authMessage := s.authMessage + "," + withoutProof
	clientKey := hmacSum(h, s.cred.storedKey, authMessage)
	for k := range clientKey {
		clientKey[k] ^= proof[k]
	}
	stored := h()
	stored.Write(clientKey)
	if !hmac.Equal(stored.Sum(nil), s.cred.storedKey) {
		return nil, false, invalidCredentials(s.mechanism)
	}
	return []byte("v=" + base64.StdEncoding.EncodeToString(hmacSum(h, s.cred.serverKey, authMessage))), true, nil
}

func (s *scramServer) principal() string { return s.user }

// scramUnescape decodes a saslname: "=2C" is ',' and "=3D" is '='; any other '=' is invalid.
func scramUnescape(s string) (string, bool) {
	if !strings.Contains(s, "=") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", false
		}
		i += 2
	}
	return b.String(), true
}

func hmacSum(h func() hash.Hash, key []byte, msg string) []byte {
	m := hmac.New(h, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// oauthServer checks the OAUTHBEARER client initial response (RFC 7628, KIP-255). A refused
// token is answered with a JSON error status; the client acknowledges it with 0x01, and then
// the authentication fails.
type oauthServer struct {
	validate func(token string) error
	refused  error
}

func (s *oauthServer) step(msg []byte) ([]byte, bool, error) {
	if s.refused != nil {
		return nil, false, s.refused
	}
	token, _, err := parseOAuthInitialResponse(string(msg))
	if err != nil {
		return nil, false, &authFailure{"Invalid OAUTHBEARER client first message: " + err.Error()}
	}
	if s.validate != nil {
		if err := s.validate(token); err != nil {
			s.refused = &authFailure{"OAUTHBEARER token refused: " + err.Error()}
			return []byte(`{"status":"invalid_token"}`), false, nil
		}
	}
	return []byte{}, true, nil
}

func (*oauthServer) principal() string { return "" }

// parseOAuthInitialResponse returns the token and extensions of "n,[a=<authzid>],\x01" then
// "key=value\x01" pairs, one of them "auth=Bearer <token>", then "\x01".
func parseOAuthInitialResponse(msg string) (token string, ext map[string]string, err error) {
	gs2, rest, ok := strings.Cut(msg, "\x01")
	if !ok || !strings.HasPrefix(gs2, "n,") || !strings.HasSuffix(gs2, ",") || strings.Count(gs2, ",") != 2 {
		return "", nil, errors.New("bad gs2 header")
	}
	if !strings.HasSuffix(rest, "\x01\x01") {
		return "", nil, errors.New("not terminated by two 0x01 bytes")
	}
	ext = map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(rest, "\x01\x01"), "\x01") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return "", nil, errors.New("bad key=value pair")
		}
		if k != "auth" {
			ext[k] = v
			continue
		}
		scheme, tok, ok := strings.Cut(v, " ")
		tok = strings.TrimLeft(tok, " ")
		if !ok || !strings.EqualFold(scheme, "bearer") || tok == "" || strings.ContainsAny(tok, " \t") {
			return "", nil, errors.New("bad auth value")
		}
		token = tok
	}
	if token == "" {
		return "", nil, errors.New("no auth=Bearer token")
	}
	return token, ext, nil
}
