package conn

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
)

// SCRAM iteration bounds. Kafka refuses fewer than 4096 iterations for both SCRAM
// mechanisms (ScramMechanism.minIterations), so a server asking for fewer is not a Kafka
// broker we should give a proof to; the upper bound keeps a hostile server from making
// every dial burn seconds of CPU (Kafka's own tools cap new credentials at 16384, KIP-554).
const (
	scramMinIterations = 4096
	scramMaxIterations = 1 << 20
)

// ErrScramServer is the error of a SCRAM exchange whose server messages are malformed or
// whose server signature does not verify: the broker did not prove it knows the
// credentials, so the connection is not trusted.
var ErrScramServer = errors.New("SCRAM: server failed mutual authentication")

// scramMech is SCRAM-SHA-256 or SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka uses it (KIP-84):
// no channel binding, no authorization id.
type scramMech struct {
	name     string
	hash     func() hash.Hash
	user     string
	password string
	// nonce returns the client nonce; nil means 24 random bytes, base64.
	nonce func() (string, error)
	// maxIterations lowers scramMaxIterations when not 0 (fuzzing).
	maxIterations int

	// The salted password of the last exchange: every broker of a cluster, and every
	// re-authentication, gives the same salt and iteration count, so PBKDF2 runs once.
	mu          sync.Mutex
	cacheSalt   []byte
	cacheIters  int
	cacheSalted []byte
}

// saltedPassword returns Hi(password, salt, iterations).
func (m *scramMech) saltedPassword(salt []byte, iters int) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if iters != m.cacheIters || !bytes.Equal(salt, m.cacheSalt) {
		m.cacheSalt, m.cacheIters = salt, iters
		m.cacheSalted = pbkdf2Hi(m.hash, []byte(m.password), salt, iters)
	}
	return m.cacheSalted
}

// ScramSHA256 returns the SCRAM-SHA-256 mechanism for user and password.
func ScramSHA256(user, password string) Mechanism {
	return &scramMech{name: "SCRAM-SHA-256", hash: sha256.New, user: user, password: password}
}

// ScramSHA512 returns the SCRAM-SHA-512 mechanism for user and password.
func ScramSHA512(user, password string) Mechanism {
	return &scramMech{name: "SCRAM-SHA-512", hash: sha512.New, user: user, password: password}
}

func (m *scramMech) Name() string { return m.name }

// Start sends client-first-message: gs2 header "n,," then "n=<user>,r=<nonce>".
func (m *scramMech) Start(context.Context) (Session, []byte, error) {
	newNonce := m.nonce
	if newNonce == nil {
		newNonce = randomNonce
	}
	nonce, err := newNonce()
	if err != nil {
		return nil, nil, err
	}
	s := &scramSession{m: m, nonce: nonce}
	s.clientFirstBare = "n=" + scramEscape(m.user) + ",r=" + nonce
	return s, []byte("n,," + s.clientFirstBare), nil
}

func (m *scramMech) redact(s string) string { return redactSecret(s, m.password) }

func randomNonce() (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("SCRAM nonce: %w", err)
	}
	return base64.RawStdEncoding.EncodeToString(b[:]), nil
}

