package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/kafkatest"
)

const produceUsage = `Usage: gregor produce -t TOPIC [flags] [FILE ...]

Sends one record per line of the FILEs, or of stdin when none is given ("-" is stdin),
like kcat -P or kafka-console-producer. Delivery errors are printed per record on
stderr, with a summary at the end; the exit code is 1 if any record failed. Ctrl-C
stops reading, waits for the records already accepted and exits with code 130.
An empty line is a record with an empty value. Flags come before the FILEs.

Flags:
  -t, --topic TOPIC
        topic to produce to (required)
  -K, --key-delimiter SEP
        split each record at the first SEP into key and value (kcat -K); a record
        without SEP fails. Joined, the rest of the argument is SEP: -K: or -K= (as
        kcat). Without -K records have a null key
  -D, --delimiter DELIM
        record delimiter (default \n, with a \r before it dropped, as for Windows
        text). SEP and DELIM understand \n \r \t \0 \\ \xHH
  -H, --header KEY=VALUE
        header added to every record; repeatable
  -p, --partition N
        partition to produce to; default -1: the partitioner chooses (murmur2 of the
        key as the Java client, sticky for records without a key)
` + producerFlagsUsage + `
Examples:
  gregor produce -b localhost:9092 -t sample < lines.txt
  printf 'k1:v1\nk2:v2\n' | gregor produce -b localhost:9092 -t sample -K:
  gregor produce -t sample -H source=cli -X acks=1 -X compression.type=zstd a.txt b.txt
`

// maxRecordBytes bounds one record read from the input, delimiter search included.
const maxRecordBytes = 64 << 20

// produceOpts are the flags of produce.
type produceOpts struct {
	topic     string
	keySep    stringFlag
	delim     stringFlag
	headers   kvList
	partition int64
	pf        producerFlags
}

func (o *produceOpts) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("produce", flag.ContinueOnError)
	o.headers.what = "key"
	fs.StringVar(&o.topic, "t", "", "")
	fs.StringVar(&o.topic, "topic", "", "")
	fs.Var(&o.keySep, "K", "")
	fs.Var(&o.keySep, "key-delimiter", "")
	fs.Var(&o.delim, "D", "")
	fs.Var(&o.delim, "delimiter", "")
	fs.Var(&o.headers, "H", "")
	fs.Var(&o.headers, "header", "")
	fs.Int64Var(&o.partition, "p", -1, "")
	fs.Int64Var(&o.partition, "partition", -1, "")
	o.pf.register(fs)
	return fs
}

// produce is the produce command.
func (e *env) produce(ctx context.Context, args []string) int {
	o := &produceOpts{}
	fs := o.flagSet()
	if done, code := e.parseFlags(fs, produceUsage, "KD", args); done {
		return code
	}
	const name = "produce"
	if o.topic == "" {
		return e.usageError(name, "-t TOPIC is required")
	}
	sep, err := unescape(o.keySep.value)
	if err != nil {
		return e.usageError(name, "-K: %v", err)
	}
	if o.keySep.set && sep == "" {
		return e.usageError(name, "-K: the key delimiter is empty")
	}
	d := "\n"
	if o.delim.set {
		if d, err = unescape(o.delim.value); err != nil {
			return e.usageError(name, "-D: %v", err)
		}
		if d == "" {
			return e.usageError(name, "-D: the delimiter is empty")
		}
	}
	if o.partition < -1 || o.partition > math.MaxInt32 {
		return e.usageError(name, "-p %d: want -1 (the partitioner chooses) or a partition number", o.partition)
	}
	pr := &produceRun{e: e, ctx: ctx, topic: o.topic, delim: []byte(d)}
	if o.keySep.set {
		pr.keySep = []byte(sep)
	}
	for _, h := range o.headers.pairs {
		pr.headers = append(pr.headers, producer.Header{Key: h[0], Value: []byte(h[1])})
	}
	if o.partition >= 0 {
		pr.partition = producer.ToPartition(int32(o.partition))
	}

	inputs, closeInputs, err := e.openInputs(fs.Args())
	if err != nil {
		e.stderr.printf("gregor produce: %v\n", err)
		return exitFailed
	}
	defer closeInputs()

	t, code := e.newProducer(name, &o.pf, nil)
	if t == nil {
		return code
	}
	defer t.closeCluster()
	return pr.run(t.p, t.cluster, inputs)
}

