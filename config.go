package producer

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gregor-kafka/producer/compress"
)

// Acks is the acks setting: how many replicas must have a record before the broker answers.
// Its zero value is [AcksAll], the Java client's default.
type Acks int8

const (
	// AcksAll (acks=all, acks=-1) waits for every in-sync replica. The default.
	AcksAll Acks = iota
	// AcksLeader (acks=1) waits for the partition leader only.
	AcksLeader
	// AcksNone (acks=0) does not wait for any answer; records complete with offset -1 once
	// written to the connection, and errors are not reported.
	AcksNone
)

// wire returns the value sent in Produce requests.
func (a Acks) wire() int16 {
	switch a {
	case AcksLeader:
		return 1
	case AcksNone:
		return 0
	}
	return -1
}

// String returns the property value: "all", "1" or "0".
func (a Acks) String() string {
	switch a {
	case AcksAll:
		return "all"
	case AcksLeader:
		return "1"
	case AcksNone:
		return "0"
	}
	return fmt.Sprintf("Acks(%d)", int8(a))
}

// Switch is an on/off setting whose zero value means "the default", so that a setting left
// unset can be told from one set explicitly (enable.idempotence needs the difference).
type Switch int8

const (
	// Default leaves the setting at its default.
	Default Switch = iota
	// Enabled turns the setting on.
	Enabled
	// Disabled turns the setting off.
	Disabled
)

// Defaults of the Java client 4.x, which gregor follows.
const (
	DefaultClientID           = "gregor"
	DefaultBufferMemory       = 32 << 20
	DefaultRetries            = math.MaxInt32
	DefaultRetryBackoff       = 100 * time.Millisecond
	DefaultRetryBackoffMax    = 1000 * time.Millisecond
	DefaultBatchSize          = 16384
	DefaultLinger             = 5 * time.Millisecond
	DefaultMaxInFlight        = 5
	DefaultRequestTimeout     = 30 * time.Second
	DefaultDeliveryTimeout    = 120 * time.Second
	DefaultMaxBlock           = 60 * time.Second
	DefaultMaxRequestSize     = 1 << 20
	DefaultSendBufferBytes    = 128 << 10
	DefaultReceiveBufferBytes = 32 << 10
	DefaultMetadataMaxAge     = 5 * time.Minute
	DefaultConnectionsMaxIdle = 9 * time.Minute
	DefaultTransactionTimeout = 60 * time.Second
)

// NoRetries is the value of [Config.Retries] for retries=0.
const NoRetries = -1

