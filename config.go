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
// It holds the property's value as a string, so a literal reads as it does in a Java
// properties file: "all" (or "-1"), "1" or "0". An integer cannot be assigned to it
// (Config{Acks: 0} does not compile); write [AcksNone] or "0". The empty string, the zero
// value, is the default, [AcksAll]. Other strings are an error from [New].
type Acks string

const (
	// AcksAll (acks=all, acks=-1) waits for every in-sync replica. The default.
	AcksAll Acks = "all"
	// AcksLeader (acks=1) waits for the partition leader only.
	AcksLeader Acks = "1"
	// AcksNone (acks=0) does not wait for any answer; records complete with offset -1 once
	// written to the connection, and errors are not reported.
	AcksNone Acks = "0"
)

// normalize returns the named value a spells: "" and "-1" are [AcksAll], case is ignored.
func (a Acks) normalize() (Acks, bool) {
	switch strings.ToLower(strings.TrimSpace(string(a))) {
	case "", "all", "-1":
		return AcksAll, true
	case "1":
		return AcksLeader, true
	case "0":
		return AcksNone, true
	}
	return a, false
}

// wire returns the value sent in Produce requests; a is normalized (settings hold it so).
func (a Acks) wire() int16 {
	switch a {
	case AcksLeader:
		return 1
	case AcksNone:
		return 0
	}
	return -1
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
	DefaultClientID            = "gregor"
	DefaultBufferMemory        = 32 << 20
	DefaultRetries             = math.MaxInt32
	DefaultRetryBackoff        = 100 * time.Millisecond
	DefaultRetryBackoffMax     = 1000 * time.Millisecond
	DefaultBatchSize           = 16384
	DefaultLinger              = 5 * time.Millisecond
	DefaultMaxInFlight         = 5
	DefaultRequestTimeout      = 30 * time.Second
	DefaultDeliveryTimeout     = 120 * time.Second
	DefaultMaxBlock            = 60 * time.Second
	DefaultMaxRequestSize      = 1 << 20
	DefaultSendBufferBytes     = 128 << 10
	DefaultReceiveBufferBytes  = 32 << 10
	DefaultMetadataMaxAge      = 5 * time.Minute
	DefaultMetadataMaxIdle     = 5 * time.Minute
	DefaultConnectionsMaxIdle  = 9 * time.Minute
	DefaultSetupTimeout        = 10 * time.Second
	DefaultSetupTimeoutMax     = 30 * time.Second
	DefaultReconnectBackoff    = 50 * time.Millisecond
	DefaultReconnectBackoffMax = 1000 * time.Millisecond
	DefaultTransactionTimeout  = 60 * time.Second
	DefaultRebootstrapTrigger  = 300 * time.Second
)

// MetadataRecovery is metadata.recovery.strategy (KIP-899): what the producer does when the
// brokers it knows from metadata can no longer give it metadata.
type MetadataRecovery string

// The values of metadata.recovery.strategy. The zero value is [Rebootstrap], Java 4.x's
// default.
const (
	// Rebootstrap goes back to bootstrap.servers, forgetting the brokers it knew, when none
	// of them can be reached (KIP-899), when none answered metadata for
	// [Config.RebootstrapTrigger], or when a broker answers REBOOTSTRAP_REQUIRED (KIP-1102):
	// a cluster whose brokers were all replaced is found again behind the bootstrap
	// addresses, without a restart.
	Rebootstrap MetadataRecovery = "rebootstrap"
	// NoRecovery ("none") uses bootstrap.servers only until the first metadata answer, as
	// the Java client before 3.8: a producer whose brokers were all replaced must be
	// restarted.
	NoRecovery MetadataRecovery = "none"
)

