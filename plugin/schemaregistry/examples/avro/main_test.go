package main

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/plugin/schemaregistry"
	"github.com/gregor-kafka/producer/plugin/schemaregistry/srtest"
)

// TestRun reads the records back from the cluster and decodes them with the schema the
// registry holds for the id each carries.
func TestRun(t *testing.T) {
	c, err := kafkatest.NewCluster(kafkatest.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	registry := srtest.NewServer()
	defer registry.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	var out strings.Builder
	if err := run(ctx, strings.Join(c.Addrs(), ","), registry.URL(), &out); err != nil {
		t.Fatal(err)
	}
	recs, err := c.WaitForRecords(ctx, "sample", 10)
	if err != nil || len(recs) != 10 {
		t.Fatalf("%d records in sample (%v), want 10", len(recs), err)
	}
	client, err := schemaregistry.NewClient(schemaregistry.Config{URLs: []string{registry.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	latest, err := client.SchemaByVersion(ctx, "sample-value", schemaregistry.Latest)
	if err != nil {
		t.Fatal(err)
	}
	sent := map[int]int{} // index -> number
	for _, r := range recs {
		id, payload, err := schemaregistry.ParseHeader(r.Value)
		if err != nil || r.Key != nil || id != latest.ID {
			t.Fatalf("record %+v: want a null key and schema id %d (%v)", r, latest.ID, err)
		}
		s, err := client.SchemaByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var v Reading
		if err := avro.Unmarshal(avro.MustParse(s.Schema), payload, &v); err != nil {
			t.Fatal(err)
		}
		if v.Number < 0 || v.Number >= 1000 {
			t.Errorf("number %d out of range", v.Number)
		}
		sent[v.Index] = v.Number
	}
	if len(sent) != 10 {
		t.Fatalf("indexes sent: %v", sent)
	}

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 13 || lines[0] != "sending 10 random numbers to topic sample as Avro through 3 brokers" ||
		lines[1] != "schema id "+strconv.Itoa(latest.ID)+" (subject sample-value)" || lines[12] != "done: 10 records in topic sample" {
		t.Fatalf("output:\n%s", out.String())
	}
	re := regexp.MustCompile(`^number (\d) = +(\d+): partition [0-2], offset \d+$`)
	for _, l := range lines[2:12] {
		m := re.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q does not match %s", l, re)
		}
		i, _ := strconv.Atoi(m[1])
		n, _ := strconv.Atoi(m[2])
		if sent[i] != n {
			t.Errorf("printed number %d = %d, the record says %d", i, n, sent[i])
		}
	}
}

// TestRunMain runs the program as a user would, with nothing named: it starts its own cluster
// and registry.
func TestRunMain(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := runMain(t.Context(), nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	if !strings.Contains(stderr.String(), "embedded in-memory cluster") || !strings.Contains(stderr.String(), "fake registry") ||
		!strings.HasSuffix(stdout.String(), "done: 10 records in topic sample\n") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", &stdout, &stderr)
	}
	if code := runMain(t.Context(), []string{"-registry", "ftp://nowhere"}, &stdout, &stderr); code != 1 {
		t.Fatalf("a bad registry URL: exit %d", code)
	}
	if code := runMain(t.Context(), []string{"-nope"}, &stdout, &stderr); code != 2 {
		t.Fatalf("a bad flag: exit %d", code)
	}
}