// Config holds the producer settings. Each field names the Kafka producer property it
// mirrors. The zero value of every field means that property's default (the Java client
// 4.x default), so a Config that sets only BootstrapServers works. Where a property has a
// meaningful zero (linger.ms=0, retries=0, acks=0, max.block.ms=0) the field documents how to
// ask for it. [ConfigFromProperties] builds a Config from the property names themselves.
type Config struct {
	// BootstrapServers (bootstrap.servers) lists host:port pairs to fetch cluster metadata
	// from; each is tried in turn. Required.
	BootstrapServers []string
	// ClientID (client.id) is sent with every request. Default "gregor".
	ClientID string
	// Acks (acks): default [AcksAll].
	Acks Acks
	// BufferMemory (buffer.memory) bounds the bytes of records buffered and not yet
	// acknowledged. A send that would pass it blocks up to MaxBlock. Default 32 MiB.
	BufferMemory int64
	// Compression (compression.type): default none.
	Compression compress.Codec
	// GzipLevel (compression.gzip.level, KIP-390) is used with gzip: 1 to 9; 0 means the
	// default.
	GzipLevel int
	// LZ4Level (compression.lz4.level) is used with lz4: 1 to 17; 0 means the default, 9.
	LZ4Level int
	// ZstdLevel (compression.zstd.level) is used with zstd: -131072 to 22; 0 means the
	// default, 3.
	ZstdLevel int
	// Retries (retries) is how many times a batch is retried after a retriable error,
	// within DeliveryTimeout. Default MaxInt32; [NoRetries] means retries=0.
	Retries int
	// RetryBackoff (retry.backoff.ms) is the first wait before a retry, doubling up to
	// RetryBackoffMax with ±20% jitter (KIP-580). Default 100 ms; negative means 0.
	RetryBackoff time.Duration
	// RetryBackoffMax (retry.backoff.max.ms): default 1 s.
	RetryBackoffMax time.Duration
	// BatchSize (batch.size) is the byte size at which a partition's batch is sealed; a
	// record larger than that gets a batch of its own. Default 16384; negative means 0
	// (every record its own batch).
	BatchSize int
	// Linger (linger.ms) is how long a batch waits for more records before it is sent.
	// Default 5 ms (Java 4.0); negative means 0 (send as soon as possible).
	Linger time.Duration
	// MaxInFlight (max.in.flight.requests.per.connection): default 5.
	MaxInFlight int
	// RequestTimeout (request.timeout.ms) bounds each request's wait for its answer.
	// Default 30 s.
	RequestTimeout time.Duration
	// DeliveryTimeout (delivery.timeout.ms) bounds the time from a send to its success or
	// failure, retries included; it must be at least Linger + RequestTimeout. Default 120 s.
	DeliveryTimeout time.Duration
	// MaxBlock (max.block.ms) bounds how long a send blocks for buffer memory or for topic
	// metadata. Default 60 s; negative means 0 (fail at once).
	MaxBlock time.Duration
	// MaxRequestSize (max.request.size) bounds a Produce request and so the largest record.
	// Default 1 MiB.
	MaxRequestSize int
	// SendBufferBytes (send.buffer.bytes) is the socket send buffer; -1 keeps the OS
	// default. Default 128 KiB.
	SendBufferBytes int
	// ReceiveBufferBytes (receive.buffer.bytes) is the socket receive buffer; -1 keeps the
	// OS default. Default 32 KiB.
	ReceiveBufferBytes int
	// MetadataMaxAge (metadata.max.age.ms) is how often metadata is refreshed even without
	// errors. Default 5 min.
	MetadataMaxAge time.Duration
	// ConnectionsMaxIdle (connections.max.idle.ms) closes connections idle that long.
	// Default 9 min; negative means never.
	ConnectionsMaxIdle time.Duration
	// Partitioner (partitioner.class) chooses partitions. nil means the Java default:
	// murmur2 for keyed records, uniform sticky (KIP-794) for the others.
	Partitioner Partitioner
	// PartitionerIgnoreKeys (partitioner.ignore.keys) makes the default partitioner treat
	// keyed records as unkeyed.
	PartitionerIgnoreKeys bool
	// Idempotence (enable.idempotence): default on unless a setting it needs (acks=all,
	// retries > 0, max in flight ≤ 5) is set otherwise; [Enabled] with such a setting is an
	// error.
	Idempotence Switch
	// TransactionalID (transactional.id) makes the producer transactional.
	TransactionalID string
	// TransactionTimeout (transaction.timeout.ms): default 60 s.
	TransactionTimeout time.Duration
	// Logger receives connection and retry events (debug: connects and retries; warn:
	// failed connections and metadata refreshes); nil means silent. Its handler is called
	// from the producer's goroutines with no lock of the producer held; it may call Stats.
	Logger *slog.Logger
	// Hooks receives producer events for metrics or tracing; nil means none.
	Hooks Hooks

	// SecurityProtocol (security.protocol) is how connections are secured: [Plaintext],
	// [SSL], [SASLPlaintext] or [SASLSSL]. Empty means PLAINTEXT, unless TLS settings are
	// given (then SSL), SASL settings (SASL_PLAINTEXT) or both (SASL_SSL).
	SecurityProtocol SecurityProtocol
	// SASL holds the SASL mechanism and credentials (sasl.mechanism, sasl.username,
	// sasl.password, sasl.jaas.config), used with SASL_PLAINTEXT and SASL_SSL.
	SASL SASLConfig
	// SSLCALocation (ssl.ca.location) is a PEM file of the certificate authorities that
	// sign the brokers' certificates. Empty means the system's.
	SSLCALocation string
	// SSLCertificateLocation and SSLKeyLocation (ssl.certificate.location,
	// ssl.key.location) are PEM files of the client's certificate and private key, for
	// brokers that require mutual TLS (ssl.client.auth=required).
	SSLCertificateLocation, SSLKeyLocation string
	// SSLEndpointIdentification (ssl.endpoint.identification.algorithm): [Default] and
	// [Enabled] ("https") check that the broker's certificate names the host it was dialed
	// by; [Disabled] ("" or "none") checks only that a trusted authority signed it.
	SSLEndpointIdentification Switch
	// TLS, when set, is the TLS configuration of broker connections instead of the
	// ssl.* settings above: for certificates held in memory, custom verification or client
	// certificates chosen per connection. An empty ServerName is the host of each broker's
	// address.
	TLS *tls.Config
}

