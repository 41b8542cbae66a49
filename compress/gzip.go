package compress

import (
	"bytes"
	"encoding/binary"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// gzipEncoder is a pooled gzip writer with the buffer it appends to.
type gzipEncoder struct {
	w  appendWriter
	zw *gzip.Writer
}

// newGzipEncoder returns a *gzipEncoder, or nil if the level is invalid.
func newGzipEncoder(level int) any {
	e := new(gzipEncoder)
	zw, err := gzip.NewWriterLevel(&e.w, level)
	if err != nil {
		return nil
	}
	e.zw = zw
	return e
}

func (c *Compressor) appendGzip(dst, src []byte) ([]byte, error) {
	e, _ := c.pool.Get().(*gzipEncoder)
	if e == nil {
		return dst, errNoEncoder
	}
	e.w.b = dst
	e.zw.Reset(&e.w)
	_, err := e.zw.Write(src)
	if err == nil {
		err = e.zw.Close()
	}
	out := e.w.b
	e.w.b = nil
	c.pool.Put(e)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// gzipDecoder is a pooled gzip reader with the source reader it reads from.
type gzipDecoder struct {
	src   bytes.Reader
	zr    gzip.Reader
	probe [1]byte
}

var gzipDecoders = sync.Pool{New: func() any { return new(gzipDecoder) }}

// decompressGzip reads a gzip stream (concatenated members are read as one, as by Java's
// GZIPInputStream) through the capped reader.
func decompressGzip(dst, src []byte, maxSize int) ([]byte, error) {
	d := gzipDecoders.Get().(*gzipDecoder)
	defer gzipDecoders.Put(d)
	d.src.Reset(src)
	defer d.src.Reset(nil)
	if err := d.zr.Reset(&d.src); err != nil {
		return dst, corrupt(err)
	}
	return readCapped(dst, &d.zr, maxSize, gzipSizeHint(src), d.probe[:])
}

// gzipSizeHint guesses the output size from the ISIZE trailer field (the size of the last
// member, mod 2^32), bounded by deflate's maximum ratio of about 1032:1 so that a lying
// trailer cannot make the first buffer much larger than the input could fill.
func gzipSizeHint(src []byte) int {
	if len(src) < 18 {
		return 0
	}
	isize := int(binary.LittleEndian.Uint32(src[len(src)-4:]))
	if len(src) < isize/1032 {
		return 1032 * len(src)
	}
	return isize
}
