package prometheus_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/kafkatest"
	gprom "github.com/gregor-kafka/producer/plugin/prometheus"
	"github.com/prometheus/client_golang/prometheus"
)

// A Metrics is the producer's hooks and a collector: register it, and attach the producer
// once it exists. A service would serve the registry with promhttp.HandlerFor.
func Example() {
	c, err := kafkatest.NewCluster(kafkatest.SeedTopic("events", 1))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	m, err := gprom.New(gprom.Options{ConstLabels: prometheus.Labels{"client_id": "example"}})
	if err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	p, err := producer.New(producer.Config{BootstrapServers: c.Addrs(), Hooks: m})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(ctx)
	m.Attach(p)

	for i := range 3 {
		rec := producer.Record{Topic: "events", Value: fmt.Appendf(nil, "event %d", i)}
		if err := p.Send(ctx, rec).Wait(ctx); err != nil {
			log.Fatal(err)
		}
	}

	families, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, mf := range families {
		switch mf.GetName() {
		case "gregor_producer_records_sent_total", "gregor_producer_records_failed_total":
			fmt.Println(mf.GetName(), mf.GetMetric()[0].GetCounter().GetValue())
		case "gregor_producer_request_duration_seconds":
			for _, s := range mf.GetMetric() {
				fmt.Println(mf.GetName(), "count", s.GetHistogram().GetSampleCount())
			}
		}
	}
	// Output:
	// gregor_producer_records_failed_total 0
	// gregor_producer_records_sent_total 3
	// gregor_producer_request_duration_seconds count 3
}
