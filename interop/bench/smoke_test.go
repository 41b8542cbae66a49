package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/interop/bench/sinkbroker"
)

// TestSmokeEveryClient runs every client in this process against a verifying in-process
// sink: a short throughput run and a short latency run each, checking that every record is
// acknowledged and that the sink received each of them in a valid batch.
func TestSmokeEveryClient(t *testing.T) {
	sink, err := sinkbroker.Start(sinkbroker.Config{Verify: true, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	codecs := map[string]string{"raw": "lz4", "franz": "zstd", "gregor": "lz4", "gregor-ff": "none", "sarama": "gzip", "kafkago": "snappy", "confluent": "zstd"}
	for i, name := range ClientNames() {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			s := Scenario{
				Records:    20_000,
				Linger:     DefaultLinger,
				KeySize:    16 * (i % 2),
				Codec:      codecs[name],
				Idempotent: name == "franz" || name == "sarama" || name == "confluent",
				Topic:      fmt.Sprintf("smoke-%s", name),
			}.WithDefaults()
			before := sink.Stats()
			res := Run(ctx, name, sink.Addrs(), s)
			if res.Unavailable != "" {
				t.Skip(res.Unavailable)
			}
			if res.Error != "" || res.Failed != 0 || res.Acked != res.Records || res.Records < int64(s.Records) {
				t.Fatalf("%s: %+v", s.Name(), res)
			}
			// The sink saw the warm-up too: one record, or one request for the raw baseline.
			after := sink.Stats()
			if got := after.Records - before.Records; got < res.Acked+1 {
				t.Fatalf("the sink received %d records, the client reports %d acknowledged", got, res.Acked)
			}
			if idem := after.IdempotentBatches - before.IdempotentBatches; s.Idempotent && idem == 0 {
				t.Fatalf("idempotent scenario, but no batch carried a producer id")
			}
			if res.ElapsedNs <= 0 || res.PayloadBytes != res.Records*int64(s.ValueSize+s.KeySize) {
				t.Fatalf("elapsed %d ns, %d payload bytes", res.ElapsedNs, res.PayloadBytes)
			}

			l := Scenario{Latency: true, Records: 100, Topic: s.Topic + "-latency"}.WithDefaults()
			lres := Run(ctx, name, sink.Addrs(), l)
			if lres.Error != "" || lres.Acked != 100 || lres.P50Ns <= 0 || lres.P50Ns > lres.P99Ns || lres.P99Ns > lres.MaxNs {
				t.Fatalf("%s: %+v", l.Name(), lres)
			}
		})
	}
	if st := sink.Stats(); st.CorruptBatches != 0 || st.BadRequests != 0 {
		t.Fatalf("sink stats %+v", st)
	}
}