// settings is a validated Config with every default applied.
type settings struct {
	Config
	idempotent bool
	// level is the compression level of the chosen codec.
	level int
	// sec is the TLS and SASL settings and the backoff after authentication failures.
	sec *security
}

// validate applies the defaults and checks the settings; every error says what to change.
func (c Config) validate() (settings, error) {
	s := settings{Config: c}
	if len(c.BootstrapServers) == 0 {
		return s, errors.New("producer: bootstrap.servers is empty: give at least one host:port")
	}
	for _, a := range c.BootstrapServers {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return s, fmt.Errorf("producer: bootstrap.servers: %q is not host:port", a)
		}
	}
	if s.ClientID == "" {
		s.ClientID = DefaultClientID
	}
	if s.Acks < AcksAll || s.Acks > AcksNone {
		return s, fmt.Errorf("producer: acks: invalid value %d: use AcksAll, AcksLeader or AcksNone", s.Acks)
	}
	def := func(d *time.Duration, v time.Duration) {
		switch {
		case *d == 0:
			*d = v
		case *d < 0:
			*d = 0
		}
	}
	def(&s.RetryBackoff, DefaultRetryBackoff)
	def(&s.RetryBackoffMax, DefaultRetryBackoffMax)
	def(&s.Linger, DefaultLinger)
	def(&s.MaxBlock, DefaultMaxBlock)
	if s.BufferMemory == 0 {
		s.BufferMemory = DefaultBufferMemory
	}
	if s.BufferMemory < 0 {
		return s, fmt.Errorf("producer: buffer.memory: invalid value %d: must be positive", s.BufferMemory)
	}
	if s.Compression < compress.None || s.Compression > compress.Zstd {
		return s, fmt.Errorf("producer: compression.type: invalid codec %d", s.Compression)
	}
	for _, l := range []struct {
		codec compress.Codec
		level int
		name  string
	}{{compress.Gzip, s.GzipLevel, "gzip"}, {compress.LZ4, s.LZ4Level, "lz4"}, {compress.Zstd, s.ZstdLevel, "zstd"}} {
		if l.level == 0 {
			continue
		}
		if err := compress.ValidateLevel(l.codec, l.level); err != nil {
			return s, fmt.Errorf("producer: compression.%s.level: %w", l.name, err)
		}
		if l.codec == s.Compression {
			s.level = l.level
		}
	}
	if s.level == 0 {
		s.level = compress.DefaultLevel(s.Compression)
	}
	switch {
	case s.Retries == 0:
		s.Retries = DefaultRetries
	case s.Retries == NoRetries:
		s.Retries = 0
	case s.Retries < 0:
		return s, fmt.Errorf("producer: retries: invalid value %d: use NoRetries for none", s.Retries)
	}
	switch {
	case s.BatchSize == 0:
		s.BatchSize = DefaultBatchSize
	case s.BatchSize < 0:
		s.BatchSize = 0
	}
	if s.MaxInFlight == 0 {
		s.MaxInFlight = DefaultMaxInFlight
	}
	if s.MaxInFlight < 0 {
		return s, fmt.Errorf("producer: max.in.flight.requests.per.connection: invalid value %d: must be at least 1", s.MaxInFlight)
	}
	if s.RequestTimeout == 0 {
		s.RequestTimeout = DefaultRequestTimeout
	}
	if s.RequestTimeout < 0 {
		return s, fmt.Errorf("producer: request.timeout.ms: invalid value %v: must be positive", s.RequestTimeout)
	}
	if s.DeliveryTimeout == 0 {
		s.DeliveryTimeout = DefaultDeliveryTimeout
		// Java lowers nothing here but refuses the combination; a default delivery timeout
		// follows a long linger or request timeout instead of failing on them.
		if min := s.Linger + s.RequestTimeout; s.DeliveryTimeout < min {
			s.DeliveryTimeout = min
		}
	}
	if s.DeliveryTimeout < s.Linger+s.RequestTimeout {
		return s, fmt.Errorf("producer: delivery.timeout.ms (%v) must be at least linger.ms + request.timeout.ms (%v)",
			s.DeliveryTimeout, s.Linger+s.RequestTimeout)
	}
	if s.MaxRequestSize == 0 {
		s.MaxRequestSize = DefaultMaxRequestSize
	}
	if s.MaxRequestSize < 0 {
		return s, fmt.Errorf("producer: max.request.size: invalid value %d: must be positive", s.MaxRequestSize)
	}
	if s.SendBufferBytes == 0 {
		s.SendBufferBytes = DefaultSendBufferBytes
	}
	if s.ReceiveBufferBytes == 0 {
		s.ReceiveBufferBytes = DefaultReceiveBufferBytes
	}
	if s.SendBufferBytes < -1 || s.ReceiveBufferBytes < -1 {
		return s, fmt.Errorf("producer: send.buffer.bytes / receive.buffer.bytes: must be -1 (OS default) or positive")
	}
	if s.MetadataMaxAge == 0 {
		s.MetadataMaxAge = DefaultMetadataMaxAge
	}
	if s.MetadataMaxAge < 0 {
		return s, fmt.Errorf("producer: metadata.max.age.ms: invalid value %v: must be positive", s.MetadataMaxAge)
	}
	if s.ConnectionsMaxIdle == 0 {
		s.ConnectionsMaxIdle = DefaultConnectionsMaxIdle
	}
	if s.TransactionTimeout == 0 {
		s.TransactionTimeout = DefaultTransactionTimeout
	}
	if s.TransactionTimeout < 0 {
		return s, fmt.Errorf("producer: transaction.timeout.ms: invalid value %v: must be positive", s.TransactionTimeout)
	}

	// enable.idempotence, as the Java client: on by default, turned off quietly by a
	// conflicting setting, and an error when asked for together with one.
	var conflict string
	switch {
	case s.Acks != AcksAll:
		conflict = "acks must be all"
	case s.Retries == 0:
		conflict = "retries must be greater than 0"
	case s.MaxInFlight > 5:
		conflict = "max.in.flight.requests.per.connection must be at most 5"
	}
	switch s.Idempotence {
	case Default:
		s.idempotent = conflict == ""
	case Enabled:
		if conflict != "" {
			return s, fmt.Errorf("producer: enable.idempotence=true needs %s; set it, or disable idempotence", conflict)
		}
		s.idempotent = true
	case Disabled:
		s.idempotent = false
	default:
		return s, fmt.Errorf("producer: enable.idempotence: invalid value %d", s.Idempotence)
	}
	if s.TransactionalID != "" && !s.idempotent {
		if s.Idempotence == Disabled {
			return s, errors.New("producer: transactional.id needs enable.idempotence=true")
		}
		return s, fmt.Errorf("producer: transactional.id needs idempotence, but %s", conflict)
	}

	sec, err := c.security()
	if err != nil {
		return s, err
	}
	s.sec = sec
	return s, nil
}

