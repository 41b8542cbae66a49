package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"

	"github.com/gregor-kafka/producer/kafkatest"
)

const brokerUsage = `Usage: gregor broker [flags]

Runs kafkatest, gregor's in-memory Kafka cluster, on 127.0.0.1 until Ctrl-C or
SIGTERM, so that any Kafka producer, consumer or tool can be tried against it. The
bootstrap list is printed on stdout, one line; the rest goes to stderr. The brokers
answer ApiVersions, Metadata, Produce, Fetch, ListOffsets, InitProducerId and the
transaction APIs, and check every batch strictly. Consumers read the records back by
assigning partitions themselves (there are no consumer groups). On exit the number of
records each topic received is printed.

Flags:
  --brokers N
        number of brokers (default 3, or as many as --ports)
  --ports PORT,PORT,...
        the brokers' ports, in node id order (default 9092, 9093, ...); 0 picks a
        free port
  --partitions N
        partitions of the topics created on first use (default 3)
  --topic NAME:PARTITIONS
        create a topic at start; repeatable
  --no-auto-create
        do not create topics on first use (auto.create.topics.enable=false): only
        --topic topics exist, others are UNKNOWN_TOPIC_OR_PARTITION
  --retain-records N
        keep at most N records per partition in memory, dropping the oldest
        batches (the log start offset moves past them); 0 keeps all (default)
  --retain-bytes N
        keep at most N bytes of record batches per partition, as --retain-records
  -v, --verbose
        log what a real broker would on stderr: every refused batch with its error
        and reason, closed connections, refused requests

Example:
  gregor broker --ports 9092,9093,9094 &
  gregor produce -b 127.0.0.1:9092 -t sample < lines.txt
  kcat -C -b 127.0.0.1:9092 -t sample -o beginning -e
`

// firstPort is the default port of broker 0, Kafka's usual port.
const firstPort = 9092

// topicList is the repeatable --topic NAME:PARTITIONS flag.
type topicList []kafkatest.Option

func (l *topicList) String() string { return "" }

func (l *topicList) Set(s string) error {
	name, n, ok := strings.Cut(s, ":")
	if !ok || name == "" {
		return fmt.Errorf("want NAME:PARTITIONS, got %q", s)
	}
	parts, err := strconv.ParseInt(n, 10, 32)
	if err != nil || parts < 1 {
		return fmt.Errorf("%q: the partition count must be a positive number", s)
	}
	*l = append(*l, kafkatest.SeedTopic(name, int32(parts)))
	return nil
}

// brokerOpts are the flags of broker.
type brokerOpts struct {
	brokers    int
	portList   string
	partitions int
	topics     topicList
	verbose    bool
	noAuto     bool
	retainRecs int64
	retainSize int64
}

func (o *brokerOpts) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	fs.IntVar(&o.brokers, "brokers", 3, "")
	fs.StringVar(&o.portList, "ports", "", "")
	fs.IntVar(&o.partitions, "partitions", 3, "")
	fs.Var(&o.topics, "topic", "")
	fs.BoolVar(&o.noAuto, "no-auto-create", false, "")
	fs.Int64Var(&o.retainRecs, "retain-records", 0, "")
	fs.Int64Var(&o.retainSize, "retain-bytes", 0, "")
	fs.BoolVar(&o.verbose, "v", false, "")
	fs.BoolVar(&o.verbose, "verbose", false, "")
	return fs
}

// ports returns the brokers' ports: --ports, or as many as --brokers from firstPort on.
func (o *brokerOpts) ports(brokersSet bool) ([]int, error) {
	if o.portList == "" {
		if o.brokers < 1 || o.brokers > 100 {
			return nil, fmt.Errorf("--brokers %d: want 1 to 100", o.brokers)
		}
		ports := make([]int, o.brokers)
		for i := range ports {
			ports[i] = firstPort + i
		}
		return ports, nil
	}
	var ports []int
	for _, s := range strings.Split(o.portList, ",") {
		port, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || port < 0 || port > math.MaxUint16 {
			return nil, fmt.Errorf("--ports: %q is not a port number", s)
		}
		ports = append(ports, port)
	}
	if brokersSet && o.brokers != len(ports) {
		return nil, fmt.Errorf("--brokers %d but %d --ports", o.brokers, len(ports))
	}
	return ports, nil
}

// broker is the broker command.
func (e *env) broker(ctx context.Context, args []string) int {
	o := &brokerOpts{}
	fs := o.flagSet()
	if done, code := e.parseFlags(fs, brokerUsage, "", args); done {
		return code
	}
	const name = "broker"
	if fs.NArg() > 0 {
		return e.usageError(name, "unexpected argument %q", fs.Arg(0))
	}
	brokersSet := false
	fs.Visit(func(f *flag.Flag) { brokersSet = brokersSet || f.Name == "brokers" })
	ports, err := o.ports(brokersSet)
	if err != nil {
		return e.usageError(name, "%v", err)
	}
	if o.partitions < 1 || o.partitions > math.MaxInt32 {
		return e.usageError(name, "--partitions %d: must be positive", o.partitions)
	}

	if o.retainRecs < 0 {
		return e.usageError(name, "--retain-records %d: must not be negative", o.retainRecs)
	}
	if o.retainSize < 0 {
		return e.usageError(name, "--retain-bytes %d: must not be negative", o.retainSize)
	}

	opts := append([]kafkatest.Option{kafkatest.Ports(ports...), kafkatest.DefaultPartitions(int32(o.partitions)),
		kafkatest.AutoCreateTopics(!o.noAuto), kafkatest.RetainRecords(o.retainRecs), kafkatest.RetainBytes(o.retainSize)}, o.topics...)
	if o.verbose {
		opts = append(opts, kafkatest.Logger(slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	c, err := kafkatest.NewCluster(opts...)
	if err != nil {
		e.stderr.printf("gregor broker: %v\n", err)
		return exitFailed
	}
	addrs := c.Addrs()
	fmt.Fprintln(e.stdout, strings.Join(addrs, ","))
	var nodes strings.Builder
	for i, a := range addrs {
		fmt.Fprintf(&nodes, "\n  node %d at %s", i, a)
	}
	e.stderr.printf("gregor broker: %d brokers up:%s\n", len(addrs), nodes.String())
	if o.noAuto {
		e.stderr.printf("topics are not created on first use; Ctrl-C stops\n")
	} else {
		e.stderr.printf("topics are created on first use with %d partitions; Ctrl-C stops\n", o.partitions)
	}
	var bounds []string
	if o.retainRecs > 0 {
		bounds = append(bounds, nounCount(o.retainRecs, "record", "records"))
	}
	if o.retainSize > 0 {
		bounds = append(bounds, nounCount(o.retainSize, "byte", "bytes"))
	}
	if bounds != nil {
		e.stderr.printf("each partition keeps at most %s; older batches are dropped\n", strings.Join(bounds, " and "))
	}

	<-ctx.Done()
	c.Close()
	e.stderr.printf("gregor broker: stopped\n")
	for _, t := range c.Topics() {
		n := c.Partitions(t)
		kept := 0
		for i := range n {
			kept += len(c.Records(t, int32(i)))
		}
		written := c.RecordsWritten(t)
		line := fmt.Sprintf("  topic %s: %s in %s", t, nounCount(written, "record", "records"), nounCount(int64(n), "partition", "partitions"))
		if int64(kept) != written {
			line += fmt.Sprintf(", %d kept", kept)
		}
		e.stderr.printf("%s\n", line)
	}
	return exitOK
}

// nounCount returns "1 record", "2 records" and the like.
func nounCount(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
