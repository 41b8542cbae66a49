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
	"sync"
	"sync/atomic"
	"time"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/kafkatest"
)

const produceUsage = `Usage: gregor produce -t TOPIC [flags] [FILE ...]

Sends records to TOPIC, like kcat -P or kafka-console-producer: one record per line
of stdin, or one record per FILE (its whole content; with -l, one per line of it).
"-" is stdin. Delivery errors are printed per record on stderr, with a summary at the
end; the exit code is 1 if any record failed. Ctrl-C stops reading, waits for the
records already accepted and exits with code 130. An empty line is a record with an
empty value. Flags come before the FILEs.

Flags:
  -t, --topic TOPIC
        topic to produce to (required)
  -k, --key KEY
        the key of every record (kcat -k); without -k and -K records have a null key
  -K, --key-delimiter SEP
        split each line at the first SEP into key and value (kcat -K); a line
        without SEP fails. Joined, the rest of the argument is SEP: -K: or -K= (as
        kcat). Not with -k; whole-file records are not split
  -D, --delimiter DELIM
        record delimiter (default \n, with a \r before it dropped, as for Windows
        text). SEP and DELIM understand \n \r \t \0 \\ \xHH
  -l    split FILEs into records at DELIM too, as stdin (kcat -l)
  -H, --header KEY=VALUE
        header added to every record; repeatable
  -p, --partition N
        partition to produce to; default -1: the partitioner chooses (murmur2 of the
        key as the Java client, sticky for records without a key)
  -z, --compression CODEC
        none, gzip, snappy, lz4 or zstd: -X compression.type=CODEC (kcat -z)
  -c, --count N
        stop after N records (kcat -c)
  -T, --tee
        write each record accepted to stdout, followed by DELIM for a line (kcat -T)
  -v, --verbose
        print a delivery report per record on stderr: its partition and offset
` + producerFlagsUsage + `
Examples:
  gregor produce -b localhost:9092 -t sample < lines.txt
  printf 'k1:v1\nk2:v2\n' | gregor produce -b localhost:9092 -t sample -K: -v
  gregor produce -t images -k cat -z zstd cat.jpg
  gregor produce -t sample -H source=cli -X acks=1 -l a.txt b.txt
`

// maxRecordBytes bounds one record read from the input, delimiter search included.
const maxRecordBytes = 64 << 20

// produceOpts are the flags of produce.
type produceOpts struct {
	topic       string
	key         stringFlag
	keySep      stringFlag
	delim       stringFlag
	lines       bool
	headers     kvList
	partition   int64
	compression string
	count       int64
	tee         bool
	verbose     bool
	pf          producerFlags
}

func (o *produceOpts) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("produce", flag.ContinueOnError)
	o.headers.what = "key"
	fs.StringVar(&o.topic, "t", "", "")
	fs.StringVar(&o.topic, "topic", "", "")
	fs.Var(&o.key, "k", "")
	fs.Var(&o.key, "key", "")
	fs.Var(&o.keySep, "K", "")
	fs.Var(&o.keySep, "key-delimiter", "")
	fs.Var(&o.delim, "D", "")
	fs.Var(&o.delim, "delimiter", "")
	fs.BoolVar(&o.lines, "l", false, "")
	fs.Var(&o.headers, "H", "")
	fs.Var(&o.headers, "header", "")
	fs.Int64Var(&o.partition, "p", -1, "")
	fs.Int64Var(&o.partition, "partition", -1, "")
	fs.StringVar(&o.compression, "z", "", "")
	fs.StringVar(&o.compression, "compression", "", "")
	fs.Int64Var(&o.count, "c", 0, "")
	fs.Int64Var(&o.count, "count", 0, "")
	fs.BoolVar(&o.tee, "T", false, "")
	fs.BoolVar(&o.tee, "tee", false, "")
	fs.BoolVar(&o.verbose, "v", false, "")
	fs.BoolVar(&o.verbose, "verbose", false, "")
	o.pf.register(fs)
	return fs
}

