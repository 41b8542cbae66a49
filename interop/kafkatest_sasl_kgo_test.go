package interop

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"

	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

// TestKafkatestSASLWithKgo has franz-go's client, written independently of ours,
// authenticate to kafkatest with every mechanism, over TCP and TLS, and produce: kafkatest's
// SASL and TLS listeners speak what real clients speak. Wrong credentials are refused.
func TestKafkatestSASLWithKgo(t *testing.T) {
	ca, err := kafkatest.NewTestCA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	oauthMech := func(token string) sasl.Mechanism {
		return oauth.Auth{Token: token, Extensions: map[string]string{"logicalCluster": "lkc-1"}}.AsMechanism()
	}
	for _, mech := range []string{kafkatest.MechanismPlain, kafkatest.MechanismScramSHA256, kafkatest.MechanismScramSHA512, kafkatest.MechanismOAuthBearer} {
		for _, secure := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/tls=%v", mech, secure), func(t *testing.T) {
				opts := []kafkatest.Option{kafkatest.SASL(mech), kafkatest.User(saslUser, saslPassword), kafkatest.SeedTopic("kgo", 3),
					kafkatest.OAuthValidator(func(tok string) error {
						if tok != "good-token" {
							return errors.New("bad token")
						}
						return nil
					})}
				var clientTLS *tls.Config
				if secure {
					opts = append(opts, kafkatest.TLS(srv))
					clientTLS = &tls.Config{RootCAs: ca.Pool()}
				}
				c, err := kafkatest.NewCluster(opts...)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				good, bad := kgoMechanism(mech, saslUser, saslPassword), kgoMechanism(mech, saslUser, "wrong")
				if mech == kafkatest.MechanismOAuthBearer {
					good, bad = oauthMech("good-token"), oauthMech("bad-token")
				}
				produce := func(m sasl.Mechanism, n int, timeout time.Duration) error {
					kopts := []kgo.Opt{kgo.SeedBrokers(c.Addrs()...), kgo.SASL(m), kgo.RecordRetries(2), kgo.RequestRetries(2)}
					if clientTLS != nil {
						kopts = append(kopts, kgo.DialTLSConfig(clientTLS))
					}
					cl, err := kgo.NewClient(kopts...)
					if err != nil {
						return err
					}
					defer cl.Close()
					ctx, cancel := context.WithTimeout(context.Background(), timeout)
					defer cancel()
					recs := make([]*kgo.Record, n)
					for i := range recs {
						recs[i] = &kgo.Record{Topic: "kgo", Value: []byte(fmt.Sprint(i))}
					}
					return cl.ProduceSync(ctx, recs...).FirstErr()
				}
				if err := produce(good, 100, 10*time.Second); err != nil {
					t.Fatal(err)
				}
				stored := 0
				for p := int32(0); p < 3; p++ {
					stored += len(c.Records("kgo", p))
				}
				if stored != 100 {
					t.Fatalf("%d records stored, want 100", stored)
				}
				if err := produce(bad, 1, time.Second); err == nil {
					t.Fatal("wrong credentials accepted")
				}
			})
		}
	}
}

// TestKafkatestReauthWithKgo has franz-go's client produce across many session lifetimes of
// kafkatest (KIP-368): it re-authenticates as kafkatest expects, and a connection that did
// not would be closed at its next request.
func TestKafkatestReauthWithKgo(t *testing.T) {
	c, err := kafkatest.NewCluster(kafkatest.SASL(kafkatest.MechanismScramSHA256), kafkatest.User(saslUser, saslPassword),
		kafkatest.SessionLifetime(1500*time.Millisecond), kafkatest.SeedTopic("reauth", 2))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.SASL(kgoMechanism(kafkatest.MechanismScramSHA256, saslUser, saslPassword)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var n atomic.Int64
	for end := time.Now().Add(4 * time.Second); time.Now().Before(end); {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "reauth", Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatalf("record %d: %v", n.Load(), err)
		}
		n.Add(1)
		time.Sleep(5 * time.Millisecond)
	}
	if hs := c.RequestCount(wire.KeySaslHandshake); hs < 4 {
		t.Fatalf("%d handshakes", hs)
	}
}
