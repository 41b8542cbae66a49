package kafkatest

import (
	"github.com/gregor-kafka/producer/wire"
)

// clusterID is the ClusterId every Metadata answer carries.
const clusterID = "kafkatest"

// topicAuthorizedOperations is the bit field of operations on a topic Kafka reports to a
// client allowed everything: READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS,
// ALTER_CONFIGS (AclOperation codes 3–8, 10, 11).
const topicAuthorizedOperations int32 = 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<7 | 1<<8 | 1<<10 | 1<<11

// handleMetadata answers Metadata (key 3): every broker, and the topics asked for (all of
// them for a null list, or an empty one at v0) with their partitions' current leaders and
// leader epochs. An unknown topic is created when the cluster auto-creates topics and the
// request allows it (v4+), else it gets UNKNOWN_TOPIC_OR_PARTITION; a topic looked up by an
// unknown id (v10+) gets UNKNOWN_TOPIC_ID.
func handleMetadata(cn *conn, ex *exchange) (wire.Response, error) {
	v := ex.hdr.APIVersion
	var req wire.MetadataRequest
	if err := req.Decode(ex.body, v); err != nil {
		return nil, err
	}
	c := cn.b.c
	id := clusterID
	resp := &wire.MetadataResponse{
		ClusterID:                   &id,
		ControllerID:                c.brokers[0].id,
		ClusterAuthorizedOperations: wire.AuthorizedOperationsOmitted,
	}
	for _, b := range c.brokers {
		if b.unlisted.Load() {
			continue
		}
		host, port := b.endpoint()
		resp.Brokers = append(resp.Brokers, wire.MetadataBroker{NodeID: b.id, Host: host, Port: port})
	}
	if req.Topics == nil || (v == 0 && len(req.Topics) == 0) {
		for _, name := range c.Topics() {
			if t := c.topicByName(name); t != nil {
				resp.Topics = append(resp.Topics, c.describeTopic(t))
			}
		}
	} else {
		for _, rt := range req.Topics {
			resp.Topics = append(resp.Topics, c.metadataTopic(rt, req.AllowAutoTopicCreation))
		}
	}
	if code := ex.faultCode(); code == wire.ErrRebootstrapRequired.Code && v >= 13 {
		resp.ErrorCode = code // KIP-1102: the one top-level error of Metadata
	} else if code != 0 {
		for i := range resp.Topics {
			t := &resp.Topics[i]
			if ex.fault.Topic == "" || (t.Name != nil && *t.Name == ex.fault.Topic) {
				t.ErrorCode, t.Partitions = code, nil
			}
		}
	}
	if !req.IncludeTopicAuthorizedOperations {
		for i := range resp.Topics {
			resp.Topics[i].TopicAuthorizedOperations = wire.AuthorizedOperationsOmitted
		}
	}
	return resp, nil
}

// metadataTopic describes the topic rt asks for, by name or (v10+, null name) by id,
// creating it if it is missing and may be created.
func (c *Cluster) metadataTopic(rt wire.MetadataRequestTopic, allowCreate bool) wire.MetadataTopic {
	if rt.Name == nil {
		if t := c.topicByID(rt.TopicID); t != nil {
			return c.describeTopic(t)
		}
		return wire.MetadataTopic{ErrorCode: wire.ErrUnknownTopicID.Code, TopicID: rt.TopicID}
	}
	name := *rt.Name
	if t := c.topicByName(name); t != nil {
		return c.describeTopic(t)
	}
	errTopic := func(code int16) wire.MetadataTopic {
		return wire.MetadataTopic{ErrorCode: code, Name: &name}
	}
	if validTopicName(name) != nil {
		return errTopic(wire.ErrInvalidTopic.Code)
	}
	if !c.cfg.autoCreate || !allowCreate {
		return errTopic(wire.ErrUnknownTopicOrPartition.Code)
	}
	c.mu.Lock()
	t := c.topics[name]
	if t == nil {
		t = c.createTopicLocked(name, c.cfg.defaultPartitions)
	}
	c.mu.Unlock()
	return c.describeTopic(t)
}

// describeTopic returns the topic's metadata as of now. Every broker is a replica and in
// sync, listed from the leader on.
func (c *Cluster) describeTopic(t *topic) wire.MetadataTopic {
	name := t.name
	mt := wire.MetadataTopic{
		Name:                      &name,
		TopicID:                   t.id,
		Partitions:                make([]wire.MetadataPartition, len(t.partitions)),
		TopicAuthorizedOperations: topicAuthorizedOperations,
	}
	n := int32(len(c.brokers))
	for i, p := range t.partitions {
		leader, epoch := p.leaderAndEpoch()
		replicas := make([]int32, n)
		for j := range replicas {
			replicas[j] = (leader + int32(j)) % n
		}
		mt.Partitions[i] = wire.MetadataPartition{
			PartitionIndex: p.index,
			LeaderID:       leader,
			LeaderEpoch:    epoch,
			ReplicaNodes:   replicas,
			IsrNodes:       replicas,
		}
	}
	return mt
}
