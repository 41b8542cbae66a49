package producer

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readmeBlock returns the first ```go block of README.md after the heading.
func readmeBlock(t *testing.T, heading string) string {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no %q", heading)
	}
	_, block, ok := strings.Cut(after, "```go\n")
	if !ok {
		t.Fatalf("no go block after %q", heading)
	}
	block, _, ok = strings.Cut(block, "\n```")
	if !ok {
		t.Fatalf("unterminated go block after %q", heading)
	}
	return block + "\n"
}

// TestReadmeQuickStart: the README's quick start compiles as written, and runs: against an
// in-memory cluster in place of localhost:9092, it sends its records and says so.
func TestReadmeQuickStart(t *testing.T) {
	src := readmeBlock(t, "## Quick start")
	if err := typeCheck(t, src); err != nil {
		t.Fatalf("the quick start does not compile:\n%v", err)
	}

	c := newCluster(t)
	const addr = `"localhost:9092"`
	if strings.Count(src, addr) != 1 {
		t.Fatalf("the quick start names %s %d times, want once", addr, strings.Count(src, addr))
	}
	src = strings.Replace(src, addr, `"`+c.Addrs()[0]+`"`, 1)

	// go run builds the program as a package of this module that exists only in an
	// overlay, so that it imports the producer as it is here.
	dir := t.TempDir()
	file := filepath.Join(dir, "main.go")
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(root, "internal", "readmequickstart", "main.go"): file}})
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctxTimeout(t, 2*time.Minute), "go", "run", "-overlay", overlayFile, "./internal/readmequickstart")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"written to sample partition ", "async record written at offset ", "4 records sent, 0 failed\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if stderr.Len() > 0 {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	recs, err := c.WaitForRecords(ctxTimeout(t, 10*time.Second), "sample", 4)
	if err != nil || len(recs) != 4 {
		t.Fatalf("%d records in sample (%v), want 4", len(recs), err)
	}
	values := map[string]bool{}
	for _, r := range recs {
		values[string(r.Value)] = true
	}
	for _, v := range []string{"hello", "async", "fire-and-forget", `{"user":"user-42","action":"signed up"}`} {
		if !values[v] {
			t.Errorf("no record %q in %v", v, values)
		}
	}
}
