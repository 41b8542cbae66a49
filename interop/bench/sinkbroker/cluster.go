// Package sinkbroker is a Kafka "sink": a few brokers on loopback that speak just enough of
// the protocol for producers — ApiVersions, Metadata, InitProducerId, FindCoordinator and
// Produce — and acknowledge every batch as fast as they can without storing it. It is the
// broker side of gregor's client benchmarks (interop/cmd/benchrun), where it runs as its own
// process so that each client's CPU can be measured alone.
//
// It uses gregor's wire package for every message. On the Produce path it decodes only what
// the answer needs — header, topics, partitions and the record count at byte 57 of each
// RecordBatch — and reuses all its buffers, so a connection costs no allocation per request.
// Topics are created on first mention with [Config.Partitions] partitions (or N, for a name
// ending in ".pN": see [PartitionsOf]), led round-robin by the brokers; each partition keeps an offset counter so offsets increase as on Kafka.
package sinkbroker

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gregor-kafka/producer/wire"
)

// Config configures a sink cluster.
type Config struct {
	// Listen holds one listen address per broker, such as "127.0.0.1:0" (any free port).
	// Empty means three brokers on free loopback ports.
	Listen []string
	// Partitions is the partition count of the topics the cluster creates. Default 6.
	Partitions int
	// Verify makes the brokers check every produced batch as Kafka would (length, magic,
	// CRC-32C, counts), decompress it and decode its records; a bad batch is answered with
	// CORRUPT_MESSAGE and counted in [Stats.CorruptBatches]. It costs CPU, so benchmarks
	// leave it off and tests turn it on.
	Verify bool
	// LogRequests logs the API and version of every request, to see what a client asks.
	LogRequests bool
	// Logf receives protocol problems (unknown APIs, undecodable requests). nil is silent.
	Logf func(format string, args ...any)
}

// Stats counts what the cluster has seen since it started. Records, Batches and Bytes
// count the produced data acknowledged (or, with acks=0, accepted).
type Stats struct {
	Connections     int64 `json:"connections"`
	Requests        int64 `json:"requests"`
	ProduceRequests int64 `json:"produce_requests"`
	Batches         int64 `json:"batches"`
	// IdempotentBatches counts the batches that carried a producer id.
	IdempotentBatches int64 `json:"idempotent_batches"`
	Records           int64 `json:"records"`
	Bytes             int64 `json:"bytes"`
	CorruptBatches    int64 `json:"corrupt_batches"`
	ProducerIDs       int64 `json:"producer_ids"`
	BadRequests       int64 `json:"bad_requests"`
}

// counters is Stats as atomics.
type counters struct {
	connections, requests, produceRequests, batches, records, bytes atomic.Int64
	idempotentBatches                                               atomic.Int64
	corruptBatches, producerIDs, badRequests                        atomic.Int64
}

// Cluster is a running sink cluster.
type Cluster struct {
	cfg     Config
	brokers []*broker
	stats   counters

	topicsMu sync.RWMutex
	topics   map[string]*topic
	byID     map[wire.UUID]*topic

	nextPID atomic.Int64

	connsMu sync.Mutex
	conns   map[net.Conn]struct{}
	closed  bool
	wg      sync.WaitGroup
}

// broker is one listener of the cluster.
type broker struct {
	id   int32
	host string
	port int32
	ln   net.Listener
}

// topic is a topic the cluster knows, with one offset counter per partition.
type topic struct {
	name    string
	id      wire.UUID
	offsets []paddedCounter
	// meta describes the partitions as Metadata answers give them; it is read-only.
	meta []wire.MetadataPartition
}

// paddedCounter keeps each partition's counter on its own cache line, since connections to
// different brokers bump neighbouring partitions at once.
type paddedCounter struct {
	n atomic.Int64
	_ [56]byte
}

// Start listens on every address of cfg.Listen and serves until Close.
func Start(cfg Config) (*Cluster, error) {
	if len(cfg.Listen) == 0 {
		cfg.Listen = []string{"127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"}
	}
	c := newCluster(cfg)
	for i, addr := range cfg.Listen {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("sinkbroker: listen %s: %w", addr, err)
		}
		ta := ln.Addr().(*net.TCPAddr)
		c.brokers = append(c.brokers, &broker{id: int32(i), host: ta.IP.String(), port: int32(ta.Port), ln: ln})
	}
	for _, b := range c.brokers {
		c.wg.Add(1)
		go c.accept(b)
	}
	return c, nil
}

// newCluster returns a cluster with no brokers yet.
func newCluster(cfg Config) *Cluster {
	if cfg.Partitions <= 0 {
		cfg.Partitions = 6
	}
	c := &Cluster{
		cfg:    cfg,
		topics: map[string]*topic{},
		byID:   map[wire.UUID]*topic{},
		conns:  map[net.Conn]struct{}{},
	}
	c.nextPID.Store(1000)
	return c
}

