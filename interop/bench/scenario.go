// Package bench is gregor's side-by-side benchmark harness: one [Client] adapter per Kafka
// producer client (gregor, franz-go, sarama, segmentio/kafka-go, confluent-kafka-go, and a
// raw writer of pre-encoded requests), the [Scenario] they all run, and [Run], which
// measures one client on one scenario in the calling process.
//
// The commands under interop/cmd put the pieces together: sinkbroker serves the brokers
// (package sinkbroker), benchclient runs one client in a process of its own so that its CPU
// time, peak RSS and allocations are its alone, and benchrun runs the matrix of scenarios ×
// clients × runs and prints the markdown table ([Table]).
package bench

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/gregor-kafka/producer/compress"
)

// Scenario is what one benchmark run produces and with which settings. Every client maps
// these settings to its own options as closely as it allows; the equivalence table in
// RESULTS.md lists where they differ.
type Scenario struct {
	// Records is how many records are produced and measured.
	Records int `json:"records"`
	// ValueSize is the size of each record value in bytes.
	ValueSize int `json:"value_size"`
	// KeySize is the size of each record key; 0 sends null keys.
	KeySize int `json:"key_size"`
	// Acks is "1" (leader) or "all".
	Acks string `json:"acks"`
	// Idempotent asks for enable.idempotence (with Acks "all").
	Idempotent bool `json:"idempotent"`
	// Codec is the compression.type: none, gzip, snappy, lz4 or zstd, each at its
	// default level (gzip 6, lz4 fast, zstd 3 in every client).
	Codec string `json:"codec"`
	// Linger is linger.ms.
	Linger time.Duration `json:"linger"`
	// BatchBytes is batch.size: the largest batch of one partition, in bytes.
	BatchBytes int `json:"batch_bytes"`
	// MaxInFlight is max.in.flight.requests.per.connection.
	MaxInFlight int `json:"max_in_flight"`
	// BufferBytes is buffer.memory: how many bytes of records may wait unacknowledged.
	BufferBytes int `json:"buffer_bytes"`
	// Latency makes the run send the records one at a time, each waiting for its
	// acknowledgement, and report latency percentiles.
	Latency bool `json:"latency"`
	// Topic is the topic produced to; the sink creates it on first use.
	Topic string `json:"topic"`
	// Partitions is the topic's partition count; 0 leaves it to the sink (its -partitions).
	// Set, the topic's name ends in ".pN", which the sink reads (sinkbroker.PartitionsOf).
	Partitions int `json:"partitions,omitempty"`
	// Goroutines is how many goroutines send at once, each its share of the records, into
	// one client (0 or 1: the calling goroutine alone). Bulk clients ignore it.
	Goroutines int `json:"goroutines,omitempty"`
}

// Defaults of the benchmark scenarios: the settings.
const (
	DefaultRecords        = 2_000_000
	DefaultLatencyRecords = 20_000
	DefaultValueSize      = 100
	DefaultBatchBytes     = 1 << 20
	DefaultLinger         = 5 * time.Millisecond
	DefaultMaxInFlight    = 5
	DefaultBufferBytes    = 32 << 20
)

// WithDefaults returns s with every unset field at its default.
func (s Scenario) WithDefaults() Scenario {
	if s.Records <= 0 {
		s.Records = DefaultRecords
		if s.Latency {
			s.Records = DefaultLatencyRecords
		}
	}
	if s.ValueSize <= 0 {
		s.ValueSize = DefaultValueSize
	}
	if s.Acks == "" {
		s.Acks = "1"
	}
	if s.Idempotent {
		s.Acks = "all"
	}
	if s.Codec == "" {
		s.Codec = "none"
	}
	if s.BatchBytes <= 0 {
		s.BatchBytes = DefaultBatchBytes
	}
	if s.MaxInFlight <= 0 {
		s.MaxInFlight = DefaultMaxInFlight
	}
	if s.BufferBytes <= 0 {
		s.BufferBytes = DefaultBufferBytes
	}
	if s.Topic == "" {
		s.Topic = "bench"
	}
	if s.Goroutines <= 0 {
		s.Goroutines = 1
	}
	if s.Partitions > 0 {
		if suffix := fmt.Sprintf(".p%d", s.Partitions); !strings.HasSuffix(s.Topic, suffix) {
			s.Topic += suffix
		}
	}
	return s
}

