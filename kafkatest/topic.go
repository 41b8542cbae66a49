package kafkatest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/gregor-kafka/producer/wire"
)

// ErrTopicExists is returned by [Cluster.CreateTopic] for a topic that already exists.
var ErrTopicExists = errors.New("kafkatest: topic already exists")

// topic is one topic: its id and partitions. It is never modified once in the cluster's maps:
// CreatePartitions replaces it with a longer copy sharing the partitions.
type topic struct {
	name       string
	id         wire.UUID
	partitions []*partition
}

// partition is one partition's log, leadership and idempotent-producer state, all guarded by
// mu, so that a Produce checks leadership, sequences and appends atomically.
type partition struct {
	topic *topic
	index int32

	mu          sync.Mutex
	leader      int32
	leaderEpoch int32
	batches     []storedBatch
	nextOffset  int64
	dataRecords int64 // records stored, transaction markers left out
	producers   map[int64]*producerState
	deleted     bool // its topic was deleted: nothing more is appended
}

// maxTopicNameLen is Kafka's limit on topic names (Topic.MAX_NAME_LENGTH).
const maxTopicNameLen = 249

// validTopicName checks name as Kafka does: 1–249 characters of [a-zA-Z0-9._-], not "." or "..".
func validTopicName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > maxTopicNameLen {
		return fmt.Errorf("kafkatest: invalid topic name %q", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("kafkatest: invalid topic name %q: character %q not allowed", name, c)
		}
	}
	return nil
}

// CreateTopic creates a topic with the given number of partitions, their leaders spread
// round-robin over the brokers. It fails for an invalid name, a count below 1, or a topic
// that exists ([ErrTopicExists]).
func (c *Cluster) CreateTopic(name string, partitions int32) error {
	if err := validTopicName(name); err != nil {
		return err
	}
	if partitions < 1 {
		return fmt.Errorf("kafkatest: CreateTopic(%q, %d): need at least one partition", name, partitions)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.topics[name]; ok {
		return fmt.Errorf("%w: %q", ErrTopicExists, name)
	}
	c.createTopicLocked(name, partitions)
	return nil
}

// createTopicLocked adds a topic; c.mu must be held and the name valid and free. Leaders
// start at a broker that moves on with every topic, so the leaders of single-partition
// topics are spread too.
func (c *Cluster) createTopicLocked(name string, partitions int32) *topic {
	t := &topic{name: name}
	for {
		_, _ = rand.Read(t.id[:]) // crypto/rand.Read never fails
		if _, dup := c.topicIDs[t.id]; !dup && t.id != (wire.UUID{}) {
			break
		}
	}
	n := len(c.brokers)
	t.partitions = make([]*partition, partitions)
	for i := range t.partitions {
		t.partitions[i] = &partition{
			topic:     t,
			index:     int32(i),
			leader:    c.brokers[(c.nextLeader+i)%n].id,
			producers: make(map[int64]*producerState),
		}
	}
	c.nextLeader = (c.nextLeader + 1) % n
	c.topics[name] = t
	c.topicIDs[t.id] = t
	return t
}

// topicByName returns the topic, or nil.
func (c *Cluster) topicByName(name string) *topic {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.topics[name]
}

// topicByID returns the topic, or nil.
func (c *Cluster) topicByID(id wire.UUID) *topic {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.topicIDs[id]
}

// partition returns the partition, or nil when the topic or partition does not exist.
func (c *Cluster) partition(name string, index int32) *partition {
	t := c.topicByName(name)
	if t == nil || index < 0 || int(index) >= len(t.partitions) {
		return nil
	}
	return t.partitions[index]
}

// Topics returns the names of all topics, sorted.
func (c *Cluster) Topics() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	names := make([]string, 0, len(c.topics))
	for n := range c.topics {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Partitions returns the number of partitions of topic, or 0 when it does not exist.
func (c *Cluster) Partitions(topic string) int {
	t := c.topicByName(topic)
	if t == nil {
		return 0
	}
	return len(t.partitions)
}

// Leader returns the node id of the broker leading the partition, or -1 when the partition
// does not exist.
func (c *Cluster) Leader(topic string, partition int32) int32 {
	p := c.partition(topic, partition)
	if p == nil {
		return -1
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leader
}

// MoveLeader makes broker to the leader of the partition and bumps its leader epoch, as a
// reassignment or a leader election does. From then on the old leader answers Produce
// requests for it with NOT_LEADER_OR_FOLLOWER, naming the new leader (Produce v10+,
// KIP-951), and Metadata from any broker shows the new leader. Moving a partition to the
// broker that already leads it still bumps the epoch.
func (c *Cluster) MoveLeader(topic string, partition int32, to int32) error {
	p := c.partition(topic, partition)
	if p == nil {
		return fmt.Errorf("kafkatest: MoveLeader: no partition %s/%d", topic, partition)
	}
	if c.broker(to) == nil {
		return fmt.Errorf("kafkatest: MoveLeader: no broker %d", to)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.leader = to
	p.leaderEpoch++
	return nil
}

// leaderAndEpoch returns the partition's leader and leader epoch.
func (p *partition) leaderAndEpoch() (int32, int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leader, p.leaderEpoch
}