// produce is the produce command.
func (e *env) produce(ctx context.Context, args []string) int {
	o := &produceOpts{}
	fs := o.flagSet()
	if done, code := e.parseFlags(fs, produceUsage, "KDk", args); done {
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
	if o.keySep.set && o.key.set {
		return e.usageError(name, "-k and -K: give the key once, or split it from each line")
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
	if o.count < 0 {
		return e.usageError(name, "-c %d: want a positive count", o.count)
	}
	if o.compression != "" {
		o.pf.shorthands = append(o.pf.shorthands, [3]string{"-z", "compression.type", o.compression})
	}
	pr := &produceRun{e: e, ctx: ctx, topic: o.topic, delim: []byte(d), limit: o.count, tee: o.tee, verbose: o.verbose}
	if o.keySep.set {
		pr.keySep = []byte(sep)
	}
	if o.key.set {
		pr.key = []byte(o.key.value)
	}
	for _, h := range o.headers.pairs {
		pr.headers = append(pr.headers, producer.Header{Key: h[0], Value: []byte(h[1])})
	}
	if o.partition >= 0 {
		pr.partition = producer.ToPartition(int32(o.partition))
	}

	inputs, closeInputs, err := e.openInputs(fs.Args(), o.lines)
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
	// whole makes the input one record, as kcat sends a FILE argument; otherwise it is
	// split at the delimiter.
	whole bool
}

// openInputs opens the files named by args, or stdin when there are none; "-" is stdin.
// A file is one record unless lines is set; stdin is always split into records. Every
// file is opened before any record is sent, so a typo sends nothing.
func (e *env) openInputs(args []string, lines bool) ([]input, func(), error) {
	if len(args) == 0 {
		return []input{{name: "stdin", r: e.stdin}}, func() {}, nil
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
			inputs = append(inputs, input{name: "stdin", r: e.stdin})
			continue
		}
		f, err := os.Open(a)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		files = append(files, f)
		inputs = append(inputs, input{name: a, r: f, whole: !lines})
	}
	return inputs, closeAll, nil
}

// produceRun is one run of the produce command.
type produceRun struct {
	e         *env
	ctx       context.Context
	topic     string
	delim     []byte
	key       []byte // -k: the key of every record; nil: none
	keySep    []byte // -K: split keys from lines; nil: no keys
	headers   []producer.Header
	partition producer.PartitionChoice
	limit     int64 // -c: records to read at most; 0: all
	tee       bool  // -T: echo records accepted on stdout
	verbose   bool  // -v: a delivery report per record

	teeMu   sync.Mutex
	teeDone bool // run has returned: the abandoned reader must not write stdout

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
	pr.teeMu.Lock()
	pr.teeDone = true
	pr.teeMu.Unlock()
	elapsed := time.Since(start)

	var stopped error // readErr may only be read once readDone is closed
	if !interrupted {
		stopped = readErr
	}
	if stopped != nil {
		e.stderr.printf("gregor produce: %v\n", stopped)
	}
	sent, failed := pr.sent.Load(), pr.failed.Load()
	e.stderr.printf("gregor produce: %s sent, %d failed in %v (%.0f records/s)\n",
		records(sent), failed, elapsed.Round(time.Millisecond), float64(sent)/elapsed.Seconds())
	if interrupted {
		e.stderr.printf("gregor produce: interrupted; %s read but not sent\n", records(pr.interrupted.Load()))
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

// records says "1 record" or "n records".
func records(n int64) string {
	if n == 1 {
		return "1 record"
	}
	return fmt.Sprintf("%d records", n)
}

// errLimit and errInterrupted end the reading when -c records have been read, or at
// Ctrl-C; neither is a failure.
var (
	errLimit       = errors.New("the -c count is reached")
	errInterrupted = errors.New("interrupted")
)

// readAll reads and sends the records of every input in turn. It stops at the first read
// error, when the context ends, after -c records, or when a send fails in a way the next
// records would too (no metadata, buffer full).
func (pr *produceRun) readAll(p *producer.Producer, inputs []input) error {
	for _, in := range inputs {
		var err error
		if in.whole {
			err = pr.readWhole(p, in)
		} else {
			err = pr.readSplit(p, in)
		}
		if err == errLimit || err == errInterrupted {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// next counts one more record read, or says why none may be: errLimit after -c records,
// errInterrupted (the record counted as interrupted) after Ctrl-C.
func (pr *produceRun) next() error {
	if pr.limit > 0 && pr.read.Load() >= pr.limit {
		return errLimit
	}
	if pr.ctx.Err() != nil {
		pr.interrupted.Add(1)
		return errInterrupted
	}
	pr.read.Add(1)
	return nil
}

// readWhole sends the whole of in as one record.
func (pr *produceRun) readWhole(p *producer.Producer, in input) error {
	if err := pr.next(); err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(in.r, maxRecordBytes+1))
	if err != nil {
		return fmt.Errorf("%s: %w", in.name, err)
	}
	if len(data) > maxRecordBytes {
		pr.failed.Add(1)
		pr.e.stderr.printf("gregor produce: %s is longer than %d MiB; not sent\n", in.name, maxRecordBytes>>20)
		return nil
	}
	return pr.send(p, in.name, 0, data, false)
}

// readSplit sends the records of in, split at the delimiter.
func (pr *produceRun) readSplit(p *producer.Producer, in input) error {
	sc := bufio.NewScanner(in.r)
	sc.Buffer(make([]byte, 0, 64<<10), maxRecordBytes)
	sc.Split(splitOn(pr.delim))
	for n := int64(1); ; n++ {
		if pr.limit > 0 && pr.read.Load() >= pr.limit {
			return errLimit // before Scan, which would wait for a line that is not wanted
		}
		if !sc.Scan() {
			break
		}
		if err := pr.next(); err != nil {
			return err
		}
		if err := pr.send(p, in.name, n, sc.Bytes(), true); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%s: a record is longer than %d MiB; stopped reading", in.name, maxRecordBytes>>20)
		}
		return fmt.Errorf("%s: %w", in.name, err)
	}
	return nil
}

// send sends data, record n of input name (0: the whole input), split into key and value
// when -K is given and data is a line. data is only valid until it returns: SendAsync
// copies the record into its batch before returning.
func (pr *produceRun) send(p *producer.Producer, name string, n int64, data []byte, line bool) error {
	what := name
	if n > 0 {
		what = fmt.Sprintf("%s record %d", name, n)
	}
	rec := producer.Record{Topic: pr.topic, Partition: pr.partition, Headers: pr.headers, Key: pr.key, Value: data}
	if pr.keySep != nil && line {
		k, v, ok := bytes.Cut(data, pr.keySep)
		if !ok {
			pr.failed.Add(1)
			pr.e.stderr.printf("gregor produce: %s: no key delimiter %q in it; not sent\n", what, pr.keySep)
			return nil
		}
		rec.Key, rec.Value = k, v
	}
	err := p.SendAsync(pr.ctx, rec, func(md producer.RecordMetadata, err error) {
		switch {
		case err == nil:
			pr.sent.Add(1)
			if pr.verbose {
				pr.e.stderr.printf("gregor produce: %s: delivered to %s\n", what, placement(md))
			}
		case pr.ctx.Err() != nil && (errors.Is(err, producer.ErrClosed) || errors.Is(err, context.Canceled)):
			pr.interrupted.Add(1)
		default:
			pr.failed.Add(1)
			pr.e.stderr.printf("gregor produce: %s: %s\n", what, libError(err))
		}
	})
	if err == nil && pr.tee {
		pr.echo(data, line)
	}
	switch {
	case err == nil, errors.Is(err, producer.ErrRecordTooLarge), errors.Is(err, producer.ErrInvalidRecord):
		return nil // reported by the callback; the next record may do better
	case pr.ctx.Err() != nil:
		return nil
	}
	// The callback printed err; every record after this one would wait and fail as long.
	return fmt.Errorf("stopped reading at %s: the records after it would fail the same way", what)
}

// echo writes a record accepted to stdout (-T), followed by the delimiter if it was a
// line, unless run has returned.
func (pr *produceRun) echo(data []byte, line bool) {
	pr.teeMu.Lock()
	defer pr.teeMu.Unlock()
	if pr.teeDone {
		return
	}
	pr.e.stdout.Write(data)
	if line {
		pr.e.stdout.Write(pr.delim)
	}
}

// placement says where a record was written: topic, partition and offset.
func placement(md producer.RecordMetadata) string {
	if md.Offset < 0 {
		return fmt.Sprintf("topic %q partition %d (offset unknown: acks=0)", md.Topic, md.Partition)
	}
	return fmt.Sprintf("topic %q partition %d at offset %d", md.Topic, md.Partition, md.Offset)
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
	return fmt.Sprintf("gregor produce: %s read, %d sent, %d failed, %.0f records/s", records(read), sent, failed, rate)
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
	pr.e.stderr.printf("gregor produce: the embedded cluster's topic %q holds %s (by partition:%s)\n", pr.topic, records(int64(total)), b.String())
}
