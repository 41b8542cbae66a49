package exampleutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var got string
	record := func(_ context.Context, bootstrap string, out io.Writer) error {
		got = bootstrap
		fmt.Fprint(out, "ran")
		return nil
	}
	var stdout, stderr strings.Builder
	if code := Run(context.Background(), "ex", nil, &stdout, &stderr, record); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if n := len(strings.Split(got, ",")); n != 3 || !strings.HasPrefix(got, "127.0.0.1:") {
		t.Errorf("embedded bootstrap %q: want three loopback brokers", got)
	}
	if !strings.Contains(stderr.String(), "ex: no -bootstrap-server given: running against an embedded in-memory cluster at "+got) || stdout.String() != "ran" {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}

	stderr.Reset()
	if code := Run(context.Background(), "ex", []string{"-bootstrap-server", "kafka:9092"}, io.Discard, &stderr, record); code != 0 || got != "kafka:9092" || stderr.Len() != 0 {
		t.Errorf("with -bootstrap-server: exit %d, bootstrap %q, stderr %q", code, got, stderr.String())
	}

	fail := func(context.Context, string, io.Writer) error { return errors.New("boom") }
	stderr.Reset()
	if code := Run(context.Background(), "ex", []string{"-bootstrap-server", "k:1"}, io.Discard, &stderr, fail); code != 1 || stderr.String() != "ex: boom\n" {
		t.Errorf("failing run: exit %d, stderr %q", code, stderr.String())
	}
	for _, args := range [][]string{{"-nope"}, {"extra"}} {
		if code := Run(context.Background(), "ex", args, io.Discard, io.Discard, record); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}
