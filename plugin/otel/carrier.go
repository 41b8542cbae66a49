package otel

import (
	"slices"

	"github.com/gregor-kafka/producer"
	"go.opentelemetry.io/otel/propagation"
)

// HeaderCarrier lets a [propagation.TextMapPropagator] read and write record headers: Inject
// into it before sending a record built by hand, Extract from it on the consuming side.
// Header keys are compared exactly, as Kafka does.
type HeaderCarrier struct {
	Headers []producer.Header
}

var _ propagation.TextMapCarrier = (*HeaderCarrier)(nil)

// Get returns the value of the first header named key, or "".
func (c *HeaderCarrier) Get(key string) string {
	for _, h := range c.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// Set makes value the only header named key: it replaces the first one and drops any
// others, or appends one. It changes Headers in place (not the byte slices of the values):
// give it a copy of headers that others may read.
func (c *HeaderCarrier) Set(key, value string) {
	i := slices.IndexFunc(c.Headers, func(h producer.Header) bool { return h.Key == key })
	if i < 0 {
		c.Headers = append(c.Headers, producer.Header{Key: key, Value: []byte(value)})
		return
	}
	c.Headers[i].Value = []byte(value)
	rest := slices.DeleteFunc(c.Headers[i+1:], func(h producer.Header) bool { return h.Key == key })
	c.Headers = c.Headers[:i+1+len(rest)]
}

// Keys returns the header keys, each once.
func (c *HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(c.Headers))
	for _, h := range c.Headers {
		if !slices.Contains(keys, h.Key) {
			keys = append(keys, h.Key)
		}
	}
	return keys
}
