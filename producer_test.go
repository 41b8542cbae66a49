package producer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/gregor-kafka/producer/internal/testutil"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/compress"
	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

func newCluster(t *testing.T, opts ...kafkatest.Option) *kafkatest.Cluster {
	t.Helper()
	c, err := kafkatest.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func newProducer(t *testing.T, cfg Config) *Producer {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestSendModes(t *testing.T) {
	testutil.CheckNoLeaks(t)
	c := newCluster(t, kafkatest.SeedTopic("modes", 3))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Linger: -1})
	ctx := ctxTimeout(t, 20*time.Second)

	// Synchronous.
	md, err := p.Send(ctx, Record{Topic: "modes", Key: []byte("k"), Value: []byte("sync")}).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if md.Topic != "modes" || md.Partition != KeyPartition([]byte("k"), 3) || md.Offset != 0 {
		t.Fatalf("sync metadata %+v", md)
	}
	// Asynchronous.
	done := make(chan RecordMetadata, 1)
	if err := p.SendAsync(ctx, Record{Topic: "modes", Key: []byte("k"), Value: []byte("async")}, func(md RecordMetadata, err error) {
		if err != nil {
			t.Error(err)
		}
		done <- md
	}); err != nil {
		t.Fatal(err)
	}
	if md := <-done; md.Offset != 1 || md.Partition != KeyPartition([]byte("k"), 3) {
		t.Fatalf("async metadata %+v", md)
	}
	// Fire-and-forget.
	if err := p.SendAsync(ctx, Record{Topic: "modes", Key: []byte("k"), Value: []byte("ff")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	recs := c.Records("modes", KeyPartition([]byte("k"), 3))
	var got []string
	for _, r := range recs {
		got = append(got, string(r.Value))
	}
	if fmt.Sprint(got) != "[sync async ff]" {
		t.Fatalf("log holds %v", got)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, Record{Topic: "modes", Value: []byte("late")}).Wait(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
	var cbErr error
	if err := p.SendAsync(ctx, Record{Topic: "modes"}, func(_ RecordMetadata, err error) { cbErr = err }); !errors.Is(err, ErrClosed) || !errors.Is(cbErr, ErrClosed) {
		t.Fatalf("SendAsync after close: %v, callback %v", err, cbErr)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

// TestRecordsByteForByte checks every field of records of every shape, under every codec,
// as the broker stored them, and that callbacks of a partition come in send order.
func TestRecordsByteForByte(t *testing.T) {
	testutil.CheckNoLeaks(t)
	for _, codec := range []compress.Codec{compress.None, compress.Gzip, compress.Snappy, compress.LZ4, compress.Zstd} {
		t.Run(codec.String(), func(t *testing.T) {
			c := newCluster(t, kafkatest.DefaultPartitions(4))
			p := newProducer(t, Config{BootstrapServers: c.Addrs(), Compression: codec, BatchSize: 4096})
			ctx := ctxTimeout(t, 30*time.Second)
			const n = 3000
			topic := "bytes-" + codec.String()
			ts := time.UnixMilli(1700000000000)
			var sent []Record
			var mu sync.Mutex
			lastOffset := map[int32]int64{}
			for i := 0; i < n; i++ {
				rec := Record{Topic: topic, Value: []byte(fmt.Sprintf("value-%d-%s", i, bytes.Repeat([]byte("x"), i%50)))}
				switch i % 5 {
				case 0:
					rec.Key = []byte(fmt.Sprintf("key-%d", i%17))
				case 1:
					rec.Key = []byte{}
					rec.Value = nil
				case 2:
					rec.Value = []byte{}
					rec.Headers = []Header{{Key: "a", Value: []byte("1")}, {Key: "a", Value: nil}, {Key: "ü", Value: []byte{}}}
				case 3:
					rec.Timestamp = ts.Add(time.Duration(i) * time.Millisecond)
				}
				rec.Headers = append(rec.Headers, Header{Key: "id", Value: []byte(strconv.Itoa(i))})
				sent = append(sent, rec)
				if err := p.SendAsync(ctx, rec, func(md RecordMetadata, err error) {
					if err != nil {
						t.Errorf("record %d: %v", i, err)
						return
					}
					mu.Lock()
					defer mu.Unlock()
					if last, ok := lastOffset[md.Partition]; ok && md.Offset != last+1 {
						t.Errorf("partition %d: callback for offset %d after %d", md.Partition, md.Offset, last)
					}
					lastOffset[md.Partition] = md.Offset
				}); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := c.WaitForRecords(ctx, topic, n)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range got {
				if r.Codec != int8(codec) {
					t.Fatalf("record stored with codec %d, want %d", r.Codec, codec)
				}
			}
			if len(got) != n {
				t.Fatalf("broker holds %d records, want %d", len(got), n)
			}
			// Every record carries its index in a last "id" header: find each one, check
			// its fields, and that each partition holds its records in send order.
			stored := map[int]kafkatest.Record{}
			for pa := int32(0); pa < 4; pa++ {
				last := -1
				for _, r := range c.Records(topic, pa) {
					id, err := strconv.Atoi(string(r.Headers[len(r.Headers)-1].Value))
					if err != nil {
						t.Fatalf("record without id header: %+v", r)
					}
					if id <= last {
						t.Errorf("partition %d: record %d after %d", pa, id, last)
					}
					last = id
					stored[id] = r
				}
			}
			for i, want := range sent {
				r, ok := stored[i]
				if !ok {
					t.Fatalf("record %d not stored", i)
				}
				if !bytes.Equal(r.Value, want.Value) || (r.Value == nil) != (want.Value == nil) {
					t.Errorf("record %d: value %q (nil=%v), want %q (nil=%v)", i, r.Value, r.Value == nil, want.Value, want.Value == nil)
				}
				if !bytes.Equal(r.Key, want.Key) || (r.Key == nil) != (want.Key == nil) {
					t.Errorf("record %d: key %q (nil=%v), want %q (nil=%v)", i, r.Key, r.Key == nil, want.Key, want.Key == nil)
				}
				if len(r.Headers) != len(want.Headers) {
					t.Errorf("record %d: %d headers, want %d", i, len(r.Headers), len(want.Headers))
				}
				for h := range r.Headers {
					if h < len(want.Headers) && (r.Headers[h].Key != want.Headers[h].Key || !bytes.Equal(r.Headers[h].Value, want.Headers[h].Value) ||
						(r.Headers[h].Value == nil) != (want.Headers[h].Value == nil)) {
						t.Errorf("record %d: header %d = %+v, want %+v", i, h, r.Headers[h], want.Headers[h])
					}
				}
				if !want.Timestamp.IsZero() && !r.Timestamp.Equal(want.Timestamp) {
					t.Errorf("record %d: timestamp %v, want %v", i, r.Timestamp, want.Timestamp)
				}
				if len(want.Key) > 0 && r.Partition != KeyPartition(want.Key, 4) {
					t.Errorf("record %d: key %q in partition %d, Java puts it in %d", i, want.Key, r.Partition, KeyPartition(want.Key, 4))
				}
			}
		})
	}
}

func TestKeyedPartitionsMatchJava(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("keys", 10))
	p := newProducer(t, Config{BootstrapServers: c.Addrs()})
	ctx := ctxTimeout(t, 20*time.Second)
	md, err := p.Send(ctx, Record{Topic: "keys", Key: []byte("foobar"), Value: []byte("v")}).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if md.Partition != 6 { // the Java client's choice for "foobar" among 10 partitions
		t.Fatalf("foobar went to partition %d, want 6", md.Partition)
	}
	// An explicit partition wins over the key.
	md, err = p.Send(ctx, Record{Topic: "keys", Partition: ToPartition(2), Key: []byte("foobar")}).Get(ctx)
	if err != nil || md.Partition != 2 {
		t.Fatalf("explicit partition: %+v %v", md, err)
	}
	// A partition the topic does not have is waited for, up to max.block.ms, then fails
	// before anything is sent (as the Java client: it may have been added meanwhile).
	p2 := newProducer(t, Config{BootstrapServers: c.Addrs(), MaxBlock: 300 * time.Millisecond})
	if err := p2.Send(ctx, Record{Topic: "keys", Partition: ToPartition(10)}).Wait(ctx); !errors.Is(err, ErrTimeout) ||
		!strings.Contains(err.Error(), "partition 10 not present") {
		t.Fatalf("partition 10 of 10: %v", err)
	}
}

func TestCustomPartitioner(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("custom", 5))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Partitioner: PartitionerFunc(func(rec *Record, n int) int32 {
		return int32(len(rec.Value) % n)
	})})
	ctx := ctxTimeout(t, 20*time.Second)
	for i := 1; i <= 7; i++ {
		md, err := p.Send(ctx, Record{Topic: "custom", Key: []byte("ignored"), Value: bytes.Repeat([]byte("v"), i)}).Get(ctx)
		if err != nil || md.Partition != int32(i%5) {
			t.Fatalf("value of %d bytes: %+v %v", i, md, err)
		}
	}
}

// TestBatchSizeSealsAndLingerWaits: with a linger of an hour, full batches still go out at
// once (batch.size seals them), while the last partial batch waits for Flush.
// TestBatchCRCAnyValueSizes sends uncompressed records of sizes on both sides of the
// thresholds of the CRC summed at append (values summed as copied from crcCopyMin, chunks
// of crcChunk, batches joined from crcJoinMin), null and empty values and headers among
// them. kafkatest checks every batch's CRC, so a wrong sum fails the sends; the records
// read back are those sent, in order.
func TestBatchCRCAnyValueSizes(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("crc", 1))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), BatchSize: 64 << 10, Linger: 50 * time.Millisecond, RequestTimeout: 5 * time.Second, DeliveryTimeout: 10 * time.Second})
	ctx := ctxTimeout(t, 30*time.Second)
	rng := rand.New(rand.NewPCG(5, 6))
	sizes := []int{-1, 0, 1, 100, crcCopyMin - 1, crcCopyMin, crcCopyMin + 1, crcChunk - 7, crcChunk, 3 * crcChunk, crcJoinMin + 5}
	var sent []Record
	var futs []*Future
	for i := range 600 {
		rec := Record{Topic: "crc", Key: []byte(strconv.Itoa(i))}
		if n := sizes[rng.IntN(len(sizes))]; n >= 0 {
			rec.Value = make([]byte, n)
			for j := range rec.Value {
				rec.Value[j] = byte(rng.Uint32())
			}
		}
		if i%5 == 0 {
			rec.Headers = []Header{{Key: "h", Value: []byte(strconv.Itoa(i))}}
		}
		sent = append(sent, rec)
		futs = append(futs, p.Send(ctx, rec))
	}
	for i, f := range futs {
		if _, err := f.Get(ctx); err != nil {
			t.Fatalf("record %d (%d bytes): %v", i, len(sent[i].Value), err)
		}
	}
	got := c.Records("crc", 0)
	if len(got) != len(sent) {
		t.Fatalf("%d records stored, %d sent", len(got), len(sent))
	}
	for i, r := range got {
		if !bytes.Equal(r.Key, sent[i].Key) || !bytes.Equal(r.Value, sent[i].Value) || (r.Value == nil) != (sent[i].Value == nil) || len(r.Headers) != len(sent[i].Headers) {
			t.Fatalf("record %d differs from the one sent", i)
		}
	}
}

