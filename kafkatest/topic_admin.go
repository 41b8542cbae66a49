package kafkatest

import (
	"errors"
	"fmt"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// ErrUnknownTopic is returned by [Cluster.CreatePartitions] and [Cluster.DeleteTopic] for a
// topic that does not exist.
var ErrUnknownTopic = errors.New("kafkatest: no such topic")

// CreatePartitions grows topic name to total partitions, as Kafka's CreatePartitions does: the
// existing partitions keep their logs and leaders, the new ones start empty with leaders
// spread round-robin over the brokers. From then on Metadata lists them and Produce accepts
// them. Partitions are never removed; total must exceed the current count.
func (c *Cluster) CreatePartitions(name string, total int32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.topics[name]
	if old == nil {
		return fmt.Errorf("%w: CreatePartitions(%q)", ErrUnknownTopic, name)
	}
	n := int32(len(old.partitions))
	if total <= n {
		return fmt.Errorf("kafkatest: CreatePartitions(%q, %d): the topic has %d partitions; the total must be larger", name, total, n)
	}
	// A topic is never modified once published (readers hold it without a lock): a copy with
	// the longer list replaces it. The old partitions, shared, still name the old copy, which
	// has the same name and id.
	t := &topic{name: old.name, id: old.id, partitions: make([]*partition, total)}
	copy(t.partitions, old.partitions)
	brokers := len(c.brokers)
	for i := n; i < total; i++ {
		t.partitions[i] = &partition{
			topic:     t,
			index:     i,
			leader:    c.brokers[(c.nextLeader+int(i))%brokers].id,
			producers: make(map[int64]*producerState),
		}
	}
	c.nextLeader = (c.nextLeader + 1) % brokers
	c.topics[name] = t
	c.topicIDs[t.id] = t
	return nil
}

// DeleteTopic deletes topic name, as Kafka's DeleteTopics does: Metadata no longer lists it (or,
// with auto-creation, creates a new topic of the same name with a new id), and Produce for it
// gets UNKNOWN_TOPIC_OR_PARTITION (UNKNOWN_TOPIC_ID by id, v13), also for a request that was
// being handled when DeleteTopic returned: nothing is appended to the old logs after that.
// [Cluster.CreateTopic] may then create the name again, with a new id and any number of
// partitions. The deleted topic's records stay readable through [Cluster.RecordsByTopicID].
func (c *Cluster) DeleteTopic(name string) error {
	c.mu.Lock()
	t := c.topics[name]
	if t == nil {
		c.mu.Unlock()
		return fmt.Errorf("%w: DeleteTopic(%q)", ErrUnknownTopic, name)
	}
	delete(c.topics, name)
	delete(c.topicIDs, t.id)
	if c.deleted == nil {
		c.deleted = make(map[wire.UUID]*topic)
	}
	c.deleted[t.id] = t
	c.mu.Unlock()
	for _, p := range t.partitions {
		p.mu.Lock()
		p.deleted = true
		p.mu.Unlock()
	}
	return nil
}

// TopicID returns the id of the topic named name, and false when there is none. A topic
// deleted and created again has a new id.
func (c *Cluster) TopicID(name string) (wire.UUID, bool) {
	t := c.topicByName(name)
	if t == nil {
		return wire.UUID{}, false
	}
	return t.id, true
}

// RecordsByTopicID is [Cluster.Records] for the topic with the given id, which may have been
// deleted since: the records of each incarnation of a name stay apart.
func (c *Cluster) RecordsByTopicID(id wire.UUID, partition int32) []Record {
	c.mu.RLock()
	t := c.topicIDs[id]
	if t == nil {
		t = c.deleted[id]
	}
	c.mu.RUnlock()
	if t == nil || partition < 0 || int(partition) >= len(t.partitions) {
		return nil
	}
	c.expireTransactions(time.Now())
	return c.appendRecords(nil, t.partitions[partition], false)
}
