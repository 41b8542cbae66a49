// Command benchclient runs one Kafka producer client on one benchmark scenario against
// running brokers (normally cmd/sinkbroker) and prints the result as one JSON line
// (bench.Result). benchrun starts it once per client and run, so that each client's CPU
// time and peak RSS, which benchrun reads from the process's rusage, are its alone.
//
//	go run ./cmd/benchclient -client gregor -brokers 127.0.0.1:9092 -records 2000000 -codec lz4
//
// -cpuprofile and -memprofile write pprof profiles of the whole process.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/gregor-kafka/producer/interop/bench"
)

func main() {
	var s bench.Scenario
	client := flag.String("client", "gregor", "client: "+strings.Join(bench.ClientNames(), ", "))
	brokers := flag.String("brokers", "127.0.0.1:9092", "comma-separated bootstrap addresses")
	flag.IntVar(&s.Records, "records", 0, fmt.Sprintf("records to send (default %d, or %d with -latency)", bench.DefaultRecords, bench.DefaultLatencyRecords))
	flag.IntVar(&s.ValueSize, "value-size", bench.DefaultValueSize, "value size in bytes")
	flag.IntVar(&s.KeySize, "key-size", 0, "key size in bytes; 0 sends null keys")
	flag.StringVar(&s.Acks, "acks", "1", "acks: 1 or all")
	flag.BoolVar(&s.Idempotent, "idempotent", false, "enable.idempotence (implies -acks all)")
	flag.StringVar(&s.Codec, "codec", "none", "compression: none, gzip, snappy, lz4, zstd")
	flag.DurationVar(&s.Linger, "linger", bench.DefaultLinger, "linger.ms")
	flag.IntVar(&s.BatchBytes, "batch-bytes", bench.DefaultBatchBytes, "batch.size in bytes")
	flag.IntVar(&s.MaxInFlight, "max-in-flight", bench.DefaultMaxInFlight, "max.in.flight.requests.per.connection")
	flag.IntVar(&s.BufferBytes, "buffer-bytes", bench.DefaultBufferBytes, "buffer.memory in bytes")
	flag.BoolVar(&s.Latency, "latency", false, "send one record at a time, each waiting for its ack, and report latency percentiles")
	flag.StringVar(&s.Topic, "topic", "bench", "topic")
	flag.IntVar(&s.Partitions, "partitions", 0, "the topic's partition count, asked of the sink by the topic name's .pN suffix (0: the sink's default)")
	flag.IntVar(&s.Goroutines, "goroutines", 1, "goroutines sending at once")
	run := flag.Int("run", 0, "run number, copied into the result")
	timeout := flag.Duration("timeout", 5*time.Minute, "give up after this long")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	memprofile := flag.String("memprofile", "", "write an allocation profile to this file")
	memrate := flag.Int("memprofilerate", 0, "runtime.MemProfileRate with -memprofile (0 keeps the default)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("benchclient: ")

	if *memprofile != "" && *memrate > 0 {
		runtime.MemProfileRate = *memrate
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	res := bench.Run(ctx, *client, strings.Split(*brokers, ","), s)
	res.Run = *run
	if *memprofile != "" {
		f, err := os.Create(*memprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			log.Fatal(err)
		}
		f.Close()
	}
	out, err := json.Marshal(res)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out))
}
