package main

import (
	"bytes"
	"context"
	"flag"
	"github.com/gregor-kafka/producer/internal/testutil"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/kafkatest"
)

// result is what a command run left.
type result struct {
	code           int
	stdout, stderr string
}

// testEnv returns an env reading stdin and writing to the returned buffers, as run
// builds it for a non-terminal stderr.
func testEnv(stdin io.Reader) (*env, *testutil.SyncBuffer, *testutil.SyncBuffer) {
	var stdout, stderr testutil.SyncBuffer
	e := &env{
		stdin:         stdin,
		stdout:        &stdout,
		stderr:        newConsole(&stderr),
		progressEvery: time.Second,
		reportEvery:   5 * time.Second,
	}
	return e, &stdout, &stderr
}

// runCmd runs the command line args with stdin and returns what it left.
func runCmd(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(ctxTimeout(t, 60*time.Second), args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func newCluster(t *testing.T, opts ...kafkatest.Option) *kafkatest.Cluster {
	t.Helper()
	c, err := kafkatest.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"help"}, "Commands:"},
		{[]string{"--help"}, "Commands:"},
		{[]string{"-h"}, "Commands:"},
		{[]string{"help", "produce"}, "Usage: gregor produce"},
		{[]string{"help", "perf"}, "Usage: gregor perf"},
		{[]string{"help", "broker"}, "Usage: gregor broker"},
		{[]string{"produce", "--help"}, "Usage: gregor produce"},
		{[]string{"produce", "-h"}, "Usage: gregor produce"},
		{[]string{"perf", "-help"}, "Usage: gregor perf"},
		{[]string{"broker", "--help"}, "Usage: gregor broker"},
		// --help wins over the rest of the line, as package flag stops there.
		{[]string{"produce", "-t", "x", "--help", "-X", "nonsense"}, "Usage: gregor produce"},
	} {
		r := runCmd(t, "", tc.args...)
		if r.code != 0 || !strings.Contains(r.stdout, tc.want) || r.stderr != "" {
			t.Errorf("gregor %q: exit %d, stdout %q, stderr %q; want exit 0 and %q on stdout", tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
	}
}

// TestUsageDocumentsEveryFlag keeps the hand-written usage texts in step with the flags.
func TestUsageDocumentsEveryFlag(t *testing.T) {
	for _, c := range commands() {
		fs := c.flags()
		if fs.Name() != c.name {
			t.Errorf("command %s has flag set %s", c.name, fs.Name())
		}
		fs.VisitAll(func(f *flag.Flag) {
			dashes := "--"
			if len(f.Name) == 1 {
				dashes = "-"
			}
			if !regexp.MustCompile(`(^|[\s,])` + regexp.QuoteMeta(dashes+f.Name) + `[\s,]`).MatchString(c.usage) {
				t.Errorf("usage of %s does not document %s%s", c.name, dashes, f.Name)
			}
		})
		if !strings.Contains(c.usage, "Usage: gregor "+c.name) {
			t.Errorf("usage of %s lacks its Usage line", c.name)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	tmp := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string // in stderr
	}{
		{nil, "no command given"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"help", "bogus"}, `unknown command "bogus"`},
		{[]string{"produce"}, "-t TOPIC is required"},
		{[]string{"produce", "-t", "x", "--nope"}, "flag provided but not defined: -nope"},
		{[]string{"produce", "-t"}, "flag needs an argument: -t"},
		{[]string{"produce", "-t", "x", "-X", "foo.bar=1"}, `unknown property "foo.bar"; the supported ones are: acks, `},
		{[]string{"produce", "-t", "x", "-Xlinger.ms=1", "-Xacks=2"}, `acks="2": want all, -1, 1 or 0`},
		{[]string{"produce", "-t", "x", "-X", "linger.ms"}, `want prop=VALUE, got "linger.ms"`},
		{[]string{"produce", "-t", "x", "-H", "novalue"}, `want key=VALUE, got "novalue"`},
		{[]string{"produce", "-t", "x", "-K", ""}, "-K: the key delimiter is empty"},
		{[]string{"produce", "-t", "x", "-D", `\q`}, `unknown escape \q`},
		{[]string{"produce", "-t", "x", "-D", `\x4`}, `\x needs two hex digits`},
		{[]string{"produce", "-t", "x", "-p", "-2"}, "-p -2: want -1"},
		{[]string{"produce", "-t", "x", "-k", "key", "-K:"}, "-k and -K: give the key once"},
		{[]string{"produce", "-t", "x", "-c", "-1"}, "-c -1: want a positive count"},
		{[]string{"produce", "-t", "x", "-z", "brotli"}, `compression.type="brotli"`},
		{[]string{"produce", "-t", "x", "-z", "lz4", "-X", "compression.type=zstd"}, "compression.type given both as a property and with -z; give it once"},
		{[]string{"produce", "-t", "x", "-p", "2147483648"}, "-p 2147483648"},
		{[]string{"produce", "-t", "x", "-b", "h:1", "-X", "bootstrap.servers=h:2"}, "give it once"},
		{[]string{"produce", "-t", "x", "-b", "nohostport"}, `"nohostport" is not host:port`},
		{[]string{"produce", "-t", "x", "-b", "h:1", "-X", "delivery.timeout.ms=10"}, "delivery.timeout.ms"},
		{[]string{"produce", "-t", "x", "--producer.config", tmp + "/missing"}, "no such file"},
		{[]string{"perf", "--num-records", "0"}, "--num-records 0: must be positive"},
		{[]string{"perf", "--record-size", "-1"}, "--record-size -1"},
		{[]string{"perf", "--record-size", "10", "--payload-file", "f"}, "not both"},
		{[]string{"perf", "--throughput", "0"}, "--throughput 0"},
		{[]string{"perf", "--throughput", "NaN"}, "--throughput NaN"},
		{[]string{"perf", "--throughput", "fast"}, `invalid value "fast" for flag -throughput`},
		{[]string{"perf", "extra"}, `unexpected argument "extra"`},
		{[]string{"perf", "-X", "bogus=1"}, `unknown property "bogus"`},
		{[]string{"perf", "-X", "linger_ms=1"}, `unknown property "linger_ms": did you mean "linger.ms"?`},
		{[]string{"perf", "--payload-file", "f", "--payload-delimiter", ""}, "--payload-delimiter is empty"},
		{[]string{"broker", "--brokers", "2", "--ports", "0,0,0"}, "--brokers 2 but 3 --ports"},
		{[]string{"broker", "--ports", "x"}, `--ports: "x" is not a port number`},
		{[]string{"broker", "--ports", "70000"}, `"70000" is not a port number`},
		{[]string{"broker", "--brokers", "0"}, "--brokers 0: want 1 to 100"},
		{[]string{"broker", "--partitions", "0"}, "--partitions 0: must be positive"},
		{[]string{"broker", "--topic", "t"}, "want NAME:PARTITIONS"},
		{[]string{"broker", "--topic", "t:0"}, "partition count must be a positive number"},
		{[]string{"broker", "now"}, `unexpected argument "now"`},
	} {
		r := runCmd(t, "", tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("gregor %q: exit %d, stderr %q; want exit 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
		if r.stdout != "" {
			t.Errorf("gregor %q: usage error wrote %q on stdout", tc.args, r.stdout)
		}
		if strings.Contains(r.stderr, "started an embedded") {
			t.Errorf("gregor %q: usage error started a cluster: %q", tc.args, r.stderr)
		}
		if len(tc.args) > 0 && tc.args[0] != "bogus" && tc.args[0] != "help" && !strings.Contains(r.stderr, "--help' for usage") {
			t.Errorf("gregor %q: no pointer to --help in %q", tc.args, r.stderr)
		}
	}
}
