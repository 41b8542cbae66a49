package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/gregor-kafka/producer/kafkatest"
)

func TestSplitJoinedFlags(t *testing.T) {
	fs := new(produceOpts).flagSet()
	fs.Bool("bool", false, "") // one boolean for the table
	for _, tc := range []struct{ in, want []string }{
		{[]string{"-K:", "-t", "x"}, []string{"-K", ":", "-t", "x"}},
		{[]string{"-Xacks=all", "-p0"}, []string{"-X", "acks=all", "-p", "0"}},
		{[]string{"-K=:", "-K="}, []string{"-K", "=:", "-K", "="}},               // verbatim, as getopt
		{[]string{"-p=0"}, []string{"-p=0"}},                                     // package flag's own form
		{[]string{"-topic", "x"}, []string{"-topic", "x"}},                       // a long name with one dash
		{[]string{"--topic=x", "-D;"}, []string{"--topic=x", "-D", ";"}},         // = form, then joined
		{[]string{"-H", "-Kx", "-K;"}, []string{"-H", "-Kx", "-K", ";"}},         // a value that looks like a flag
		{[]string{"-bool", "-K:"}, []string{"-bool", "-K", ":"}},                 // a boolean takes no value
		{[]string{"-t", "x", "file", "-K:"}, []string{"-t", "x", "file", "-K:"}}, // flags end at the first argument
		{[]string{"--", "-K:"}, []string{"--", "-K:"}},
		{[]string{"-", "-K:"}, []string{"-", "-K:"}},
		{[]string{"-Zz"}, []string{"-Zz"}}, // unknown: left to package flag to report
		{[]string{"--K:"}, []string{"--K:"}},
	} {
		if got := splitJoinedFlags(fs, "KD", tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("splitJoinedFlags(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestUnescape(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "", want: ""},
		{in: ":", want: ":"},
		{in: `\n`, want: "\n"},
		{in: `\r\n`, want: "\r\n"},
		{in: `a\tb`, want: "a\tb"},
		{in: `\0`, want: "\x00"},
		{in: `\\`, want: `\`},
		{in: `\x1f|`, want: "\x1f|"},
		{in: `\xFF`, want: "\xff"},
		{in: `\`, err: "lone backslash"},
		{in: `\x`, err: "two hex digits"},
		{in: `\xg0`, err: "two hex digits"},
		{in: `\u0041`, err: `unknown escape \u`},
	} {
		got, err := unescape(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("unescape(%q): error %v, want one with %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("unescape(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestSplitOn(t *testing.T) {
	for _, tc := range []struct {
		delim, in string
		want      []string
	}{
		{"\n", "", nil},
		{"\n", "a", []string{"a"}},
		{"\n", "a\n", []string{"a"}},
		{"\n", "a\r\nb\n\nc", []string{"a", "b", "", "c"}},
		{"\n", "\r\n\r", []string{"", "\r"}}, // \r is dropped only before the delimiter
		{"\n", "x\r\r\n", []string{"x\r"}},
		{";", "a;b\r;", []string{"a", "b\r"}}, // no \r dropping with other delimiters
		{"||", "a|b||c|||d", []string{"a|b", "c", "|d"}},
		{"\x00", "k\x00v\x00", []string{"k", "v"}},
	} {
		// A reader returning one byte at a time makes the split function see partial input.
		sc := bufio.NewScanner(iotest.OneByteReader(strings.NewReader(tc.in)))
		sc.Split(splitOn([]byte(tc.delim)))
		var got []string
		for sc.Scan() {
			got = append(got, sc.Text())
		}
		if sc.Err() != nil || !slices.Equal(got, tc.want) {
			t.Errorf("split %q at %q: %q (%v), want %q", tc.in, tc.delim, got, sc.Err(), tc.want)
		}
	}
}

func TestProperties(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "producer.properties")
	os.WriteFile(file, []byte("# comment\n! also a comment\n\nacks = 0\nlinger.ms: 7\nclient.id=from-file\nbatch.size 50\nretries   =  9\n"), 0o600)
	pf := producerFlags{configFile: file, bootstrap: "h:1"}
	pf.props.Set("acks=1")
	pf.props.Set("batch.size=100")
	props, err := pf.properties(map[string]string{"client.id": "default", "retries": "3", "max.block.ms": "5"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"acks": "1", "linger.ms": "7", "client.id": "from-file", "batch.size": "100",
		"retries": "9", "max.block.ms": "5", "bootstrap.servers": "h:1",
	}
	if fmt.Sprint(props) != fmt.Sprint(want) {
		t.Errorf("properties: %v, want %v", props, want)
	}

	// A line without a key is an error that names the line but does not quote it.
	bad := filepath.Join(dir, "bad.properties")
	os.WriteFile(bad, []byte("acks=1\n=hunter2\n"), 0o600)
	if _, err := readPropertiesFile(bad); err == nil || !strings.Contains(err.Error(), "bad.properties:2") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("bad file: %v, want an error at line 2 without its text", err)
	}
	// A key alone has the empty value, as in Java.
	alone := filepath.Join(dir, "alone.properties")
	os.WriteFile(alone, []byte("transactional.id\n"), 0o600)
	if props, err := readPropertiesFile(alone); err != nil || len(props) != 1 || props["transactional.id"] != "" {
		t.Errorf("key alone: %v %v", props, err)
	}
	// A property given twice, by a flag of the command and as a property, is refused.
	pf = producerFlags{shorthands: [][3]string{{"-z", "compression.type", "lz4"}}}
	pf.props.Set("compression.type=zstd")
	if _, err := pf.properties(nil); err == nil || err.Error() != "compression.type given both as a property and with -z; give it once" {
		t.Errorf("-z and -X compression.type: %v", err)
	}
}

// TestPropertiesFileAsJava: a Java client's producer.properties is used as it is, and a
// misspelt secret in it is named, never shown.
func TestPropertiesFileAsJava(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("t", 1))
	dir := t.TempDir()
	java := filepath.Join(dir, "producer.properties")
	os.WriteFile(java, []byte("bootstrap.servers="+bootstrap(c)+"\n"+
		"key.serializer=org.apache.kafka.common.serialization.StringSerializer\n"+
		"value.serializer=org.apache.kafka.common.serialization.ByteArraySerializer\n"+
		"acks=all\nlinger.ms=0\nretries=0\n"), 0o600)
	r := runCmd(t, "v\n", "produce", "-t", "t", "--producer.config", java)
	if r.code != 0 || len(c.Records("t", 0)) != 1 {
		t.Fatalf("exit %d, %d records: %s", r.code, len(c.Records("t", 0)), r.stderr)
	}

	secret := filepath.Join(dir, "secret.properties")
	os.WriteFile(secret, []byte("bootstrap.servers=h:1\nsasl.pasword=hunter2\n"), 0o600)
	r = runCmd(t, "", "produce", "-t", "t", "--producer.config", secret)
	if r.code != exitUsage || !strings.Contains(r.stderr, `unknown property "sasl.pasword": did you mean "sasl.password"?`) || strings.Contains(r.stderr, "hunter2") {
		t.Errorf("misspelt secret: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestConsoleClearsProgress(t *testing.T) {
	var out strings.Builder
	c := newConsole(&out)
	c.status("1 read")
	c.status("2 read")
	c.printf("error\n")
	c.printf("summary\n")
	want := "\r1 read\x1b[K\r2 read\x1b[K\r\x1b[Kerror\nsummary\n"
	if out.String() != want {
		t.Errorf("console wrote %q, want %q", out.String(), want)
	}
}

// FuzzSplitOn checks that the records split out of any input hold no delimiter and, joined
// again with it, give the input back (with or without a final delimiter), and that
// unescaping a delimiter never panics.
func FuzzSplitOn(f *testing.F) {
	f.Add([]byte("a;b;;c"), ";")
	f.Add([]byte("k:v||k2:v2||"), "||")
	f.Add([]byte("\x00\x00x"), `\0`)
	f.Add([]byte("aaaa"), "aa")
	f.Add([]byte("line\r\nline\n"), `\r\n`)
	f.Fuzz(func(t *testing.T, data []byte, delimArg string) {
		delim, err := unescape(delimArg)
		if err != nil || delim == "" || delim == "\n" { // "\n" drops \r: not a pure split
			return
		}
		sc := bufio.NewScanner(iotest.HalfReader(bytes.NewReader(data)))
		sc.Buffer(make([]byte, 0, 16), len(data)+len(delim)+16)
		sc.Split(splitOn([]byte(delim)))
		var toks []string
		for sc.Scan() {
			toks = append(toks, sc.Text())
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		joined := strings.Join(toks, delim)
		if string(data) != joined && string(data) != joined+delim || len(toks) == 0 && len(data) > 0 {
			t.Fatalf("split %q at %q into %q", data, delim, toks)
		}
		for _, tok := range toks {
			if strings.Contains(tok, delim) {
				t.Fatalf("split %q at %q into %q: a record holds the delimiter", data, delim, toks)
			}
		}
	})
}
