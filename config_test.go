package producer

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/compress"
)

func TestConfigDefaults(t *testing.T) {
	s, err := Config{BootstrapServers: []string{"localhost:9092"}}.validate()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		BootstrapServers:   []string{"localhost:9092"},
		ClientID:           "gregor",
		Acks:               AcksAll,
		BufferMemory:       32 << 20,
		Retries:            math.MaxInt32,
		RetryBackoff:       100 * time.Millisecond,
		RetryBackoffMax:    time.Second,
		BatchSize:          16384,
		Linger:             5 * time.Millisecond,
		MaxInFlight:        5,
		RequestTimeout:     30 * time.Second,
		DeliveryTimeout:    120 * time.Second,
		MaxBlock:           60 * time.Second,
		MaxRequestSize:     1 << 20,
		SendBufferBytes:    128 << 10,
		ReceiveBufferBytes: 32 << 10,
		MetadataMaxAge:     5 * time.Minute,
		ConnectionsMaxIdle: 9 * time.Minute,
		TransactionTimeout: time.Minute,
	}
	if s.BootstrapServers[0] != want.BootstrapServers[0] || s.ClientID != want.ClientID || s.Acks != want.Acks ||
		s.BufferMemory != want.BufferMemory || s.Retries != want.Retries || s.RetryBackoff != want.RetryBackoff ||
		s.RetryBackoffMax != want.RetryBackoffMax || s.BatchSize != want.BatchSize || s.Linger != want.Linger ||
		s.MaxInFlight != want.MaxInFlight || s.RequestTimeout != want.RequestTimeout ||
		s.DeliveryTimeout != want.DeliveryTimeout || s.MaxBlock != want.MaxBlock ||
		s.MaxRequestSize != want.MaxRequestSize || s.SendBufferBytes != want.SendBufferBytes ||
		s.ReceiveBufferBytes != want.ReceiveBufferBytes || s.MetadataMaxAge != want.MetadataMaxAge ||
		s.ConnectionsMaxIdle != want.ConnectionsMaxIdle || s.TransactionTimeout != want.TransactionTimeout {
		t.Errorf("defaults:\n got %+v\nwant %+v", s.Config, want)
	}
	if !s.idempotent {
		t.Error("idempotence is not on by default")
	}
}

