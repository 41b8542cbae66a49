package compress_test

import (
	"errors"
	"fmt"

	"github.com/gregor-kafka/producer/compress"
)

func Example() {
	codec, err := compress.ParseCodec("lz4") // compression.type
	if err != nil {
		panic(err)
	}
	z, err := compress.NewCompressor(codec, compress.DefaultLevel(codec))
	if err != nil {
		panic(err)
	}
	records := []byte(`{"id":1,"msg":"hello"}{"id":2,"msg":"hello"}{"id":3,"msg":"hello"}`)
	payload, err := z.AppendCompress(nil, records)
	if err != nil {
		panic(err)
	}
	fmt.Printf("codec bits %d, frame magic % x\n", z.Codec(), payload[:4])

	back, err := compress.Decompress(codec, nil, payload, 1<<20)
	fmt.Println(string(back) == string(records), err)

	_, err = compress.Decompress(codec, nil, payload, 10)
	fmt.Println(errors.Is(err, compress.ErrTooLarge))
	// Output:
	// codec bits 3, frame magic 04 22 4d 18
	// true <nil>
	// true
}