// TestCompletionsSizedByLastFullBatch: a batch's completions start at about the count of
// the partition's last full batch, instead of growing by doubling to the next power of two
// (spare capacity held on the heap for every batch buffer.memory holds).
func TestCompletionsSizedByLastFullBatch(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("comps", 1))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), BatchSize: 16 << 10, Linger: time.Hour, DeliveryTimeout: 2 * time.Hour})
	ctx := ctxTimeout(t, 20*time.Second)
	for range 400 { // about 130 records fill a batch: three full ones, then the open one
		if err := p.SendAsync(ctx, Record{Topic: "comps", Value: make([]byte, 100)}, func(RecordMetadata, error) {}); err != nil {
			t.Fatal(err)
		}
	}
	_, parts := p.knownParts("comps", 0)
	pa := parts[0]
	pa.mu.Lock()
	full, open := pa.compHint, cap(pa.open.comps)
	pa.mu.Unlock()
	if full < 100 || open < full || open > full+full/8 {
		t.Fatalf("open batch's completions have capacity %d, last full batch held %d: want that much and at most an eighth more", open, full)
	}
}

func TestBatchSizeSealsAndLingerWaits(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("seal", 1))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Linger: time.Hour, BatchSize: 1000, DeliveryTimeout: 2 * time.Hour})
	ctx := ctxTimeout(t, 20*time.Second)
	const n = 55 // about 9 records of 100 bytes fill a batch: 6 full batches and a partial one
	for i := 0; i < n; i++ {
		if err := p.SendAsync(ctx, Record{Topic: "seal", Value: bytes.Repeat([]byte{'a' + byte(i%26)}, 100)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	full, err := c.WaitForRecords(ctx, "seal", 45)
	if err != nil {
		t.Fatalf("full batches were not sent despite batch.size: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if recs, err := c.WaitForRecords(short, "seal", n); err == nil {
		t.Fatalf("the partial batch went out before linger.ms or Flush (%d records)", len(recs))
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	all := c.Records("seal", 0)
	if len(all) != n || len(full) >= n {
		t.Fatalf("after flush %d records (before %d)", len(all), len(full))
	}
	// Every batch respects batch.size: sequences restart... count batches through the
	// producer-side sequence: records of one batch share a base sequence step.
	if got := c.RequestCount(wire.KeyProduce); got < 7 {
		t.Errorf("%d Produce requests for 7 batches", got)
	}
}

func TestLingerZeroSendsAtOnce(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("now", 1))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Linger: -1})
	ctx := ctxTimeout(t, 20*time.Second)
	if err := p.SendAsync(ctx, Record{Topic: "now", Value: []byte("x")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitForRecords(ctx, "now", 1); err != nil {
		t.Fatalf("linger.ms=0 record not sent without Flush: %v", err)
	}
}

func TestRecordTooLarge(t *testing.T) {
	c := newCluster(t)
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), MaxRequestSize: 1000})
	ctx := ctxTimeout(t, 10*time.Second)
	err := p.Send(ctx, Record{Topic: "big", Value: make([]byte, 1000)}).Wait(ctx)
	if !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("got %v", err)
	}
	if n := c.RequestCount(wire.KeyProduce); n != 0 {
		t.Fatalf("%d produce requests for a refused record", n)
	}
	// A record larger than batch.size but within max.request.size gets a batch of its own.
	p2 := newProducer(t, Config{BootstrapServers: c.Addrs(), BatchSize: 100})
	if err := p2.Send(ctx, Record{Topic: "big", Value: make([]byte, 5000)}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestInvalidRecords(t *testing.T) {
	c := newCluster(t)
	p := newProducer(t, Config{BootstrapServers: c.Addrs()})
	ctx := ctxTimeout(t, 10*time.Second)
	for name, rec := range map[string]Record{
		"empty topic":        {Value: []byte("v")},
		"bad header key":     {Topic: "t", Headers: []Header{{Key: "\xff\xfe"}}},
		"negative partition": {Topic: "t", Partition: ToPartition(-1)},
	} {
		if err := p.Send(ctx, rec).Wait(ctx); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestBufferMemoryBlocksThenFails(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("slow", 1))
	// The broker holds every answer back, so nothing is released.
	c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Partition: kafkatest.AnyPartition, Delay: 3 * time.Second, Times: -1})
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), BufferMemory: 4096, MaxBlock: 300 * time.Millisecond, Linger: -1})
	ctx := ctxTimeout(t, 20*time.Second)
	var err error
	sent := 0
	for i := 0; i < 100 && err == nil; i++ {
		err = p.SendAsync(ctx, Record{Topic: "slow", Value: make([]byte, 500)}, nil)
		sent++
	}
	if !errors.Is(err, ErrBufferFull) {
		t.Fatalf("after %d sends: %v", sent, err)
	}
	if sent < 5 {
		t.Fatalf("buffer full after only %d records of 500 bytes in 4096", sent)
	}
	// A context ending first wins over max.block.ms, for a record that needs more memory
	// than is left (a 500-byte one may still fit a batch of its own).
	short, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.SendAsync(short, Record{Topic: "slow", Value: make([]byte, 3500)}, nil); !errors.Is(err, context.Canceled) && !errors.Is(err, ErrBufferFull) {
		t.Fatalf("cancelled send: %v", err)
	}
	// Once the broker answers, memory comes back and sends go through again.
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, Record{Topic: "slow", Value: make([]byte, 500)}).Wait(ctx); err != nil {
		t.Fatalf("after the buffer drained: %v", err)
	}
}

