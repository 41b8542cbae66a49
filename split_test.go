package producer

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/compress"
	"github.com/gregor-kafka/producer/internal/testutil"
	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

// splitHooks counts what the hooks see of completed batches and records.
type splitHooks struct {
	NoHooks
	batchRecords, batchesOK, recordsDone atomic.Int64
}

func (h *splitHooks) OnBatchDone(_ string, _ int32, n int, _ int, err error) {
	h.batchRecords.Add(int64(n))
	if err == nil {
		h.batchesOK.Add(1)
	}
}

func (h *splitHooks) OnRecordDone(RecordMetadata, error) { h.recordsDone.Add(1) }

// TestSplitTooLargeBatches: brokers whose message.max.bytes is far below batch.size refuse
// every full batch with MESSAGE_TOO_LARGE; the producer splits them until they fit, and every
// record is in the log exactly once, in send order, at the offset its future reports, with
// Stats and hooks counting each record once. A single record larger than the limit fails
// alone, with MESSAGE_TOO_LARGE, and the records around it are delivered.
func TestSplitTooLargeBatches(t *testing.T) {
	const limit = 1500 // bytes of a batch on the wire
	for _, tc := range []struct {
		name  string
		cfg   Config
		txn   bool
		big   bool // one record larger than the limit among the others
		codec compress.Codec
	}{
		{name: "plain", cfg: Config{Idempotence: Disabled}, big: true},
		{name: "plain in flight 5", cfg: Config{Idempotence: Disabled, MaxInFlight: 5}},
		{name: "idempotent", big: true},
		{name: "idempotent zstd", codec: compress.Zstd},
		{name: "transactional", cfg: Config{TransactionalID: "split"}, txn: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testutil.CheckNoLeaks(t)
			c := newCluster(t, kafkatest.SeedTopic("split", 2), kafkatest.MaxMessageBytes(limit))
			hooks := &splitHooks{}
			cfg := tc.cfg
			cfg.BootstrapServers = c.Addrs()
			cfg.BatchSize = 16384
			cfg.Linger = 5 * time.Millisecond
			cfg.Compression = tc.codec
			cfg.Hooks = hooks
			cfg.RetryBackoff, cfg.RetryBackoffMax = time.Millisecond, 10*time.Millisecond
			p := newProducer(t, cfg)
			ctx := ctxTimeout(t, 60*time.Second)
			if tc.txn {
				if err := p.InitTransactions(ctx); err != nil {
					t.Fatal(err)
				}
				if err := p.BeginTransaction(); err != nil {
					t.Fatal(err)
				}
			}

			const n = 1500
			bigAt := -1
			if tc.big {
				bigAt = n / 3
			}
			rng := rand.New(rand.NewPCG(1, 2))
			values := make([][]byte, n)
			futures := make([]*Future, n)
			for i := range n {
				size := 40 + rng.IntN(120)
				if i == bigAt {
					size = 2 * limit
				}
				v := make([]byte, size)
				for j := range v {
					v[j] = byte(rng.Uint32()) // incompressible: compression cannot hide the limit
				}
				copy(v, strconv.Itoa(i)+":")
				values[i] = v
				futures[i] = p.Send(ctx, Record{Topic: "split", Key: []byte{byte(i % 2)}, Value: v})
			}
			if err := p.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			// Flush returned: every record has its outcome, the split ones' included.
			for i, f := range futures {
				select {
				case <-f.Done():
				default:
					t.Fatalf("record %d has no outcome after Flush", i)
				}
			}
			if tc.txn {
				if err := p.CommitTransaction(ctx); err != nil {
					t.Fatal(err)
				}
			}

			logs := map[int32]map[int64][]byte{}
			for part := int32(0); part < 2; part++ {
				logs[part] = map[int64][]byte{}
				recs := c.Records("split", part)
				if tc.txn {
					recs = c.CommittedRecords("split", part)
				}
				last := -1
				for _, r := range recs {
					i, err := strconv.Atoi(string(bytes.SplitN(r.Value, []byte(":"), 2)[0]))
					if err != nil {
						t.Fatalf("partition %d offset %d: unexpected value", part, r.Offset)
					}
					if i <= last {
						t.Errorf("partition %d: record %d after %d (duplicated or reordered)", part, i, last)
					}
					last = i
					logs[part][r.Offset] = r.Value
				}
			}
			stored := len(logs[0]) + len(logs[1])
			for i, f := range futures {
				md, err := f.Get(ctx)
				if i == bigAt {
					if !errors.Is(err, wire.ErrMessageTooLarge) {
						t.Errorf("the record larger than the limit: %v, want MESSAGE_TOO_LARGE", err)
					}
					continue
				}
				if err != nil {
					t.Errorf("record %d: %v", i, err)
					continue
				}
				if got := logs[md.Partition][md.Offset]; !bytes.Equal(got, values[i]) {
					t.Errorf("record %d: its future says partition %d offset %d, which holds another record", i, md.Partition, md.Offset)
				}
			}
			want := n
			if bigAt >= 0 {
				want--
			}
			if stored != want {
				t.Errorf("%d records in the log, want %d", stored, want)
			}

			st := p.Stats()
			if st.BatchesSplit == 0 {
				t.Error("no batch was split: the test does not test splitting")
			}
			if st.RecordsSent != int64(want) || st.RecordsFailed != int64(n-want) {
				t.Errorf("Stats: %d records sent and %d failed, want %d and %d", st.RecordsSent, st.RecordsFailed, want, n-want)
			}
			if st.BufferedBytes != 0 {
				t.Errorf("Stats: %d bytes of buffer.memory still held", st.BufferedBytes)
			}
			if st.BatchBytes > st.BatchesSent*limit {
				t.Errorf("Stats: %d bytes in %d acknowledged batches: some batch is above the limit", st.BatchBytes, st.BatchesSent)
			}
			if hooks.batchRecords.Load() != n || hooks.recordsDone.Load() != n || hooks.batchesOK.Load() != st.BatchesSent {
				t.Errorf("hooks: %d records in completed batches, %d records done, %d batches acknowledged; want %d, %d, %d",
					hooks.batchRecords.Load(), hooks.recordsDone.Load(), hooks.batchesOK.Load(), n, n, st.BatchesSent)
			}
		})
	}
}

