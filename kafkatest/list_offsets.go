package kafkatest

import (
	"fmt"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// handleListOffsets answers ListOffsets (key 2, v1–11) as a partition leader: for
// ListOffsetsEarliest (-2) and ListOffsetsEarliestLocal (-4) the log start offset, for
// ListOffsetsLatest (-1) the high watermark (the last stable offset for read_committed), for
// ListOffsetsMaxTimestamp (-3) the first record with the largest timestamp, for a time the
// first record whose timestamp is at or after it below the high watermark (or last stable
// offset), else offset -1. There is no tiered storage: ListOffsetsLatestTiered (-5) and
// ListOffsetsEarliestPendingUpload (-6) answer offset -1.
//
// Each partition is checked as for Fetch: unknown topic or partition, CurrentLeaderEpoch
// (v4+), leadership. An isolation level other than 0 or 1 closes the connection. A fault's
// ErrorCode goes to every partition.
func handleListOffsets(cn *conn, ex *exchange) (wire.Response, error) {
	v := ex.hdr.APIVersion
	var req wire.ListOffsetsRequest
	if err := req.Decode(ex.body, v); err != nil {
		return nil, err
	}
	if req.IsolationLevel != wire.ReadUncommitted && req.IsolationLevel != wire.ReadCommitted {
		return nil, fmt.Errorf("list offsets isolation level %d is neither 0 nor 1", req.IsolationLevel)
	}
	c := cn.b.c
	if req.IsolationLevel == wire.ReadCommitted {
		c.expireTransactions(time.Now())
	}
	resp := &wire.ListOffsetsResponse{Topics: make([]wire.ListOffsetsTopicResponse, len(req.Topics))}
	var scratch []wire.Record
	for i := range req.Topics {
		rt := &req.Topics[i]
		t := c.topicByName(rt.Name)
		out := &resp.Topics[i]
		out.Name = rt.Name
		out.Partitions = make([]wire.ListOffsetsPartitionResponse, len(rt.Partitions))
		for j, rp := range rt.Partitions {
			po := &out.Partitions[j]
			*po = wire.ListOffsetsPartitionResponse{Index: rp.Index, Timestamp: -1, Offset: -1, LeaderEpoch: -1}
			switch {
			case ex.standIn() != 0:
				po.ErrorCode = ex.standIn()
			case t == nil || rp.Index < 0 || int(rp.Index) >= len(t.partitions):
				po.ErrorCode = wire.ErrUnknownTopicOrPartition.Code
			default:
				p := t.partitions[rp.Index]
				if po.ErrorCode = cn.checkLeaderEpoch(p, rp.CurrentLeaderEpoch); po.ErrorCode == 0 {
					scratch = c.listOffset(p, rp.Timestamp, req.IsolationLevel, po, scratch)
				}
			}
		}
	}
	return resp, nil
}

// listOffset fills po with the offset of partition p that timestamp asks for.
func (c *Cluster) listOffset(p *partition, timestamp int64, isolation int8, po *wire.ListOffsetsPartitionResponse, scratch []wire.Record) []wire.Record {
	view := p.view()
	upper := view.highWatermark
	if isolation == wire.ReadCommitted {
		upper = p.lastStableOffset(&view)
	}
	switch timestamp {
	case wire.ListOffsetsLatest:
		po.Offset, po.LeaderEpoch = upper, view.leaderEpoch
		return scratch
	case wire.ListOffsetsEarliest, wire.ListOffsetsEarliestLocal:
		po.Offset, po.LeaderEpoch = view.start, view.leaderEpoch
		if len(view.batches) > 0 {
			po.LeaderEpoch = batchLeaderEpoch(&view.batches[0])
		}
		return scratch
	case wire.ListOffsetsLatestTiered, wire.ListOffsetsEarliestPendingUpload:
		return scratch
	}
	maxTS := timestamp == wire.ListOffsetsMaxTimestamp
	var best *storedBatch
	for i := range view.batches {
		b := &view.batches[i]
		if b.baseOffset >= upper {
			break
		}
		if b.hdr.Attributes&wire.AttrControl != 0 {
			continue
		}
		if maxTS {
			if best == nil || b.hdr.MaxTimestamp > best.hdr.MaxTimestamp {
				best = b
			}
			continue
		}
		if b.hdr.MaxTimestamp >= timestamp {
			best = b
			break
		}
	}
	if best == nil {
		return scratch
	}
	target := timestamp
	if maxTS {
		target = best.hdr.MaxTimestamp
	}
	recs, err := wire.DecodeRecords(scratch[:0], &best.hdr, best.records)
	if err != nil { // cannot happen: the batch was decoded before it was stored
		c.log.Error("kafkatest: stored batch does not decode", "topic", p.topic.name, "partition", p.index, "offset", best.baseOffset, "err", err)
		return scratch
	}
	for i := range recs {
		ts := best.hdr.BaseTimestamp + recs[i].TimestampDelta
		if (maxTS && ts == target) || (!maxTS && ts >= target) {
			po.Timestamp, po.Offset, po.LeaderEpoch = ts, best.baseOffset+int64(recs[i].OffsetDelta), batchLeaderEpoch(best)
			break
		}
	}
	return recs
}

// batchLeaderEpoch returns the leader epoch stored in b, the epoch of the leader that
// appended it.
func batchLeaderEpoch(b *storedBatch) int32 {
	return int32(uint32(b.raw[12])<<24 | uint32(b.raw[13])<<16 | uint32(b.raw[14])<<8 | uint32(b.raw[15]))
}