// propertySetter parses one property value into a Config.
type propertySetter func(c *Config, v string) error

// properties maps each supported Java producer property to its setter. It is read-only.
var properties = map[string]propertySetter{
	"bootstrap.servers": func(c *Config, v string) error {
		c.BootstrapServers = nil
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				c.BootstrapServers = append(c.BootstrapServers, s)
			}
		}
		if len(c.BootstrapServers) == 0 {
			return errors.New("no servers")
		}
		return nil
	},
	"client.id": func(c *Config, v string) error { c.ClientID = v; return nil },
	"acks": func(c *Config, v string) error {
		switch strings.ToLower(v) {
		case "all", "-1":
			c.Acks = AcksAll
		case "1":
			c.Acks = AcksLeader
		case "0":
			c.Acks = AcksNone
		default:
			return errors.New("want all, -1, 1 or 0")
		}
		return nil
	},
	"buffer.memory": func(c *Config, v string) error {
		n, err := parseInt(v, 1, math.MaxInt64)
		c.BufferMemory = n
		return err
	},
	"compression.type": func(c *Config, v string) error {
		codec, err := compress.ParseCodec(strings.ToLower(v))
		c.Compression = codec
		return err
	},
	"compression.gzip.level": levelSetter(func(c *Config) *int { return &c.GzipLevel }),
	"compression.lz4.level":  levelSetter(func(c *Config) *int { return &c.LZ4Level }),
	"compression.zstd.level": levelSetter(func(c *Config) *int { return &c.ZstdLevel }),
	"retries": func(c *Config, v string) error {
		n, err := parseInt(v, 0, math.MaxInt32)
		c.Retries = int(n)
		if n == 0 {
			c.Retries = NoRetries
		}
		return err
	},
	"retry.backoff.ms":     msSetter(func(c *Config) *time.Duration { return &c.RetryBackoff }, true),
	"retry.backoff.max.ms": msSetter(func(c *Config) *time.Duration { return &c.RetryBackoffMax }, true),
	"batch.size": func(c *Config, v string) error {
		n, err := parseInt(v, 0, math.MaxInt32)
		c.BatchSize = int(n)
		if n == 0 {
			c.BatchSize = -1
		}
		return err
	},
	"linger.ms": msSetter(func(c *Config) *time.Duration { return &c.Linger }, true),
	"max.in.flight.requests.per.connection": func(c *Config, v string) error {
		n, err := parseInt(v, 1, math.MaxInt32)
		c.MaxInFlight = int(n)
		return err
	},
	"request.timeout.ms":  msSetter(func(c *Config) *time.Duration { return &c.RequestTimeout }, false),
	"delivery.timeout.ms": msSetter(func(c *Config) *time.Duration { return &c.DeliveryTimeout }, false),
	"max.block.ms":        msSetter(func(c *Config) *time.Duration { return &c.MaxBlock }, true),
	"max.request.size": func(c *Config, v string) error {
		n, err := parseInt(v, 1, math.MaxInt32)
		c.MaxRequestSize = int(n)
		return err
	},
	"send.buffer.bytes":    bufSetter(func(c *Config) *int { return &c.SendBufferBytes }),
	"receive.buffer.bytes": bufSetter(func(c *Config) *int { return &c.ReceiveBufferBytes }),
	"metadata.max.age.ms":  msSetter(func(c *Config) *time.Duration { return &c.MetadataMaxAge }, false),
	"connections.max.idle.ms": func(c *Config, v string) error {
		n, err := parseInt(v, -1, math.MaxInt64/int64(time.Millisecond))
		c.ConnectionsMaxIdle = time.Duration(n) * time.Millisecond
		if n <= 0 {
			c.ConnectionsMaxIdle = -1
		}
		return err
	},
	"partitioner.class": func(c *Config, v string) error {
		p, err := partitionerByName(v)
		c.Partitioner = p
		return err
	},
	"partitioner.ignore.keys": boolSetter(func(c *Config, b bool) { c.PartitionerIgnoreKeys = b }),
	"enable.idempotence": boolSetter(func(c *Config, b bool) {
		c.Idempotence = Disabled
		if b {
			c.Idempotence = Enabled
		}
	}),
	"transactional.id":       func(c *Config, v string) error { c.TransactionalID = v; return nil },
	"transaction.timeout.ms": msSetter(func(c *Config) *time.Duration { return &c.TransactionTimeout }, false),

	// TLS and SASL (security.go).
	"security.protocol":                     setSecurityProtocol,
	"sasl.mechanism":                        setSASLMechanism,
	"sasl.mechanisms":                       setSASLMechanism, // librdkafka's name
	"sasl.username":                         setSASLUsername,
	"sasl.password":                         setSASLPassword,
	"sasl.jaas.config":                      setJAASConfig,
	"ssl.ca.location":                       func(c *Config, v string) error { c.SSLCALocation = v; return nil },
	"ssl.certificate.location":              func(c *Config, v string) error { c.SSLCertificateLocation = v; return nil },
	"ssl.key.location":                      func(c *Config, v string) error { c.SSLKeyLocation = v; return nil },
	"ssl.endpoint.identification.algorithm": setEndpointIdentification,
}