func TestConfigProperties(t *testing.T) {
	props := map[string]string{
		"bootstrap.servers":                     "a:1, b:2",
		"client.id":                             "svc",
		"acks":                                  "1",
		"buffer.memory":                         "1048576",
		"compression.type":                      "zstd",
		"compression.gzip.level":                "9",
		"compression.lz4.level":                 "12",
		"compression.zstd.level":                "7",
		"retries":                               "0",
		"retry.backoff.ms":                      "0",
		"retry.backoff.max.ms":                  "2000",
		"batch.size":                            "0",
		"linger.ms":                             "0",
		"max.in.flight.requests.per.connection": "1",
		"request.timeout.ms":                    "1000",
		"delivery.timeout.ms":                   "5000",
		"max.block.ms":                          "0",
		"max.request.size":                      "2000000",
		"send.buffer.bytes":                     "-1",
		"receive.buffer.bytes":                  "65536",
		"metadata.max.age.ms":                   "1000",
		"connections.max.idle.ms":               "60000",
		"partitioner.class":                     "org.apache.kafka.clients.producer.RoundRobinPartitioner",
		"partitioner.ignore.keys":               "true",
		"enable.idempotence":                    "false",
		"transactional.id":                      "",
		"transaction.timeout.ms":                "10000",
	}
	if len(props)+len(securityProperties) != len(PropertyNames()) { // securityProperties: security_test.go
		t.Fatalf("test covers %d properties, %d supported", len(props)+len(securityProperties), len(PropertyNames()))
	}
	c, err := ConfigFromProperties(props)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.validate()
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"servers", strings.Join(s.BootstrapServers, ","), "a:1,b:2"},
		{"client.id", s.ClientID, "svc"},
		{"acks", s.Acks, AcksLeader},
		{"buffer.memory", s.BufferMemory, int64(1 << 20)},
		{"compression", s.Compression, compress.Zstd},
		{"gzip level", s.GzipLevel, 9},
		{"lz4 level", s.LZ4Level, 12},
		{"zstd level", s.level, 7},
		{"retries", s.Retries, 0},
		{"retry.backoff", s.RetryBackoff, time.Duration(0)},
		{"retry.backoff.max", s.RetryBackoffMax, 2 * time.Second},
		{"batch.size", s.BatchSize, 0},
		{"linger", s.Linger, time.Duration(0)},
		{"in flight", s.MaxInFlight, 1},
		{"request timeout", s.RequestTimeout, time.Second},
		{"delivery timeout", s.DeliveryTimeout, 5 * time.Second},
		{"max block", s.MaxBlock, time.Duration(0)},
		{"max request", s.MaxRequestSize, 2000000},
		{"send buf", s.SendBufferBytes, -1},
		{"recv buf", s.ReceiveBufferBytes, 65536},
		{"metadata age", s.MetadataMaxAge, time.Second},
		{"idle", s.ConnectionsMaxIdle, time.Minute},
		{"partitioner", s.Partitioner != nil, true},
		{"ignore keys", s.PartitionerIgnoreKeys, true},
		{"idempotence", s.idempotent, false},
		{"txn timeout", s.TransactionTimeout, 10 * time.Second},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestConfigPropertyErrors(t *testing.T) {
	cases := map[string]string{
		"acks":                                  "2",
		"linger.ms":                             "-1",
		"batch.size":                            "big",
		"retries":                               "-3",
		"compression.type":                      "brotli",
		"max.in.flight.requests.per.connection": "0",
		"send.buffer.bytes":                     "0",
		"enable.idempotence":                    "yes",
		"partitioner.class":                     "com.example.Nope",
		"no.such.property":                      "1",
		"bootstrap.servers":                     " , ",
		"request.timeout.ms":                    "0",
	}
	for key, val := range cases {
		_, err := ConfigFromProperties(map[string]string{key: val})
		if err == nil {
			t.Errorf("%s=%q accepted", key, val)
			continue
		}
		if !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), val) {
			t.Errorf("%s=%q: error %q does not name key and value", key, val, err)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	base := func() Config { return Config{BootstrapServers: []string{"h:1"}} }
	bad := map[string]func(*Config){
		"no servers":               func(c *Config) { c.BootstrapServers = nil },
		"server without port":      func(c *Config) { c.BootstrapServers = []string{"host"} },
		"acks out of range":        func(c *Config) { c.Acks = 7 },
		"negative buffer":          func(c *Config) { c.BufferMemory = -1 },
		"negative retries":         func(c *Config) { c.Retries = -5 },
		"negative in flight":       func(c *Config) { c.MaxInFlight = -1 },
		"delivery < linger+req":    func(c *Config) { c.DeliveryTimeout = time.Second; c.RequestTimeout = 2 * time.Second },
		"idempotence with acks=1":  func(c *Config) { c.Idempotence = Enabled; c.Acks = AcksLeader },
		"idempotence, 6 in flight": func(c *Config) { c.Idempotence = Enabled; c.MaxInFlight = 6 },
		"idempotence, no retries":  func(c *Config) { c.Idempotence = Enabled; c.Retries = NoRetries },
		"txn without idempotence":  func(c *Config) { c.TransactionalID = "t"; c.Idempotence = Disabled },
		"txn with acks=0":          func(c *Config) { c.TransactionalID = "t"; c.Acks = AcksNone },
		"bad lz4 level":            func(c *Config) { c.LZ4Level = 99 },
		"bad codec":                func(c *Config) { c.Compression = 9 },
		"bad socket buffer":        func(c *Config) { c.SendBufferBytes = -2 },
	}
	for name, mutate := range bad {
		c := base()
		mutate(&c)
		if _, err := c.validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Unset idempotence gives way to a conflicting setting, as in the Java client.
	c := base()
	c.Acks = AcksLeader
	s, err := c.validate()
	if err != nil || s.idempotent {
		t.Errorf("acks=1 with default idempotence: %v, idempotent=%v", err, s.idempotent)
	}
	// A default delivery timeout follows a long request timeout.
	c = base()
	c.RequestTimeout = 5 * time.Minute
	if s, err := c.validate(); err != nil || s.DeliveryTimeout < s.RequestTimeout+s.Linger {
		t.Errorf("long request timeout: %v %v", err, s.DeliveryTimeout)
	}
}
