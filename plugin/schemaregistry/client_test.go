package schemaregistry_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/plugin/schemaregistry"
	"github.com/gregor-kafka/producer/plugin/schemaregistry/srtest"
)

func TestRegisterLookupFetch(t *testing.T) {
	srv, c := newRegistry(t)
	ctx := t.Context()

	id, err := c.Register(ctx, "sample-value", avroSchema(readingSchema))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := c.Lookup(ctx, "sample-value", avroSchema(readingSchema))
	if err != nil {
		t.Fatal(err)
	}
	if ss.ID != id || ss.Version != 1 || ss.Subject != "sample-value" {
		t.Fatalf("Lookup = %+v, want id %d version 1", ss, id)
	}

	// The same schema under another subject keeps its id and starts that subject's versions.
	id2, err := c.Register(ctx, "archive-value", avroSchema(readingSchema))
	if err != nil || id2 != id {
		t.Fatalf("Register under a second subject = %d, %v; want id %d", id2, err, id)
	}

	// A new schema is a new id and the subject's version 2.
	const v2 = `{"type":"record","name":"Reading","namespace":"gregor.tutorial","fields":[{"name":"index","type":"int"},{"name":"number","type":"int"},{"name":"unit","type":"string","default":""}]}`
	id3, err := c.Register(ctx, "sample-value", avroSchema(v2))
	if err != nil || id3 == id {
		t.Fatalf("Register v2 = %d, %v; want a new id", id3, err)
	}
	latest, err := c.SchemaByVersion(ctx, "sample-value", schemaregistry.Latest)
	if err != nil {
		t.Fatal(err)
	}
	if latest.Version != 2 || latest.ID != id3 || latest.Type != schemaregistry.Avro || !strings.Contains(latest.Schema.Schema, `"unit"`) {
		t.Fatalf("latest = %+v", latest)
	}
	first, err := c.SchemaByVersion(ctx, "sample-value", 1)
	if err != nil || first.ID != id {
		t.Fatalf("version 1 = %+v, %v; want id %d", first, err, id)
	}
	versions, err := c.Versions(ctx, "sample-value")
	if err != nil || !slices.Equal(versions, []int{1, 2}) {
		t.Fatalf("Versions = %v, %v", versions, err)
	}
	subjects, err := c.Subjects(ctx)
	if err != nil || !slices.Equal(subjects, []string{"archive-value", "sample-value"}) {
		t.Fatalf("Subjects = %v, %v", subjects, err)
	}

	// A second client, with nothing cached, reads the schema by id from the registry.
	c2, err := schemaregistry.NewClient(schemaregistry.Config{URLs: []string{srv.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c2.SchemaByID(ctx, id3)
	if err != nil || got.Schema != v2 || got.Type != schemaregistry.Avro || got.References != nil {
		t.Fatalf("SchemaByID(%d) = %+v, %v", id3, got, err)
	}
}

// TestCacheBothWays: a registered schema's id and an id's schema are each asked for once.
func TestCacheBothWays(t *testing.T) {
	srv, c := newRegistry(t)
	ctx := t.Context()
	requests := func() int64 { return srv.Requests() }

	id, err := c.Register(ctx, "sample-value", avroSchema(readingSchema))
	if err != nil {
		t.Fatal(err)
	}
	n := requests()
	for range 3 {
		if again, err := c.Register(ctx, "sample-value", avroSchema(readingSchema)); err != nil || again != id {
			t.Fatalf("Register again = %d, %v", again, err)
		}
		// What Register sent is what SchemaByID returns, without asking.
		if s, err := c.SchemaByID(ctx, id); err != nil || s.Schema != readingSchema {
			t.Fatalf("SchemaByID = %+v, %v", s, err)
		}
	}
	if requests() != n {
		t.Fatalf("%d requests for cached answers", requests()-n)
	}

	// Lookup needs the version, which Register's answer lacks: one request, then cached.
	for range 2 {
		if ss, err := c.Lookup(ctx, "sample-value", avroSchema(readingSchema)); err != nil || ss.Version != 1 {
			t.Fatalf("Lookup = %+v, %v", ss, err)
		}
	}
	if requests() != n+1 {
		t.Fatalf("%d requests for two Lookups, want 1", requests()-n)
	}

	// Numbered versions are cached; Latest is asked for every time. (A fresh client: the
	// Lookup above cached version 1.)
	fresh, err := schemaregistry.NewClient(schemaregistry.Config{URLs: []string{srv.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	n = requests()
	for range 2 {
		if _, err := fresh.SchemaByVersion(ctx, "sample-value", 1); err != nil {
			t.Fatal(err)
		}
		if _, err := fresh.SchemaByVersion(ctx, "sample-value", schemaregistry.Latest); err != nil {
			t.Fatal(err)
		}
	}
	if requests() != n+3 {
		t.Fatalf("%d requests, want 3 (version 1 once, latest twice)", requests()-n)
	}

	// Returned references are copies: changing them does not change the cache.
	proto := schemaregistry.Schema{Schema: "syntax = \"proto3\";\nimport \"dep.proto\";\nmessage M { .D d = 1; }\n", Type: schemaregistry.Protobuf,
		References: []schemaregistry.Reference{{Name: "dep.proto", Subject: "dep.proto", Version: 1}}}
	if _, err := c.Register(ctx, "dep.proto", schemaregistry.Schema{Schema: "syntax = \"proto3\";\nmessage D {}\n", Type: schemaregistry.Protobuf}); err != nil {
		t.Fatal(err)
	}
	pid, err := c.Register(ctx, "m-value", proto)
	if err != nil {
		t.Fatal(err)
	}
	s1, _ := c.SchemaByID(ctx, pid)
	s1.References[0].Name = "changed"
	if s2, _ := c.SchemaByID(ctx, pid); s2.References[0].Name != "dep.proto" {
		t.Fatalf("the cache shares its references with callers: %+v", s2.References)
	}
}

func TestCacheCapacity(t *testing.T) {
	srv := srtest.NewServer()
	defer srv.Close()
	c, err := schemaregistry.NewClient(schemaregistry.Config{URLs: []string{srv.URL()}, CacheCapacity: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	ids := make([]int, 5)
	for i := range ids {
		if ids[i], err = c.Register(ctx, "s", avroSchema(fmt.Sprintf(`{"type":"fixed","name":"F%d","size":%d}`, i, i+1))); err != nil {
			t.Fatal(err)
		}
	}
	// Every id is still answered (from the registry when forgotten)...
	n := srv.Requests()
	for i, id := range ids {
		s, err := c.SchemaByID(ctx, id)
		if err != nil || !strings.Contains(s.Schema, fmt.Sprintf(`"F%d"`, i)) {
			t.Fatalf("SchemaByID(%d) = %+v, %v", id, s, err)
		}
	}
	// ...but at most two were remembered.
	if asked := srv.Requests() - n; asked < 3 {
		t.Fatalf("%d of 5 ids asked for with a cache of 2; want at least 3", asked)
	}
}

func TestErrorCodes(t *testing.T) {
	srv, c := newRegistry(t)
	ctx := t.Context()
	if _, err := c.Register(ctx, "sample-value", avroSchema(readingSchema)); err != nil {
		t.Fatal(err)
	}
	srv.SetCompatibility(func(subject string, prev []schemaregistry.Schema, next schemaregistry.Schema) error {
		if subject == "strict-value" && len(prev) > 0 {
			return errors.New("field number removed")
		}
		return nil
	})
	if _, err := c.Register(ctx, "strict-value", avroSchema(readingSchema)); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name     string
		call     func() error
		sentinel error
		status   int
		code     int
		text     string
	}{
		{"unknown id", func() error { _, err := c.SchemaByID(ctx, 999); return err },
			schemaregistry.ErrSchemaNotFound, 404, 40403, "schema not found"},
		{"unknown subject", func() error { _, err := c.SchemaByVersion(ctx, "nope", 1); return err },
			schemaregistry.ErrSubjectNotFound, 404, 40401, "subject not found"},
		{"unknown version", func() error { _, err := c.SchemaByVersion(ctx, "sample-value", 7); return err },
			schemaregistry.ErrVersionNotFound, 404, 40402, "version not found"},
		{"lookup in unknown subject", func() error { _, err := c.Lookup(ctx, "nope", avroSchema(readingSchema)); return err },
			schemaregistry.ErrSubjectNotFound, 404, 40401, "Subject 'nope' not found"},
		{"lookup of an unregistered schema", func() error { _, err := c.Lookup(ctx, "sample-value", avroSchema(`"string"`)); return err },
			schemaregistry.ErrSchemaNotFound, 404, 40403, "schema not found"},
		{"invalid Avro", func() error {
			_, err := c.Register(ctx, "bad-value", avroSchema(`{"type":"record","name":"R","fields":[{"name":"x","type":"nosuchtype"}]}`))
			return err
		}, schemaregistry.ErrInvalidSchema, 422, 42201, "invalid schema"},
		{"invalid Protobuf", func() error {
			_, err := c.Register(ctx, "bad-value", schemaregistry.Schema{Schema: "syntax = \"proto3\"; message M { int32 x = ; }", Type: schemaregistry.Protobuf})
			return err
		}, schemaregistry.ErrInvalidSchema, 422, 42201, "invalid schema"},
		{"invalid JSON Schema", func() error {
			_, err := c.Register(ctx, "bad-value", schemaregistry.Schema{Schema: `{"type": 12}`, Type: schemaregistry.JSON})
			return err
		}, schemaregistry.ErrInvalidSchema, 422, 42201, "invalid schema"},
		{"missing reference", func() error {
			_, err := c.Register(ctx, "bad-value", schemaregistry.Schema{Schema: `{"type":"record","name":"R","fields":[{"name":"m","type":"gregor.Money"}]}`,
				References: []schemaregistry.Reference{{Name: "gregor.Money", Subject: "money", Version: 1}}})
			return err
		}, schemaregistry.ErrInvalidSchema, 422, 42201, "reference"},
		{"incompatible", func() error {
			_, err := c.Register(ctx, "strict-value", avroSchema(`"string"`))
			return err
		}, schemaregistry.ErrIncompatibleSchema, 409, 409, "field number removed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("error %v: want one matching %v", err, tc.sentinel)
			}
			rerr := registryError(t, err)
			if rerr.StatusCode != tc.status || rerr.Code != tc.code || rerr.Message == "" || rerr.Retriable() {
				t.Fatalf("error %+v: want HTTP %d, code %d, a message, not retriable", rerr, tc.status, tc.code)
			}
			if !strings.Contains(err.Error(), tc.text) || !strings.Contains(err.Error(), srv.URL()) {
				t.Fatalf("error text %q: want %q and the URL", err, tc.text)
			}
			// One sentinel does not match another code.
			other := schemaregistry.ErrSubjectNotFound
			if tc.sentinel == other {
				other = schemaregistry.ErrSchemaNotFound
			}
			if errors.Is(err, other) {
				t.Fatalf("error %v matches %v too", err, other)
			}
		})
	}
}

func TestBadArguments(t *testing.T) {
	srv, c := newRegistry(t)
	ctx := t.Context()
	for name, call := range map[string]func() error{
		"version 0":     func() error { _, err := c.SchemaByVersion(ctx, "s", 0); return err },
		"version -2":    func() error { _, err := c.SchemaByVersion(ctx, "s", -2); return err },
		"negative id":   func() error { _, err := c.SchemaByID(ctx, -1); return err },
		"empty subject": func() error { _, err := c.Register(ctx, "", avroSchema(`"int"`)); return err },
		"empty lookup":  func() error { _, err := c.Lookup(ctx, "", avroSchema(`"int"`)); return err },
		"unknown schemaType": func() error {
			_, err := c.Register(ctx, "s", schemaregistry.Schema{Schema: `"int"`, Type: 7})
			return err
		},
	} {
		if err := call(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if srv.Requests() != 0 {
		t.Fatalf("%d requests sent for bad arguments", srv.Requests())
	}
}

// TestSubjectEscaping: subjects with slashes and spaces (Protobuf import paths) travel
// escaped in one path segment.
func TestSubjectEscaping(t *testing.T) {
	_, c := newRegistry(t)
	ctx := t.Context()
	const subject = "gregor/test/my file.proto"
	s := schemaregistry.Schema{Schema: "syntax = \"proto3\";\npackage gregor.test;\nmessage M {}\n", Type: schemaregistry.Protobuf}
	id, err := c.Register(ctx, subject, s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.SchemaByVersion(ctx, subject, schemaregistry.Latest)
	if err != nil || got.Subject != subject || got.ID != id || got.Type != schemaregistry.Protobuf {
		t.Fatalf("SchemaByVersion = %+v, %v", got, err)
	}
	subjects, err := c.Subjects(ctx)
	if err != nil || !slices.Equal(subjects, []string{subject}) {
		t.Fatalf("Subjects = %q, %v", subjects, err)
	}
}

func TestBasicAuth(t *testing.T) {
	const user, pass = "api-key", "s3cret-pa55"
	srv := srtest.NewServer(srtest.BasicAuth(user, pass))
	defer srv.Close()
	ctx := t.Context()
	hostURL := srv.URL()
	withUser := strings.Replace(hostURL, "http://", "http://"+user+":"+pass+"@", 1)
	wrongUser := strings.Replace(hostURL, "http://", "http://"+user+":wrong-"+pass+"@", 1)

	for _, tc := range []struct {
		name string
		cfg  schemaregistry.Config
		ok   bool
	}{
		{"none", schemaregistry.Config{URLs: []string{hostURL}}, false},
		{"wrong", schemaregistry.Config{URLs: []string{hostURL}, Username: user, Password: "wrong-" + pass}, false},
		{"config", schemaregistry.Config{URLs: []string{hostURL}, Username: user, Password: pass}, true},
		{"in the URL", schemaregistry.Config{URLs: []string{withUser}}, true},
		{"wrong in the URL", schemaregistry.Config{URLs: []string{wrongUser}}, false},
		{"bearer instead", schemaregistry.Config{URLs: []string{hostURL}, BearerToken: pass}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := schemaregistry.NewClient(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Register(ctx, "s", avroSchema(`"int"`))
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, schemaregistry.ErrUnauthorized) || registryError(t, err).StatusCode != 401 {
				t.Fatalf("error %v: want 401", err)
			}
			if strings.Contains(err.Error(), pass) {
				t.Fatalf("the error shows the password: %v", err)
			}
		})
	}

	// A registry that cannot be reached: the URL in the error has no credentials.
	dead := strings.Replace(deadURL(t), "http://", "http://"+user+":"+pass+"@", 1)
	c, err := schemaregistry.NewClient(schemaregistry.Config{URLs: []string{dead}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SchemaByID(ctx, 1)
	if err == nil || strings.Contains(err.Error(), pass) || strings.Contains(err.Error(), user) {
		t.Fatalf("error %v: want one without the credentials", err)
	}
}

func TestBearerAuth(t *testing.T) {
	const token = "tok-3f9a"
	srv := srtest.NewServer(srtest.BearerToken(token))
	defer srv.Close()
	ctx := t.Context()

	c, err := schemaregistry.NewClient(schemaregistry.Config{URLs: []string{srv.URL()}, BearerToken: token})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(ctx, "s", avroSchema(`"int"`)); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	calls := 0
	tokens := []string{"expired", token}
	c, err = schemaregistry.NewClient(schemaregistry.Config{URLs: []string{srv.URL()}, TokenProvider: func(context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls > len(tokens) {
			return "", errors.New("identity provider down")
		}
		return tokens[calls-1], nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SchemaByID(ctx, 1); !errors.Is(err, schemaregistry.ErrUnauthorized) || strings.Contains(err.Error(), "expired") {
		t.Fatalf("with an expired token: %v", err)
	}
	if _, err := c.SchemaByID(ctx, 1); err != nil {
		t.Fatalf("with a fresh token: %v", err)
	}
	n := srv.Requests()
	if _, err := c.SchemaByID(ctx, 2); err == nil || !strings.Contains(err.Error(), "identity provider down") {
		t.Fatalf("provider failure: %v", err)
	}
	if srv.Requests() != n {
		t.Fatal("a request went out without a token")
	}
}

func TestNewClientErrors(t *testing.T) {
	for name, cfg := range map[string]schemaregistry.Config{
		"no URLs":           {},
		"not http":          {URLs: []string{"ftp://registry:8081"}},
		"no host":           {URLs: []string{"http://"}},
		"query":             {URLs: []string{"http://registry:8081?x=1"}},
		"basic and bearer":  {URLs: []string{"http://registry:8081"}, Username: "u", Password: "hunter2", BearerToken: "t"},
		"URL and config":    {URLs: []string{"http://u:hunter2@registry:8081"}, Username: "u", Password: "p"},
		"bearer and tokens": {URLs: []string{"http://registry:8081"}, BearerToken: "t", TokenProvider: func(context.Context) (string, error) { return "", nil }},
		"unparsable":        {URLs: []string{"http://u:hunter2@registry:80 81"}},
	} {
		_, err := schemaregistry.NewClient(cfg)
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error shows the password: %v", name, err)
		}
	}
}

// TestFailover: an unreachable registry and one answering 5xx are skipped, the one that
// answered is asked first afterwards, and a 4xx answer is final.
func TestFailover(t *testing.T) {
	ctx := t.Context()
	sick := srtest.NewServer()
	defer sick.Close()
	sick.InjectFault(srtest.Fault{Status: 500, ErrorCode: schemaregistry.CodeStoreError, Times: -1})
	good := srtest.NewServer()
	defer good.Close()

	c, err := schemaregistry.NewClient(schemaregistry.Config{URLs: []string{deadURL(t), sick.URL(), good.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Register(ctx, "s", avroSchema(`"int"`))
	if err != nil {
		t.Fatal(err)
	}
	if sick.Requests() != 1 || good.Requests() != 1 {
		t.Fatalf("requests: sick %d, good %d; want 1 and 1", sick.Requests(), good.Requests())
	}
	// The good one is asked first now: a 404 from it ends the request.
	if _, err := c.SchemaByID(ctx, id+1); !errors.Is(err, schemaregistry.ErrSchemaNotFound) {
		t.Fatalf("SchemaByID: %v", err)
	}
	if sick.Requests() != 1 || good.Requests() != 2 {
		t.Fatalf("requests: sick %d, good %d; want 1 and 2", sick.Requests(), good.Requests())
	}

	// All failing: every URL's error is in the answer, and the store error is retriable.
	c, err = schemaregistry.NewClient(schemaregistry.Config{URLs: []string{deadURL(t), sick.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SchemaByID(ctx, 1)
	if !strings.Contains(err.Error(), "all 2 registry URLs failed") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("error %v: want both failures", err)
	}
	if rerr := registryError(t, err); rerr.Code != schemaregistry.CodeStoreError || !rerr.Retriable() {
		t.Fatalf("error %+v: want a retriable 50001", rerr)
	}
}

// TestTimeouts: the caller's context bounds a request; RequestTimeout bounds each URL's
// attempt, and the next URL is tried.
func TestTimeouts(t *testing.T) {
	hold := make(chan struct{})
	defer close(hold)
	stuck := srtest.NewServer()
	defer stuck.Close()
	stuck.InjectFault(srtest.Fault{Block: hold, Times: -1})
	good := srtest.NewServer()
	defer good.Close()

	c, err := schemaregistry.NewClient(schemaregistry.Config{URLs: []string{stuck.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.SchemaByID(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v: want the context's deadline", err)
	}

	c, err = schemaregistry.NewClient(schemaregistry.Config{URLs: []string{stuck.URL(), good.URL()}, RequestTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(t.Context(), "s", avroSchema(`"int"`)); err != nil {
		t.Fatalf("with a second URL: %v", err)
	}
}

// TestNotRegistryAnswers: a proxy's HTML error page, a 2xx that is not JSON, an answer
// too large to read.
func TestNotRegistryAnswers(t *testing.T) {
	ctx := t.Context()
	srv := srtest.NewServer()
	defer srv.Close()
	srv.InjectFault(srtest.Fault{Status: 502, RawBody: "<html><body>" + strings.Repeat("bad gateway ", 40) + "</body></html>"})
	c, err := schemaregistry.NewClient(schemaregistry.Config{URLs: []string{srv.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SchemaByID(ctx, 1)
	rerr := registryError(t, err)
	if rerr.StatusCode != 502 || rerr.Code != 502 || !strings.HasPrefix(rerr.Message, "<html><body>bad gateway") || len(rerr.Message) > 210 {
		t.Fatalf("error %+v: want HTTP 502 with the start of the page", rerr)
	}

	odd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/schemas/ids/1" {
			fmt.Fprint(w, "<html>hello</html>")
			return
		}
		w.Write([]byte(`{"schema":"`))
		w.Write([]byte(strings.Repeat("x", 17<<20)))
		w.Write([]byte(`"}`))
	}))
	defer odd.Close()
	c, err = schemaregistry.NewClient(schemaregistry.Config{URLs: []string{odd.URL}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SchemaByID(ctx, 1); err == nil || !strings.Contains(err.Error(), "decoding the answer") {
		t.Fatalf("non-JSON answer: %v", err)
	}
	if _, err := c.SchemaByID(ctx, 2); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("oversized answer: %v", err)
	}
}

// TestConcurrentClient: registrations and fetches from many goroutines agree.
func TestConcurrentClient(t *testing.T) {
	_, c := newRegistry(t)
	ctx := t.Context()
	const workers, schemas = 8, 5
	ids := make([][]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range schemas {
				id, err := c.Register(ctx, fmt.Sprintf("s%d", i), avroSchema(fmt.Sprintf(`{"type":"fixed","name":"F","size":%d}`, i+1)))
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := c.SchemaByID(ctx, id); err != nil {
					t.Error(err)
				}
				ids[w] = append(ids[w], id)
			}
		})
	}
	wg.Wait()
	for w := 1; w < workers; w++ {
		if !slices.Equal(ids[w], ids[0]) {
			t.Fatalf("worker %d saw ids %v, worker 0 %v", w, ids[w], ids[0])
		}
	}
}
