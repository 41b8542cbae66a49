package kafkatest

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// FuzzValidateBatch feeds arbitrary bytes to the Produce batch checks, as they are and
// patched into a batch that passes the framing checks (length, magic, base offset, CRC) so
// the fuzzer reaches decompression and record parsing. Nothing may panic, and an accepted
// batch must decode into exactly its declared records.
func FuzzValidateBatch(f *testing.F) {
	c := &Cluster{cfg: defaultConfig()}
	c.cfg.maxMessageBytes = 1 << 16
	var scratch []wire.Record
	check := func(t *testing.T, raw []byte, version int16) {
		if checkRequestBatch(raw, version) != nil {
			return
		}
		vb, berr := c.validateBatch(raw, &scratch, time.Now())
		if berr != nil {
			if berr.code == 0 {
				t.Fatal("refused with error code 0")
			}
			return
		}
		recs, err := wire.DecodeRecords(nil, &vb.hdr, vb.records)
		if err != nil || len(recs) != int(vb.hdr.NumRecords) {
			t.Fatalf("accepted batch decodes to %d records, %v", len(recs), err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, v byte) {
		version := 3 + int16(v%11)
		check(t, data, version)
		if len(data) >= wire.RecordBatchHeaderSize {
			b := bytes.Clone(data)
			binary.BigEndian.PutUint64(b, 0)
			binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
			b[16] = 2
			reseal(b)
			check(t, b, version)
		}
	})
}

// FuzzHandleFrame feeds arbitrary request frames to a broker. Nothing may panic; whatever
// the broker answers must be one well-formed response frame carrying the request's
// correlation id.
func FuzzHandleFrame(f *testing.F) {
	c, err := NewCluster(NumBrokers(1), SeedTopic("t", 2))
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	// A closed done channel: a Fetch that would wait for data (MinBytes, MaxWaitMs) gives up
	// at once instead of holding the fuzzer for MaxWaitMs.
	stopped := make(chan struct{})
	close(stopped)
	f.Fuzz(func(t *testing.T, frame []byte) {
		fc := &fakeConn{}
		cn := &conn{b: c.brokers[0], nc: fc, done: stopped}
		cn.handle(frame)
		if len(fc.out) == 0 {
			return
		}
		resp, err := wire.ReadFrame(bytes.NewReader(fc.out), nil, len(fc.out))
		if err != nil || 4+len(resp) != len(fc.out) {
			t.Fatalf("answer is not one frame: %v", err)
		}
		if len(resp) < 4 || len(frame) < 8 || !bytes.Equal(resp[:4], frame[4:8]) {
			t.Fatalf("answer's correlation id %x, request's %x", resp[:min(4, len(resp))], frame[4:min(8, len(frame))])
		}
	})
}

// fakeConn is a net.Conn that keeps what is written to it and reads nothing.
type fakeConn struct{ out []byte }

func (fc *fakeConn) Read([]byte) (int, error)    { return 0, net.ErrClosed }
func (fc *fakeConn) Write(b []byte) (int, error) { fc.out = append(fc.out, b...); return len(b), nil }
func (fc *fakeConn) Close() error                { return nil }
func (fc *fakeConn) LocalAddr() net.Addr         { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9092} }
func (fc *fakeConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000}
}
func (fc *fakeConn) SetDeadline(time.Time) error      { return nil }
func (fc *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (fc *fakeConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzSASLServer feeds arbitrary client messages to the brokers' SASL mechanisms: a PLAIN
// message, an OAUTHBEARER initial response, and a SCRAM client-first then client-final.
// Nothing may panic; no SCRAM exchange may succeed without the proof (which the fuzzer
// cannot forge); an OAUTHBEARER message that parses must parse the same once rebuilt from
// what was read.
func FuzzSASLServer(f *testing.F) {
	var cfg config
	if err := User("user", "pencil")(&cfg); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("\x00user\x00pencil"), []byte("n,,\x01auth=Bearer tok\x01x=y\x01\x01"),
		[]byte("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"), []byte("c=biws,r=rOprNGfwEbeRWgbNEkqO,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="))
	f.Add([]byte("user\x00user\x00x"), []byte("n,a=u,\x01auth=bearer  t\x01\x01"), []byte("y,a=user,n=user,r=x,e=1"), []byte(",p="))
	f.Fuzz(func(t *testing.T, plainMsg, oauthMsg, scramFirst, scramFinal []byte) {
		ps := &plainServer{users: cfg.sec.users}
		if _, done, err := ps.step(plainMsg); done != (err == nil) || done && ps.principal() != "user" {
			t.Fatalf("PLAIN: done %v err %v", done, err)
		}
		oa := &oauthServer{}
		oa.step(oauthMsg)
		if token, ext, err := parseOAuthInitialResponse(string(oauthMsg)); err == nil {
			rebuilt := "n,,\x01auth=Bearer " + token
			for k, v := range ext {
				rebuilt += "\x01" + k + "=" + v
			}
			token2, ext2, err := parseOAuthInitialResponse(rebuilt + "\x01\x01")
			if err != nil || token2 != token || len(ext2) != len(ext) {
				t.Fatalf("%q reads as %q %v, rebuilt reads as %q %v %v", oauthMsg, token, ext, token2, ext2, err)
			}
		}
		for _, mech := range []string{MechanismScramSHA256, MechanismScramSHA512} {
			ss := &scramServer{mechanism: mech, users: cfg.sec.users}
			if _, done, err := ss.step(scramFirst); err != nil || done {
				continue
			}
			if _, done, err := ss.step(scramFinal); done || err == nil {
				t.Fatalf("%s: client-final %q accepted without a proof", mech, scramFinal)
			}
		}
	})
}

// FuzzSASLFrames feeds three arbitrary frames in turn to one connection of a broker with
// SASL on. Nothing may panic, and until the connection has authenticated no request but
// ApiVersions, SaslHandshake and SaslAuthenticate may be answered: any other closes it.
func FuzzSASLFrames(f *testing.F) {
	c, err := NewCluster(NumBrokers(1), SeedTopic("t", 1), User("user", "pencil"),
		SASL(MechanismPlain, MechanismScramSHA256, MechanismScramSHA512, MechanismOAuthBearer))
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	frame := func(version int16, req wire.Request) []byte {
		b := wire.AppendRequest(nil, wire.RequestHeader{APIVersion: version, CorrelationID: 7}, req)
		return b[4:]
	}
	metadata := frame(12, &wire.MetadataRequest{})
	f.Add(frame(1, &wire.SaslHandshakeRequest{Mechanism: "PLAIN"}), frame(2, &wire.SaslAuthenticateRequest{AuthBytes: []byte("\x00user\x00pencil")}), metadata)
	f.Add(frame(0, &wire.SaslHandshakeRequest{Mechanism: "PLAIN"}), []byte("\x00user\x00pencil"), metadata)
	f.Add(frame(1, &wire.SaslHandshakeRequest{Mechanism: "SCRAM-SHA-256"}), frame(1, &wire.SaslAuthenticateRequest{AuthBytes: []byte("n,,n=user,r=abc")}), metadata)
	f.Add(metadata, metadata, metadata)
	f.Fuzz(func(t *testing.T, f1, f2, f3 []byte) {
		fc := &fakeConn{}
		cn := &conn{b: c.brokers[0], nc: fc, done: make(chan struct{})}
		for _, fr := range [][]byte{f1, f2, f3} {
			authenticated, raw := cn.sasl.stage == saslDone, cn.sasl.raw
			fc.out = fc.out[:0]
			keep := cn.handle(fr)
			if authenticated || raw || len(fr) < 2 {
				if !keep {
					return
				}
				continue
			}
			switch key := int16(binary.BigEndian.Uint16(fr)); key {
			case wire.KeyApiVersions, wire.KeySaslHandshake, wire.KeySaslAuthenticate:
			default:
				if keep || len(fc.out) != 0 {
					t.Fatalf("%s answered before authentication", wire.APIName(key))
				}
			}
			if !keep {
				return
			}
		}
	})
}