// input is one source of records.
type input struct {
	name string
	r    io.Reader
}

// openInputs opens the files named by args, or stdin when there are none; "-" is stdin.
// Every file is opened before any record is sent, so a typo sends nothing.
func (e *env) openInputs(args []string) ([]input, func(), error) {
	if len(args) == 0 {
		return []input{{"stdin", e.stdin}}, func() {}, nil
	}
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	var inputs []input
	for _, a := range args {
		if a == "-" {
			inputs = append(inputs, input{"stdin", e.stdin})
			continue
		}
		f, err := os.Open(a)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		files = append(files, f)
		inputs = append(inputs, input{a, f})
	}
	return inputs, closeAll, nil
}

// produceRun is one run of the produce command.
type produceRun struct {
	e         *env
	ctx       context.Context
	topic     string
	delim     []byte
	keySep    []byte // nil: no keys
	headers   []producer.Header
	partition producer.PartitionChoice

	read        atomic.Int64 // records read from the input
	sent        atomic.Int64 // acknowledged
	failed      atomic.Int64 // refused or failed, reported on stderr
	interrupted atomic.Int64 // not sent because of Ctrl-C
}

// run sends every record of inputs, then closes p and prints the summary.
func (pr *produceRun) run(p *producer.Producer, cluster *kafkatest.Cluster, inputs []input) int {
	e := pr.e
	start := time.Now()
	stopProgress := pr.showProgress(start)

	// The inputs are read on their own goroutine so that Ctrl-C is noticed even while a
	// read from a terminal blocks; that goroutine is then abandoned to the process exit.
	readDone := make(chan struct{})
	var readErr error
	go func() {
		defer close(readDone)
		readErr = pr.readAll(p, inputs)
	}()
	interrupted := false
	select {
	case <-readDone:
		interrupted = pr.ctx.Err() != nil
	case <-pr.ctx.Done():
		interrupted = true
	}
	_ = p.Close(context.Background()) // waits for every accepted record; delivery.timeout.ms bounds it
	stopProgress()
	elapsed := time.Since(start)

	var stopped error // readErr may only be read once readDone is closed
	if !interrupted {
		stopped = readErr
	}
	if stopped != nil {
		e.stderr.printf("gregor produce: %v\n", stopped)
	}
	sent, failed := pr.sent.Load(), pr.failed.Load()
	e.stderr.printf("gregor produce: %d records sent, %d failed in %v (%.0f records/s)\n",
		sent, failed, elapsed.Round(time.Millisecond), float64(sent)/elapsed.Seconds())
	if interrupted {
		e.stderr.printf("gregor produce: interrupted; records read but not sent: %d\n", pr.interrupted.Load())
	}
	if cluster != nil {
		pr.describeEmbedded(cluster)
	}
	switch {
	case failed > 0 || stopped != nil:
		return exitFailed
	case interrupted:
		return exitInterrupted
	}
	return exitOK
}

// readAll reads and sends the records of every input in turn. It stops at the first read
// error, when the context ends, or when a send fails in a way the next records would too
// (no metadata, buffer full).
func (pr *produceRun) readAll(p *producer.Producer, inputs []input) error {
	for _, in := range inputs {
		sc := bufio.NewScanner(in.r)
		sc.Buffer(make([]byte, 0, 64<<10), maxRecordBytes)
		sc.Split(splitOn(pr.delim))
		for n := int64(1); sc.Scan(); n++ {
			if pr.ctx.Err() != nil {
				pr.interrupted.Add(1)
				return nil
			}
			pr.read.Add(1)
			if err := pr.send(p, in.name, n, sc.Bytes()); err != nil {
				return err
			}
		}
		if err := sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				return fmt.Errorf("%s: a record is longer than %d MiB; stopped reading", in.name, maxRecordBytes>>20)
			}
			return fmt.Errorf("%s: %w", in.name, err)
		}
	}
	return nil
}