// ConfigFromProperties builds a Config from Java producer property names and values, so a
// configuration written for the Java client or kafka-python can be used as it is:
//
//	cfg, err := producer.ConfigFromProperties(map[string]string{
//		"bootstrap.servers": "broker1:9092,broker2:9092",
//		"acks":              "all",
//		"linger.ms":         "5",
//		"compression.type":  "lz4",
//	})
//
// An unknown property or a bad value is an error naming the property and the value; with
// several bad ones, the first in name order is reported. Ranges are checked here, and the
// combination of settings by [New].
func ConfigFromProperties(props map[string]string) (Config, error) {
	var c Config
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		v := props[key]
		set, ok := properties[key]
		if !ok {
			return c, fmt.Errorf("producer: unknown property %s=%q (PropertyNames lists the supported ones)", key, propertyShown(key, v))
		}
		if err := set(&c, strings.TrimSpace(v)); err != nil {
			return c, fmt.Errorf("producer: property %s=%q: %v", key, propertyShown(key, v), err)
		}
	}
	return c, nil
}

// PropertyNames returns the supported property names, sorted.
func PropertyNames() []string {
	names := make([]string, 0, len(properties))
	for k := range properties {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// parseInt parses a base-10 integer in [lo, hi].
func parseInt(v string, lo, hi int64) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, errors.New("not an integer")
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("out of range [%d, %d]", lo, hi)
	}
	return n, nil
}