// TestSplitCallbacksInOrder: callbacks of split batches run once each, in send order per
// partition, with offsets that increase by one.
func TestSplitCallbacksInOrder(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("order", 1), kafkatest.MaxMessageBytes(600))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), BatchSize: 8192, Linger: 20 * time.Millisecond})
	ctx := ctxTimeout(t, 30*time.Second)
	const n = 400
	var got []int
	var offsets []int64
	for i := range n {
		v := fmt.Appendf(nil, "%05d-%s", i, bytes.Repeat([]byte("x"), 30))
		if err := p.SendAsync(ctx, Record{Topic: "order", Value: v}, func(md RecordMetadata, err error) {
			if err != nil {
				t.Errorf("record %d: %v", i, err)
			}
			got = append(got, i) // callbacks run on one goroutine
			offsets = append(offsets, md.Offset)
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("%d callbacks, want %d", len(got), n)
	}
	for i := range got {
		if got[i] != i || offsets[i] != int64(i) {
			t.Fatalf("callback %d was for record %d at offset %d, want record %d at offset %d", i, got[i], offsets[i], i, i)
		}
	}
	if p.Stats().BatchesSplit == 0 {
		t.Error("no batch was split")
	}
}

// TestSplitTxnTooLargeRecord: in a transaction, a record larger than the broker accepts,
// batched with smaller ones, fails with MESSAGE_TOO_LARGE once its batch is split, and the
// records before it are written; the transaction cannot commit, aborts, and the next one
// commits.
func TestSplitTxnTooLargeRecord(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("v2=%v", v2), func(t *testing.T) {
			c, p, ctx := txnSetup(t, v2, 1, Config{Linger: 50 * time.Millisecond}, kafkatest.MaxMessageBytes(1000))
			if err := p.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			var futs []*Future
			for i := range 20 {
				v := bytes.Repeat([]byte{'a' + byte(i)}, 100)
				if i == 10 {
					v = bytes.Repeat([]byte("big"), 500)
				}
				futs = append(futs, p.Send(ctx, Record{Topic: "t", Value: v}))
			}
			for i, f := range futs {
				err := f.Wait(ctx)
				if i == 10 && !errors.Is(err, wire.ErrMessageTooLarge) {
					t.Errorf("the record larger than the limit: %v, want MESSAGE_TOO_LARGE", err)
				}
				// The records after it may fail too: their sequences follow a lost one, and a
				// transaction cannot renumber; it must abort.
				if i < 10 && err != nil {
					t.Errorf("record %d: %v", i, err)
				}
			}
			if p.Stats().BatchesSplit == 0 {
				t.Error("no batch was split")
			}
			if err := p.CommitTransaction(ctx); err == nil {
				t.Fatal("a transaction with a failed record committed")
			}
			if err := p.AbortTransaction(ctx); err != nil {
				t.Fatal(err)
			}
			if n := len(c.CommittedRecords("t", 0)); n != 0 {
				t.Errorf("%d records committed by the aborted transaction", n)
			}
			runTxn(t, ctx, p, c, "after")
		})
	}
}
