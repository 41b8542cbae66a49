package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/kafkatest"
)

// console is stderr shared by the goroutines of a command: writes are serialized, and a
// progress line (written without a newline) is cleared before any other output.
type console struct {
	mu       sync.Mutex
	w        io.Writer
	progress bool // a progress line is on screen
}

func newConsole(w io.Writer) *console { return &console{w: w} }

// Write writes p after clearing the progress line, if one is shown.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.progress {
		io.WriteString(c.w, "\r\x1b[K")
		c.progress = false
	}
	return c.w.Write(p)
}

func (c *console) printf(format string, args ...any) { fmt.Fprintf(c, format, args...) }

// status replaces the progress line with line.
func (c *console) status(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	io.WriteString(c.w, "\r"+line+"\x1b[K")
	c.progress = true
}

// usageError reports a usage error of command name and returns the exit code for it.
func (e *env) usageError(name, format string, args ...any) int {
	e.stderr.printf("gregor %s: %s\nRun 'gregor %s --help' for usage.\n", name, fmt.Sprintf(format, args...), name)
	return exitUsage
}

// parseFlags parses args into fs, accepting kcat-style joined short flags ("-K:",
// "-Xacks=all"); see splitJoinedFlags for verbatim. It returns done when the command must
// stop with code: after --help or a usage error.
func (e *env) parseFlags(fs *flag.FlagSet, usage, verbatim string, args []string) (done bool, code int) {
	fs.SetOutput(io.Discard)
	err := fs.Parse(splitJoinedFlags(fs, verbatim, args))
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(e.stdout, usage)
		return true, exitOK
	case err != nil:
		return true, e.usageError(fs.Name(), "%v", err)
	}
	return false, 0
}

// splitJoinedFlags rewrites a one-letter flag joined to its value ("-K:", "-p0") as two
// arguments, which package flag needs. For the letters in verbatim the joined value is
// taken as written, "=" included, as getopt does (kcat's "-K=" splits keys at "="); for
// the others "-p=0" keeps package flag's meaning. Names fs defines as written ("-topic"),
// values of the previous flag and everything after the first non-flag argument are left
// alone.
func splitJoinedFlags(fs *flag.FlagSet, verbatim string, args []string) []string {
	out := make([]string, 0, len(args)+2)
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			return append(out, args[i:]...)
		}
		if a[1] != '-' && len(a) > 2 && strings.IndexByte(verbatim, a[1]) >= 0 {
			out = append(out, a[:2], a[2:])
			continue
		}
		name := strings.TrimLeft(a, "-")
		name, _, hasValue := strings.Cut(name, "=")
		if f := fs.Lookup(name); f != nil {
			out = append(out, a)
			if !hasValue && !isBoolFlag(f) && i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
			continue
		}
		if a[1] != '-' && len(a) > 2 {
			if f := fs.Lookup(a[1:2]); f != nil && !isBoolFlag(f) {
				out = append(out, a[:2], a[2:])
				continue
			}
		}
		out = append(out, a) // package flag reports it
	}
	return out
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// kvList is a repeatable KEY=VALUE flag (-X, -H), in the order given.
type kvList struct {
	what  string // "prop" or "key", for errors
	pairs [][2]string
}

func (l *kvList) String() string {
	var b strings.Builder
	for i, p := range l.pairs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p[0] + "=" + p[1])
	}
	return b.String()
}

func (l *kvList) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want %s=VALUE, got %q", l.what, s)
	}
	l.pairs = append(l.pairs, [2]string{k, v})
	return nil
}

// stringFlag is a string flag that remembers whether it was set.
type stringFlag struct {
	value string
	set   bool
}

func (f *stringFlag) String() string { return f.value }

func (f *stringFlag) Set(s string) error { f.value, f.set = s, true; return nil }

// producerFlags are the flags that configure the producer, shared by produce and perf.
type producerFlags struct {
	bootstrap  string
	props      kvList
	configFile string
	// shorthands are properties set by a command's own flags (produce -z), as
	// {flag, property, value}; giving one also as a property is an error.
	shorthands [][3]string
}

func (pf *producerFlags) register(fs *flag.FlagSet) {
	pf.props.what = "prop"
	fs.StringVar(&pf.bootstrap, "bootstrap-server", "", "")
	fs.StringVar(&pf.bootstrap, "b", "", "")
	fs.Var(&pf.props, "X", "")
	fs.Var(&pf.props, "producer-props", "")
	fs.Var(&pf.props, "producer-property", "")
	fs.StringVar(&pf.configFile, "producer.config", "", "")
}

const producerFlagsUsage = `  -b, --bootstrap-server HOST:PORT,...
        brokers to bootstrap from; without it (and without -X bootstrap.servers) an
        embedded in-memory cluster is started, whose records vanish on exit
  -X, --producer-property, --producer-props PROP=VALUE
        a producer property, as the Java client names it (acks, linger.ms,
        compression.type, batch.size, ...); repeatable; overrides --producer.config
  --producer.config FILE
        a Java properties file of producer properties (key=value lines), such as
        a Java client's producer.properties
`