func levelSetter(field func(*Config) *int) propertySetter {
	return func(c *Config, v string) error {
		n, err := parseInt(v, math.MinInt32, math.MaxInt32)
		*field(c) = int(n)
		return err
	}
}

func msSetter(field func(*Config) *time.Duration, zeroOK bool) propertySetter {
	return func(c *Config, v string) error {
		lo := int64(1)
		if zeroOK {
			lo = 0
		}
		n, err := parseInt(v, lo, math.MaxInt64/int64(time.Millisecond))
		if err != nil {
			return err
		}
		d := time.Duration(n) * time.Millisecond
		if d == 0 {
			d = -1 // an explicit 0 ms; the zero value would mean the default
		}
		*field(c) = d
		return nil
	}
}

func bufSetter(field func(*Config) *int) propertySetter {
	return func(c *Config, v string) error {
		n, err := parseInt(v, -1, math.MaxInt32)
		if err != nil {
			return err
		}
		if n == 0 {
			return errors.New("want -1 (OS default) or a positive size")
		}
		*field(c) = int(n)
		return nil
	}
}

func boolSetter(set func(*Config, bool)) propertySetter {
	return func(c *Config, v string) error {
		switch strings.ToLower(v) {
		case "true":
			set(c, true)
		case "false":
			set(c, false)
		default:
			return errors.New("want true or false")
		}
		return nil
	}
}
