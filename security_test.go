package producer

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/gregor-kafka/producer/internal/testutil"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

// securityProperties are the properties of security.go, covered here rather than in
// TestConfigProperties.
var securityProperties = []string{
	"security.protocol", "sasl.mechanism", "sasl.mechanisms", "sasl.username", "sasl.password", "sasl.jaas.config",
	"ssl.ca.location", "ssl.certificate.location", "ssl.key.location", "ssl.endpoint.identification.algorithm",
}

func TestSecurityPropertiesListed(t *testing.T) {
	names := PropertyNames()
	for _, n := range securityProperties {
		if !slices.Contains(names, n) {
			t.Errorf("%s is not supported", n)
		}
	}
	for _, n := range names {
		if (strings.HasPrefix(n, "ssl.") || strings.HasPrefix(n, "sasl.") || strings.HasPrefix(n, "security.")) && !slices.Contains(securityProperties, n) {
			t.Errorf("%s is not in securityProperties", n)
		}
	}
}

// tlsFixture is a test CA, a broker TLS configuration, and the CA, a client certificate and
// key written to files.
type tlsFixture struct {
	ca                  *kafkatest.TestCA
	server              *tls.Config
	caFile              string
	certFile, keyFile   string
	clientCertificate   tls.Certificate
	otherCA             *kafkatest.TestCA
	otherCAFile         string
	serverForOtherNames *tls.Config // a broker certificate for broker.example.com only
}

func newTLSFixture(t *testing.T) *tlsFixture {
	t.Helper()
	f := &tlsFixture{}
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	f.ca, err = kafkatest.NewTestCA()
	must(err)
	f.server, err = f.ca.ServerConfig()
	must(err)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		must(os.WriteFile(p, b, 0o600))
		return p
	}
	f.caFile = write("ca.pem", f.ca.CertPEM)
	certPEM, keyPEM, err := f.ca.IssuePEM("client")
	must(err)
	f.certFile, f.keyFile = write("client.pem", certPEM), write("client.key", keyPEM)
	f.clientCertificate, err = tls.X509KeyPair(certPEM, keyPEM)
	must(err)
	f.otherCA, err = kafkatest.NewTestCA()
	must(err)
	f.otherCAFile = write("other-ca.pem", f.otherCA.CertPEM)
	cert, err := f.ca.Issue("broker", "broker.example.com")
	must(err)
	f.serverForOtherNames = &tls.Config{Certificates: []tls.Certificate{cert}}
	return f
}

const (
	secretPassword = "S3cret-Passw0rd"
	wrongPassword  = "Wr0ng-Passw0rd"
)

