// Package exampleutil is the main function the examples share: flags, Ctrl-C, and the
// embedded in-memory cluster they run against when no real one is named. What each
// example shows is in its own run function.
package exampleutil

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gregor-kafka/producer/kafkatest"
)

// RunFunc is an example's body: produce to the cluster at bootstrap, report on out.
type RunFunc func(ctx context.Context, bootstrap string, out io.Writer) error

// Main runs an example as a program and exits with its status.
func Main(name string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, name, os.Args[1:], os.Stdout, os.Stderr, run)
	stop()
	os.Exit(code)
}

// Run parses the example's flags from args and calls run: with -bootstrap-server against
// that cluster, otherwise against an embedded three-broker kafkatest cluster started for
// the run. It returns the exit code: 0, 1 when run failed, 2 for bad flags.
func Run(ctx context.Context, name string, args []string, stdout, stderr io.Writer, run RunFunc) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	bootstrap := fs.String("bootstrap-server", "", "Kafka bootstrap servers, host:port[,host:port...]; empty starts an embedded in-memory cluster")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", name, fs.Arg(0))
		return 2
	}
	if *bootstrap == "" {
		c, err := kafkatest.NewCluster(kafkatest.NumBrokers(3))
		if err != nil {
			fmt.Fprintf(stderr, "%s: starting the embedded cluster: %v\n", name, err)
			return 1
		}
		defer c.Close()
		*bootstrap = strings.Join(c.Addrs(), ",")
		fmt.Fprintf(stderr, "%s: no -bootstrap-server given: running against an embedded in-memory cluster at %s\n", name, *bootstrap)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := run(ctx, *bootstrap, stdout); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}
