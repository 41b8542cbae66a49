package conn

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"hash"
	"strings"
	"testing"
)

// The SCRAM-SHA-256 example exchange of RFC 7677 section 3: user "user", password "pencil".
const (
	rfcClientNonce = "rOprNGfwEbeRWgbNEkqO"
	rfcClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
	rfcServerFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
	rfcClientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
	rfcServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
)

func rfcScram(password string) *scramMech {
	m := ScramSHA256("user", password).(*scramMech)
	m.nonce = func() (string, error) { return rfcClientNonce, nil }
	return m
}

func TestScramRFC7677(t *testing.T) {
	m := rfcScram("pencil")
	for i := 0; i < 2; i++ { // the second time with the salted password cached
		scramRFC7677(t, m)
	}
	// Another salt, another proof.
	sess, _, _ := m.Start(context.Background())
	final, _, err := sess.Next([]byte(strings.Replace(rfcServerFirst, "W22Z", "X22Z", 1)))
	if err != nil || bytes.Equal(final, []byte(rfcClientFinal)) {
		t.Fatalf("other salt: %q %v", final, err)
	}
	scramRFC7677(t, m)
}

func scramRFC7677(t *testing.T, m *scramMech) {
	t.Helper()
	sess, first, err := m.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != rfcClientFirst {
		t.Fatalf("client-first %q, want %q", first, rfcClientFirst)
	}
	final, done, err := sess.Next([]byte(rfcServerFirst))
	if err != nil || done {
		t.Fatalf("after server-first: done %v err %v", done, err)
	}
	if string(final) != rfcClientFinal {
		t.Fatalf("client-final %q, want %q", final, rfcClientFinal)
	}
	msg, done, err := sess.Next([]byte(rfcServerFinal))
	if err != nil || !done || msg != nil {
		t.Fatalf("after server-final: msg %q done %v err %v", msg, done, err)
	}
}

// TestScramServerSignatureVerified checks that a server that does not know the password
// (its signature is for another one) is refused: SCRAM authenticates both ways.
func TestScramServerSignatureVerified(t *testing.T) {
	for _, tc := range []struct {
		name, final string
	}{
		{"other password", rfcServerFinal}, // our password differs, so our expected signature does
		{"flipped", "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="},
		{"padding bits", "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5="}, // same bytes, not canonical
		{"not base64", "v=***"},
		{"empty", ""},
		{"no v", "x=abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pw := "pencil"
			if tc.name == "other password" {
				pw = "pencil2"
			}
			sess, _, _ := rfcScram(pw).Start(context.Background())
			if _, _, err := sess.Next([]byte(rfcServerFirst)); err != nil {
				t.Fatal(err)
			}
			_, done, err := sess.Next([]byte(tc.final))
			if !errors.Is(err, ErrScramServer) || done {
				t.Fatalf("done %v err %v, want ErrScramServer", done, err)
			}
		})
	}
	sess, _, _ := rfcScram("pencil").Start(context.Background())
	sess.Next([]byte(rfcServerFirst))
	if _, _, err := sess.Next([]byte("e=invalid-proof")); err == nil || !strings.Contains(err.Error(), "invalid-proof") {
		t.Fatalf("server error: %v", err)
	}
}

func TestScramBadServerFirst(t *testing.T) {
	for _, sf := range []string{
		"",
		"garbage",
		"s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqOxyz,i=4096",     // order
		"r=somebodyElse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",                // nonce not ours
		"r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",        // not extended
		"r=rOprNGfwEbeRWgbNEkqOxyz,s=!!,i=4096",                           // salt
		"r=rOprNGfwEbeRWgbNEkqOxyz,s=,i=4096",                             // empty salt
		"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095",     // too few
		"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999", // too many
		"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=x",
		"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,m=ext", // mandatory extension
		"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,,",
	} {
		sess, _, _ := rfcScram("pencil").Start(context.Background())
		msg, _, err := sess.Next([]byte(sf))
		if !errors.Is(err, ErrScramServer) || msg != nil {
			t.Errorf("%q: msg %q err %v, want ErrScramServer", sf, msg, err)
		}
	}
}