// properties merges the producer properties: defaults, then the file, then -X, then
// --bootstrap-server and the shorthands. Unknown properties are left to
// producer.ConfigFromProperties, which suggests the property meant.
func (pf *producerFlags) properties(defaults map[string]string) (map[string]string, error) {
	props := map[string]string{}
	for k, v := range defaults {
		props[k] = v
	}
	if pf.configFile != "" {
		fileProps, err := readPropertiesFile(pf.configFile)
		if err != nil {
			return nil, err
		}
		for k, v := range fileProps {
			props[k] = v
		}
	}
	for _, p := range pf.props.pairs {
		props[p[0]] = p[1]
	}
	shorthands := pf.shorthands
	if pf.bootstrap != "" {
		shorthands = append(shorthands, [3]string{"--bootstrap-server", "bootstrap.servers", pf.bootstrap})
	}
	for _, s := range shorthands {
		if _, ok := props[s[1]]; ok {
			return nil, fmt.Errorf("%s given both as a property and with %s; give it once", s[1], s[0])
		}
		props[s[1]] = s[2]
	}
	return props, nil
}

// readPropertiesFile reads the lines of a Java properties file: key=value, key: value or
// key value; blank lines and lines starting with # or ! are skipped. Escapes and continued
// lines are not supported. Errors never quote a line, which may hold a secret.
func readPropertiesFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	props := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=: \t\f")
		if i == 0 {
			return nil, fmt.Errorf("%s:%d: the line has no key: want key=value", path, n)
		}
		if i < 0 {
			props[line] = "" // as Java: a key alone has the empty value
			continue
		}
		rest := strings.TrimLeft(line[i:], " \t\f")
		if rest != "" && (rest[0] == '=' || rest[0] == ':') {
			rest = rest[1:]
		}
		props[line[:i]] = strings.TrimSpace(rest)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return props, nil
}

// target is the producer of a command and the embedded cluster it sends to, if any.
type target struct {
	p       *producer.Producer
	cfg     producer.Config
	cluster *kafkatest.Cluster // nil with --bootstrap-server
}

// closeCluster stops the embedded cluster, if any; call it after closing the producer.
func (t *target) closeCluster() {
	if t.cluster != nil {
		t.cluster.Close()
	}
}

// newProducer builds the producer of command name from its flags. Without bootstrap
// servers it starts an embedded cluster first and says so on stderr. On failure it
// returns nil and the exit code: a bad property is a usage error.
func (e *env) newProducer(name string, pf *producerFlags, defaults map[string]string) (*target, int) {
	props, err := pf.properties(defaults)
	if err != nil {
		return nil, e.usageError(name, "%v", err)
	}
	t := &target{}
	t.cfg, err = producer.ConfigFromProperties(props)
	if err != nil {
		return nil, e.usageError(name, "%s", libError(err))
	}
	if len(t.cfg.BootstrapServers) == 0 {
		t.cluster, err = kafkatest.NewCluster()
		if err != nil {
			e.stderr.printf("gregor %s: starting the embedded cluster: %v\n", name, err)
			return nil, exitFailed
		}
		t.cfg.BootstrapServers = t.cluster.Addrs()
		e.stderr.printf("gregor %s: no --bootstrap-server given: started an embedded in-memory cluster "+
			"(kafkatest, %d brokers at %s); its records vanish on exit\n",
			name, len(t.cfg.BootstrapServers), strings.Join(t.cfg.BootstrapServers, ","))
	}
	t.p, err = producer.New(t.cfg)
	if err != nil {
		t.closeCluster()
		return nil, e.usageError(name, "%s", libError(err))
	}
	return t, exitOK
}

// libError is the message of an error of the producer library without its "producer: "
// prefix, to follow "gregor COMMAND: ".
func libError(err error) string { return strings.TrimPrefix(err.Error(), "producer: ") }

// unescape decodes the escapes \n \r \t \0 \\ and \xHH in a delimiter given on the
// command line.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", fmt.Errorf("%q ends with a lone backslash", s)
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '0':
			b.WriteByte(0)
		case '\\':
			b.WriteByte('\\')
		case 'x':
			if i+2 >= len(s) {
				return "", fmt.Errorf("%q: \\x needs two hex digits", s)
			}
			n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", fmt.Errorf("%q: \\x needs two hex digits", s)
			}
			b.WriteByte(byte(n))
			i += 2
		default:
			return "", fmt.Errorf("%q: unknown escape \\%c (known: \\n \\r \\t \\0 \\\\ \\xHH)", s, s[i])
		}
	}
	return b.String(), nil
}
