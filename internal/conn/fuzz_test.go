package conn

import (
	"bytes"
	"context"
	"testing"
)

// FuzzScramServer feeds arbitrary server-first and server-final messages to the SCRAM
// client. Nothing may panic; a server-first it accepts must give a client-final of the
// RFC 5802 form for the nonce it chose; and no server-final but the one computed from the
// password (which the fuzzer cannot forge) may complete the exchange.
func FuzzScramServer(f *testing.F) {
	f.Add([]byte(rfcServerFirst), []byte(rfcServerFinal))
	f.Add([]byte("r=rOprNGfwEbeRWgbNEkqOxyz,s=c2FsdA==,i=4096,x=ext"), []byte("e=invalid-proof"))
	f.Add([]byte("r=rOprNGfwEbeRWgbNEkqO,s=,i=0"), []byte("v="))
	f.Fuzz(func(t *testing.T, serverFirst, serverFinal []byte) {
		m := rfcScram("pencil")
		m.maxIterations = 8192 // keep each run fast
		sess, _, err := m.Start(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		final, done, err := sess.Next(serverFirst)
		if err != nil {
			if final != nil || done {
				t.Fatalf("error %v with message %q, done %v", err, final, done)
			}
			return
		}
		nonce := bytes.SplitN(serverFirst, []byte(","), 2)[0][2:]
		want := append([]byte("c=biws,r="), nonce...)
		if done || !bytes.HasPrefix(final, append(want, ",p="...)) {
			t.Fatalf("client-final %q for server-first %q", final, serverFirst)
		}
		msg, done, err := sess.Next(serverFinal)
		if err == nil || done || msg != nil {
			// Only the RFC's signature, possibly followed by extensions.
			v, _, _ := bytes.Cut(serverFinal, []byte(","))
			if !bytes.Equal(serverFirst, []byte(rfcServerFirst)) || !bytes.Equal(v, []byte(rfcServerFinal)) || !done || err != nil {
				t.Fatalf("server-final %q accepted for server-first %q", serverFinal, serverFirst)
			}
		}
	})
}