// send sends record n of input name. data is only valid until it returns: SendAsync copies
// the record into its batch before returning.
func (pr *produceRun) send(p *producer.Producer, name string, n int64, data []byte) error {
	rec := producer.Record{Topic: pr.topic, Partition: pr.partition, Headers: pr.headers, Value: data}
	if pr.keySep != nil {
		k, v, ok := bytes.Cut(data, pr.keySep)
		if !ok {
			pr.failed.Add(1)
			pr.e.stderr.printf("gregor produce: %s record %d: no key delimiter %q in it; not sent\n", name, n, pr.keySep)
			return nil
		}
		rec.Key, rec.Value = k, v
	}
	err := p.SendAsync(pr.ctx, rec, func(_ producer.RecordMetadata, err error) {
		switch {
		case err == nil:
			pr.sent.Add(1)
		case pr.ctx.Err() != nil && (errors.Is(err, producer.ErrClosed) || errors.Is(err, context.Canceled)):
			pr.interrupted.Add(1)
		default:
			pr.failed.Add(1)
			pr.e.stderr.printf("gregor produce: %s record %d: %v\n", name, n, err)
		}
	})
	switch {
	case err == nil, errors.Is(err, producer.ErrRecordTooLarge), errors.Is(err, producer.ErrInvalidRecord):
		return nil // reported by the callback; the next record may do better
	case pr.ctx.Err() != nil:
		return nil
	}
	// The callback printed err; every record after this one would wait and fail as long.
	return fmt.Errorf("stopped reading at %s record %d: the records after it would fail the same way", name, n)
}

// splitOn is a bufio.SplitFunc for records ending with delim; an unterminated last record
// counts. With delim "\n" a \r before it is dropped.
func splitOn(delim []byte) bufio.SplitFunc {
	crlf := string(delim) == "\n"
	return func(data []byte, atEOF bool) (advance int, token []byte, err error) {
		if atEOF && len(data) == 0 {
			return 0, nil, nil
		}
		if i := bytes.Index(data, delim); i >= 0 {
			tok := data[:i:i]
			if crlf && i > 0 && tok[i-1] == '\r' {
				tok = tok[: i-1 : i-1]
			}
			return i + len(delim), tok, nil
		}
		if atEOF {
			return len(data), data, nil
		}
		return 0, nil, nil
	}
}

// showProgress prints a progress line every e.progressEvery while stderr is a terminal,
// until the returned function is called.
func (pr *produceRun) showProgress(start time.Time) (stop func()) {
	e := pr.e
	if !e.terminal || e.progressEvery <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(e.progressEvery)
		defer t.Stop()
		lastSent, last := int64(0), start
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				sent := pr.sent.Load()
				rate := float64(sent-lastSent) / now.Sub(last).Seconds()
				lastSent, last = sent, now
				e.stderr.status(progressLine(pr.read.Load(), sent, pr.failed.Load(), rate))
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

func progressLine(read, sent, failed int64, rate float64) string {
	return fmt.Sprintf("gregor produce: %d records read, %d sent, %d failed, %.0f records/s", read, sent, failed, rate)
}

// describeEmbedded says where the records went in the embedded cluster, which is about to
// vanish with them.
func (pr *produceRun) describeEmbedded(c *kafkatest.Cluster) {
	n := c.Partitions(pr.topic)
	if n == 0 {
		return
	}
	var b strings.Builder
	total := 0
	for i := range n {
		k := len(c.Records(pr.topic, int32(i)))
		total += k
		fmt.Fprintf(&b, " %d:%d", i, k)
	}
	pr.e.stderr.printf("gregor produce: the embedded cluster's topic %q holds %d records (by partition:%s)\n", pr.topic, total, b.String())
}
