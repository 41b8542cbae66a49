package compress

import (
	"errors"
	"fmt"
	"strconv"
)

// Codec is a Kafka compression codec; its value is the codec field of the RecordBatch
// attributes (bits 0–2), so a batch's codec converts with Codec(attributes & 7).
type Codec int8

// The codecs, numbered as in RecordBatch attributes and named as in compression.type.
const (
	None   Codec = 0
	Gzip   Codec = 1
	Snappy Codec = 2
	LZ4    Codec = 3
	Zstd   Codec = 4 // needs Produce v7+ (Kafka 2.1)
)

var (
	// ErrUnknownCodec is returned for a codec name or number that is none of the five.
	ErrUnknownCodec = errors.New("compress: unknown codec")

	// ErrInvalidLevel is returned for a compression level outside the codec's range.
	ErrInvalidLevel = errors.New("compress: invalid compression level")

	// ErrTooLarge is returned by [Decompress] when the output would pass its maxSize.
	ErrTooLarge = errors.New("compress: decompressed size exceeds the limit")

	// ErrCorrupt is returned by [Decompress] for input that is not valid in the codec's
	// format; the error wraps the underlying library's error where there is one.
	ErrCorrupt = errors.New("compress: corrupt input")
)

// ParseCodec returns the codec named as in the compression.type property: "none", "gzip",
// "snappy", "lz4" or "zstd" (lower case, as Java's CompressionType.forName).
func ParseCodec(name string) (Codec, error) {
	switch name {
	case "none":
		return None, nil
	case "gzip":
		return Gzip, nil
	case "snappy":
		return Snappy, nil
	case "lz4":
		return LZ4, nil
	case "zstd":
		return Zstd, nil
	}
	return 0, fmt.Errorf("%w %q (want none, gzip, snappy, lz4 or zstd)", ErrUnknownCodec, name)
}

// String returns the codec's compression.type name, or "Codec(n)" for an unknown value.
func (c Codec) String() string {
	switch c {
	case None:
		return "none"
	case Gzip:
		return "gzip"
	case Snappy:
		return "snappy"
	case LZ4:
		return "lz4"
	case Zstd:
		return "zstd"
	}
	return "Codec(" + strconv.Itoa(int(c)) + ")"
}

// Level bounds as the Java client's (KIP-390): compression.gzip.level, compression.lz4.level
// and compression.zstd.level. Zstd's minimum is libzstd's ZSTD_minCLevel, -(1<<17).
const (
	gzipMinLevel     = 1
	gzipMaxLevel     = 9
	gzipDefaultLevel = -1 // Deflater.DEFAULT_COMPRESSION: the library's own default
	lz4MinLevel      = 1
	lz4MaxLevel      = 17
	lz4DefaultLevel  = 9
	zstdMinLevel     = -131072
	zstdMaxLevel     = 22
	zstdDefaultLevel = 3
)

// DefaultLevel returns the codec's default compression level as the Java client's: -1 for
// gzip (the library default), 9 for lz4, 3 for zstd, and 0 for none and snappy, which have
// no levels. It returns 0 for an unknown codec.
func DefaultLevel(c Codec) int {
	switch c {
	case Gzip:
		return gzipDefaultLevel
	case LZ4:
		return lz4DefaultLevel
	case Zstd:
		return zstdDefaultLevel
	}
	return 0
}

// ValidateLevel reports whether level is valid for c, with the Java client's bounds: gzip 1–9
// or -1, lz4 1–17, zstd -131072–22 (0 meaning the default, as in libzstd). None and snappy
// accept only 0. The error wraps [ErrInvalidLevel] or [ErrUnknownCodec].
func ValidateLevel(c Codec, level int) error {
	var ok bool
	var want string
	switch c {
	case None, Snappy:
		ok, want = level == 0, "0 (no levels)"
	case Gzip:
		ok, want = level == gzipDefaultLevel || gzipMinLevel <= level && level <= gzipMaxLevel, "1..9 or -1"
	case LZ4:
		ok, want = lz4MinLevel <= level && level <= lz4MaxLevel, "1..17"
	case Zstd:
		ok, want = zstdMinLevel <= level && level <= zstdMaxLevel, "-131072..22"
	default:
		return fmt.Errorf("%w: %d", ErrUnknownCodec, int(c))
	}
	if !ok {
		return fmt.Errorf("%w %d for %s (want %s)", ErrInvalidLevel, level, c, want)
	}
	return nil
}