// Validate reports a setting no client can run.
func (s Scenario) Validate() error {
	if _, err := compress.ParseCodec(s.Codec); err != nil {
		return err
	}
	if s.Acks != "1" && s.Acks != "all" {
		return fmt.Errorf("bench: acks %q: want 1 or all", s.Acks)
	}
	if s.Partitions < 0 || s.Partitions > 10000 {
		return fmt.Errorf("bench: %d partitions: want 1 to 10000, or 0 for the sink's default", s.Partitions)
	}
	if s.Records <= 0 || s.ValueSize <= 0 || s.KeySize < 0 {
		return fmt.Errorf("bench: records %d, value size %d, key size %d: must be positive", s.Records, s.ValueSize, s.KeySize)
	}
	return nil
}

// Name is the scenario's label in the table, e.g. "100B nokey acks=1 lz4",
// "latency 100B nokey acks=1 none" or "100B key16 acks=1 none p1000 g8" (1,000 partitions,
// 8 goroutines sending).
func (s Scenario) Name() string {
	var b strings.Builder
	if s.Latency {
		b.WriteString("latency ")
	}
	if s.ValueSize%1024 == 0 {
		fmt.Fprintf(&b, "%dKiB", s.ValueSize/1024)
	} else {
		fmt.Fprintf(&b, "%dB", s.ValueSize)
	}
	if s.KeySize == 0 {
		b.WriteString(" nokey")
	} else {
		fmt.Fprintf(&b, " key%d", s.KeySize)
	}
	b.WriteString(" acks=" + s.Acks)
	if s.Idempotent {
		b.WriteString("+idem")
	}
	b.WriteString(" " + s.Codec)
	if s.Partitions > 0 {
		fmt.Fprintf(&b, " p%d", s.Partitions)
	}
	if s.Goroutines > 1 {
		fmt.Fprintf(&b, " g%d", s.Goroutines)
	}
	return b.String()
}

// Payloads are the keys and values a run sends, made before the clock starts so that
// making them costs the client nothing. Record i uses Keys[i%len] and Values[i%len]; both
// lengths are powers of two.
type Payloads struct {
	// Keys is nil for null keys.
	Keys   [][]byte
	Values [][]byte
}

// Key returns the key of record i, nil for null keys.
func (p *Payloads) Key(i int) []byte {
	if p.Keys == nil {
		return nil
	}
	return p.Keys[i&(len(p.Keys)-1)]
}

// Value returns the value of record i.
func (p *Payloads) Value(i int) []byte { return p.Values[i&(len(p.Values)-1)] }

// words make values that compress about as well as text or JSON logs: fixed seed, so every
// client and run sends the same bytes.
var words = strings.Fields(`kafka producer record batch partition leader broker offset topic
	value key header timestamp request response error retry linger compress buffer memory
	network socket latency throughput client server metadata sequence epoch commit abort
	order user event click view purchase cart session page device region status ok failed
	pending 200 404 500 GET POST PUT json id name email amount currency EUR USD true false`)

// payloadValues is how many distinct values a run cycles through: more than a 1 MiB batch
// of 100-byte records holds, so that no value repeats within a batch, which would let zstd
// (whose window spans the batch) compress far better than on real data.
const payloadValues = 16384

// NewPayloads returns the payloads of s: 16384 distinct values of s.ValueSize bytes of
// word-like text and, with keys, 4096 distinct keys of s.KeySize bytes.
func NewPayloads(s Scenario) *Payloads {
	rng := rand.New(rand.NewPCG(1, 2))
	p := &Payloads{Values: make([][]byte, payloadValues)}
	for i := range p.Values {
		v := make([]byte, 0, s.ValueSize+16)
		for len(v) < s.ValueSize {
			v = append(v, words[rng.IntN(len(words))]...)
			v = append(v, ' ')
		}
		p.Values[i] = v[:s.ValueSize:s.ValueSize]
	}
	if s.KeySize > 0 {
		const hex = "0123456789abcdef"
		p.Keys = make([][]byte, 4096)
		for i := range p.Keys {
			k := make([]byte, s.KeySize)
			for j := range k {
				k[j] = hex[rng.IntN(16)]
			}
			p.Keys[i] = k
		}
	}
	return p
}
