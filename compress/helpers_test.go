package compress

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gregor-kafka/producer/wire"
)

// codecs lists every codec, none included.
var codecs = []Codec{None, Gzip, Snappy, LZ4, Zstd}

// testLevels returns the minimum, default and maximum level of c (one level for codecs
// without levels).
func testLevels(c Codec) []int {
	switch c {
	case Gzip:
		return []int{gzipMinLevel, gzipDefaultLevel, gzipMaxLevel}
	case LZ4:
		return []int{lz4MinLevel, lz4DefaultLevel, lz4MaxLevel}
	case Zstd:
		return []int{zstdMinLevel, zstdDefaultLevel, zstdMaxLevel}
	}
	return []int{0}
}

// jsonEvents returns about size bytes of newline-separated JSON events, the same bytes for
// the same size: ids, millisecond timestamps, short strings and numbers, as a typical
// producer sends.
func jsonEvents(size int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	actions := []string{"view", "click", "add_to_cart", "purchase", "search", "logout"}
	b := make([]byte, 0, size+256)
	for i := 0; len(b) < size; i++ {
		b = fmt.Appendf(b, `{"id":"evt-%08d","ts":%d,"user":"user-%d","action":%q,"page":"/products/%d","amount":%.2f,"qty":%d,"ok":%t}`+"\n",
			i, 1700000000000+int64(i)*37+r.Int64N(1000), r.IntN(5000), actions[r.IntN(len(actions))],
			r.IntN(800), r.Float64()*500, r.IntN(10), r.IntN(10) > 0)
	}
	return b
}

// randomBytes returns n incompressible bytes, the same for the same seed.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func mustCompressor(t testing.TB, c Codec, level int) *Compressor {
	t.Helper()
	z, err := NewCompressor(c, level)
	if err != nil {
		t.Fatalf("NewCompressor(%s, %d): %v", c, level, err)
	}
	return z
}

func mustCompress(t testing.TB, c Codec, level int, src []byte) []byte {
	t.Helper()
	out, err := mustCompressor(t, c, level).AppendCompress(nil, src)
	if err != nil {
		t.Fatalf("AppendCompress(%s, %d): %v", c, level, err)
	}
	return out
}

// recordWords is the vocabulary of recordBatch's values, as interop/bench's payloads.
var recordWords = strings.Fields(`kafka producer record batch partition leader broker offset topic
	value key header timestamp request response error retry linger compress buffer memory
	network socket latency throughput client server metadata sequence epoch commit abort
	order user event click view purchase cart session page device region status ok failed
	pending 200 404 500 GET POST PUT json id name email amount currency EUR USD true false`)

// recordBatch returns about size bytes of Kafka records (the records region of a batch)
// with 100-byte values of words from a fixed vocabulary, the same bytes for the same size,
// as interop/bench's scenarios send.
func recordBatch(size int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 0, size+256)
	v := make([]byte, 0, 128)
	for i := 0; len(b) < size; i++ {
		v = v[:0]
		for len(v) < 100 {
			v = append(v, recordWords[r.IntN(len(recordWords))]...)
			v = append(v, ' ')
		}
		b = wire.AppendRecord(b, int32(i), int64(i/50), nil, v[:100], nil)
	}
	return b
}
