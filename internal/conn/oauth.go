package conn

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// TokenProvider returns an OAUTHBEARER token and the SASL extensions to send with it
// (KIP-342), such as a logical cluster id some managed services ask for. It is called for
// every authentication, re-authentications included (KIP-368), so it should cache a token
// until shortly before it expires.
type TokenProvider func(ctx context.Context) (token string, extensions map[string]string, err error)

// ErrOAuthToken is the cause of an OAUTHBEARER authentication whose token the broker
// refused; the error's text carries the broker's JSON status.
var ErrOAuthToken = errors.New("OAUTHBEARER: broker refused the token")

// oauthMech is OAUTHBEARER (RFC 7628) as Kafka uses it (KIP-255): the client's only message
// is the initial response; a broker that refuses the token answers a JSON error status,
// to which the client answers a single 0x01 and then gets the failure.
type oauthMech struct{ provider TokenProvider }

// OAuthBearer returns the OAUTHBEARER mechanism taking its tokens from provider.
func OAuthBearer(provider TokenProvider) Mechanism { return &oauthMech{provider} }

func (*oauthMech) Name() string { return "OAUTHBEARER" }

// Start asks the provider for a token and returns the client initial response.
func (m *oauthMech) Start(ctx context.Context) (Session, []byte, error) {
	token, ext, err := m.provider(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("OAUTHBEARER token provider: %w", err)
	}
	msg, err := oauthInitialResponse(token, ext)
	if err != nil {
		return nil, nil, err
	}
	return &oauthSession{token: token}, msg, nil
}

// oauthInitialResponse returns the RFC 7628 client initial response: the gs2 header "n,,",
// then 0x01-separated "auth=Bearer <token>" and "key=value" extensions (sorted by key), then
// two 0x01 bytes.
func oauthInitialResponse(token string, ext map[string]string) ([]byte, error) {
	if token == "" {
		return nil, errors.New("OAUTHBEARER: the token provider returned an empty token")
	}
	for i := 0; i < len(token); i++ {
		if token[i] < 0x21 || token[i] > 0x7e {
			return nil, errors.New("OAUTHBEARER: the token has a byte that is not printable ASCII")
		}
	}
	keys := make([]string, 0, len(ext))
	for k, v := range ext {
		if err := validOAuthExtension(k, v); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString("n,,\x01auth=Bearer ")
	b.WriteString(token)
	for _, k := range keys {
		b.WriteString("\x01" + k + "=" + ext[k])
	}
	b.WriteString("\x01\x01")
	return []byte(b.String()), nil
}

// validOAuthExtension checks an extension as RFC 7628 section 3.1 and Kafka do: the key is
// letters and not "auth", the value printable ASCII, spaces, tabs and line breaks.
func validOAuthExtension(k, v string) error {
	if k == "" || k == "auth" {
		return fmt.Errorf("OAUTHBEARER: invalid extension name %q", k)
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return fmt.Errorf("OAUTHBEARER: invalid extension name %q: letters only", k)
		}
	}
	if v == "" {
		return fmt.Errorf("OAUTHBEARER: extension %q has an empty value", k)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !(c >= 0x21 && c <= 0x7e || c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			return fmt.Errorf("OAUTHBEARER: extension %q has an invalid byte in its value", k)
		}
	}
	return nil
}

type oauthSession struct {
	token  string
	status string // the broker's error status, once it refused the token
}

// Next accepts the broker's empty answer, or answers its error status with 0x01 and then
// fails with it.
func (s *oauthSession) Next(server []byte) ([]byte, bool, error) {
	switch {
	case s.status != "":
		return nil, false, fmt.Errorf("%w: %s", ErrOAuthToken, s.status)
	case len(server) == 0:
		return nil, true, nil
	}
	s.status = printable(server, 512)
	return []byte{0x01}, false, nil
}

func (s *oauthSession) redact(msg string) string { return redactSecret(msg, s.token) }

// printable returns b as text for an error message: at most n bytes, non-printable bytes
// replaced.
func printable(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return '?'
		}
		return r
	}, string(b))
}
