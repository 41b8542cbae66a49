package kafkatest

import (
	"fmt"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// handleFetch answers Fetch (key 1, v4–18) as a partition leader answers a consumer: for each
// partition, in request order, the stored batches from the one holding FetchOffset on, up to
// the high watermark (read_uncommitted) or the last stable offset (read_committed, with the
// aborted transactions among them), within PartitionMaxBytes and MaxBytes, itself capped at
// 55 MiB as Kafka's fetch.max.bytes (the first batch of the response goes out even when
// larger, KIP-74). Batches are served as stored: uncompressed, whole, with their offsets,
// the leader epoch they were appended under and their CRC.
//
// Each partition is checked in Kafka's order: unknown topic or partition
// (UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_ID at v13+), CurrentLeaderEpoch
// (FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH), leadership (NOT_LEADER_OR_FOLLOWER, naming the
// leader at v12+ and its endpoint at v16+), then the offset (OFFSET_OUT_OF_RANGE below the
// log start offset or past the high watermark). A partition in error gets -1 for its
// offsets, as from Kafka.
//
// While the data gathered is below MinBytes and no partition is in error, the answer waits
// for appends, up to MaxWaitMs; a broker stopping ends the wait. Fetch sessions (KIP-227) are
// not kept: a full fetch (SessionEpoch 0 or -1) is answered with SessionID 0, which tells the
// client no session was created, and an incremental one gets FETCH_SESSION_ID_NOT_FOUND. An
// isolation level other than 0 or 1 closes the connection. A fault's ErrorCode is the
// response's error code from v7, every partition's below.
func handleFetch(cn *conn, ex *exchange) (wire.Response, error) {
	v := ex.hdr.APIVersion
	var req wire.FetchRequest
	if err := req.Decode(ex.body, v); err != nil {
		return nil, err
	}
	if req.IsolationLevel != wire.ReadUncommitted && req.IsolationLevel != wire.ReadCommitted {
		return nil, fmt.Errorf("fetch isolation level %d is neither 0 nor 1", req.IsolationLevel)
	}
	if code := ex.standIn(); code != 0 && v >= 7 {
		return &wire.FetchResponse{ErrorCode: code}, nil
	}
	if v >= 7 && req.SessionEpoch != 0 && req.SessionEpoch != -1 {
		return &wire.FetchResponse{ErrorCode: wire.ErrFetchSessionIDNotFound.Code}, nil
	}
	c := cn.b.c
	wait := time.Duration(max(req.MaxWaitMs, 0)) * time.Millisecond
	var deadline *time.Timer
	for {
		changed := c.waits.channel() // before reading, so no append goes unnoticed
		resp, size, errs := cn.readFetch(&req, ex)
		if errs || size >= int(req.MinBytes) || wait <= 0 {
			return resp, nil
		}
		if deadline == nil {
			deadline = time.NewTimer(wait)
			defer deadline.Stop()
		}
		select {
		case <-changed:
		case <-deadline.C:
			wait = 0 // read once more, and answer whatever there is
		case <-cn.done:
			// The broker is stopping: no answer, and the connection closes with it.
			return nil, nil
		}
	}
}

// readFetch builds the answer to req from the partitions as they are now. It returns the
// bytes of record data gathered and whether any partition is in error.
func (cn *conn) readFetch(req *wire.FetchRequest, ex *exchange) (resp *wire.FetchResponse, size int, errs bool) {
	v := ex.hdr.APIVersion
	c := cn.b.c
	if req.IsolationLevel == wire.ReadCommitted {
		c.expireTransactions(time.Now()) // timed-out transactions abort, moving the LSO on
	}
	resp = &wire.FetchResponse{Topics: make([]wire.FetchTopicResponse, len(req.Topics))}
	budget := fetchBudget{left: int(min(max(req.MaxBytes, 0), brokerFetchMaxBytes)), first: true}
	var endpoints []int32
	for i := range req.Topics {
		rt := &req.Topics[i]
		var t *topic
		if v >= 13 {
			t = c.topicByID(rt.TopicID)
		} else {
			t = c.topicByName(rt.Name)
		}
		out := &resp.Topics[i]
		out.Name, out.TopicID = rt.Name, rt.TopicID
		out.Partitions = make([]wire.FetchPartitionResponse, len(rt.Partitions))
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			po := &out.Partitions[j]
			*po = wire.FetchPartitionResponse{
				Index:                rp.Index,
				HighWatermark:        -1,
				LastStableOffset:     -1,
				LogStartOffset:       -1,
				DivergingEpoch:       wire.FetchEpochEndOffset{Epoch: -1, EndOffset: -1},
				CurrentLeader:        wire.LeaderIDAndEpoch{LeaderID: -1, LeaderEpoch: -1},
				SnapshotID:           wire.FetchSnapshotID{EndOffset: -1, Epoch: -1},
				PreferredReadReplica: -1,
				Records:              []byte{},
			}
			code := ex.standIn()
			if code == 0 {
				code = cn.fetchPartition(t, rp, v, req.IsolationLevel, po, &budget)
			}
			if code != 0 {
				errs = true
				po.ErrorCode = code
				known := t != nil && rp.Index >= 0 && int(rp.Index) < len(t.partitions)
				if known && (code == wire.ErrNotLeaderOrFollower.Code || code == wire.ErrFencedLeaderEpoch.Code) {
					p := t.partitions[rp.Index]
					leader, epoch := p.leaderAndEpoch()
					if v >= 12 {
						po.CurrentLeader = wire.LeaderIDAndEpoch{LeaderID: leader, LeaderEpoch: epoch}
					}
					endpoints = appendUnique(endpoints, leader)
				}
			}
			size += len(po.Records)
		}
	}
	if v >= 16 {
		for _, id := range endpoints {
			if b := c.broker(id); b != nil {
				host, port := b.endpoint()
				resp.NodeEndpoints = append(resp.NodeEndpoints, wire.NodeEndpoint{NodeID: id, Host: host, Port: port})
			}
		}
	}
	return resp, size, errs
}

