package producer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gregor-kafka/producer/internal/conn"
	"github.com/gregor-kafka/producer/wire"
)

// SecurityProtocol is the security.protocol setting: how connections to brokers are
// secured.
type SecurityProtocol string

// The security protocols of Kafka listeners.
const (
	// Plaintext is neither encrypted nor authenticated.
	Plaintext SecurityProtocol = "PLAINTEXT"
	// SSL is TLS: encrypted, the broker authenticated by its certificate, the client too
	// when it has a certificate (mutual TLS).
	SSL SecurityProtocol = "SSL"
	// SASLPlaintext authenticates the client with SASL over an unencrypted connection.
	SASLPlaintext SecurityProtocol = "SASL_PLAINTEXT"
	// SASLSSL authenticates the client with SASL over TLS.
	SASLSSL SecurityProtocol = "SASL_SSL"
)

// The SASL mechanisms of sasl.mechanism.
const (
	// MechanismPlain sends the user name and password as they are (RFC 4616): use it over
	// TLS only.
	MechanismPlain = "PLAIN"
	// MechanismScramSHA256 and MechanismScramSHA512 prove knowledge of the password without
	// sending it, and check that the broker knows it too (RFC 5802, RFC 7677, KIP-84).
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
	// MechanismOAuthBearer sends a token from [SASLConfig.TokenProvider] (RFC 7628,
	// KIP-255).
	MechanismOAuthBearer = "OAUTHBEARER"
)

// ErrAuthentication matches, with errors.Is, the errors of connections that could not be
// authenticated: a TLS certificate refused by either side, a SASL mechanism the broker does
// not enable ([wire.ErrUnsupportedSaslMechanism]), credentials or a token the broker
// rejected ([wire.ErrSaslAuthenticationFailed]), or a broker that could not prove it knows
// the SCRAM credentials. Sends waiting for a topic's metadata fail with it, and the producer
// waits retry.backoff.ms (growing to retry.backoff.max.ms) before connecting again. Its
// messages never hold a password or token.
var ErrAuthentication = conn.ErrAuthentication

// TokenProvider returns an OAUTHBEARER token and the SASL extensions to send with it
// (KIP-342, such as a logical cluster id). It is called for each authentication,
// re-authentications (KIP-368) included, so it should cache its token until shortly
// before it expires; ctx ends when the connection attempt times out.
type TokenProvider func(ctx context.Context) (token string, extensions map[string]string, err error)

// SASLConfig holds the SASL settings. Printing it (%v, %+v, %#v) hides the password.
type SASLConfig struct {
	// Mechanism (sasl.mechanism, librdkafka's sasl.mechanisms): [MechanismPlain],
	// [MechanismScramSHA256], [MechanismScramSHA512] or [MechanismOAuthBearer]. Required
	// with SASL_PLAINTEXT and SASL_SSL.
	Mechanism string
	// Username and Password (sasl.username and sasl.password as librdkafka names them, or
	// the username and password of sasl.jaas.config's PlainLoginModule or
	// ScramLoginModule) are the credentials of PLAIN and SCRAM.
	Username, Password string
	// TokenProvider supplies the tokens of OAUTHBEARER. Required with it.
	TokenProvider TokenProvider
}

// String returns the settings with the password hidden.
func (s SASLConfig) String() string {
	pw, tp := "", "nil"
	if s.Password != "" {
		pw = "[redacted]"
	}
	if s.TokenProvider != nil {
		tp = "set"
	}
	return fmt.Sprintf("{Mechanism:%s Username:%s Password:%s TokenProvider:%s}", s.Mechanism, s.Username, pw, tp)
}

// GoString is String, for %#v.
func (s SASLConfig) GoString() string { return "producer.SASLConfig" + s.String() }

// security is the validated TLS and SASL settings, and the state that keeps a producer
// whose credentials are refused from reconnecting in a loop.
type security struct {
	protocol SecurityProtocol
	tls      *tls.Config    // nil without TLS
	mech     conn.Mechanism // nil without SASL

	mu        sync.Mutex
	authErr   error     // the last authentication failure, until a connection succeeds
	authFails int       // authentication failures in a row
	retryAt   time.Time // no connection attempt before this, after an authentication failure
}

