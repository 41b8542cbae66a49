package otel

import (
	"time"

	"github.com/gregor-kafka/producer"
)

// JoinHooks returns [producer.Hooks] that pass every event to each of hs in turn, skipping
// nil ones: [producer.Config.Hooks] takes one value, and a service may want these metrics,
// Prometheus' and its own hooks at once. It returns nil when every hs is nil, and the only
// non-nil one when there is one. (The Prometheus plugin has the same function.)
func JoinHooks(hs ...producer.Hooks) producer.Hooks {
	var j joinedHooks
	for _, h := range hs {
		if h != nil {
			j = append(j, h)
		}
	}
	switch len(j) {
	case 0:
		return nil
	case 1:
		return j[0]
	}
	return j
}

type joinedHooks []producer.Hooks

func (j joinedHooks) OnBrokerConnect(node int32, addr string, dialTime time.Duration, err error) {
	for _, h := range j {
		h.OnBrokerConnect(node, addr, dialTime, err)
	}
}

func (j joinedHooks) OnBrokerDisconnect(node int32, addr string, err error) {
	for _, h := range j {
		h.OnBrokerDisconnect(node, addr, err)
	}
}

func (j joinedHooks) OnProduceRequest(node int32, bytes int, latency time.Duration, err error) {
	for _, h := range j {
		h.OnProduceRequest(node, bytes, latency, err)
	}
}

func (j joinedHooks) OnBatchDone(topic string, partition int32, records int, bytes int, err error) {
	for _, h := range j {
		h.OnBatchDone(topic, partition, records, bytes, err)
	}
}

func (j joinedHooks) OnRecordDone(md producer.RecordMetadata, err error) {
	for _, h := range j {
		h.OnRecordDone(md, err)
	}
}