// TestSmallBufferMemoryStartsSmallBatches: with a buffer.memory far below batch.size, each
// batch, taken for sending before the next record comes, starts as small as its record
// needs, so several batches wait for their answers at once; the partition's buffer hint
// once asked a 4 KiB buffer of each, and the second send failed with ErrBufferFull.
func TestSmallBufferMemoryStartsSmallBatches(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("small", 1))
	c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Partition: kafkatest.AnyPartition, Delay: 2 * time.Second, Times: -1})
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), BufferMemory: 4096, MaxBlock: 200 * time.Millisecond, Linger: -1})
	ctx := ctxTimeout(t, 20*time.Second)
	const n = 5 // of about 580 bytes each, batch header included
	for i := range n {
		if err := p.SendAsync(ctx, Record{Topic: "small", Value: make([]byte, 500)}, nil); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		for p.Stats().Requests < int64(i+1) { // the batch is on its way before the next send
			if ctx.Err() != nil {
				t.Fatalf("batch %d never sent", i)
			}
			time.Sleep(time.Millisecond)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(c.Records("small", 0)); got != n {
		t.Fatalf("%d records stored, want %d", got, n)
	}
}

// TestCompressedCopySizedByRatio checks, for each codec, that a batch's compressed copy
// takes a buffer of about the size its partition's last batch compressed to, not one of its
// uncompressed size, and fits in it; and that a batch compressing far worse than that
// estimate still compresses whole, its grown buffer counted and, like the others, given back.
func TestCompressedCopySizedByRatio(t *testing.T) {
	c := newCluster(t)
	const size = 1 << 20
	words := strings.Fields("kafka producer record batch partition leader broker offset topic value key header timestamp request response error retry linger")
	for _, codec := range []compress.Codec{compress.Gzip, compress.Snappy, compress.LZ4, compress.Zstd} {
		t.Run(codec.String(), func(t *testing.T) {
			p := newProducer(t, Config{BootstrapServers: c.Addrs(), Compression: codec, BatchSize: size, BufferMemory: 64 << 20})
			pa := new(partition)
			rng := rand.New(rand.NewPCG(1, 2))
			newBatch := func(incompressible bool) *batch {
				b := p.newBatch(pa, p.mem.getNow(size), 0)
				var v []byte
				for i := 0; len(b.buf) < size-1024; i++ {
					v = v[:0]
					for len(v) < 100 {
						if incompressible {
							v = binary.LittleEndian.AppendUint64(v, rng.Uint64())
						} else {
							v = append(v, words[rng.IntN(len(words))]...)
							v = append(v, ' ')
						}
					}
					b.buf = wire.AppendRecord(b.buf, int32(i), 0, nil, v, nil)
					b.count++
				}
				if err := p.encode(b); err != nil {
					t.Fatal(err)
				}
				out, err := compress.Decompress(codec, nil, b.wireBuf[wire.RecordBatchHeaderSize:], size)
				if err != nil || !bytes.Equal(out, b.buf[wire.RecordBatchHeaderSize:]) {
					t.Fatalf("the compressed copy does not decompress to the records: %v", err)
				}
				return b
			}
			first := newBatch(false)
			if cap(first.wireBuf) != size {
				t.Fatalf("first compressed copy in %d bytes, want the uncompressed size %d (no estimate yet)", cap(first.wireBuf), size)
			}
			second := newBatch(false)
			// The buffer's class: the estimate with its margin, rounded up to a power of two.
			want := 4 << 10
			for want < len(first.wireBuf)+len(first.wireBuf)/8+1024 {
				want <<= 1
			}
			if cap(second.wireBuf) != want {
				t.Fatalf("second compressed copy of %d bytes in a buffer of %d, want %d (the first took %d)", len(second.wireBuf), cap(second.wireBuf), want, len(first.wireBuf))
			}
			third := newBatch(true)
			if len(third.wireBuf) < size/2 {
				t.Fatalf("random values compressed to %d bytes", len(third.wireBuf))
			}
			if got, want := p.mem.inUse.Load(), int64(3*size+cap(first.wireBuf)+cap(second.wireBuf)+cap(third.wireBuf)); got != want {
				t.Fatalf("%d bytes of buffer.memory in use, want %d", got, want)
			}
			for _, b := range []*batch{first, second, third} {
				p.recycle(b)
			}
			if got := p.mem.inUse.Load(); got != 0 {
				t.Fatalf("%d bytes of buffer.memory in use after the batches were recycled", got)
			}
		})
	}
}

func TestMetadataWaitIsBounded(t *testing.T) {
	c := newCluster(t, kafkatest.AutoCreateTopics(false))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), MaxBlock: 300 * time.Millisecond})
	ctx := ctxTimeout(t, 10*time.Second)
	if err := p.Send(ctx, Record{Topic: "missing", Value: []byte("v")}).Wait(ctx); !errors.Is(err, ErrTimeout) {
		t.Fatalf("unknown topic: %v", err)
	}
}

