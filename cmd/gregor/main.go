// Command gregor is the command-line face of the gregor Kafka producer.
//
//	gregor produce -t TOPIC [flags] [FILE ...]   records from stdin or files, like kcat -P
//	gregor perf [flags]                          a load test, like kafka-producer-perf-test
//	gregor broker [flags]                        an in-memory Kafka cluster (kafkatest)
//
// Without --bootstrap-server, produce and perf start an embedded in-memory cluster, so
// `go run ./cmd/gregor perf` works on a machine with nothing else installed. Run
// `gregor help COMMAND` for each command's flags.
//
// Exit codes: 0 success, 1 a record or the run failed, 2 a usage error, 130 interrupted
// (after flushing what was accepted).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130 // 128 + SIGINT, as shells report a command killed by Ctrl-C
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, a second one kills the process the default way.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what a command runs with: its streams and the knobs tests turn.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr *console
	// terminal reports whether stderr is a terminal, which turns on progress lines.
	terminal bool
	// progressEvery is the period of produce's progress line on a terminal.
	progressEvery time.Duration
	// reportEvery is the period of perf's window line.
	reportEvery time.Duration
}

// run runs the command line args (without the program name) and returns the exit code.
// ctx ending is an interrupt: the running command flushes what it accepted and stops.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{
		stdin:         stdin,
		stdout:        stdout,
		stderr:        newConsole(stderr),
		terminal:      isTerminal(stderr),
		progressEvery: time.Second,
		reportEvery:   5 * time.Second,
	}
	return e.run(ctx, args)
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	usage   string
	run     func(e *env, ctx context.Context, args []string) int
	// flags returns the command's flag set, for the test that its usage documents them all.
	flags func() *flag.FlagSet
}

// commands returns the subcommands in the order help lists them.
func commands() []command {
	return []command{
		{"produce", "send records read from stdin or files, one per line", produceUsage, (*env).produce,
			func() *flag.FlagSet { return new(produceOpts).flagSet() }},
		{"perf", "measure producer throughput and latency, like kafka-producer-perf-test", perfUsage, (*env).perf,
			func() *flag.FlagSet { return new(perfOpts).flagSet() }},
		{"broker", "run an in-memory Kafka cluster (kafkatest) until interrupted", brokerUsage, (*env).broker,
			func() *flag.FlagSet { return new(brokerOpts).flagSet() }},
	}
}

func lookupCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func (e *env) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		e.stderr.printf("gregor: no command given\n\n")
		e.printUsage(e.stderr)
		return exitUsage
	}
	switch name := args[0]; name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && name == "help" {
			c, ok := lookupCommand(args[1])
			if !ok {
				e.stderr.printf("gregor help: unknown command %q\nRun 'gregor help' for the list of commands.\n", args[1])
				return exitUsage
			}
			fmt.Fprint(e.stdout, c.usage)
			return exitOK
		}
		e.printUsage(e.stdout)
		return exitOK
	default:
		c, ok := lookupCommand(name)
		if !ok {
			e.stderr.printf("gregor: unknown command %q\nRun 'gregor help' for the list of commands.\n", name)
			return exitUsage
		}
		return c.run(e, ctx, args[1:])
	}
}

func (e *env) printUsage(w io.Writer) {
	fmt.Fprint(w, "gregor is the command-line tool of the gregor Kafka producer.\n\nUsage:\n\n\tgregor COMMAND [flags] [arguments]\n\nCommands:\n\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "\t%-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `	help     show the flags of a command: gregor help COMMAND

Without --bootstrap-server, produce and perf start an embedded in-memory cluster.
Exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted.
`)
}
