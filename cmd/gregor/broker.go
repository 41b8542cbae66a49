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
SIGTERM, so that any Kafka producer or tool can be tried against it. The bootstrap
list is printed on stdout, one line; the rest goes to stderr. The brokers answer
ApiVersions, Metadata, Produce and InitProducerId and check every batch strictly;
there is no fetching, so consumers cannot read the records back. On exit the number
of records each topic received is printed.

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
  -v, --verbose
        log what a real broker would (closed connections, refused requests) on stderr

Example:
  gregor broker --ports 9092,9093,9094 &
  gregor produce -b 127.0.0.1:9092 -t sample < lines.txt
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
}

func (o *brokerOpts) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	fs.IntVar(&o.brokers, "brokers", 3, "")
	fs.StringVar(&o.portList, "ports", "", "")
	fs.IntVar(&o.partitions, "partitions", 3, "")
	fs.Var(&o.topics, "topic", "")
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

	opts := append([]kafkatest.Option{kafkatest.Ports(ports...), kafkatest.DefaultPartitions(int32(o.partitions))}, o.topics...)
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
	e.stderr.printf("gregor broker: %d brokers up:%s\ntopics are created on first use with %d partitions; Ctrl-C stops\n",
		len(addrs), nodes.String(), o.partitions)

	<-ctx.Done()
	c.Close()
	e.stderr.printf("gregor broker: stopped\n")
	for _, t := range c.Topics() {
		n := c.Partitions(t)
		total := 0
		for i := range n {
			total += len(c.Records(t, int32(i)))
		}
		e.stderr.printf("  topic %s: %d records in %d partitions\n", t, total, n)
	}
	return exitOK
}
