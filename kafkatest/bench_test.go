package kafkatest

import (
	"testing"

	"github.com/gregor-kafka/producer/wire"
)

// BenchmarkProduce measures the broker side of producing 100-byte records: one connection
// sends requests of 4 partitions × 160 records (about 16 KiB per batch, a producer's
// default batch.size), waiting for each answer. It reports records per second.
func BenchmarkProduce(b *testing.B) {
	for _, codec := range []int8{wire.CodecNone, wire.CodecLZ4, wire.CodecZstd} {
		b.Run(codecName(codec), func(b *testing.B) {
			const partitions, perBatch = 4, 160
			c := newTestCluster(b, NumBrokers(1), SeedTopic("bench", partitions))
			tc := dial(b, c.Addrs()[0])
			recs := make([]rec, perBatch)
			for i := range recs {
				recs[i].value = make([]byte, 100)
				for j := range recs[i].value {
					recs[i].value[j] = byte(i*7 + j)
				}
			}
			s := plainSpec()
			s.codec = codec
			batch := makeBatch(b, s, recs...)
			req := &wire.ProduceRequest{Acks: 1, TimeoutMs: 5000, Topics: []wire.ProduceTopic{{Name: "bench"}}}
			for p := range int32(partitions) {
				req.Topics[0].Partitions = append(req.Topics[0].Partitions, wire.ProducePartition{Index: p, Records: batch})
			}
			frame := wire.AppendRequest(nil, wire.RequestHeader{APIVersion: 9}, req)
			var resp wire.ProduceResponse
			b.SetBytes(int64(partitions * perBatch * 100))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i%1000 == 999 { // keep memory flat: forget what was stored
					b.StopTimer()
					for _, p := range c.topicByName("bench").partitions {
						p.mu.Lock()
						p.batches = nil
						p.mu.Unlock()
					}
					b.StartTimer()
				}
				tc.writeRaw(frame)
				tc.recv(0, 9, &resp)
				if resp.Topics[0].Partitions[0].ErrorCode != 0 {
					b.Fatal(resp.Topics[0].Partitions[0].ErrorCode)
				}
			}
			b.ReportMetric(float64(b.N*partitions*perBatch)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

func codecName(c int8) string {
	return [...]string{"none", "gzip", "snappy", "lz4", "zstd"}[c]
}
