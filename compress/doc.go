// Package compress implements the four Kafka record-batch compression codecs (gzip, snappy,
// lz4, zstd) in the byte formats the Java client writes and reads, with pooled encoders and
// decoders whose output is capped.
//
// A [Compressor] compresses with one codec and level; it is what a producer keeps per
// configured compression.type. [Decompress] is the inverse for any codec; it takes a maximum
// output size so that a small hostile payload cannot expand into an outsized allocation
// (a "zip bomb").
//
// Wire formats, as org.apache.kafka.common.compress writes them:
//
//   - gzip: a plain RFC 1952 stream.
//   - snappy: the xerial snappy-java stream (a 16-byte header, then length-prefixed raw
//     snappy blocks of at most 32 KiB of input each). Decompress also accepts a payload that
//     is one raw snappy block, as the Java reader does.
//   - lz4: an LZ4 frame with 64 KiB independent blocks and no checksums.
//   - zstd: a standard zstd frame.
//
// Only the records region of a RecordBatch is compressed; this package knows nothing of
// batches or requests.
package compress
