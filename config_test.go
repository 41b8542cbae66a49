package producer

import (
	"errors"
	"fmt"
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
		BootstrapServers:    []string{"localhost:9092"},
		ClientID:            "gregor",
		Acks:                AcksAll,
		BufferMemory:        32 << 20,
		Retries:             math.MaxInt32,
		RetryBackoff:        100 * time.Millisecond,
		RetryBackoffMax:     time.Second,
		BatchSize:           16384,
		Linger:              5 * time.Millisecond,
		MaxInFlight:         5,
		RequestTimeout:      30 * time.Second,
		DeliveryTimeout:     120 * time.Second,
		MaxBlock:            60 * time.Second,
		MaxRequestSize:      1 << 20,
		SendBufferBytes:     128 << 10,
		ReceiveBufferBytes:  32 << 10,
		MetadataMaxAge:      5 * time.Minute,
		ConnectionsMaxIdle:  9 * time.Minute,
		TransactionTimeout:  time.Minute,
		SetupTimeout:        10 * time.Second,
		SetupTimeoutMax:     30 * time.Second,
		ReconnectBackoff:    50 * time.Millisecond,
		ReconnectBackoffMax: time.Second,
		MetadataMaxIdle:     5 * time.Minute,
		MetadataRecovery:    Rebootstrap,
		RebootstrapTrigger:  300 * time.Second,
		ClientDNSLookup:     UseAllDNSIPs,
	}
	if s.BootstrapServers[0] != want.BootstrapServers[0] || s.ClientID != want.ClientID || s.Acks != want.Acks ||
		s.BufferMemory != want.BufferMemory || s.Retries != want.Retries || s.RetryBackoff != want.RetryBackoff ||
		s.RetryBackoffMax != want.RetryBackoffMax || s.BatchSize != want.BatchSize || s.Linger != want.Linger ||
		s.MaxInFlight != want.MaxInFlight || s.RequestTimeout != want.RequestTimeout ||
		s.DeliveryTimeout != want.DeliveryTimeout || s.MaxBlock != want.MaxBlock ||
		s.MaxRequestSize != want.MaxRequestSize || s.SendBufferBytes != want.SendBufferBytes ||
		s.ReceiveBufferBytes != want.ReceiveBufferBytes || s.MetadataMaxAge != want.MetadataMaxAge ||
		s.ConnectionsMaxIdle != want.ConnectionsMaxIdle || s.TransactionTimeout != want.TransactionTimeout ||
		s.SetupTimeout != want.SetupTimeout || s.SetupTimeoutMax != want.SetupTimeoutMax ||
		s.ReconnectBackoff != want.ReconnectBackoff || s.ReconnectBackoffMax != want.ReconnectBackoffMax ||
		s.MetadataMaxIdle != want.MetadataMaxIdle || s.MetadataRecovery != want.MetadataRecovery ||
		s.RebootstrapTrigger != want.RebootstrapTrigger || s.ClientDNSLookup != want.ClientDNSLookup {
		t.Errorf("defaults:\n got %+v\nwant %+v", s.Config, want)
	}
	if !s.idempotent {
		t.Error("idempotence is not on by default")
	}
}

