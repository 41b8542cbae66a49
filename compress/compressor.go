package compress

import (
	"errors"
	"sync"
)

// Compressor compresses with one codec and level. It is safe for concurrent use: it keeps a
// pool of encoders, so that compressing a batch in steady state allocates (almost) nothing
// beyond growing dst.
type Compressor struct {
	codec Codec
	// pool holds *gzipEncoder, lz4BlockCompressor or *zstd.Encoder values, by codec.
	pool sync.Pool
}

// errNoEncoder is returned if a pooled encoder could not be built; NewCompressor builds
// one first with the same options, so it does not happen once NewCompressor succeeded.
var errNoEncoder = errors.New("compress: cannot build encoder")

// NewCompressor returns a Compressor for codec c at the given level (see [ValidateLevel]
// for the ranges and [DefaultLevel] for the defaults).
//
// Levels map to the libraries as follows.
//
//   - gzip: the deflate level; -1 is klauspost/compress's default.
//   - lz4: 9, the default, uses our own fast block encoder (lz4FastEncoder), as the Java
//     client uses lz4-java's fast compressor for its default level and LZ4HC for every other
//     level.
//     Any other level L uses pierrec/lz4's high-compression compressor with a match search
//     depth of 2^(L+2) candidates, at most 2^16: from 8 at level 1, the least depth at
//     which it compresses better than the fast compressor (as LZ4HC's lowest levels do),
//     to 1024 at level 8 and 4096 at 10 (pierrec/lz4's Level1–Level9 are depths 2^9–2^17);
//     levels 14–17 are all 2^16. Ratios level off past a depth of about 128 on 64 KiB
//     blocks, so the high levels cost time for little gain, as in LZ4HC.
//   - zstd: klauspost/compress's four encoder speeds, as its EncoderLevelFromZstd: below 3
//     (negative levels included) the fastest, 3–5 the default, 6–9 better compression,
//     10–22 the best; 0 means 3, as in libzstd.
func NewCompressor(c Codec, level int) (*Compressor, error) {
	if err := ValidateLevel(c, level); err != nil {
		return nil, err
	}
	z := &Compressor{codec: c}
	switch c {
	case Gzip:
		z.pool.New = func() any { return newGzipEncoder(level) }
	case LZ4:
		depth := lz4SearchDepth(level)
		z.pool.New = func() any { return newLZ4Encoder(depth) }
	case Zstd:
		z.pool.New = func() any { return newZstdEncoder(level) }
	}
	if z.pool.New != nil {
		e := z.pool.Get()
		if e == nil {
			return nil, errNoEncoder
		}
		z.pool.Put(e)
	}
	return z, nil
}

// Codec returns the compressor's codec, the value for the batch attributes' codec bits.
func (c *Compressor) Codec() Codec { return c.codec }

// AppendCompress appends the compressed form of src to dst and returns the extended slice,
// in the codec's Kafka wire format. An empty src still yields a valid (non-empty) payload
// for every codec but none. On error dst is returned unchanged.
func (c *Compressor) AppendCompress(dst, src []byte) ([]byte, error) {
	switch c.codec {
	case None:
		return append(dst, src...), nil
	case Gzip:
		return c.appendGzip(dst, src)
	case Snappy:
		return appendSnappy(dst, src), nil
	case LZ4:
		return c.appendLZ4(dst, src), nil
	case Zstd:
		return c.appendZstd(dst, src)
	}
	return dst, ErrUnknownCodec
}

// appendWriter is an io.Writer that appends to b; streaming encoders write through it
// straight into the caller's buffer.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