func TestRetriableErrorsKeepOrder(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("retry", 2))
	for _, code := range []int16{wire.ErrNotLeaderOrFollower.Code, wire.ErrNotEnoughReplicas.Code, wire.ErrRequestTimedOut.Code} {
		c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Partition: kafkatest.AnyPartition, ErrorCode: code, Times: 5})
	}
	c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Partition: kafkatest.AnyPartition,
		ErrorCode: wire.ErrRequestTimedOut.Code, AppendAnyway: true, Times: 5})
	for _, idem := range []Switch{Enabled, Disabled} {
		topic := fmt.Sprintf("retry-%d", idem)
		if err := c.CreateTopic(topic, 2); err != nil {
			t.Fatal(err)
		}
		p := newProducer(t, Config{BootstrapServers: c.Addrs(), Idempotence: idem, RetryBackoff: time.Millisecond, RetryBackoffMax: 10 * time.Millisecond, Linger: time.Millisecond, BatchSize: 300})
		ctx := ctxTimeout(t, 30*time.Second)
		const n = 400
		for i := 0; i < n; i++ {
			if err := p.SendAsync(ctx, Record{Topic: topic, Key: []byte{byte(i % 2)}, Value: []byte(strconv.Itoa(i))}, func(_ RecordMetadata, err error) {
				if err != nil {
					t.Errorf("record failed: %v", err)
				}
			}); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		seen := map[int]int{}
		for pa := int32(0); pa < 2; pa++ {
			last := -1
			for _, r := range c.Records(topic, pa) {
				v, _ := strconv.Atoi(string(r.Value))
				seen[v]++
				if idem == Enabled && v <= last {
					t.Errorf("idempotent: %d after %d in partition %d", v, last, pa)
				}
				if idem == Disabled && v < last && seen[v] == 1 {
					t.Errorf("not idempotent: %d first written after %d in partition %d", v, last, pa)
				}
				last = max(last, v)
			}
		}
		for i := 0; i < n; i++ {
			if seen[i] == 0 || idem == Enabled && seen[i] != 1 {
				t.Errorf("idempotence %v: record %d written %d times", idem, i, seen[i])
			}
		}
	}
}

