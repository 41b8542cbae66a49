package producer

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"maps"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// typeCheck type-checks src, the text of one Go file, against this module's packages and
// the standard library as they are compiled now (export data from go list -export), and
// returns the type checker's errors joined, or nil when src compiles. It is how the tests
// show that a snippet users copy compiles, or that a misreading does not.
func typeCheck(t *testing.T, src string) error {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "snippet.go", src, 0)
	if err != nil {
		return err
	}
	var paths []string
	for _, is := range f.Imports {
		path, _ := strconv.Unquote(is.Path.Value)
		paths = append(paths, path)
	}
	exports := exportData(t, paths)
	var errs []string
	conf := types.Config{
		Importer: importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
			return os.Open(exports[path])
		}),
		Error: func(err error) { errs = append(errs, err.Error()) },
	}
	conf.Check(f.Name.Name, fset, []*ast.File{f}, nil)
	if len(errs) > 0 {
		return typeErrors(errs)
	}
	return nil
}

// exportCache holds the export data files of packages by import path, filled by go list.
var exportCache struct {
	sync.Mutex
	files map[string]string
}

// exportData returns the export data files of paths and their dependencies, by import path.
func exportData(t *testing.T, paths []string) map[string]string {
	t.Helper()
	exportCache.Lock()
	defer exportCache.Unlock()
	if exportCache.files == nil {
		exportCache.files = map[string]string{}
	}
	var missing []string
	for _, p := range paths {
		if _, ok := exportCache.files[p]; !ok {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		args := append([]string{"list", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}"}, missing...)
		cmd := exec.Command("go", args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			path, export, _ := strings.Cut(sc.Text(), "\t")
			exportCache.files[path] = export
		}
	}
	return maps.Clone(exportCache.files)
}

// typeErrors are the errors of a snippet that does not compile.
type typeErrors []string

func (e typeErrors) Error() string { return strings.Join(e, "\n") }
