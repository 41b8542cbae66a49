package otel

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/kafkatest"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func newCluster(t *testing.T, opts ...kafkatest.Option) *kafkatest.Cluster {
	t.Helper()
	c, err := kafkatest.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func newProducer(t *testing.T, cfg producer.Config) *producer.Producer {
	t.Helper()
	p, err := producer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// newTracing returns a tracer provider whose spans land in the returned recorder.
func newTracing(t *testing.T) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, rec
}

// attrs returns a span's attributes by key, as strings.
func attrs(kvs []attribute.KeyValue) map[string]string {
	out := map[string]string{}
	for _, kv := range kvs {
		out[string(kv.Key)] = kv.Value.String()
	}
	return out
}

// newMeter returns a meter provider read by the returned manual reader.
func newMeter(t *testing.T) (*sdkmetric.MeterProvider, *sdkmetric.ManualReader) {
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return mp, r
}

// point is one data point of a collected metric, flattened: its attributes and its value,
// or for a histogram its count and sum.
type point struct {
	attrs       map[string]string
	value       float64
	count       uint64
	sum         float64
	isHistogram bool
}

// collect reads every metric of r, by name.
func collect(t *testing.T, r *sdkmetric.ManualReader) map[string][]point {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string][]point{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != ScopeName {
			t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			var ps []point
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					ps = append(ps, point{attrs: attrs(dp.Attributes.ToSlice()), value: float64(dp.Value)})
				}
			case metricdata.Gauge[float64]:
				for _, dp := range d.DataPoints {
					ps = append(ps, point{attrs: attrs(dp.Attributes.ToSlice()), value: dp.Value})
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					ps = append(ps, point{attrs: attrs(dp.Attributes.ToSlice()), count: dp.Count, sum: dp.Sum, isHistogram: true})
				}
			default:
				t.Fatalf("metric %s: unexpected data %T", m.Name, m.Data)
			}
			out[m.Name] = ps
		}
	}
	return out
}

// total adds the values (counts for a histogram) of the points whose attributes include
// every key=value of want; a value "" means the key must be absent.
func total(ps []point, want ...string) float64 {
	sum := 0.0
next:
	for _, p := range ps {
		for _, kv := range want {
			k, v, _ := strings.Cut(kv, "=")
			if got, ok := p.attrs[k]; v == "" && ok || v != "" && got != v {
				continue next
			}
		}
		if p.isHistogram {
			sum += float64(p.count)
		} else {
			sum += p.value
		}
	}
	return sum
}
