package kafkatest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// TLS makes every broker listener speak TLS with cfg, as a Kafka SSL or SASL_SSL listener:
// cfg needs the broker's certificate (Certificates or GetCertificate); set ClientAuth and
// ClientCAs for mutual TLS. A [TestCA] makes both for a test.
func TLS(cfg *tls.Config) Option {
	return func(c *config) error {
		if cfg == nil || len(cfg.Certificates) == 0 && cfg.GetCertificate == nil && cfg.GetConfigForClient == nil {
			return errors.New("kafkatest: TLS: the config has no certificate")
		}
		c.sec.tls = cfg.Clone()
		return nil
	}
}

// serverConn wraps a newly accepted connection in TLS when the cluster listens with TLS. The
// handshake runs on the connection's first read.
func (c *Cluster) serverConn(nc net.Conn) net.Conn {
	if c.cfg.sec.tls == nil {
		return nc
	}
	return tls.Server(nc, c.cfg.sec.tls)
}

// TestCA is a throwaway certificate authority for tests with TLS: a fresh ECDSA P-256 key
// and a self-signed certificate, which issues certificates for brokers and clients.
type TestCA struct {
	// Certificate is the CA's certificate, and CertPEM its PEM encoding (the file a client's
	// ssl.ca.location names).
	Certificate *x509.Certificate
	CertPEM     []byte
	key         *ecdsa.PrivateKey
}

// NewTestCA returns a new certificate authority, valid for a day.
func NewTestCA() (*TestCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("kafkatest: NewTestCA: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "kafkatest CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("kafkatest: NewTestCA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("kafkatest: NewTestCA: %w", err)
	}
	return &TestCA{Certificate: cert, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key: key}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}

// Pool returns a pool holding the CA's certificate, for a tls.Config's RootCAs (clients) or
// ClientCAs (brokers checking client certificates).
func (ca *TestCA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Certificate)
	return p
}

// IssuePEM returns a certificate signed by the CA and its private key, both PEM-encoded (the
// files a client's ssl.certificate.location and ssl.key.location name). The certificate
// names commonName and is valid for hosts, DNS names or IP addresses, for server and client
// authentication alike.
func (ca *TestCA) IssuePEM(commonName string, hosts ...string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("kafkatest: IssuePEM: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Certificate, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("kafkatest: IssuePEM: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("kafkatest: IssuePEM: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// Issue is [TestCA.IssuePEM] as a tls.Certificate.
func (ca *TestCA) Issue(commonName string, hosts ...string) (tls.Certificate, error) {
	certPEM, keyPEM, err := ca.IssuePEM(commonName, hosts...)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// ServerConfig returns a configuration for [TLS]: a broker certificate for 127.0.0.1 and
// localhost, where the cluster listens.
func (ca *TestCA) ServerConfig() (*tls.Config, error) {
	cert, err := ca.Issue("kafkatest broker", "127.0.0.1", "localhost")
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
