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
	f.Fuzz(func(t *testing.T, frame []byte) {
		fc := &fakeConn{}
		cn := &conn{b: c.brokers[0], nc: fc, done: make(chan struct{})}
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