// Special values of [Config] fields. A field's zero value means the property's default, so
// a Kafka setting whose value is 0 (retries=0, linger.ms=0, ...) cannot be written as 0:
// it is written -1, by the names below. Java's own -1 values are -1 too
// (send.buffer.bytes=-1, connections.max.idle.ms=-1). No other field takes a negative value:
// [New] refuses one and names the constant to use. (Compression levels are the codec's own
// scale, where zstd's negative levels are levels.)
const (
	// NoRetries is [Config.Retries] for retries=0: a batch that meets a retriable error
	// fails. Disables idempotence unless it is asked for, which is then an error.
	NoRetries = -1
	// NoBatching is [Config.BatchSize] for batch.size=0: every record is a batch of its own.
	NoBatching = -1
	// NoLinger is [Config.Linger] for linger.ms=0: a batch is sent as soon as a connection
	// can take it.
	NoLinger time.Duration = -1
	// NoBackoff is [Config.RetryBackoff] and [Config.RetryBackoffMax] for
	// retry.backoff.ms=0 and retry.backoff.max.ms=0: retries go out at once; and
	// [Config.ReconnectBackoff] and [Config.ReconnectBackoffMax] for reconnect.backoff.ms=0
	// and reconnect.backoff.max.ms=0: a broker that could not be reached is dialed again at
	// once.
	NoBackoff time.Duration = -1
	// NoBlock is [Config.MaxBlock] for max.block.ms=0: a send that would wait for buffer
	// memory or for metadata fails at once.
	NoBlock time.Duration = -1
)

