package producer_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	producer "github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/kafkatest"
)

// A producer configured as a Java client's properties would be for a SASL_SSL listener
// with SCRAM-SHA-512. The cluster is a kafkatest one with TLS and a SCRAM user; against a
// real cluster only the properties change.
func Example_saslSSL() {
	ca, err := kafkatest.NewTestCA()
	if err != nil {
		log.Fatal(err)
	}
	serverTLS, err := ca.ServerConfig()
	if err != nil {
		log.Fatal(err)
	}
	c, err := kafkatest.NewCluster(kafkatest.TLS(serverTLS), kafkatest.SASL(kafkatest.MechanismScramSHA512),
		kafkatest.User("alice", "alice-secret"), kafkatest.SeedTopic("payments", 1))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		log.Fatal(err)
	}

	cfg, err := producer.ConfigFromProperties(map[string]string{
		"bootstrap.servers": strings.Join(c.Addrs(), ","),
		"security.protocol": "SASL_SSL",
		"sasl.mechanism":    "SCRAM-SHA-512",
		"sasl.jaas.config":  `org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice-secret";`,
		"ssl.ca.location":   caFile,
	})
	if err != nil {
		log.Fatal(err)
	}
	p, err := producer.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer p.Close(ctx)
	if err := p.Ping(ctx); err != nil { // fail fast on wrong credentials or certificates
		log.Fatal(err)
	}
	md, err := p.Send(ctx, producer.Record{Topic: "payments", Value: []byte("42 EUR")}).Get(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s/%d@%d\n", md.Topic, md.Partition, md.Offset)
	// Output:
	// payments/0@0
}
