package producer

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestExamplesAreCopyable: every program under examples/ imports only the standard library
// and public packages of this module, so that it can be copied into another module as it
// is.
func TestExamplesAreCopyable(t *testing.T) {
	files, err := filepath.Glob("examples/*/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found (%v)", err)
	}
	const module = "github.com/gregor-kafka/producer"
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, is := range f.Imports {
			path, _ := strconv.Unquote(is.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			switch {
			case strings.Contains(path, "/internal/") || strings.HasSuffix(path, "/internal"):
				t.Errorf("%s imports %s, which another module cannot", name, path)
			case strings.HasPrefix(path, module+"/examples"):
				t.Errorf("%s imports %s: examples must stand alone", name, path)
			case path != module && !strings.HasPrefix(path, module+"/") && strings.Contains(first, "."):
				t.Errorf("%s imports %s, outside this module and the standard library", name, path)
			}
		}
	}
}