// Addrs returns the host:port of every broker, in node id order.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.brokers))
	for i, b := range c.brokers {
		out[i] = net.JoinHostPort(b.host, fmt.Sprint(b.port))
	}
	return out
}

// Stats returns the counters so far.
func (c *Cluster) Stats() Stats {
	s := &c.stats
	return Stats{
		Connections:       s.connections.Load(),
		Requests:          s.requests.Load(),
		ProduceRequests:   s.produceRequests.Load(),
		Batches:           s.batches.Load(),
		IdempotentBatches: s.idempotentBatches.Load(),
		Records:           s.records.Load(),
		Bytes:             s.bytes.Load(),
		CorruptBatches:    s.corruptBatches.Load(),
		ProducerIDs:       s.producerIDs.Load(),
		BadRequests:       s.badRequests.Load(),
	}
}

// Close stops the listeners, closes every connection and waits for their goroutines.
func (c *Cluster) Close() error {
	c.connsMu.Lock()
	c.closed = true
	for nc := range c.conns {
		_ = nc.Close()
	}
	c.connsMu.Unlock()
	for _, b := range c.brokers {
		if b.ln != nil {
			_ = b.ln.Close()
		}
	}
	c.wg.Wait()
	return nil
}

func (c *Cluster) logf(format string, args ...any) {
	if c.cfg.Logf != nil {
		c.cfg.Logf(format, args...)
	}
}

func (c *Cluster) accept(b *broker) {
	defer c.wg.Done()
	for {
		nc, err := b.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				c.logf("broker %d: accept: %v", b.id, err)
			}
			return
		}
		c.connsMu.Lock()
		if c.closed {
			c.connsMu.Unlock()
			_ = nc.Close()
			return
		}
		c.conns[nc] = struct{}{}
		c.wg.Add(1)
		c.connsMu.Unlock()
		c.stats.connections.Add(1)
		go func() {
			defer c.wg.Done()
			c.serve(b, nc)
			c.connsMu.Lock()
			delete(c.conns, nc)
			c.connsMu.Unlock()
			_ = nc.Close()
		}()
	}
}

// topicByName returns the topic called name, creating it if needed.
func (c *Cluster) topicByName(name string) *topic {
	c.topicsMu.RLock()
	t := c.topics[name]
	c.topicsMu.RUnlock()
	if t != nil {
		return t
	}
	c.topicsMu.Lock()
	defer c.topicsMu.Unlock()
	if t = c.topics[name]; t != nil {
		return t
	}
	n := PartitionsOf(name, c.cfg.Partitions)
	t = &topic{name: name, offsets: make([]paddedCounter, n)}
	for p := range int32(n) {
		l := c.leader(p)
		t.meta = append(t.meta, wire.MetadataPartition{
			PartitionIndex: p,
			LeaderID:       l,
			ReplicaNodes:   []int32{l},
			IsrNodes:       []int32{l},
		})
	}
	for t.id == (wire.UUID{}) || c.byID[t.id] != nil {
		_, _ = rand.Read(t.id[:])
	}
	c.topics[name] = t
	c.byID[t.id] = t
	return t
}

// maxNamedPartitions bounds the partition count a topic name may ask for.
const maxNamedPartitions = 10000

// PartitionsOf returns the partition count of a new topic called name: N when the name ends
// in ".pN" with N from 1 to 10000 (so that one sink serves scenarios of different partition
// counts), else def.
func PartitionsOf(name string, def int) int {
	i := strings.LastIndex(name, ".p")
	if i < 0 {
		return def
	}
	n, err := strconv.Atoi(name[i+2:])
	if err != nil || n < 1 || n > maxNamedPartitions {
		return def
	}
	return n
}

// topicByNameBytes is topicByName for a name still in the request buffer; it allocates only
// to create a topic.
func (c *Cluster) topicByNameBytes(name []byte) *topic {
	c.topicsMu.RLock()
	t := c.topics[string(name)]
	c.topicsMu.RUnlock()
	if t != nil {
		return t
	}
	return c.topicByName(string(name))
}

// topicByID returns the topic with id, or nil.
func (c *Cluster) topicByID(id wire.UUID) *topic {
	c.topicsMu.RLock()
	defer c.topicsMu.RUnlock()
	return c.byID[id]
}

// allTopics returns every topic, for a Metadata request asking for all.
func (c *Cluster) allTopics() []*topic {
	c.topicsMu.RLock()
	defer c.topicsMu.RUnlock()
	out := make([]*topic, 0, len(c.topics))
	for _, t := range c.topics {
		out = append(out, t)
	}
	return out
}

// leader returns the node id leading partition p.
func (c *Cluster) leader(p int32) int32 { return p % int32(len(c.brokers)) }