// scramEscape escapes a user name as RFC 5802 saslname: '=' as "=3D", ',' as "=2C".
func scramEscape(s string) string {
	if !strings.ContainsAny(s, "=,") {
		return s
	}
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

// scramSession is one SCRAM exchange: client-first, server-first, client-final,
// server-final.
type scramSession struct {
	m               *scramMech
	nonce           string
	clientFirstBare string
	serverSignature []byte // set once client-final is built
}

// Next answers server-first-message with client-final-message, then verifies
// server-final-message.
func (s *scramSession) Next(server []byte) ([]byte, bool, error) {
	if s.serverSignature == nil {
		msg, err := s.clientFinal(string(server))
		return msg, false, err
	}
	if err := s.verifyServerFinal(string(server)); err != nil {
		return nil, false, err
	}
	return nil, true, nil
}

// clientFinal parses server-first-message ("r=<nonce>,s=<salt>,i=<iterations>") and
// returns client-final-message with the client proof.
func (s *scramSession) clientFinal(serverFirst string) ([]byte, error) {
	attrs, err := scramAttributes(serverFirst)
	if err != nil {
		return nil, err
	}
	if len(attrs) < 3 || attrs[0].key != 'r' || attrs[1].key != 's' || attrs[2].key != 'i' {
		return nil, fmt.Errorf("%w: server-first-message is not r=,s=,i=", ErrScramServer)
	}
	for _, a := range attrs[3:] {
		if a.key == 'm' {
			return nil, fmt.Errorf("%w: server requires an unsupported mandatory extension", ErrScramServer)
		}
	}
	nonce := attrs[0].value
	if len(nonce) <= len(s.nonce) || !strings.HasPrefix(nonce, s.nonce) {
		return nil, fmt.Errorf("%w: server nonce does not extend the client nonce", ErrScramServer)
	}
	salt, err := base64.StdEncoding.DecodeString(attrs[1].value)
	if err != nil || len(salt) == 0 {
		return nil, fmt.Errorf("%w: bad salt", ErrScramServer)
	}
	maxIters := scramMaxIterations
	if s.m.maxIterations > 0 {
		maxIters = s.m.maxIterations
	}
	iters, err := strconv.Atoi(attrs[2].value)
	if err != nil || iters < scramMinIterations || iters > maxIters {
		return nil, fmt.Errorf("%w: iteration count %q outside %d..%d", ErrScramServer, attrs[2].value, scramMinIterations, maxIters)
	}

	salted := s.m.saltedPassword(salt, iters)
	clientKey := hmacSum(s.m.hash, salted, []byte("Client Key"))
	h := s.m.hash()
	h.Write(clientKey)
	storedKey := h.Sum(nil)
	// "biws" is base64("n,,"): the gs2 header, no channel binding data.
	withoutProof := "c=biws,r=" + nonce
	authMessage := []byte(s.clientFirstBare + "," + serverFirst + "," + withoutProof)
	proof := hmacSum(s.m.hash, storedKey, authMessage)
	for i := range proof {
		proof[i] ^= clientKey[i]
	}
	s.serverSignature = hmacSum(s.m.hash, hmacSum(s.m.hash, salted, []byte("Server Key")), authMessage)
	return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

// verifyServerFinal checks server-final-message: "v=<server signature>", or "e=<error>".
func (s *scramSession) verifyServerFinal(serverFinal string) error {
	attrs, err := scramAttributes(serverFinal)
	if err != nil {
		return err
	}
	if len(attrs) == 0 {
		return fmt.Errorf("%w: empty server-final-message", ErrScramServer)
	}
	switch attrs[0].key {
	case 'e':
		return fmt.Errorf("SCRAM: server error %q", attrs[0].value)
	case 'v':
		sig, err := base64.StdEncoding.Strict().DecodeString(attrs[0].value)
		if err != nil || !hmac.Equal(sig, s.serverSignature) {
			return fmt.Errorf("%w: server signature does not verify", ErrScramServer)
		}
		return nil
	}
	return fmt.Errorf("%w: server-final-message is neither v= nor e=", ErrScramServer)
}

type scramAttr struct {
	key   byte
	value string
}

// scramAttributes splits a SCRAM message into its "k=value" attributes.
func scramAttributes(msg string) ([]scramAttr, error) {
	if msg == "" {
		return nil, nil
	}
	parts := strings.Split(msg, ",")
	if len(parts) > 64 {
		return nil, fmt.Errorf("%w: %d attributes", ErrScramServer, len(parts))
	}
	out := make([]scramAttr, 0, len(parts))
	for _, p := range parts {
		if len(p) < 2 || p[1] != '=' || !(p[0] >= 'a' && p[0] <= 'z' || p[0] >= 'A' && p[0] <= 'Z') {
			return nil, fmt.Errorf("%w: malformed attribute", ErrScramServer)
		}
		out = append(out, scramAttr{p[0], p[2:]})
	}
	return out, nil
}

func hmacSum(h func() hash.Hash, key, msg []byte) []byte {
	m := hmac.New(h, key)
	m.Write(msg)
	return m.Sum(nil)
}

// pbkdf2Hi is PBKDF2 (RFC 8018) with HMAC over h, producing one block: SCRAM's
// Hi(password, salt, iterations) (RFC 5802 section 2.2), whose length is the hash's.
func pbkdf2Hi(h func() hash.Hash, password, salt []byte, iterations int) []byte {
	prf := hmac.New(h, password)
	prf.Write(salt)
	prf.Write(binary.BigEndian.AppendUint32(nil, 1)) // INT(1): the first block
	u := prf.Sum(nil)
	out := append([]byte(nil), u...)
	for i := 1; i < iterations; i++ {
		prf.Reset()
		prf.Write(u)
		u = prf.Sum(u[:0])
		for j := range out {
			out[j] ^= u[j]
		}
	}
	return out
}