func TestFatalErrorsSurface(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("denied", 1), kafkatest.SeedTopic("fine", 1))
	c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "denied", Partition: kafkatest.AnyPartition,
		ErrorCode: wire.ErrTopicAuthorizationFailed.Code, Times: -1})
	p := newProducer(t, Config{BootstrapServers: c.Addrs()})
	ctx := ctxTimeout(t, 20*time.Second)
	err := p.Send(ctx, Record{Topic: "denied", Value: []byte("v")}).Wait(ctx)
	var pe *PartitionError
	var ke *KafkaError
	if !errors.Is(err, wire.ErrTopicAuthorizationFailed) || !errors.As(err, &pe) || pe.Topic != "denied" || pe.Partition != 0 || !errors.As(err, &ke) || ke.Retriable {
		t.Fatalf("got %v", err)
	}
	// Other topics are unaffected, and so is the producer (its epoch is bumped).
	if err := p.Send(ctx, Record{Topic: "fine", Value: []byte("v")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, Record{Topic: "fine", Value: []byte("w")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestLeaderMoveMidStream(t *testing.T) {
	testutil.CheckNoLeaks(t)
	c := newCluster(t, kafkatest.SeedTopic("moving", 3))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Linger: time.Millisecond, BatchSize: 500, RetryBackoff: time.Millisecond})
	ctx := ctxTimeout(t, 30*time.Second)
	const n = 3000
	var failed atomic.Int64
	for i := 0; i < n; i++ {
		if i%300 == 150 {
			pa := int32(i/300) % 3
			if err := c.MoveLeader("moving", pa, (c.Leader("moving", pa)+1)%3); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.SendAsync(ctx, Record{Topic: "moving", Key: []byte{byte(i % 7)}, Value: []byte(strconv.Itoa(i))}, func(_ RecordMetadata, err error) {
			if err != nil {
				failed.Add(1)
			}
		}); err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if failed.Load() != 0 {
		t.Fatalf("%d records failed", failed.Load())
	}
	total := 0
	for pa := int32(0); pa < 3; pa++ {
		last := map[byte]int{}
		for _, r := range c.Records("moving", pa) {
			total++
			v, _ := strconv.Atoi(string(r.Value))
			if prev, ok := last[r.Key[0]]; ok && v <= prev {
				t.Fatalf("key %d: %d after %d", r.Key[0], v, prev)
			}
			last[r.Key[0]] = v
		}
	}
	if total != n {
		t.Fatalf("%d records stored, want %d", total, n)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestBootstrapFailover(t *testing.T) {
	c := newCluster(t)
	dead := "127.0.0.1:1" // nothing listens there
	p := newProducer(t, Config{BootstrapServers: append([]string{dead}, c.Addrs()...)})
	ctx := ctxTimeout(t, 20*time.Second)
	if err := p.Send(ctx, Record{Topic: "failover", Value: []byte("v")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestAcksZero(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("acks0", 1))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Acks: AcksNone})
	ctx := ctxTimeout(t, 20*time.Second)
	md, err := p.Send(ctx, Record{Topic: "acks0", Value: []byte("v")}).Get(ctx)
	if err != nil || md.Offset != -1 {
		t.Fatalf("acks=0: %+v %v", md, err)
	}
	if _, err := c.WaitForRecords(ctx, "acks0", 1); err != nil {
		t.Fatal(err)
	}
}

func TestDeliveryTimeoutWithoutLeader(t *testing.T) {
	c := newCluster(t, kafkatest.NumBrokers(1), kafkatest.SeedTopic("stuck", 1))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), RequestTimeout: 200 * time.Millisecond,
		DeliveryTimeout: 500 * time.Millisecond, Linger: -1, RetryBackoff: 10 * time.Millisecond})
	ctx := ctxTimeout(t, 20*time.Second)
	if err := p.Send(ctx, Record{Topic: "stuck", Value: []byte("first")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.StopBroker(0); err != nil {
		t.Fatal(err)
	}
	err := p.Send(ctx, Record{Topic: "stuck", Value: []byte("lost")}).Wait(ctx)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("with the only broker down: %v", err)
	}
	if err := c.StartBroker(0); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, Record{Topic: "stuck", Value: []byte("back")}).Wait(ctx); err != nil {
		t.Fatalf("after the broker came back: %v", err)
	}
}

// A Close called while another goroutine's Close is under way waits for it and returns its
// error: when it returns, every record has its outcome. One whose own ctx ends first returns
// that ctx's error.
func TestCloseCalledTwiceWaits(t *testing.T) {
	testutil.CheckNoLeaks(t)
	for _, firstTimesOut := range []bool{false, true} {
		t.Run(fmt.Sprintf("firstTimesOut=%v", firstTimesOut), func(t *testing.T) {
			c := newCluster(t, kafkatest.SeedTopic("twice", 1))
			p := newProducer(t, Config{BootstrapServers: c.Addrs(), Linger: NoLinger})
			ctx := ctxTimeout(t, 20*time.Second)
			if err := p.Send(ctx, Record{Topic: "twice", Value: []byte("warm")}).Wait(ctx); err != nil {
				t.Fatal(err)
			}
			fault := kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Partition: kafkatest.AnyPartition, Delay: 300 * time.Millisecond}
			firstCtx := ctx
			if firstTimesOut {
				fault = kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Partition: kafkatest.AnyPartition, Swallow: true, Times: -1}
				short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
				defer cancel()
				firstCtx = short
			}
			c.InjectFault(fault)
			f := p.Send(ctx, Record{Topic: "twice", Value: []byte("v")})
			first := make(chan error, 1)
			go func() { first <- p.Close(firstCtx) }()
			waitFor(t, ctx, "the first Close to start", p.closed.Load)

			gone, cancel := context.WithCancel(ctx)
			cancel()
			if err := p.Close(gone); !errors.Is(err, context.Canceled) {
				t.Fatalf("a later Close with its ctx ended: %v, want context.Canceled", err)
			}
			err := p.Close(ctx)
			select {
			case <-f.Done():
			default:
				t.Fatal("a later Close returned before the record had its outcome")
			}
			if want := <-first; err != want {
				t.Fatalf("later Close: %v, first: %v", err, want)
			}
			if firstTimesOut != (err != nil) {
				t.Fatalf("Close: %v", err)
			}
		})
	}
}

