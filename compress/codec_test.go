package compress

import (
	"errors"
	"testing"
)

func TestParseCodec(t *testing.T) {
	tests := []struct {
		name string
		want Codec
		err  bool
	}{
		{"none", None, false},
		{"gzip", Gzip, false},
		{"snappy", Snappy, false},
		{"lz4", LZ4, false},
		{"zstd", Zstd, false},
		{"", 0, true},
		{"GZIP", 0, true},
		{"producer", 0, true},     // a broker/topic value, not a producer's
		{"uncompressed", 0, true}, // likewise
		{"zstd ", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseCodec(tt.name)
		if tt.err {
			if !errors.Is(err, ErrUnknownCodec) {
				t.Errorf("ParseCodec(%q) error = %v, want ErrUnknownCodec", tt.name, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseCodec(%q) = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}

func TestCodecString(t *testing.T) {
	// The values are the RecordBatch attribute bits; the names are compression.type values.
	tests := []struct {
		c    Codec
		bits int8
		want string
	}{
		{None, 0, "none"}, {Gzip, 1, "gzip"}, {Snappy, 2, "snappy"}, {LZ4, 3, "lz4"}, {Zstd, 4, "zstd"},
		{Codec(5), 5, "Codec(5)"}, {Codec(-1), -1, "Codec(-1)"},
	}
	for _, tt := range tests {
		if int8(tt.c) != tt.bits {
			t.Errorf("%s = %d, want %d", tt.want, int8(tt.c), tt.bits)
		}
		if got := tt.c.String(); got != tt.want {
			t.Errorf("Codec(%d).String() = %q, want %q", int8(tt.c), got, tt.want)
		}
		if tt.bits >= 0 && tt.bits <= 4 {
			if back, err := ParseCodec(tt.want); err != nil || back != tt.c {
				t.Errorf("ParseCodec(%q) = %v, %v", tt.want, back, err)
			}
		}
	}
}

func TestDefaultLevel(t *testing.T) {
	want := map[Codec]int{None: 0, Gzip: -1, Snappy: 0, LZ4: 9, Zstd: 3, Codec(7): 0}
	for c, w := range want {
		if got := DefaultLevel(c); got != w {
			t.Errorf("DefaultLevel(%s) = %d, want %d", c, got, w)
		}
	}
}

func TestValidateLevel(t *testing.T) {
	tests := []struct {
		c     Codec
		level int
		ok    bool
	}{
		{None, 0, true}, {None, 1, false}, {None, -1, false},
		{Snappy, 0, true}, {Snappy, 1, false},
		{Gzip, -1, true}, {Gzip, 1, true}, {Gzip, 9, true},
		{Gzip, 0, false}, {Gzip, 10, false}, {Gzip, -2, false},
		{LZ4, 1, true}, {LZ4, 9, true}, {LZ4, 17, true},
		{LZ4, 0, false}, {LZ4, 18, false}, {LZ4, -1, false},
		{Zstd, -131072, true}, {Zstd, -1, true}, {Zstd, 0, true}, {Zstd, 3, true}, {Zstd, 22, true},
		{Zstd, -131073, false}, {Zstd, 23, false},
	}
	for _, tt := range tests {
		err := ValidateLevel(tt.c, tt.level)
		if tt.ok && err != nil {
			t.Errorf("ValidateLevel(%s, %d) = %v, want nil", tt.c, tt.level, err)
		}
		if !tt.ok && !errors.Is(err, ErrInvalidLevel) {
			t.Errorf("ValidateLevel(%s, %d) = %v, want ErrInvalidLevel", tt.c, tt.level, err)
		}
		_, nerr := NewCompressor(tt.c, tt.level)
		if (nerr == nil) != tt.ok {
			t.Errorf("NewCompressor(%s, %d) error = %v, want ok=%v", tt.c, tt.level, nerr, tt.ok)
		}
	}
	for _, c := range []Codec{5, -1, 8} {
		if err := ValidateLevel(c, 0); !errors.Is(err, ErrUnknownCodec) {
			t.Errorf("ValidateLevel(%d, 0) = %v, want ErrUnknownCodec", c, err)
		}
		if _, err := NewCompressor(c, 0); !errors.Is(err, ErrUnknownCodec) {
			t.Errorf("NewCompressor(%d, 0) = %v, want ErrUnknownCodec", c, err)
		}
	}
}

func TestLZ4SearchDepth(t *testing.T) {
	tests := []struct{ level, depth int }{
		{1, 8}, {3, 32}, {8, 1024}, {9, 0}, {10, 4096}, {13, 32768}, {14, 65536}, {17, 65536},
	}
	for _, tt := range tests {
		if got := lz4SearchDepth(tt.level); got != tt.depth {
			t.Errorf("lz4SearchDepth(%d) = %d, want %d", tt.level, got, tt.depth)
		}
	}
}
