package compress

import (
	"errors"
	"fmt"
	"io"
)

// Decompress appends the decompressed form of src, a payload in codec c's Kafka wire format,
// to dst and returns the extended slice.
//
// It fails with [ErrTooLarge] once the output would pass maxSize bytes, having allocated
// about maxSize at most: that cap is what makes a hostile payload (a "zip bomb") harmless.
// Sizes the format declares (snappy block headers; zstd content sizes, raw and RLE blocks)
// are checked before anything is decoded. gzip and lz4 streams are read through a capped
// reader that fails when more output remains. zstd frames without declared sizes are
// decoded into a buffer of at most maxSize plus one 128 KiB block, which in the worst case
// the decoder outgrows once before it stops (about 2.5 times maxSize allocated in all).
//
// Input that is not valid in the format fails with [ErrCorrupt]; an empty src is valid
// only for [None]. On error dst is returned with its length unchanged (bytes past its
// length may have been written). Decompress is safe for concurrent use; it pools its
// decoders.
func Decompress(c Codec, dst, src []byte, maxSize int) ([]byte, error) {
	if maxSize < 0 {
		return dst, fmt.Errorf("compress: negative maxSize %d", maxSize)
	}
	switch c {
	case None:
		if len(src) > maxSize {
			return dst, tooLarge(maxSize)
		}
		return append(dst, src...), nil
	case Gzip, Snappy, LZ4, Zstd:
		if len(src) == 0 {
			return dst, fmt.Errorf("%w: empty %s payload", ErrCorrupt, c)
		}
	default:
		return dst, fmt.Errorf("%w: %d", ErrUnknownCodec, int(c))
	}
	switch c {
	case Gzip:
		return decompressGzip(dst, src, maxSize)
	case Snappy:
		return decompressSnappy(dst, src, maxSize)
	case LZ4:
		return decompressLZ4(dst, src, maxSize)
	default:
		return decompressZstd(dst, src, maxSize)
	}
}

func tooLarge(maxSize int) error {
	return fmt.Errorf("%w of %d bytes", ErrTooLarge, maxSize)
}

// corrupt wraps a decoder's error in ErrCorrupt, keeping ErrTooLarge and ErrCorrupt as
// they are.
func corrupt(err error) error {
	if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrCorrupt) {
		return err
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%w: %w", ErrCorrupt, err)
}

// reserve returns b with room for at least n more bytes, allocating exactly len(b)+n when
// it must grow, so that the caps below bound allocation precisely.
func reserve(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), len(b)+n)
	copy(nb, b)
	return nb
}

// minGrow is the smallest step by which readCapped grows its output.
const minGrow = 4 << 10

// maxEmptyReads bounds how often a reader may return nothing and no error in a row.
const maxEmptyReads = 100

// readCapped appends everything r yields until io.EOF to dst. It never lets the output
// grow past maxSize bytes: when maxSize bytes have been read it asks r for one more byte,
// into probe (a one-byte buffer kept by the pooled decoder, as a local one would escape to
// the heap), and fails with ErrTooLarge if there is one. hint is the expected output size;
// the buffer starts there (at most maxSize) and then doubles, capped at maxSize.
func readCapped(dst []byte, r io.Reader, maxSize, hint int, probe []byte) ([]byte, error) {
	start := len(dst)
	out := dst
	if hint > 0 {
		out = reserve(out, min(hint, maxSize))
	}
	empty := 0
	for {
		written := len(out) - start
		room := min(cap(out)-len(out), maxSize-written)
		if room == 0 {
			if written < maxSize {
				out = reserve(out, min(maxSize-written, max(written, minGrow)))
				continue
			}
			n, err := readSome(r, probe[:1])
			switch {
			case n > 0:
				return dst, tooLarge(maxSize)
			case err == io.EOF:
				return out, nil
			default:
				return dst, corrupt(err)
			}
		}
		n, err := r.Read(out[len(out) : len(out)+room])
		out = out[:len(out)+n]
		switch {
		case err == io.EOF:
			return out, nil
		case err != nil:
			return dst, corrupt(err)
		case n > 0:
			empty = 0
		default:
			if empty++; empty > maxEmptyReads {
				return dst, corrupt(io.ErrNoProgress)
			}
		}
	}
}

// readSome reads into p until it gets a byte or an error.
func readSome(r io.Reader, p []byte) (int, error) {
	for range maxEmptyReads {
		n, err := r.Read(p)
		if n > 0 || err != nil {
			return n, err
		}
	}
	return 0, io.ErrNoProgress
}