func TestScramUserEscaping(t *testing.T) {
	m := ScramSHA512("a=b,c", "pw").(*scramMech)
	m.nonce = func() (string, error) { return "N", nil }
	_, first, _ := m.Start(context.Background())
	if want := "n,,n=a=3Db=2Cc,r=N"; string(first) != want {
		t.Fatalf("client-first %q, want %q", first, want)
	}
	// Random nonces differ and are printable without commas.
	m.nonce = nil
	_, a, _ := m.Start(context.Background())
	_, b, _ := m.Start(context.Background())
	if bytes.Equal(a, b) || bytes.Count(a, []byte(",")) != 3 {
		t.Fatalf("nonces: %q %q", a, b)
	}
}

// TestPBKDF2 checks our PBKDF2 against the standard library's, an independent
// implementation.
func TestPBKDF2(t *testing.T) {
	for _, h := range []func() hash.Hash{sha256.New, sha512.New} {
		for _, iters := range []int{1, 2, 4096} {
			for _, pw := range []string{"", "pencil", strings.Repeat("long password ", 20)} {
				salt := []byte("salt of some length")
				want, err := pbkdf2.Key(h, pw, salt, iters, h().Size())
				if err != nil {
					t.Fatal(err)
				}
				if got := pbkdf2Hi(h, []byte(pw), salt, iters); !bytes.Equal(got, want) {
					t.Fatalf("iters %d pw %q: %x, want %x", iters, pw, got, want)
				}
			}
		}
	}
}

func TestPlainMessage(t *testing.T) {
	sess, msg, err := Plain("alice", "s3cret").Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := "\x00alice\x00s3cret"; string(msg) != want {
		t.Fatalf("%q, want %q", msg, want)
	}
	if _, done, err := sess.Next(nil); !done || err != nil {
		t.Fatalf("done %v err %v", done, err)
	}
}

func TestOAuthInitialResponse(t *testing.T) {
	for _, tc := range []struct {
		token string
		ext   map[string]string
		want  string
		bad   bool
	}{
		{token: "eyJ.abc.def", want: "n,,\x01auth=Bearer eyJ.abc.def\x01\x01"},
		{token: "tok", ext: map[string]string{"logicalCluster": "lkc-1", "identityPoolId": "pool 1"},
			want: "n,,\x01auth=Bearer tok\x01identityPoolId=pool 1\x01logicalCluster=lkc-1\x01\x01"},
		{token: "", bad: true},
		{token: "a b", bad: true},
		{token: "a\x01b", bad: true},
		{token: "t", ext: map[string]string{"auth": "x"}, bad: true},
		{token: "t", ext: map[string]string{"k1": "x"}, bad: true},
		{token: "t", ext: map[string]string{"k": ""}, bad: true},
		{token: "t", ext: map[string]string{"k": "a\x01"}, bad: true},
	} {
		m := OAuthBearer(func(context.Context) (string, map[string]string, error) { return tc.token, tc.ext, nil })
		_, msg, err := m.Start(context.Background())
		if tc.bad {
			if err == nil {
				t.Errorf("token %q ext %v: no error", tc.token, tc.ext)
			}
			continue
		}
		if err != nil || string(msg) != tc.want {
			t.Errorf("token %q ext %v: %q %v, want %q", tc.token, tc.ext, msg, err, tc.want)
		}
	}
}

func TestOAuthSession(t *testing.T) {
	provErr := errors.New("idp down")
	m := OAuthBearer(func(context.Context) (string, map[string]string, error) { return "", nil, provErr })
	if _, _, err := m.Start(context.Background()); !errors.Is(err, provErr) {
		t.Fatalf("provider error: %v", err)
	}
	m = OAuthBearer(func(context.Context) (string, map[string]string, error) { return "tok", nil, nil })
	sess, _, _ := m.Start(context.Background())
	if _, done, err := sess.Next(nil); !done || err != nil {
		t.Fatalf("accepted: done %v err %v", done, err)
	}
	sess, _, _ = m.Start(context.Background())
	msg, done, err := sess.Next([]byte(`{"status":"invalid_token"}`))
	if err != nil || done || string(msg) != "\x01" {
		t.Fatalf("refused: msg %q done %v err %v", msg, done, err)
	}
	if _, _, err := sess.Next(nil); !errors.Is(err, ErrOAuthToken) || !strings.Contains(err.Error(), "invalid_token") {
		t.Fatalf("after refusal: %v", err)
	}
}