// TestProduceSASLSSLScram512 configures the producer as a Java client's properties file
// would and produces over SASL_SSL with SCRAM-SHA-512.
func TestProduceSASLSSLScram512(t *testing.T) {
	testutil.CheckNoLeaks(t)
	f := newTLSFixture(t)
	c := newCluster(t, kafkatest.TLS(f.server), kafkatest.SASL(kafkatest.MechanismScramSHA512), kafkatest.User("alice", secretPassword),
		kafkatest.SeedTopic("secure", 3))
	cfg, err := ConfigFromProperties(map[string]string{
		"bootstrap.servers": strings.Join(c.Addrs(), ","),
		"security.protocol": "SASL_SSL",
		"sasl.mechanism":    "SCRAM-SHA-512",
		"sasl.jaas.config":  `org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="` + secretPassword + `";`,
		"ssl.ca.location":   f.caFile,
		"linger.ms":         "1",
	})
	if err != nil {
		t.Fatal(err)
	}
	p := newProducer(t, cfg)
	ctx := ctxTimeout(t, 20*time.Second)
	if err := p.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 300
	futs := make([]*Future, n)
	for i := range futs {
		futs[i] = p.Send(ctx, Record{Topic: "secure", Key: []byte(fmt.Sprint(i % 7)), Value: []byte(fmt.Sprint(i))})
	}
	for i, f := range futs {
		if err := f.Wait(ctx); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	recs, err := c.WaitForRecords(ctx, "secure", n)
	if err != nil || len(recs) != n {
		t.Fatalf("%d records: %v", len(recs), err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// TLS without SASL: the broker closes the connection at the first request after
	// ApiVersions, and Ping says so.
	noSASL := newProducer(t, Config{BootstrapServers: c.Addrs(), SSLCALocation: f.caFile})
	if err := noSASL.Ping(ctx); err == nil {
		t.Fatal("Ping without SASL succeeded")
	}
	noSASL.Close(ctx)
}

// TestProduceEachMechanism produces with every mechanism, over TLS from a Go tls.Config and
// without TLS.
func TestProduceEachMechanism(t *testing.T) {
	f := newTLSFixture(t)
	for _, secure := range []bool{false, true} {
		opts := []kafkatest.Option{
			kafkatest.SASL(kafkatest.MechanismPlain, kafkatest.MechanismScramSHA256, kafkatest.MechanismScramSHA512, kafkatest.MechanismOAuthBearer),
			kafkatest.User("alice", secretPassword),
			kafkatest.OAuthValidator(func(tok string) error {
				if tok != "valid.token" {
					return errors.New("bad token")
				}
				return nil
			}),
		}
		if secure {
			opts = append(opts, kafkatest.TLS(f.server))
		}
		c := newCluster(t, opts...)
		for _, sasl := range []SASLConfig{
			{Mechanism: MechanismPlain, Username: "alice", Password: secretPassword},
			{Mechanism: MechanismScramSHA256, Username: "alice", Password: secretPassword},
			{Mechanism: "scram-sha-512", Username: "alice", Password: secretPassword},
			{Mechanism: MechanismOAuthBearer, TokenProvider: func(context.Context) (string, map[string]string, error) {
				return "valid.token", map[string]string{"logicalCluster": "lkc-1"}, nil
			}},
		} {
			t.Run(fmt.Sprintf("%s/tls=%v", sasl.Mechanism, secure), func(t *testing.T) {
				testutil.CheckNoLeaks(t)
				cfg := Config{BootstrapServers: c.Addrs(), SASL: sasl, Linger: -1}
				if secure {
					cfg.TLS = &tls.Config{RootCAs: f.ca.Pool()}
				}
				p := newProducer(t, cfg)
				wantProto := SASLPlaintext
				if secure {
					wantProto = SASLSSL
				}
				if p.cfg.sec.protocol != wantProto {
					t.Fatalf("protocol %s, want %s", p.cfg.sec.protocol, wantProto)
				}
				ctx := ctxTimeout(t, 20*time.Second)
				topic := "t-" + strings.ToLower(sasl.Mechanism)
				if _, err := p.Send(ctx, Record{Topic: topic, Value: []byte("v")}).Get(ctx); err != nil {
					t.Fatal(err)
				}
				if err := p.Close(ctx); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestWrongPassword: sends fail soon (not after max.block.ms) with an error that is
// SASL_AUTHENTICATION_FAILED and holds no password, the producer does not reconnect in a
// loop however many sends fail, and nothing logged holds the password.
func TestWrongPassword(t *testing.T) {
	testutil.CheckNoLeaks(t)
	f := newTLSFixture(t)
	c := newCluster(t, kafkatest.TLS(f.server), kafkatest.SASL(kafkatest.MechanismScramSHA512), kafkatest.User("alice", secretPassword))
	var logs testutil.SyncBuffer
	p := newProducer(t, Config{
		BootstrapServers: c.Addrs(),
		SecurityProtocol: SASLSSL,
		SASL:             SASLConfig{Mechanism: MechanismScramSHA512, Username: "alice", Password: wrongPassword},
		SSLCALocation:    f.caFile,
		MaxBlock:         30 * time.Second,
		Logger:           slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	checkErr := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, wire.ErrSaslAuthenticationFailed) || !errors.Is(err, ErrAuthentication) {
			t.Fatalf("%s: %v, want SASL_AUTHENTICATION_FAILED", what, err)
		}
		if strings.Contains(err.Error(), wrongPassword) || strings.Contains(err.Error(), secretPassword) {
			t.Fatalf("%s: error %q holds a password", what, err)
		}
	}
	ctx := ctxTimeout(t, 20*time.Second)
	start := time.Now()
	_, err := p.Send(ctx, Record{Topic: "t", Value: []byte("v")}).Get(ctx)
	checkErr("first send", err)
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("first send failed after %v", d)
	}
	checkErr("Ping", p.Ping(ctx))

	// Keep sending, to old and new topics, for a while: every send fails with the
	// authentication error, and the brokers see one attempt per backoff, not per send.
	before := c.RequestCount(wire.KeySaslHandshake)
	sends := 0
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); sends++ {
		topic := fmt.Sprintf("t%d", sends%20)
		_, err := p.Send(ctx, Record{Topic: topic, Value: []byte("v")}).Get(ctx)
		checkErr("send "+topic, err)
	}
	attempts := c.RequestCount(wire.KeySaslHandshake) - before
	t.Logf("%d sends, %d authentication attempts", sends, attempts)
	if sends < 50 || attempts > 8 {
		t.Fatalf("%d sends made %d authentication attempts", sends, attempts)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if l := logs.String(); strings.Contains(l, wrongPassword) || strings.Contains(l, secretPassword) {
		t.Fatalf("logs hold a password:\n%s", l)
	}
}

// TestAuthFailureIsNotForever: after an authentication failure the producer keeps trying,
// with backoff, so a cluster that starts accepting it gets it going without a restart.
func TestAuthFailureIsNotForever(t *testing.T) {
	testutil.CheckNoLeaks(t)
	var accept sync.Mutex
	ok := false
	c := newCluster(t, kafkatest.SASL(kafkatest.MechanismOAuthBearer), kafkatest.SeedTopic("t", 1), kafkatest.OAuthValidator(func(string) error {
		accept.Lock()
		defer accept.Unlock()
		if !ok {
			return errors.New("not yet")
		}
		return nil
	}))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Linger: -1, SASL: SASLConfig{Mechanism: MechanismOAuthBearer,
		TokenProvider: func(context.Context) (string, map[string]string, error) { return "tok", nil, nil }}})
	ctx := ctxTimeout(t, 20*time.Second)
	if _, err := p.Send(ctx, Record{Topic: "t", Value: []byte("v")}).Get(ctx); !errors.Is(err, wire.ErrSaslAuthenticationFailed) {
		t.Fatalf("send: %v", err)
	}
	accept.Lock()
	ok = true
	accept.Unlock()
	for {
		_, err := p.Send(ctx, Record{Topic: "t", Value: []byte("v")}).Get(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrAuthentication) {
			t.Fatalf("send: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestEndpointIdentification(t *testing.T) {
	f := newTLSFixture(t)
	c := newCluster(t, kafkatest.TLS(f.serverForOtherNames), kafkatest.SeedTopic("t", 1))
	ping := func(cfg Config) error {
		cfg.BootstrapServers = c.Addrs()[:1]
		p := newProducer(t, cfg)
		return p.Ping(ctxTimeout(t, 10*time.Second))
	}
	// The certificate names broker.example.com, not 127.0.0.1.
	var hostErr x509.HostnameError
	if err := ping(Config{SSLCALocation: f.caFile}); !errors.Is(err, ErrAuthentication) || !errors.As(err, &hostErr) {
		t.Fatalf("default: %v", err)
	}
	if err := ping(Config{SSLCALocation: f.caFile, SSLEndpointIdentification: Enabled}); !errors.As(err, &hostErr) {
		t.Fatalf("https: %v", err)
	}
	if err := ping(Config{SSLCALocation: f.caFile, SSLEndpointIdentification: Disabled}); err != nil {
		t.Fatalf("none: %v", err)
	}
	// Without name checks the chain is still checked.
	var authErr x509.UnknownAuthorityError
	if err := ping(Config{SSLCALocation: f.otherCAFile, SSLEndpointIdentification: Disabled}); !errors.Is(err, ErrAuthentication) || !errors.As(err, &authErr) {
		t.Fatalf("none, other CA: %v", err)
	}
	if err := ping(Config{SSLCALocation: f.otherCAFile}); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("other CA: %v", err)
	}
	// Config.TLS replaces the files.
	if err := ping(Config{TLS: &tls.Config{RootCAs: f.ca.Pool(), ServerName: "broker.example.com"}}); err != nil {
		t.Fatalf("TLS with ServerName: %v", err)
	}
}

func TestMutualTLSFiles(t *testing.T) {
	testutil.CheckNoLeaks(t)
	f := newTLSFixture(t)
	srv := f.server.Clone()
	srv.ClientAuth, srv.ClientCAs = tls.RequireAndVerifyClientCert, f.ca.Pool()
	c := newCluster(t, kafkatest.TLS(srv), kafkatest.SeedTopic("t", 1))
	cfg, err := ConfigFromProperties(map[string]string{
		"bootstrap.servers":        strings.Join(c.Addrs(), ","),
		"security.protocol":        "ssl",
		"ssl.ca.location":          f.caFile,
		"ssl.certificate.location": f.certFile,
		"ssl.key.location":         f.keyFile,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := newProducer(t, cfg)
	ctx := ctxTimeout(t, 20*time.Second)
	if _, err := p.Send(ctx, Record{Topic: "t", Value: []byte("v")}).Get(ctx); err != nil {
		t.Fatal(err)
	}
	p.Close(ctx)
	noCert := newProducer(t, Config{BootstrapServers: c.Addrs(), SSLCALocation: f.caFile})
	if err := noCert.Ping(ctx); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("without a client certificate: %v", err)
	}
	noCert.Close(ctx)
}

// TestProduceAcrossReauthentication produces while sessions expire every 300 ms: every
// connection re-authenticates in place (KIP-368) and no send fails.
func TestProduceAcrossReauthentication(t *testing.T) {
	testutil.CheckNoLeaks(t)
	c := newCluster(t, kafkatest.SASL(kafkatest.MechanismScramSHA256), kafkatest.User("alice", secretPassword),
		kafkatest.SessionLifetime(300*time.Millisecond), kafkatest.SeedTopic("t", 3))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Linger: time.Millisecond,
		SASL: SASLConfig{Mechanism: MechanismScramSHA256, Username: "alice", Password: secretPassword}})
	ctx := ctxTimeout(t, 20*time.Second)
	n := 0
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); n++ {
		if _, err := p.Send(ctx, Record{Topic: "t", Key: []byte(fmt.Sprint(n)), Value: []byte("v")}).Get(ctx); err != nil {
			t.Fatalf("record %d: %v", n, err)
		}
	}
	// The metadata connection and one per broker, each re-authenticated a few times.
	if hs := c.RequestCount(wire.KeySaslHandshake); hs < 8 {
		t.Fatalf("%d handshakes", hs)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSecurityValidation(t *testing.T) {
	f := newTLSFixture(t)
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	provider := func(context.Context) (string, map[string]string, error) { return "t", nil, nil }
	plain := SASLConfig{Mechanism: MechanismPlain, Username: "u", Password: secretPassword}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // substring of the error; "" for none
		// without error:
		proto    SecurityProtocol
		tls, sas bool
	}{
		{name: "default", proto: Plaintext},
		{name: "TLS inferred", cfg: Config{TLS: &tls.Config{}}, proto: SSL, tls: true},
		{name: "CA file inferred", cfg: Config{SSLCALocation: f.caFile}, proto: SSL, tls: true},
		{name: "SASL inferred", cfg: Config{SASL: plain}, proto: SASLPlaintext, sas: true},
		{name: "both inferred", cfg: Config{SASL: plain, SSLCALocation: f.caFile}, proto: SASLSSL, tls: true, sas: true},
		{name: "lower case", cfg: Config{SecurityProtocol: "sasl_ssl", SASL: plain}, proto: SASLSSL, tls: true, sas: true},
		{name: "SSL with system roots", cfg: Config{SecurityProtocol: SSL}, proto: SSL, tls: true},
		{name: "mTLS files", cfg: Config{SSLCALocation: f.caFile, SSLCertificateLocation: f.certFile, SSLKeyLocation: f.keyFile}, proto: SSL, tls: true},
		{name: "OAUTHBEARER", cfg: Config{SecurityProtocol: SASLSSL, SASL: SASLConfig{Mechanism: "oauthbearer", TokenProvider: provider}}, proto: SASLSSL, tls: true, sas: true},

		{name: "unknown protocol", cfg: Config{SecurityProtocol: "TLS"}, want: "security.protocol"},
		{name: "SASL_SSL without mechanism", cfg: Config{SecurityProtocol: SASLSSL}, want: "needs sasl.mechanism"},
		{name: "SASL_PLAINTEXT without mechanism", cfg: Config{SecurityProtocol: SASLPlaintext, SASL: SASLConfig{Username: "u", Password: "p"}}, want: "needs sasl.mechanism"},
		{name: "unknown mechanism", cfg: Config{SASL: SASLConfig{Mechanism: "DIGEST-MD5", Username: "u", Password: "p"}}, want: "unknown mechanism"},
		{name: "GSSAPI", cfg: Config{SASL: SASLConfig{Mechanism: "GSSAPI", Username: "u", Password: "p"}}, want: "Kerberos"},
		{name: "PLAIN without password", cfg: Config{SASL: SASLConfig{Mechanism: MechanismPlain, Username: "u"}}, want: "sasl.password"},
		{name: "SCRAM without username", cfg: Config{SASL: SASLConfig{Mechanism: MechanismScramSHA256, Password: "p"}}, want: "sasl.username"},
		{name: "SCRAM with provider", cfg: Config{SASL: SASLConfig{Mechanism: MechanismScramSHA256, Username: "u", Password: "p", TokenProvider: provider}}, want: "TokenProvider"},
		{name: "OAUTHBEARER without provider", cfg: Config{SASL: SASLConfig{Mechanism: MechanismOAuthBearer}}, want: "TokenProvider"},
		{name: "OAUTHBEARER with password", cfg: Config{SASL: SASLConfig{Mechanism: MechanismOAuthBearer, Password: "p", TokenProvider: provider}}, want: "takes no"},
		{name: "SASL with PLAINTEXT", cfg: Config{SecurityProtocol: Plaintext, SASL: plain}, want: "SASL_PLAINTEXT or SASL_SSL"},
		{name: "SASL with SSL", cfg: Config{SecurityProtocol: SSL, SASL: plain}, want: "SASL_PLAINTEXT or SASL_SSL"},
		{name: "TLS with SASL_PLAINTEXT", cfg: Config{SecurityProtocol: SASLPlaintext, SASL: plain, SSLCALocation: f.caFile}, want: "use SSL or SASL_SSL"},
		{name: "CA file missing", cfg: Config{SSLCALocation: filepath.Join(t.TempDir(), "missing.pem")}, want: "ssl.ca.location"},
		{name: "CA file not PEM", cfg: Config{SSLCALocation: notPEM}, want: "holds no PEM certificate"},
		{name: "certificate without key", cfg: Config{SSLCertificateLocation: f.certFile}, want: "must be set together"},
		{name: "key does not match", cfg: Config{SSLCertificateLocation: f.certFile, SSLKeyLocation: notPEM}, want: "ssl.key.location"},
		{name: "endpoint identification", cfg: Config{SSLCALocation: f.caFile, SSLEndpointIdentification: 7}, want: "ssl.endpoint.identification.algorithm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.BootstrapServers = []string{"localhost:9092"}
			s, err := tc.cfg.validate()
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want one with %q", err, tc.want)
				}
				if strings.Contains(err.Error(), secretPassword) {
					t.Fatalf("error %q holds the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.sec.protocol != tc.proto || (s.sec.tls != nil) != tc.tls || (s.sec.mech != nil) != tc.sas {
				t.Fatalf("protocol %s, TLS %v, SASL %v", s.sec.protocol, s.sec.tls != nil, s.sec.mech != nil)
			}
		})
	}
}

func TestSecurityFromProperties(t *testing.T) {
	f := newTLSFixture(t)
	base := func(kv ...string) map[string]string {
		m := map[string]string{"bootstrap.servers": "localhost:9092"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	jaas := func(module, opts string) string {
		return "org.apache.kafka.common.security." + module + " required " + opts + ";"
	}
	for _, tc := range []struct {
		name           string
		props          map[string]string
		want           string // error substring; "" for none
		mech, user, pw string
		endpoint       Switch
	}{
		{name: "librdkafka", props: base("security.protocol", "SASL_SSL", "sasl.mechanisms", "PLAIN", "sasl.username", "u", "sasl.password", secretPassword, "ssl.ca.location", f.caFile),
			mech: "PLAIN", user: "u", pw: secretPassword},
		{name: "java scram", props: base("security.protocol", "SASL_PLAINTEXT", "sasl.mechanism", "SCRAM-SHA-256",
			"sasl.jaas.config", jaas("scram.ScramLoginModule", `username="alice" password="`+secretPassword+`"`)),
			mech: "SCRAM-SHA-256", user: "alice", pw: secretPassword},
		{name: "java plain, unquoted, extra option, spacing", props: base("sasl.mechanism", "plain",
			"sasl.jaas.config", "  org.apache.kafka.common.security.plain.PlainLoginModule   Required\n username=bob password="+secretPassword+" debug=true ; "),
			mech: "PLAIN", user: "bob", pw: secretPassword},
		{name: "escapes", props: base("sasl.mechanism", "PLAIN",
			"sasl.jaas.config", jaas("plain.PlainLoginModule", `username="a \"b\"" password="x\\y;z"`)),
			mech: "PLAIN", user: `a "b"`, pw: `x\y;z`},
		{name: "single quotes, as Confluent Cloud's configs", props: base("sasl.mechanism", "PLAIN",
			"sasl.jaas.config", jaas("plain.PlainLoginModule", `username='KEY' password='`+secretPassword+`"x'`)),
			mech: "PLAIN", user: "KEY", pw: secretPassword + `"x`},
		{name: "both mechanism names agree", props: base("sasl.mechanism", "PLAIN", "sasl.mechanisms", "plain", "sasl.username", "u", "sasl.password", "p"), mech: "PLAIN", user: "u", pw: "p"},
		{name: "endpoint https", props: base("ssl.endpoint.identification.algorithm", "HTTPS"), endpoint: Enabled},
		{name: "endpoint none", props: base("ssl.endpoint.identification.algorithm", ""), endpoint: Disabled},
		{name: "endpoint none by name", props: base("ssl.endpoint.identification.algorithm", "none"), endpoint: Disabled},

		{name: "mechanisms disagree", props: base("sasl.mechanism", "PLAIN", "sasl.mechanisms", "SCRAM-SHA-256"), want: "conflicts"},
		{name: "jaas and password", props: base("sasl.jaas.config", jaas("plain.PlainLoginModule", `username="u" password="`+secretPassword+`"`), "sasl.password", secretPassword), want: "conflicts"},
		{name: "jaas and username", props: base("sasl.jaas.config", jaas("plain.PlainLoginModule", `username="u" password="`+secretPassword+`"`), "sasl.username", "v"), want: "conflicts"},
		{name: "jaas without semicolon", props: base("sasl.jaas.config", `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="`+secretPassword+`"`), want: "missing ';'"},
		{name: "jaas two modules", props: base("sasl.jaas.config", jaas("plain.PlainLoginModule", `username="u" password="`+secretPassword+`"`)+" x.Y required;"), want: "only one"},
		{name: "jaas bad flag", props: base("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule always password="+secretPassword+";"), want: "control flag"},
		{name: "jaas unterminated", props: base("sasl.jaas.config", jaas("plain.PlainLoginModule", `username="u" password="`+secretPassword)), want: "unterminated"},
		{name: "jaas no value", props: base("sasl.jaas.config", jaas("plain.PlainLoginModule", `username password="`+secretPassword+`"`)), want: "key=value"},
		{name: "jaas missing password", props: base("sasl.jaas.config", jaas("plain.PlainLoginModule", `username="u"`)), want: "needs username and password"},
		{name: "jaas oauth", props: base("sasl.jaas.config", jaas("oauthbearer.OAuthBearerLoginModule", `unsecuredLoginStringClaim_sub="u"`)), want: "TokenProvider"},
		{name: "jaas kerberos", props: base("sasl.jaas.config", "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true;"), want: "not supported"},
		{name: "jaas delegation token", props: base("sasl.jaas.config", jaas("scram.ScramLoginModule", `username="u" password="`+secretPassword+`" tokenauth="true"`)), want: "delegation"},
		{name: "jaas empty", props: base("sasl.jaas.config", " "), want: "no login module"},
		{name: "protocol", props: base("security.protocol", "TLS"), want: "want PLAINTEXT"},
		{name: "endpoint", props: base("ssl.endpoint.identification.algorithm", "dns"), want: "https"},
		{name: "unknown secret property", props: base("ssl.keystore.password", secretPassword), want: "unknown property"},
		{name: "misspelt password property", props: base("sasl.pasword", secretPassword), want: `did you mean "sasl.password"`},
		{name: "kafka-python password", props: base("sasl_plain_password", secretPassword), want: `did you mean "sasl.password"`},
		{name: "jaas secret as module", props: base("sasl.jaas.config", secretPassword+" required;"), want: "not a login module class"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ConfigFromProperties(tc.props)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want one with %q", err, tc.want)
				}
				if strings.Contains(err.Error(), secretPassword) {
					t.Fatalf("error %q holds the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.SASL.Mechanism != tc.mech || c.SASL.Username != tc.user || c.SASL.Password != tc.pw || c.SSLEndpointIdentification != tc.endpoint {
				t.Fatalf("got %s %q %v endpoint %v", c.SASL.Mechanism, c.SASL.Username, c.SASL.Password == tc.pw, c.SSLEndpointIdentification)
			}
			if _, err := c.validate(); err != nil && tc.mech != "" {
				t.Fatalf("validate: %v", err)
			}
		})
	}
}

func TestConfigPrintingHidesPassword(t *testing.T) {
	cfg := Config{BootstrapServers: []string{"a:1"}, SASL: SASLConfig{Mechanism: MechanismPlain, Username: "alice", Password: secretPassword}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, cfg)
		if strings.Contains(out, secretPassword) {
			t.Errorf("%s prints the password: %s", verb, out)
		}
		if !strings.Contains(out, "alice") {
			t.Errorf("%s hides the user too: %s", verb, out)
		}
	}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "sasl", cfg.SASL, "cfg", cfg)
	if strings.Contains(logs.String(), secretPassword) {
		t.Errorf("slog prints the password: %s", logs.String())
	}
}

// FuzzParseJAAS parses arbitrary sasl.jaas.config values. Nothing may panic, and what
// parses must parse the same once written back with every value quoted.
func FuzzParseJAAS(f *testing.F) {
	f.Add(`org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="a\"b\\c";`)
	f.Add("x.PlainLoginModule optional a=b c=d ;")
	f.Add(`m required k="unterminated;`)
	f.Add(`x.PlainLoginModule required username='u' password='p"q\'r';`)
	f.Fuzz(func(t *testing.T, s string) {
		module, opts, err := parseJAAS(s)
		if err != nil {
			return
		}
		var b strings.Builder
		b.WriteString(module + " required")
		for k, v := range opts {
			b.WriteString(" " + k + `="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`)
		}
		b.WriteString(";")
		module2, opts2, err := parseJAAS(b.String())
		if err != nil || module2 != module || len(opts2) != len(opts) {
			t.Fatalf("%q parses as %q %q; rewritten %q parses as %q %q %v", s, module, opts, b.String(), module2, opts2, err)
		}
		for k, v := range opts {
			if opts2[k] != v {
				t.Fatalf("%q: option %s=%q, rewritten %q", s, k, v, opts2[k])
			}
		}
	})
}