func TestConfigProperties(t *testing.T) {
	props := map[string]string{
		"bootstrap.servers":                        "a:1, b:2",
		"client.id":                                "svc",
		"acks":                                     "1",
		"buffer.memory":                            "1048576",
		"compression.type":                         "zstd",
		"compression.gzip.level":                   "9",
		"compression.lz4.level":                    "12",
		"compression.zstd.level":                   "7",
		"retries":                                  "0",
		"retry.backoff.ms":                         "0",
		"retry.backoff.max.ms":                     "2000",
		"batch.size":                               "0",
		"linger.ms":                                "0",
		"max.in.flight.requests.per.connection":    "1",
		"request.timeout.ms":                       "1000",
		"delivery.timeout.ms":                      "5000",
		"max.block.ms":                             "0",
		"max.request.size":                         "2000000",
		"send.buffer.bytes":                        "-1",
		"receive.buffer.bytes":                     "65536",
		"metadata.max.age.ms":                      "1000",
		"metadata.max.idle.ms":                     "7000",
		"connections.max.idle.ms":                  "60000",
		"socket.connection.setup.timeout.ms":       "2000",
		"socket.connection.setup.timeout.max.ms":   "8000",
		"reconnect.backoff.ms":                     "0",
		"reconnect.backoff.max.ms":                 "3000",
		"metadata.recovery.strategy":               "NONE",
		"client.dns.lookup":                        "resolve_canonical_bootstrap_servers_only",
		"metadata.recovery.rebootstrap.trigger.ms": "4000",
		"partitioner.class":                        "org.apache.kafka.clients.producer.RoundRobinPartitioner",
		"partitioner.ignore.keys":                  "true",
		"partitioner.adaptive.partitioning.enable": "false",
		"partitioner.availability.timeout.ms":      "1500",
		"enable.idempotence":                       "false",
		"transactional.id":                         "",
		"transaction.timeout.ms":                   "10000",
		"key.serializer":                           "org.apache.kafka.common.serialization.StringSerializer",
		"value.serializer":                         "ByteArraySerializer",
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
		{"metadata idle", s.MetadataMaxIdle, 7 * time.Second},
		{"idle", s.ConnectionsMaxIdle, time.Minute},
		{"setup timeout", s.SetupTimeout, 2 * time.Second},
		{"setup timeout max", s.SetupTimeoutMax, 8 * time.Second},
		{"reconnect backoff", s.ReconnectBackoff, time.Duration(0)},
		{"reconnect backoff max", s.ReconnectBackoffMax, 3 * time.Second},
		{"metadata recovery", s.MetadataRecovery, NoRecovery},
		{"dns lookup", s.ClientDNSLookup, ResolveCanonicalBootstrapServersOnly},
		{"rebootstrap trigger", s.RebootstrapTrigger, 4 * time.Second},
		{"partitioner", s.Partitioner != nil, true},
		{"ignore keys", s.PartitionerIgnoreKeys, true},
		{"adaptive partitioning", s.adaptive, false},
		{"availability timeout", s.PartitionerAvailabilityTimeout, 1500 * time.Millisecond},
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
		"key.serializer":                        "io.confluent.kafka.serializers.KafkaAvroSerializer",
		"value.serializer":                      "org.apache.kafka.common.serialization.DoubleSerializer",
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
		"acks=2":                   func(c *Config) { c.Acks = "2" },
		"negative buffer":          func(c *Config) { c.BufferMemory = -1 },
		"negative retries":         func(c *Config) { c.Retries = -5 },
		"negative linger":          func(c *Config) { c.Linger = -time.Millisecond },
		"negative batch size":      func(c *Config) { c.BatchSize = -2 },
		"negative max block":       func(c *Config) { c.MaxBlock = -time.Second },
		"negative backoff":         func(c *Config) { c.RetryBackoff = -2 },
		"negative idle":            func(c *Config) { c.ConnectionsMaxIdle = -time.Second },
		"negative setup timeout":   func(c *Config) { c.SetupTimeout = -1 },
		"negative reconnect":       func(c *Config) { c.ReconnectBackoffMax = -2 },
		"negative request timeout": func(c *Config) { c.RequestTimeout = -1 },
		"negative delivery":        func(c *Config) { c.DeliveryTimeout = -1 },
		"negative metadata age":    func(c *Config) { c.MetadataMaxAge = -1 },
		"negative max request":     func(c *Config) { c.MaxRequestSize = -1 },
		"negative txn timeout":     func(c *Config) { c.TransactionTimeout = -1 },
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
		"bad idempotence switch":   func(c *Config) { c.Idempotence = 7 },
		"bad recovery strategy":    func(c *Config) { c.MetadataRecovery = "rebootstrap_now" },
		"negative trigger":         func(c *Config) { c.RebootstrapTrigger = -1 },
		"bad dns lookup":           func(c *Config) { c.ClientDNSLookup = "default" },
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

// TestAcksLiteral: Acks: 0 does not compile, and the string literals mean what acks=...
// means in a Java properties file.
func TestAcksLiteral(t *testing.T) {
	const snippet = `package snippet

import "github.com/gregor-kafka/producer"

var _ = producer.Config{Acks: %s}
`
	for _, lit := range []string{"0", "1", "-1", "2", "'0'"} {
		err := typeCheck(t, fmt.Sprintf(snippet, lit))
		if err == nil || !strings.Contains(err.Error(), "cannot use") {
			t.Errorf("Config{Acks: %s} compiles (%v)", lit, err)
		}
	}
	for _, lit := range []string{`"0"`, `"all"`, "producer.AcksNone", "producer.AcksLeader", "producer.AcksAll"} {
		if err := typeCheck(t, fmt.Sprintf(snippet, lit)); err != nil {
			t.Errorf("Config{Acks: %s} does not compile: %v", lit, err)
		}
	}

	for _, tc := range []struct {
		acks Acks
		wire int16
	}{
		{"", -1}, {"all", -1}, {"ALL", -1}, {"-1", -1}, {AcksAll, -1},
		{"1", 1}, {AcksLeader, 1},
		{"0", 0}, {" 0 ", 0}, {AcksNone, 0},
	} {
		s, err := Config{BootstrapServers: []string{"h:1"}, Acks: tc.acks}.validate()
		if err != nil {
			t.Errorf("acks %q: %v", tc.acks, err)
			continue
		}
		if got := s.Acks.wire(); got != tc.wire {
			t.Errorf("acks %q: sent as %d, want %d", tc.acks, got, tc.wire)
		}
		if tc.wire != -1 && s.idempotent {
			t.Errorf("acks %q: idempotent", tc.acks)
		}
	}
	_, err := Config{BootstrapServers: []string{"h:1"}, Acks: "2"}.validate()
	if err == nil || err.Error() != `producer: acks: invalid value "2": want "all" (or "-1"), "1" or "0" (AcksAll, AcksLeader, AcksNone)` {
		t.Errorf("acks 2: %v", err)
	}
}

// TestSpecialValues: the one rule for zero and negative values. 0 is the default, -1 (by
// its name) is the property's own 0 or Java's -1, and any other negative value is an error
// that names the way to ask for it.
func TestSpecialValues(t *testing.T) {
	base := Config{BootstrapServers: []string{"h:1"}}
	s, err := base.validate()
	if err != nil {
		t.Fatal(err)
	}
	if s.Retries != DefaultRetries || s.Linger != DefaultLinger || s.BatchSize != DefaultBatchSize || s.MaxBlock != DefaultMaxBlock {
		t.Errorf("zero Config: retries %d, linger %v, batch.size %d, max.block %v", s.Retries, s.Linger, s.BatchSize, s.MaxBlock)
	}

	c := base
	c.Retries, c.Linger, c.BatchSize, c.MaxBlock = NoRetries, NoLinger, NoBatching, NoBlock
	c.RetryBackoff, c.RetryBackoffMax = NoBackoff, NoBackoff
	c.SendBufferBytes, c.ReceiveBufferBytes, c.ConnectionsMaxIdle = -1, -1, -1
	if s, err = c.validate(); err != nil {
		t.Fatal(err)
	}
	if s.Retries != 0 || s.Linger != 0 || s.BatchSize != 0 || s.MaxBlock != 0 || s.RetryBackoff != 0 || s.RetryBackoffMax != 0 ||
		s.SendBufferBytes != -1 || s.ReceiveBufferBytes != -1 || s.ConnectionsMaxIdle != -1 {
		t.Errorf("-1 values: %+v", s.Config)
	}
	if s.idempotent {
		t.Error("retries=0 left idempotence on")
	}

	for _, tc := range []struct {
		mutate func(*Config)
		want   string
	}{
		{func(c *Config) { c.Retries = -2 }, "producer: retries: -2 is negative: write NoRetries (-1) for retries=0; 0 is the default"},
		{func(c *Config) { c.Linger = -5 * time.Millisecond }, "producer: linger.ms: -5ms is negative: write NoLinger (-1) for linger.ms=0; 0 is the default"},
		{func(c *Config) { c.BatchSize = -100 }, "producer: batch.size: -100 is negative: write NoBatching (-1) for batch.size=0; 0 is the default"},
		{func(c *Config) { c.MaxBlock = -time.Second }, "producer: max.block.ms: -1s is negative: write NoBlock (-1) for max.block.ms=0; 0 is the default"},
		{func(c *Config) { c.ConnectionsMaxIdle = -time.Second }, "producer: connections.max.idle.ms: -1s is negative: the only negative value is -1 (never close, as in Java); 0 is the default"},
		{func(c *Config) { c.BufferMemory = -1 }, "producer: buffer.memory: -1 is negative: want a positive value, or 0 for the default"},
	} {
		c := base
		tc.mutate(&c)
		if _, err := c.validate(); err == nil || err.Error() != tc.want {
			t.Errorf("got  %v\nwant %s", err, tc.want)
		}
	}
}

// TestPropertiesMeanWhatJavaMeans: zero values in properties are Kafka's zeros.
func TestPropertiesMeanWhatJavaMeans(t *testing.T) {
	c, err := ConfigFromProperties(map[string]string{
		"bootstrap.servers": "h:1", "acks": "0", "retries": "0", "linger.ms": "0", "batch.size": "0", "max.block.ms": "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.validate()
	if err != nil {
		t.Fatal(err)
	}
	if s.Acks.wire() != 0 || s.Retries != 0 || s.Linger != 0 || s.BatchSize != 0 || s.MaxBlock != 0 {
		t.Errorf("zeros: acks %d, retries %d, linger %v, batch.size %d, max.block %v", s.Acks.wire(), s.Retries, s.Linger, s.BatchSize, s.MaxBlock)
	}
}

// TestUnknownPropertySuggestions: an unknown property gets the property it probably
// means, and never shows its value.
func TestUnknownPropertySuggestions(t *testing.T) {
	for _, tc := range []struct{ key, want string }{
		{"linger_ms", `producer: unknown property "linger_ms": did you mean "linger.ms"?`},
		{"lingr.ms", `producer: unknown property "lingr.ms": did you mean "linger.ms"?`},
		{"bootstrap_servers", `producer: unknown property "bootstrap_servers": did you mean "bootstrap.servers"?`},
		{"max_in_flight_requests_per_connection", `producer: unknown property "max_in_flight_requests_per_connection": did you mean "max.in.flight.requests.per.connection"?`},
		{"Compression-Type", `producer: unknown property "Compression-Type": did you mean "compression.type"?`},
		{"ssl_cafile", `producer: unknown property "ssl_cafile": did you mean "ssl.ca.location"?`},
		{"sasl_plain_password", `producer: unknown property "sasl_plain_password": did you mean "sasl.password"?`},
		{"sasl.pasword", `producer: unknown property "sasl.pasword": did you mean "sasl.password"?`},
		{"queue.buffering.max.ms", `producer: unknown property "queue.buffering.max.ms": did you mean "linger.ms"?`},
		{"ssl.truststore.location", `producer: unknown property "ssl.truststore.location": JKS and PKCS12 stores are not supported: use ssl.ca.location with a PEM file`},
		{"session.timeout.ms", `producer: unknown property "session.timeout.ms": a consumer property, not a producer one; remove it`},
		{"frobnicate", `producer: unknown property "frobnicate"; the supported ones are: ` + strings.Join(PropertyNames(), ", ")},
	} {
		const secret = "hunter2"
		_, err := ConfigFromProperties(map[string]string{tc.key: secret})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.key, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the value is in the error: %v", tc.key, err)
		}
	}
}

// TestErrorsSayProducerOnce: a wrapped producer error does not repeat "producer: ".
func TestErrorsSayProducerOnce(t *testing.T) {
	for _, err := range []error{
		&PartitionError{Topic: "t", Partition: 0, Err: ErrClosed},
		&PartitionError{Topic: "t", Partition: -1, Err: fmt.Errorf("%w: after 60s", ErrTimeout)},
		wrapError("producer: transaction cannot commit", &PartitionError{Topic: "t", Partition: 2, Err: ErrTimeout}),
	} {
		if n := strings.Count(err.Error(), "producer: "); n != 1 {
			t.Errorf("%q says producer: %d times", err, n)
		}
	}
	if got, want := (&PartitionError{Topic: "t", Partition: 0, Err: ErrClosed}).Error(), `producer: topic "t" partition 0: closed`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := (&PartitionError{Topic: "t", Partition: -1, Err: ErrTimeout}).Error(), `producer: topic "t": timed out`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	err := wrapError("producer: transaction cannot commit", &PartitionError{Topic: "t", Partition: 2, Err: ErrTimeout})
	if !errors.Is(err, ErrTimeout) {
		t.Error("the cause is lost")
	}
}

// TestIdempotenceConflictWording: the conflict errors are sentences that name the
// setting.
func TestIdempotenceConflictWording(t *testing.T) {
	const needs = "acks=all, retries > 0 and max.in.flight.requests.per.connection ≤ 5"
	for _, tc := range []struct {
		mutate func(*Config)
		want   string
	}{
		{func(c *Config) { c.Idempotence = Enabled; c.Acks = AcksLeader },
			"producer: enable.idempotence=true conflicts with acks=1: idempotence needs " + needs + "; change that setting, or disable idempotence"},
		{func(c *Config) { c.Idempotence = Enabled; c.Retries = NoRetries },
			"producer: enable.idempotence=true conflicts with retries=0: idempotence needs " + needs + "; change that setting, or disable idempotence"},
		{func(c *Config) { c.TransactionalID = "t"; c.Acks = AcksNone },
			"producer: transactional.id needs idempotence, which acks=0 rules out: transactions need " + needs},
		{func(c *Config) { c.TransactionalID = "t"; c.Idempotence = Disabled },
			"producer: transactional.id needs idempotence, but enable.idempotence=false"},
	} {
		c := Config{BootstrapServers: []string{"h:1"}}
		tc.mutate(&c)
		if _, err := c.validate(); err == nil || err.Error() != tc.want {
			t.Errorf("got  %v\nwant %s", err, tc.want)
		}
	}
}