// Config holds the producer settings. Each field names the Kafka producer property it
// mirrors. The zero value of every field means that property's default (the Java client
// 4.x default), so a Config that sets only BootstrapServers works.
//
// Where a property has a meaningful 0, Go's zero cannot say it: such a field takes -1 for
// it, by a name ([NoRetries], [NoBatching], [NoLinger], [NoBackoff], [NoBlock]). Where Java
// itself gives -1 a meaning (send.buffer.bytes, receive.buffer.bytes,
// connections.max.idle.ms), -1 means the same here. Any other negative value is an error
// from [New]. [Acks] is a string, so that Acks: "0" means acks=0 and Acks: 0 does not
// compile.
//
// [ConfigFromProperties] builds a Config from the Java property names and values
// themselves, and translates 0 to -1 where needed: retries=0 gives Retries: NoRetries.
type Config struct {
	// BootstrapServers (bootstrap.servers) lists host:port pairs to fetch cluster metadata
	// from; each is tried in turn. Required.
	BootstrapServers []string
	// ClientID (client.id) is sent with every request. Default "gregor".
	ClientID string
	// Acks (acks): [AcksAll] ("all", the default), [AcksLeader] ("1") or [AcksNone] ("0").
	Acks Acks
	// BufferMemory (buffer.memory) bounds the memory of records buffered and not yet
	// completed, counted as the Java client counts it: by the capacity of the batch
	// buffers, in use or kept free for reuse, not only the record bytes. A send that needs
	// a new batch buffer when it is all taken blocks up to MaxBlock. Default 32 MiB.
	BufferMemory int64
	// Compression (compression.type) is the codec of record batches: [compress.None] (the
	// default), [compress.Gzip], [compress.Snappy], [compress.LZ4] or [compress.Zstd], named
	// "none", "gzip", "snappy", "lz4" and "zstd" in the property ([compress.ParseCodec]).
	// Zstd needs Kafka 2.1 or later.
	Compression compress.Codec
	// GzipLevel (compression.gzip.level, KIP-390) is used with gzip: 1 to 9; 0 means the
	// default (the library's own, as Java's Deflater.DEFAULT_COMPRESSION).
	GzipLevel int
	// LZ4Level (compression.lz4.level) is used with lz4: 1 to 17; 0 means the default, 9.
	LZ4Level int
	// ZstdLevel (compression.zstd.level) is used with zstd: -131072 to 22; 0 means the
	// default, 3.
	ZstdLevel int
	// Retries (retries) is how many times a batch is retried after a retriable error,
	// within DeliveryTimeout. Default MaxInt32 (DeliveryTimeout is the real bound);
	// [NoRetries] for retries=0.
	Retries int
	// RetryBackoff (retry.backoff.ms) is the first wait before a retry, doubling up to
	// RetryBackoffMax with ±20% jitter (KIP-580). Default 100 ms; [NoBackoff] for 0.
	RetryBackoff time.Duration
	// RetryBackoffMax (retry.backoff.max.ms): default 1 s; [NoBackoff] for 0.
	RetryBackoffMax time.Duration
	// BatchSize (batch.size) is the byte size at which a partition's batch is sealed; a
	// record larger than that gets a batch of its own. Default 16384; [NoBatching] for 0
	// (every record its own batch).
	BatchSize int
	// Linger (linger.ms) is how long a batch waits for more records before it is sent.
	// Default 5 ms (Java 4.0); [NoLinger] for 0 (send as soon as possible). A Duration:
	// linger.ms=20 is 20 * time.Millisecond.
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
	// metadata. Default 60 s; [NoBlock] for 0 (fail at once).
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
	// MetadataMaxIdle (metadata.max.idle.ms): a topic not sent to for this long, with no
	// record of it waiting, is left out of metadata requests; a later send to it waits for
	// its metadata again (up to MaxBlock), as for a first send. Default 5 min.
	MetadataMaxIdle time.Duration
	// ConnectionsMaxIdle (connections.max.idle.ms) closes connections idle that long.
	// Default 9 min; -1 (as in Java) for never.
	ConnectionsMaxIdle time.Duration
	// SetupTimeout (socket.connection.setup.timeout.ms) bounds the setup of a connection to
	// a broker: TCP, TLS, SASL and the ApiVersions exchange. Each failure in a row to set up
	// a connection to the same address doubles it, up to SetupTimeoutMax, with ±20%
	// jitter, as in the Java client. It is separate from RequestTimeout: a broker that
	// accepts connections and never answers costs this, not request.timeout.ms. Default 10 s.
	SetupTimeout time.Duration
	// SetupTimeoutMax (socket.connection.setup.timeout.max.ms) caps SetupTimeout's growth.
	// Default 30 s; a value below SetupTimeout caps it at SetupTimeout.
	SetupTimeoutMax time.Duration
	// ReconnectBackoff (reconnect.backoff.ms) is how long to wait before dialing a broker
	// again after a connection to it could not be set up, doubling with each failure in a
	// row up to ReconnectBackoffMax, with ±20% jitter, per broker. Batches for it wait
	// meanwhile (delivery.timeout.ms bounds them), and metadata is asked of any other broker
	// first. Default 50 ms; [NoBackoff] for 0.
	ReconnectBackoff time.Duration
	// ReconnectBackoffMax (reconnect.backoff.max.ms) caps ReconnectBackoff's growth.
	// Default 1 s; [NoBackoff] for 0.
	ReconnectBackoffMax time.Duration
	// MetadataRecovery (metadata.recovery.strategy): [Rebootstrap] (the default) or
	// [NoRecovery]. See "When brokers are replaced, slow or gone" in the README.
	MetadataRecovery MetadataRecovery
	// RebootstrapTrigger (metadata.recovery.rebootstrap.trigger.ms, KIP-1102): with
	// [Rebootstrap], metadata goes back to bootstrap.servers once no known broker has answered
	// a metadata request for this long, even if some of them accept connections. Default 300 s.
	RebootstrapTrigger time.Duration
	// ClientDNSLookup (client.dns.lookup): [UseAllDNSIPs] (the default) resolves a broker's
	// name at each new connection and tries every address in order;
	// [ResolveCanonicalBootstrapServersOnly] also replaces bootstrap servers by the canonical
	// names of their addresses.
	ClientDNSLookup DNSLookup
	// Resolver looks up broker host names; nil means net.DefaultResolver. Go only: for
	// service discovery, or a test that controls what names resolve to.
	Resolver Resolver
	// Partitioner (partitioner.class) chooses partitions. nil means the Java default:
	// murmur2 for keyed records, uniform sticky (KIP-794) for the others (while goroutines
	// send unkeyed records at once, those that find the sticky partition busy with another
	// send go to a second one rather than wait: several batches fill side by side);
	// [RoundRobinPartitioner] spreads records one by one; or a [Partitioner] of your own.
	// In properties: partitioner.class is "" or DefaultPartitioner (nil) or
	// RoundRobinPartitioner, with or without Java's package name
	// (org.apache.kafka.clients.producer.RoundRobinPartitioner).
	Partitioner Partitioner
	// PartitionerIgnoreKeys (partitioner.ignore.keys) makes the default partitioner treat
	// keyed records as unkeyed.
	PartitionerIgnoreKeys bool
	// PartitionerAdaptive (partitioner.adaptive.partitioning.enable): default on. When the
	// default partitioner moves unkeyed records to another partition, it picks one at
	// random weighted by how little each partition has waiting to be sent (KIP-794), so that
	// a slow broker gets fewer records; [Disabled] picks uniformly.
	PartitionerAdaptive Switch
	// PartitionerAvailabilityTimeout (partitioner.availability.timeout.ms): default 0, off.
	// When set, the default partitioner leaves out, for unkeyed records, a partition that has
	// had batches waiting this long without any being sent (its leader is not draining).
	PartitionerAvailabilityTimeout time.Duration
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
	adaptive   bool // PartitionerAdaptive resolved
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
	acks, ok := s.Acks.normalize()
	if !ok {
		return s, fmt.Errorf(`producer: acks: invalid value %q: want "all" (or "-1"), "1" or "0" (AcksAll, AcksLeader, AcksNone)`, string(s.Acks))
	}
	s.Acks = acks
	for _, f := range []struct {
		d       *time.Duration
		def     time.Duration
		name    string
		special string // the name of -1, "" if none
	}{
		{&s.RetryBackoff, DefaultRetryBackoff, "retry.backoff.ms", "NoBackoff"},
		{&s.RetryBackoffMax, DefaultRetryBackoffMax, "retry.backoff.max.ms", "NoBackoff"},
		{&s.ReconnectBackoff, DefaultReconnectBackoff, "reconnect.backoff.ms", "NoBackoff"},
		{&s.ReconnectBackoffMax, DefaultReconnectBackoffMax, "reconnect.backoff.max.ms", "NoBackoff"},
		{&s.Linger, DefaultLinger, "linger.ms", "NoLinger"},
		{&s.MaxBlock, DefaultMaxBlock, "max.block.ms", "NoBlock"},
	} {
		switch {
		case *f.d == 0:
			*f.d = f.def
		case *f.d == -1:
			*f.d = 0
		case *f.d < 0:
			return s, negativeError(f.name, *f.d, f.special)
		}
	}
	switch {
	case s.BufferMemory == 0:
		s.BufferMemory = DefaultBufferMemory
	case s.BufferMemory < 0:
		return s, negativeError("buffer.memory", s.BufferMemory, "")
	}
	if s.Compression < compress.None || s.Compression > compress.Zstd {
		return s, fmt.Errorf("producer: compression.type: invalid codec %d: want compress.None, Gzip, Snappy, LZ4 or Zstd", s.Compression)
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
	s.adaptive = s.PartitionerAdaptive != Disabled
	switch {
	case s.PartitionerAvailabilityTimeout == -1:
		s.PartitionerAvailabilityTimeout = 0
	case s.PartitionerAvailabilityTimeout < 0:
		return s, negativeError("partitioner.availability.timeout.ms", s.PartitionerAvailabilityTimeout, "")
	}
	switch {
	case s.Retries == 0:
		s.Retries = DefaultRetries
	case s.Retries == NoRetries:
		s.Retries = 0
	case s.Retries < 0:
		return s, negativeError("retries", s.Retries, "NoRetries")
	}
	switch {
	case s.BatchSize == 0:
		s.BatchSize = DefaultBatchSize
	case s.BatchSize == NoBatching:
		s.BatchSize = 0
	case s.BatchSize < 0:
		return s, negativeError("batch.size", s.BatchSize, "NoBatching")
	}
	switch {
	case s.MaxInFlight == 0:
		s.MaxInFlight = DefaultMaxInFlight
	case s.MaxInFlight < 0:
		return s, negativeError("max.in.flight.requests.per.connection", s.MaxInFlight, "")
	}
	switch {
	case s.RequestTimeout == 0:
		s.RequestTimeout = DefaultRequestTimeout
	case s.RequestTimeout < 0:
		return s, negativeError("request.timeout.ms", s.RequestTimeout, "")
	}
	switch {
	case s.DeliveryTimeout == 0:
		s.DeliveryTimeout = DefaultDeliveryTimeout
		// Java lowers nothing here but refuses the combination; a default delivery timeout
		// follows a long linger or request timeout instead of failing on them.
		if min := s.Linger + s.RequestTimeout; s.DeliveryTimeout < min {
			s.DeliveryTimeout = min
		}
	case s.DeliveryTimeout < 0:
		return s, negativeError("delivery.timeout.ms", s.DeliveryTimeout, "")
	}
	if s.DeliveryTimeout < s.Linger+s.RequestTimeout {
		return s, fmt.Errorf("producer: delivery.timeout.ms (%v) must be at least linger.ms + request.timeout.ms (%v)",
			s.DeliveryTimeout, s.Linger+s.RequestTimeout)
	}
	switch {
	case s.MaxRequestSize == 0:
		s.MaxRequestSize = DefaultMaxRequestSize
	case s.MaxRequestSize < 0:
		return s, negativeError("max.request.size", s.MaxRequestSize, "")
	}
	for _, f := range []struct {
		n    *int
		def  int
		name string
	}{
		{&s.SendBufferBytes, DefaultSendBufferBytes, "send.buffer.bytes"},
		{&s.ReceiveBufferBytes, DefaultReceiveBufferBytes, "receive.buffer.bytes"},
	} {
		switch {
		case *f.n == 0:
			*f.n = f.def
		case *f.n < -1:
			return s, negativeError(f.name, *f.n, "-1 (the OS default, as in Java)")
		}
	}
	switch {
	case s.MetadataMaxIdle == 0:
		s.MetadataMaxIdle = DefaultMetadataMaxIdle
	case s.MetadataMaxIdle < 0:
		return s, negativeError("metadata.max.idle.ms", s.MetadataMaxIdle, "")
	}
	switch {
	case s.MetadataMaxAge == 0:
		s.MetadataMaxAge = DefaultMetadataMaxAge
	case s.MetadataMaxAge < 0:
		return s, negativeError("metadata.max.age.ms", s.MetadataMaxAge, "")
	}
	for _, f := range []struct {
		d    *time.Duration
		def  time.Duration
		name string
	}{
		{&s.SetupTimeout, DefaultSetupTimeout, "socket.connection.setup.timeout.ms"},
		{&s.SetupTimeoutMax, DefaultSetupTimeoutMax, "socket.connection.setup.timeout.max.ms"},
	} {
		switch {
		case *f.d == 0:
			*f.d = f.def
		case *f.d < 0:
			return s, negativeError(f.name, *f.d, "")
		}
	}
	s.SetupTimeoutMax = max(s.SetupTimeoutMax, s.SetupTimeout)
	switch s.ClientDNSLookup {
	case "":
		s.ClientDNSLookup = UseAllDNSIPs
	case UseAllDNSIPs, ResolveCanonicalBootstrapServersOnly:
	default:
		return s, fmt.Errorf(`producer: client.dns.lookup: invalid value %q: want "use_all_dns_ips" or "resolve_canonical_bootstrap_servers_only" (UseAllDNSIPs, ResolveCanonicalBootstrapServersOnly)`, string(s.ClientDNSLookup))
	}
	switch s.MetadataRecovery {
	case "":
		s.MetadataRecovery = Rebootstrap
	case Rebootstrap, NoRecovery:
	default:
		return s, fmt.Errorf(`producer: metadata.recovery.strategy: invalid value %q: want "rebootstrap" or "none" (Rebootstrap, NoRecovery)`, string(s.MetadataRecovery))
	}
	switch {
	case s.RebootstrapTrigger == 0:
		s.RebootstrapTrigger = DefaultRebootstrapTrigger
	case s.RebootstrapTrigger < 0:
		return s, negativeError("metadata.recovery.rebootstrap.trigger.ms", s.RebootstrapTrigger, "")
	}
	switch {
	case s.ConnectionsMaxIdle == 0:
		s.ConnectionsMaxIdle = DefaultConnectionsMaxIdle
	case s.ConnectionsMaxIdle < -1:
		return s, negativeError("connections.max.idle.ms", s.ConnectionsMaxIdle, "-1 (never close, as in Java)")
	}
	switch {
	case s.TransactionTimeout == 0:
		s.TransactionTimeout = DefaultTransactionTimeout
	case s.TransactionTimeout < 0:
		return s, negativeError("transaction.timeout.ms", s.TransactionTimeout, "")
	}

	// enable.idempotence, as the Java client: on by default, turned off quietly by a
	// conflicting setting, and an error when asked for together with one.
	var conflict string // the setting that rules idempotence out, as a property
	switch {
	case s.Acks != AcksAll:
		conflict = "acks=" + string(s.Acks)
	case s.Retries == 0:
		conflict = "retries=0"
	case s.MaxInFlight > 5:
		conflict = fmt.Sprintf("max.in.flight.requests.per.connection=%d", s.MaxInFlight)
	}
	const needs = "acks=all, retries > 0 and max.in.flight.requests.per.connection ≤ 5"
	switch s.Idempotence {
	case Default:
		s.idempotent = conflict == ""
	case Enabled:
		if conflict != "" {
			return s, fmt.Errorf("producer: enable.idempotence=true conflicts with %s: idempotence needs %s; change that setting, or disable idempotence", conflict, needs)
		}
		s.idempotent = true
	case Disabled:
		s.idempotent = false
	default:
		return s, fmt.Errorf("producer: enable.idempotence: invalid value Switch(%d): want Default, Enabled or Disabled", s.Idempotence)
	}
	if s.TransactionalID != "" && !s.idempotent {
		if s.Idempotence == Disabled {
			return s, errors.New("producer: transactional.id needs idempotence, but enable.idempotence=false")
		}
		return s, fmt.Errorf("producer: transactional.id needs idempotence, which %s rules out: transactions need %s", conflict, needs)
	}

	sec, err := c.security()
	if err != nil {
		return s, err
	}
	s.sec = sec
	return s, nil
}

// negativeError is the error for a negative value of the field of property name; special
// names the negative value the field takes, if any ("NoLinger" for -1, or a description).
func negativeError[T int | int64 | time.Duration](name string, v T, special string) error {
	switch {
	case special == "":
		return fmt.Errorf("producer: %s: %v is negative: want a positive value, or 0 for the default", name, v)
	case strings.HasPrefix(special, "-1"):
		return fmt.Errorf("producer: %s: %v is negative: the only negative value is %s; 0 is the default", name, v, special)
	}
	return fmt.Errorf("producer: %s: %v is negative: write %s (-1) for %s=0; 0 is the default", name, v, special, name)
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
	"metadata.max.idle.ms": msSetter(func(c *Config) *time.Duration { return &c.MetadataMaxIdle }, false),
	"connections.max.idle.ms": func(c *Config, v string) error {
		n, err := parseInt(v, -1, math.MaxInt64/int64(time.Millisecond))
		c.ConnectionsMaxIdle = time.Duration(n) * time.Millisecond
		if n <= 0 {
			c.ConnectionsMaxIdle = -1
		}
		return err
	},
	"socket.connection.setup.timeout.ms":     msSetter(func(c *Config) *time.Duration { return &c.SetupTimeout }, false),
	"socket.connection.setup.timeout.max.ms": msSetter(func(c *Config) *time.Duration { return &c.SetupTimeoutMax }, false),
	"reconnect.backoff.ms":                   msSetter(func(c *Config) *time.Duration { return &c.ReconnectBackoff }, true),
	"reconnect.backoff.max.ms":               msSetter(func(c *Config) *time.Duration { return &c.ReconnectBackoffMax }, true),
	"client.dns.lookup": func(c *Config, v string) error {
		switch l := DNSLookup(strings.ToLower(v)); l {
		case UseAllDNSIPs, ResolveCanonicalBootstrapServersOnly:
			c.ClientDNSLookup = l
			return nil
		}
		return errors.New("want use_all_dns_ips or resolve_canonical_bootstrap_servers_only")
	},
	"metadata.recovery.strategy": func(c *Config, v string) error {
		switch r := MetadataRecovery(strings.ToLower(v)); r {
		case Rebootstrap, NoRecovery:
			c.MetadataRecovery = r
			return nil
		}
		return errors.New("want rebootstrap or none")
	},
	"metadata.recovery.rebootstrap.trigger.ms": msSetter(func(c *Config) *time.Duration { return &c.RebootstrapTrigger }, false),
	// Java's serializer classes, accepted so a Java configuration loads as it is. The
	// Producer sends the bytes of Record.Key and Record.Value, so they change nothing;
	// ConfigFromProperties names their Go counterparts.
	"key.serializer":   checkSerializer,
	"value.serializer": checkSerializer,
	"partitioner.class": func(c *Config, v string) error {
		p, err := partitionerByName(v)
		c.Partitioner = p
		return err
	},
	"partitioner.ignore.keys": boolSetter(func(c *Config, b bool) { c.PartitionerIgnoreKeys = b }),
	"partitioner.adaptive.partitioning.enable": boolSetter(func(c *Config, b bool) {
		c.PartitionerAdaptive = Disabled
		if b {
			c.PartitionerAdaptive = Enabled
		}
	}),
	"partitioner.availability.timeout.ms": msSetter(func(c *Config) *time.Duration { return &c.PartitionerAvailabilityTimeout }, true),
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
// configuration written for the Java client can be used as it is:
//
//	cfg, err := producer.ConfigFromProperties(map[string]string{
//		"bootstrap.servers": "broker1:9092,broker2:9092",
//		"acks":              "all",
//		"linger.ms":         "5",
//		"compression.type":  "lz4",
//		"key.serializer":    "org.apache.kafka.common.serialization.StringSerializer",
//		"value.serializer":  "org.apache.kafka.common.serialization.ByteArraySerializer",
//	})
//
// Values mean what they mean to the Java client: retries=0 is no retries ([NoRetries]),
// linger.ms=0 no linger ([NoLinger]). [PropertyNames] lists the supported properties.
//
// key.serializer and value.serializer are checked and otherwise ignored: a [Producer] sends
// the bytes of [Record.Key] and [Record.Value] as they are, which is what Java's
// ByteArraySerializer does. For typed keys and values, [NewTyped] takes the Go counterparts
// of Java's serializers: ByteArraySerializer is [BytesSerializer], StringSerializer is
// [StringSerializer] (UTF-8), IntegerSerializer is [Int32Serializer] and LongSerializer is
// [Int64Serializer] (big-endian). Class names are accepted with or without the package
// org.apache.kafka.common.serialization; other classes are an error.
//
// An unknown property is an error that suggests the property meant, for misspellings and
// for the names of kafka-python (linger_ms: linger.ms) and librdkafka
// (queue.buffering.max.ms: linger.ms); it never shows the value, which may be a secret. A
// bad value is an error naming the property and the value, except for the values of
// secrets (passwords, sasl.jaas.config), which are never shown. With several bad
// properties, the first in name order is reported. Ranges are checked here, and the
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
			return c, unknownPropertyError(key)
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

// serializerClasses maps the Java serializer classes gregor has counterparts of, by their
// simple names, to those counterparts.
var serializerClasses = map[string]string{
	"ByteArraySerializer":  "BytesSerializer",
	"ByteBufferSerializer": "BytesSerializer",
	"BytesSerializer":      "BytesSerializer",
	"StringSerializer":     "StringSerializer",
	"IntegerSerializer":    "Int32Serializer",
	"LongSerializer":       "Int64Serializer",
}

// checkSerializer accepts the key.serializer and value.serializer classes that have a Go
// counterpart.
func checkSerializer(_ *Config, v string) error {
	const pkg = "org.apache.kafka.common.serialization."
	if _, ok := serializerClasses[strings.TrimPrefix(v, pkg)]; ok {
		return nil
	}
	return errors.New("unknown serializer class: want " + pkg + "ByteArraySerializer, StringSerializer, IntegerSerializer or LongSerializer " +
		"(for other types, send bytes, or use NewTyped with a Serializer of your own)")
}

// propertyHints maps the names other clients give to gregor's properties (kafka-python's
// keyword arguments, librdkafka's aliases) to those properties, and Java properties gregor
// does without to advice, which has a space in it. Names that differ from a property only
// by "_" for "." need no entry.
var propertyHints = map[string]string{
	// kafka-python
	"ssl_cafile":                "ssl.ca.location",
	"ssl_certfile":              "ssl.certificate.location",
	"ssl_keyfile":               "ssl.key.location",
	"ssl_check_hostname":        "ssl.endpoint.identification.algorithm",
	"sasl_plain_username":       "sasl.username",
	"sasl_plain_password":       "sasl.password",
	"sasl_oauth_token_provider": "use Config.SASL.TokenProvider",
	"partitioner":               "partitioner.class",
	// librdkafka
	"queue.buffering.max.ms":              "linger.ms",
	"request.required.acks":               "acks",
	"message.send.max.retries":            "retries",
	"compression.codec":                   "compression.type",
	"message.max.bytes":                   "max.request.size",
	"enable.ssl.certificate.verification": "ssl.endpoint.identification.algorithm",
	// Java properties with another form here
	"ssl.truststore.location": "JKS and PKCS12 stores are not supported: use ssl.ca.location with a PEM file",
	"ssl.keystore.location":   "JKS and PKCS12 stores are not supported: use ssl.certificate.location and ssl.key.location with PEM files",
	"interceptor.classes":     "Java classes are not supported: use Config.Hooks",
	"metric.reporters":        "Java classes are not supported: use Config.Hooks or Producer.Stats",
	"client.dns.lookup":       "not needed: a host name's addresses are each tried, as use_all_dns_ips does; remove it",
	// consumer properties, found in configurations shared by producers and consumers
	"group.id":           "a consumer property, not a producer one; remove it",
	"session.timeout.ms": "a consumer property, not a producer one; remove it",
	"auto.offset.reset":  "a consumer property, not a producer one; remove it",
	"enable.auto.commit": "a consumer property, not a producer one; remove it",
	"key.deserializer":   "a consumer property, not a producer one; remove it",
	"value.deserializer": "a consumer property, not a producer one; remove it",
}

// unknownPropertyError is the error for an unknown property key, with the property it
// probably means. It never holds the value: an unknown key may be a misspelt secret.
func unknownPropertyError(key string) error {
	switch s := suggestProperty(key); {
	case strings.Contains(s, " "):
		return fmt.Errorf("producer: unknown property %q: %s", key, s)
	case s != "":
		return fmt.Errorf("producer: unknown property %q: did you mean %q?", key, s)
	}
	return fmt.Errorf("producer: unknown property %q; the supported ones are: %s", key, strings.Join(PropertyNames(), ", "))
}

// suggestProperty returns the property key probably means, advice, or "".
func suggestProperty(key string) string {
	k := strings.ToLower(strings.TrimSpace(key))
	if h, ok := propertyHints[k]; ok {
		return h
	}
	k = strings.NewReplacer("_", ".", "-", ".", " ", "").Replace(k)
	if _, ok := properties[k]; ok {
		return k
	}
	if h, ok := propertyHints[k]; ok {
		return h
	}
	// The nearest property, if a few edits away: a typo, not another word.
	best, bestDist := "", min(3, len(k)/3+1)
	for _, name := range PropertyNames() {
		if d := editDistance(k, name); d < bestDist {
			best, bestDist = name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
