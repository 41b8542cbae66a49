package conn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
)

// startTLS runs the TLS client handshake on nc. An empty cfg.ServerName is set to the host
// of addr, so the broker's certificate is checked against the name (or IP address) it was
// dialed by; cfg.InsecureSkipVerify or a VerifyConnection of cfg decide otherwise.
func startTLS(ctx context.Context, nc net.Conn, addr string, cfg *tls.Config) (net.Conn, error) {
	if cfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg = cfg.Clone()
			cfg.ServerName = host
		}
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		if ae := tlsAuthError(addr, err); ae != nil {
			return nil, ae
		}
		return nil, fmt.Errorf("conn: TLS handshake with %s: %w", addr, err)
	}
	return tc, nil
}

// tlsAuthError returns err as an [AuthError] when it means that one side refused the
// other's certificate or TLS settings (rather than a network failure), else nil. With TLS
// 1.3 a broker that refuses the client's certificate says so only after the client's
// handshake is done, so the first read of the connection meets the alert.
func tlsAuthError(addr string, err error) error {
	var (
		verr  *tls.CertificateVerificationError
		hostE x509.HostnameError
		authE x509.UnknownAuthorityError
		certE x509.CertificateInvalidError
		recE  tls.RecordHeaderError
		opE   *net.OpError
	)
	switch {
	case errors.As(err, &verr), errors.As(err, &hostE), errors.As(err, &authE), errors.As(err, &certE),
		errors.As(err, &recE),
		errors.As(err, &opE) && opE.Op == "remote error": // a TLS alert from the broker
		return &AuthError{Addr: addr, Stage: "TLS", Err: err}
	}
	return nil
}