func TestCloseWithRecordsInFlight(t *testing.T) {
	testutil.CheckNoLeaks(t)
	c := newCluster(t, kafkatest.SeedTopic("closing", 2))
	c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Partition: kafkatest.AnyPartition, Swallow: true, Times: -1})
	p, err := New(Config{BootstrapServers: c.Addrs(), Linger: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxTimeout(t, 20*time.Second)
	const n = 1000
	var failed, called atomic.Int64
	for i := 0; i < n; i++ {
		if err := p.SendAsync(ctx, Record{Topic: "closing", Value: []byte("v")}, func(_ RecordMetadata, err error) {
			called.Add(1)
			if errors.Is(err, ErrClosed) {
				failed.Add(1)
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := p.Close(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("close: %v", err)
	}
	if called.Load() != n || failed.Load() != n {
		t.Fatalf("%d callbacks, %d with ErrClosed, want %d", called.Load(), failed.Load(), n)
	}
}

func TestConcurrentSendAndClose(t *testing.T) {
	testutil.CheckNoLeaks(t)
	c := newCluster(t)
	p, err := New(Config{BootstrapServers: c.Addrs()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxTimeout(t, 20*time.Second)
	var wg sync.WaitGroup
	var calls, accepted atomic.Int64
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				if p.SendAsync(ctx, Record{Topic: "race", Value: []byte("v")}, func(RecordMetadata, error) { calls.Add(1) }) == nil {
					accepted.Add(1)
				}
			}
		}()
	}
	time.Sleep(5 * time.Millisecond)
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if calls.Load() != 2000 {
		t.Fatalf("%d callbacks for 2000 sends (%d accepted)", calls.Load(), accepted.Load())
	}
}

func TestClock(t *testing.T) {
	var c clock
	c.reanchor()
	before := time.Now().UnixMilli()
	got := c.nowMs()
	after := time.Now().UnixMilli()
	if got < before || got > after {
		t.Fatalf("clock %d outside [%d, %d]", got, before, after)
	}
}

func TestIdleConnectionsClose(t *testing.T) {
	testutil.CheckNoLeaks(t)
	c := newCluster(t, kafkatest.NumBrokers(1), kafkatest.SeedTopic("idle", 1))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), ConnectionsMaxIdle: 50 * time.Millisecond, Linger: -1})
	ctx := ctxTimeout(t, 20*time.Second)
	for i := 0; i < 3; i++ {
		if err := p.Send(ctx, Record{Topic: "idle", Value: []byte("v")}).Wait(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(150 * time.Millisecond) // the sink's connection closes meanwhile
	}
	if got := len(c.Records("idle", 0)); got != 3 {
		t.Fatalf("%d records", got)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestMetadataRequestsBackOff: a send waiting for an unknown topic must not make the
// producer ask for metadata in a loop.
func TestMetadataRequestsBackOff(t *testing.T) {
	c := newCluster(t, kafkatest.AutoCreateTopics(false))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), MaxBlock: time.Second, RetryBackoff: 50 * time.Millisecond, RetryBackoffMax: 200 * time.Millisecond})
	ctx := ctxTimeout(t, 10*time.Second)
	if err := p.Send(ctx, Record{Topic: "never", Value: []byte("v")}).Wait(ctx); !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v", err)
	}
	// One second of waiting with backoffs from 50 ms to 200 ms allows about ten requests.
	if n := c.RequestCount(wire.KeyMetadata); n > 30 {
		t.Fatalf("%d Metadata requests while one send waited a second", n)
	}
}

// TestLeaderDownDoesNotSpin: while a partition's leader is down, the producer retries with
// backoff instead of dialing and refreshing in a loop.
func TestLeaderDownDoesNotSpin(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("down", 3))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), RetryBackoff: 50 * time.Millisecond, RetryBackoffMax: 200 * time.Millisecond,
		DeliveryTimeout: time.Hour, Linger: -1})
	ctx := ctxTimeout(t, 20*time.Second)
	if err := p.Send(ctx, Record{Topic: "down", Partition: ToPartition(1), Value: []byte("x")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.StopBroker(c.Leader("down", 1)); err != nil {
		t.Fatal(err)
	}
	before := c.RequestCount(wire.KeyMetadata)
	fut := p.Send(ctx, Record{Topic: "down", Partition: ToPartition(1), Value: []byte("y")})
	time.Sleep(time.Second)
	if n := c.RequestCount(wire.KeyMetadata) - before; n > 30 {
		t.Fatalf("%d Metadata requests in a second with a leader down", n)
	}
	if err := c.StartBroker(c.Leader("down", 1)); err != nil {
		t.Fatal(err)
	}
	if err := fut.Wait(ctx); err != nil {
		t.Fatalf("after the broker came back: %v", err)
	}
}