// security validates the TLS and SASL settings. An empty security.protocol follows the
// other settings: SSL when TLS or an ssl.* file is set, SASL_PLAINTEXT when a SASL setting
// is, SASL_SSL with both, else PLAINTEXT.
func (c *Config) security() (*security, error) {
	proto := SecurityProtocol(strings.ToUpper(string(c.SecurityProtocol)))
	wantTLS := c.TLS != nil || c.SSLCALocation != "" || c.SSLCertificateLocation != "" || c.SSLKeyLocation != ""
	wantSASL := c.SASL.Mechanism != "" || c.SASL.Username != "" || c.SASL.Password != "" || c.SASL.TokenProvider != nil
	if proto == "" {
		switch {
		case wantTLS && wantSASL:
			proto = SASLSSL
		case wantTLS:
			proto = SSL
		case wantSASL:
			proto = SASLPlaintext
		default:
			proto = Plaintext
		}
	}
	var useTLS, useSASL bool
	switch proto {
	case Plaintext:
	case SSL:
		useTLS = true
	case SASLPlaintext:
		useSASL = true
	case SASLSSL:
		useTLS, useSASL = true, true
	default:
		return nil, fmt.Errorf("producer: security.protocol: unknown value %q: want PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", c.SecurityProtocol)
	}
	if wantSASL && !useSASL {
		return nil, fmt.Errorf("producer: SASL settings are given but security.protocol is %s: use SASL_PLAINTEXT or SASL_SSL", proto)
	}
	if wantTLS && !useTLS {
		return nil, fmt.Errorf("producer: TLS settings (TLS or ssl.*.location) are given but security.protocol is %s: use SSL or SASL_SSL", proto)
	}
	if c.SSLEndpointIdentification < Default || c.SSLEndpointIdentification > Disabled {
		return nil, fmt.Errorf("producer: ssl.endpoint.identification.algorithm: invalid value %d", c.SSLEndpointIdentification)
	}
	s := &security{protocol: proto}
	var err error
	if useTLS {
		if s.tls, err = c.tlsConfig(); err != nil {
			return nil, err
		}
	}
	if useSASL {
		if s.mech, err = c.SASL.mechanism(proto); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// tlsConfig returns Config.TLS, or the configuration the ssl.* settings describe.
func (c *Config) tlsConfig() (*tls.Config, error) {
	if c.TLS != nil {
		return c.TLS.Clone(), nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.SSLCALocation != "" {
		pem, err := os.ReadFile(c.SSLCALocation)
		if err != nil {
			return nil, fmt.Errorf("producer: ssl.ca.location: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("producer: ssl.ca.location: %s holds no PEM certificate", c.SSLCALocation)
		}
	}
	if (c.SSLCertificateLocation == "") != (c.SSLKeyLocation == "") {
		return nil, errors.New("producer: ssl.certificate.location and ssl.key.location must be set together")
	}
	if c.SSLCertificateLocation != "" {
		cert, err := tls.LoadX509KeyPair(c.SSLCertificateLocation, c.SSLKeyLocation)
		if err != nil {
			return nil, fmt.Errorf("producer: ssl.certificate.location / ssl.key.location: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if c.SSLEndpointIdentification == Disabled {
		// Check the chain but not the name: tls checks both or neither.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = verifyChain(cfg.RootCAs)
	}
	return cfg, nil
}

// verifyChain checks that the broker's certificate chains to roots (the system's when nil)
// for server authentication, whatever names it holds: ssl.endpoint.identification.algorithm
// set to none.
func verifyChain(roots *x509.CertPool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("tls: the broker sent no certificate")
		}
		opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
		for _, c := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(opts)
		return err
	}
}

// mechanism checks the SASL settings and returns the client mechanism.
func (s *SASLConfig) mechanism(proto SecurityProtocol) (conn.Mechanism, error) {
	name := strings.ToUpper(s.Mechanism)
	switch name {
	case MechanismPlain, MechanismScramSHA256, MechanismScramSHA512:
		if s.Username == "" || s.Password == "" {
			return nil, fmt.Errorf("producer: sasl.mechanism=%s needs sasl.username and sasl.password (or sasl.jaas.config)", name)
		}
		if s.TokenProvider != nil {
			return nil, fmt.Errorf("producer: SASL.TokenProvider is set but sasl.mechanism is %s, not OAUTHBEARER", name)
		}
	case MechanismOAuthBearer:
		if s.TokenProvider == nil {
			return nil, errors.New("producer: sasl.mechanism=OAUTHBEARER needs SASL.TokenProvider")
		}
		if s.Username != "" || s.Password != "" {
			return nil, errors.New("producer: sasl.mechanism=OAUTHBEARER takes no sasl.username or sasl.password")
		}
	case "":
		return nil, fmt.Errorf("producer: security.protocol=%s needs sasl.mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER", proto)
	case "GSSAPI":
		return nil, errors.New("producer: sasl.mechanism GSSAPI (Kerberos) is not supported")
	default:
		return nil, fmt.Errorf("producer: sasl.mechanism: unknown mechanism %q: want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER", s.Mechanism)
	}
	switch name {
	case MechanismPlain:
		return conn.Plain(s.Username, s.Password), nil
	case MechanismScramSHA256:
		return conn.ScramSHA256(s.Username, s.Password), nil
	case MechanismScramSHA512:
		return conn.ScramSHA512(s.Username, s.Password), nil
	}
	return conn.OAuthBearer(conn.TokenProvider(s.TokenProvider)), nil
}

// connOptions returns the options of every broker connection.
func (p *Producer) connOptions() conn.Options {
	return conn.Options{
		ClientID:           p.cfg.ClientID,
		SendBufferBytes:    p.cfg.SendBufferBytes,
		ReceiveBufferBytes: p.cfg.ReceiveBufferBytes,
		RequestTimeout:     p.cfg.RequestTimeout,
		TLS:                p.cfg.sec.tls,
		SASL:               p.cfg.sec.mech,
		Dialer:             p.dialTCP,
	}
}

// authBackoff returns the last authentication failure while the producer waits before
// connecting again after it, else nil. Every broker shares the credentials, so while it
// holds no connection is attempted: wrong credentials cost one attempt per backoff, not a
// storm of them.
func (p *Producer) authBackoff() error {
	s := p.cfg.sec
	s.mu.Lock()
	err := s.authErr
	if err != nil && !time.Now().Before(s.retryAt) {
		err = nil
	}
	s.mu.Unlock()
	if err != nil {
		p.authFailed(err)
	}
	return err
}

// lastAuthError returns the last authentication failure, until a connection succeeds.
func (p *Producer) lastAuthError() error {
	s := p.cfg.sec
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authErr
}

// noteDial records the outcome of a connection attempt: a success ends the backoff after
// authentication failures; an authentication failure starts or lengthens it (retry.backoff.ms
// doubling to retry.backoff.max.ms) and fails the sends waiting for metadata.
func (p *Producer) noteDial(err error) {
	s := p.cfg.sec
	auth := errors.Is(err, ErrAuthentication)
	if err != nil && !auth {
		return
	}
	s.mu.Lock()
	if auth {
		s.authFails++
		s.authErr, s.retryAt = err, time.Now().Add(p.backoff(s.authFails))
	} else {
		s.authFails, s.authErr = 0, nil
	}
	s.mu.Unlock()
	if auth {
		p.authFailed(err)
	}
}

// authFailed fails the sends waiting for the metadata of a topic with err, an
// authentication failure, as the Java client does: they cannot succeed until the
// credentials are fixed, and waiting max.block.ms would only hide why. The error stays on
// each such topic until a metadata answer brings it.
func (p *Producer) authFailed(err error) {
	p.topics.Range(func(_, v any) bool {
		if ts := v.(*topicState); ts.parts.Load() == nil {
			e := error(&PartitionError{Topic: ts.name, Partition: -1, Err: err})
			ts.err.Store(&e)
		}
		return true
	})
	p.meta.updated.notify()
}

// Ping connects to the bootstrap servers in turn, with the producer's TLS and SASL settings,
// until one of them accepts the authentication and answers a Metadata request (for no
// topic), and returns nil then.
// An authentication failure ends it at once, since every broker shares the credentials:
// errors.Is(err, [ErrAuthentication]) tells it from a network failure, and
// errors.Is(err, wire.ErrSaslAuthenticationFailed) from refused credentials. Ping lets a
// program fail fast at start-up on wrong credentials or certificates; sends report the
// same errors, but only once they need a connection.
func (p *Producer) Ping(ctx context.Context) error {
	var errs []error
	for _, addr := range p.bootstrapServers() {
		actx, cancel := context.WithTimeout(ctx, p.cfg.RequestTimeout)
		c, err := conn.Dial(actx, addr, p.connOptions())
		p.noteDial(err)
		if err == nil {
			var resp wire.MetadataResponse
			err = c.Call(actx, &wire.MetadataRequest{Topics: []wire.MetadataRequestTopic{}}, &resp)
			c.Close()
		}
		cancel()
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrAuthentication) {
			return err
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("producer: no bootstrap server answered: %w", errors.Join(errs...))
}

// Property setters for the security settings (see properties in config.go).

func setSecurityProtocol(c *Config, v string) error {
	switch p := SecurityProtocol(strings.ToUpper(v)); p {
	case Plaintext, SSL, SASLPlaintext, SASLSSL:
		c.SecurityProtocol = p
		return nil
	}
	return errors.New("want PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
}

func setSASLMechanism(c *Config, v string) error {
	if c.SASL.Mechanism != "" && !strings.EqualFold(c.SASL.Mechanism, v) {
		return fmt.Errorf("conflicts with the mechanism %s set already (sasl.mechanism and sasl.mechanisms)", c.SASL.Mechanism)
	}
	c.SASL.Mechanism = strings.ToUpper(v)
	return nil
}

// setSASLUsername and setSASLPassword refuse to replace what sasl.jaas.config set, which
// ConfigFromProperties applies before them (properties are applied in name order).
func setSASLUsername(c *Config, v string) error {
	if c.SASL.Username != "" {
		return errors.New("conflicts with the username of sasl.jaas.config: set one or the other")
	}
	c.SASL.Username = v
	return nil
}

func setSASLPassword(c *Config, v string) error {
	if c.SASL.Password != "" {
		return errors.New("conflicts with the password of sasl.jaas.config: set one or the other")
	}
	c.SASL.Password = v
	return nil
}

func setEndpointIdentification(c *Config, v string) error {
	switch strings.ToLower(v) {
	case "https":
		c.SSLEndpointIdentification = Enabled
	case "", "none":
		c.SSLEndpointIdentification = Disabled
	default:
		return errors.New(`want "https" or "" (none)`)
	}
	return nil
}

// setJAASConfig takes the username and password of sasl.jaas.config, as the Java client
// writes it:
//
//	org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="secret";
//
// PlainLoginModule serves PLAIN and ScramLoginModule both SCRAM mechanisms; sasl.mechanism
// still chooses the mechanism.
func setJAASConfig(c *Config, v string) error {
	module, opts, err := parseJAAS(v)
	if err != nil {
		return err
	}
	switch {
	case strings.HasSuffix(module, ".PlainLoginModule"), strings.HasSuffix(module, ".ScramLoginModule"):
	case strings.HasSuffix(module, ".OAuthBearerLoginModule"):
		return errors.New("OAuthBearerLoginModule: set Config.SASL.TokenProvider instead")
	case !isJavaClassName(module):
		// Not a class name: perhaps a secret pasted in the wrong place; not shown.
		return errors.New("the first word is not a login module class: use PlainLoginModule or ScramLoginModule")
	default:
		return fmt.Errorf("login module %q is not supported: use PlainLoginModule or ScramLoginModule", module)
	}
	if strings.EqualFold(opts["tokenauth"], "true") {
		return errors.New("delegation tokens (tokenauth=true) are not supported")
	}
	if opts["username"] == "" || opts["password"] == "" {
		return errors.New("the login module needs username and password options")
	}
	c.SASL.Username, c.SASL.Password = opts["username"], opts["password"]
	return nil
}

// isJavaClassName reports whether s is a dotted Java class name, such as
// org.apache.kafka.common.security.plain.PlainLoginModule.
func isJavaClassName(s string) bool {
	if !strings.Contains(s, ".") {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" || part[0] >= '0' && part[0] <= '9' {
			return false
		}
		for _, r := range part {
			if !(r == '_' || r == '$' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

// parseJAAS parses one JAAS login module entry: "<class> <flag> [<key>=<value>]... ;", with
// values bare or quoted, in double or single quotes as Java's StreamTokenizer reads them
// (backslash escapes the next character). Errors give positions,
// never values, which may be passwords.
func parseJAAS(s string) (module string, opts map[string]string, err error) {
	i := 0
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
	}
	word := func() string {
		start := i
		for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' && s[i] != ';' && s[i] != '=' {
			i++
		}
		return s[start:i]
	}
	skip()
	if module = word(); module == "" {
		return "", nil, errors.New("no login module class")
	}
	skip()
	switch flag := word(); strings.ToLower(flag) {
	case "required", "requisite", "sufficient", "optional":
	default:
		return "", nil, fmt.Errorf("at offset %d: want a control flag (required, requisite, sufficient or optional)", i-len(flag))
	}
	opts = map[string]string{}
	for {
		skip()
		if i == len(s) {
			return "", nil, errors.New("missing ';' at the end")
		}
		if s[i] == ';' {
			i++
			skip()
			if i != len(s) {
				return "", nil, fmt.Errorf("at offset %d: only one login module is allowed", i)
			}
			return module, opts, nil
		}
		keyAt := i
		key := word()
		if key == "" || i == len(s) || s[i] != '=' {
			return "", nil, fmt.Errorf("at offset %d: want key=value", keyAt)
		}
		i++
		var val strings.Builder
		if i < len(s) && (s[i] == '"' || s[i] == '\'') {
			quote := s[i]
			i++
			for ; i < len(s) && s[i] != quote; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				val.WriteByte(s[i])
			}
			if i == len(s) {
				return "", nil, fmt.Errorf("at offset %d: unterminated quoted value of %s", keyAt, key)
			}
			i++
		} else {
			val.WriteString(word())
		}
		opts[key] = val.String()
	}
}

// propertyShown returns the value of property key as an error message may show it: hidden
// when the key names a secret.
func propertyShown(key, v string) string {
	k := strings.ToLower(key)
	for _, secret := range []string{"password", "secret", "jaas", "token", "key.pem", "credential"} {
		if strings.Contains(k, secret) {
			return "[redacted]"
		}
	}
	return v
}