// brokerFetchMaxBytes caps a Fetch's MaxBytes, as Kafka's broker setting fetch.max.bytes
// (default 55 MiB) does, so that no request makes a broker build an answer of gigabytes.
const brokerFetchMaxBytes = 55 << 20

// fetchBudget is what is left of a Fetch's MaxBytes, and whether no batch was taken yet (the
// first batch of a response goes out whatever its size, KIP-74).
type fetchBudget struct {
	left  int
	first bool
}

// fetchPartition fills po with the answer for one partition of topic t (nil when unknown)
// and returns its error code.
func (cn *conn) fetchPartition(t *topic, rp *wire.FetchPartition, version int16, isolation int8, po *wire.FetchPartitionResponse, budget *fetchBudget) int16 {
	if t == nil {
		if version >= 13 {
			return wire.ErrUnknownTopicID.Code
		}
		return wire.ErrUnknownTopicOrPartition.Code
	}
	if rp.Index < 0 || int(rp.Index) >= len(t.partitions) {
		return wire.ErrUnknownTopicOrPartition.Code
	}
	p := t.partitions[rp.Index]
	if code := cn.checkLeaderEpoch(p, rp.CurrentLeaderEpoch); code != 0 {
		return code
	}
	view := p.view()
	lso := p.lastStableOffset(&view)
	if rp.FetchOffset < view.start || rp.FetchOffset > view.highWatermark {
		return wire.ErrOffsetOutOfRange.Code
	}
	po.HighWatermark, po.LastStableOffset, po.LogStartOffset = view.highWatermark, lso, view.start
	upper := view.highWatermark
	if isolation == wire.ReadCommitted {
		upper = lso
		po.AbortedTransactions = []wire.FetchAbortedTransaction{}
	}
	limit := min(int(max(rp.PartitionMaxBytes, 0)), budget.left)
	var records []byte
	var aborted []*txnOutcome
	for i := view.find(rp.FetchOffset); i < len(view.batches); i++ {
		b := &view.batches[i]
		if b.baseOffset >= upper {
			break
		}
		if len(records)+len(b.raw) > limit && !budget.first {
			break
		}
		budget.first = false
		records = append(records, b.raw...)
		if isolation == wire.ReadCommitted && b.outcome != nil && b.outcome.state.Load() == outcomeAborted && !containsOutcome(aborted, b.outcome) {
			aborted = append(aborted, b.outcome)
			po.AbortedTransactions = append(po.AbortedTransactions, wire.FetchAbortedTransaction{ProducerID: b.hdr.ProducerID, FirstOffset: b.baseOffset})
		}
	}
	budget.left = max(budget.left-len(records), 0)
	if records != nil {
		po.Records = records
	}
	return 0
}

func containsOutcome(s []*txnOutcome, o *txnOutcome) bool {
	for _, x := range s {
		if x == o {
			return true
		}
	}
	return false
}

// checkLeaderEpoch returns the error for a consumer request about p carrying the leader
// epoch epoch (-1 for none), in Kafka's order: FENCED_LEADER_EPOCH for an older epoch,
// UNKNOWN_LEADER_EPOCH for a newer one, NOT_LEADER_OR_FOLLOWER unless this broker leads p.
func (cn *conn) checkLeaderEpoch(p *partition, epoch int32) int16 {
	leader, current := p.leaderAndEpoch()
	switch {
	case epoch >= 0 && epoch < current:
		return wire.ErrFencedLeaderEpoch.Code
	case epoch > current:
		return wire.ErrUnknownLeaderEpoch.Code
	case leader != cn.b.id:
		return wire.ErrNotLeaderOrFollower.Code
	}
	return 0
}
