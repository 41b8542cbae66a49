// Command sinkbroker runs a sink Kafka cluster on loopback for client benchmarks: brokers
// that acknowledge every produced batch without storing it (package
// interop/bench/sinkbroker).
//
// On start it prints one JSON line on stdout, {"brokers": [...], "stats": "http://..."},
// and serves until interrupted. GET on the stats address returns the cluster's counters and
// the process's own CPU time as JSON; /debug/pprof/ profiles the sink itself.
//
//	go run ./cmd/sinkbroker -brokers 3 -partitions 6
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof" // profiles of the sink on the stats address
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/gregor-kafka/producer/interop/bench/sinkbroker"
)

// stats is the answer of the stats endpoint.
type stats struct {
	sinkbroker.Stats
	UserCPUNs int64 `json:"user_cpu_ns"`
	SysCPUNs  int64 `json:"sys_cpu_ns"`
}

func main() {
	var (
		brokers     = flag.Int("brokers", 3, "number of brokers, on free ports of -host (ignored with -ports)")
		ports       = flag.String("ports", "", "comma-separated listen ports, one broker each (e.g. 9092,9093,9094)")
		host        = flag.String("host", "127.0.0.1", "listen host")
		partitions  = flag.Int("partitions", 6, "partitions of every topic")
		verify      = flag.Bool("verify", false, "check and decode every batch (costs CPU)")
		logRequests = flag.Bool("log-requests", false, "log every request's API and version to stderr")
		statsAddr   = flag.String("stats", "127.0.0.1:0", "listen address of the stats and pprof HTTP server")
	)
	flag.Parse()
	log.SetFlags(log.Lmicroseconds)
	log.SetPrefix("sinkbroker: ")

	var listen []string
	if *ports != "" {
		for _, p := range strings.Split(*ports, ",") {
			listen = append(listen, net.JoinHostPort(*host, strings.TrimSpace(p)))
		}
	} else {
		for range *brokers {
			listen = append(listen, net.JoinHostPort(*host, "0"))
		}
	}
	c, err := sinkbroker.Start(sinkbroker.Config{Listen: listen, Partitions: *partitions, Verify: *verify,
		LogRequests: *logRequests, Logf: log.Printf})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	ln, err := net.Listen("tcp", *statsAddr)
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) {
		s := stats{Stats: c.Stats()}
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
			s.UserCPUNs = ru.Utime.Nano()
			s.SysCPUNs = ru.Stime.Nano()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s)
	})
	go func() { log.Print(http.Serve(ln, nil)) }()

	hello, _ := json.Marshal(map[string]any{"brokers": c.Addrs(), "stats": fmt.Sprintf("http://%s/stats", ln.Addr())})
	fmt.Println(string(hello))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}
