package interop

import (
	"context"
	"crypto/tls"
	"fmt"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	producer "github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/kafkatest"
)

const saslUser, saslPassword = "admin", "kfake-Secret-1"

// kgoMechanism is franz-go's client for mechanism, for reading back.
func kgoMechanism(mechanism, user, password string) sasl.Mechanism {
	switch mechanism {
	case producer.MechanismPlain:
		return plain.Auth{User: user, Pass: password}.AsMechanism()
	case producer.MechanismScramSHA256:
		return scram.Auth{User: user, Pass: password}.AsSha256Mechanism()
	}
	return scram.Auth{User: user, Pass: password}.AsSha512Mechanism()
}

// consumeSASL reads n records of topic with franz-go's consumer, authenticating with mech.
func consumeSASL(t *testing.T, addrs []string, topic string, n int, mech sasl.Mechanism, tlsCfg *tls.Config) []*kgo.Record {
	t.Helper()
	opts := []kgo.Opt{kgo.SASL(mech)}
	if tlsCfg != nil {
		opts = append(opts, kgo.DialTLSConfig(tlsCfg))
	}
	return consumeAll(t, addrs, topic, n, opts...)
}

// TestSASLKfake produces with each mechanism kfake offers, over TCP and TLS, to a kfake
// cluster with SASL on, and reads every record back with franz-go's consumer: kfake's SASL
// server, written independently of ours, accepts our PLAIN and SCRAM clients, and our SCRAM
// client accepts its server signature.
func TestSASLKfake(t *testing.T) {
	ca, err := kafkatest.NewTestCA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	for _, mech := range []string{producer.MechanismPlain, producer.MechanismScramSHA256, producer.MechanismScramSHA512} {
		for _, secure := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/tls=%v", mech, secure), func(t *testing.T) {
				const topic = "sasl"
				opts := []kfake.Opt{kfake.NumBrokers(3), kfake.EnableSASL(), kfake.Superuser(mech, saslUser, saslPassword), kfake.SeedTopics(3, topic)}
				var clientTLS *tls.Config
				if secure {
					opts = append(opts, kfake.TLS(srv))
					clientTLS = &tls.Config{RootCAs: ca.Pool()}
				}
				c, err := kfake.NewCluster(opts...)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				p, err := producer.New(producer.Config{
					BootstrapServers: c.ListenAddrs(),
					SASL:             producer.SASLConfig{Mechanism: mech, Username: saslUser, Password: saslPassword},
					TLS:              clientTLS,
				})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close(context.Background())
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := p.Ping(ctx); err != nil {
					t.Fatal(err)
				}
				const n = 500
				futs := make([]*producer.Future, n)
				for i := range futs {
					futs[i] = p.Send(ctx, producer.Record{Topic: topic, Key: []byte(fmt.Sprint(i % 11)), Value: []byte(fmt.Sprint(i))})
				}
				for i, f := range futs {
					if err := f.Wait(ctx); err != nil {
						t.Fatalf("record %d: %v", i, err)
					}
				}
				if err := p.Close(ctx); err != nil {
					t.Fatal(err)
				}
				got := consumeSASL(t, c.ListenAddrs(), topic, n, kgoMechanism(mech, saslUser, saslPassword), clientTLS)
				vals := make([]string, len(got))
				for i, r := range got {
					vals[i] = string(r.Value)
				}
				sort.Strings(vals)
				want := make([]string, n)
				for i := range want {
					want[i] = fmt.Sprint(i)
				}
				sort.Strings(want)
				if fmt.Sprint(vals) != fmt.Sprint(want) {
					t.Fatalf("read back %d records, not the %d sent", len(vals), n)
				}

				// Wrong credentials are refused (kfake closes the connection rather than
				// answering SASL_AUTHENTICATION_FAILED, so the error is a closed
				// connection, which is retried).
				bad, err := producer.New(producer.Config{
					BootstrapServers: c.ListenAddrs(),
					SASL:             producer.SASLConfig{Mechanism: mech, Username: saslUser, Password: "wrong"},
					TLS:              clientTLS,
				})
				if err != nil {
					t.Fatal(err)
				}
				defer bad.Close(context.Background())
				if err := bad.Ping(ctx); err == nil {
					t.Fatal("wrong password accepted")
				}
				// As is a client without SASL.
				none, err := producer.New(producer.Config{BootstrapServers: c.ListenAddrs(), TLS: clientTLS})
				if err != nil {
					t.Fatal(err)
				}
				defer none.Close(context.Background())
				if err := none.Ping(ctx); err == nil {
					t.Fatal("client without SASL served")
				}
			})
		}
	}
}

// TestSASLKfakeReauthentication produces while kfake gives sessions a 600 ms lifetime
// (connections.max.reauth.ms, KIP-368): connections re-authenticate in place, with
// SaslHandshake and SaslAuthenticate only (kfake closes a connection that sends anything
// else mid-authentication), and every record is written.
func TestSASLKfakeReauthentication(t *testing.T) {
	const topic = "reauth"
	c, err := kfake.NewCluster(kfake.NumBrokers(2), kfake.EnableSASL(), kfake.Superuser(producer.MechanismScramSHA512, saslUser, saslPassword),
		kfake.SeedTopics(2, topic), kfake.BrokerConfigs(map[string]string{"connections.max.reauth.ms": "600"}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var handshakes atomic.Int64
	c.ControlKey(int16(kmsg.SASLHandshake), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		handshakes.Add(1)
		return nil, nil, false
	})
	p, err := producer.New(producer.Config{
		BootstrapServers: c.ListenAddrs(),
		SASL:             producer.SASLConfig{Mechanism: producer.MechanismScramSHA512, Username: saslUser, Password: saslPassword},
		Linger:           time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := 0
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); n++ {
		if _, err := p.Send(ctx, producer.Record{Topic: topic, Key: []byte(fmt.Sprint(n)), Value: []byte("v")}).Get(ctx); err != nil {
			t.Fatalf("record %d: %v", n, err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Three connections (metadata and two brokers), each authenticated once and then every
	// 300 ms or so (at most half the lifetime for short sessions).
	if h := handshakes.Load(); h < 9 {
		t.Fatalf("%d handshakes in 2 s", h)
	}
	got := consumeSASL(t, c.ListenAddrs(), topic, n, kgoMechanism(producer.MechanismScramSHA512, saslUser, saslPassword), nil)
	if len(got) != n {
		t.Fatalf("read back %d records, sent %d", len(got), n)
	}
}
