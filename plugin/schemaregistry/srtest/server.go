// Package srtest is an in-process fake Confluent Schema Registry for tests: an HTTP server on
// 127.0.0.1 speaking the subset of the REST API that serializers use, strictly — the same
// paths, content types, status codes and {"error_code", "message"} bodies as the registry,
// and schemas parsed before they are stored (Avro with github.com/hamba/avro/v2, Protobuf
// with github.com/bufbuild/protocompile, JSON Schema with
// github.com/santhosh-tekuri/jsonschema/v6), so that a schema the registry would refuse is
// refused here too.
//
// The API subset:
//
//	POST /subjects/{subject}/versions          register a schema: {"id"}
//	POST /subjects/{subject}                   look a schema up: {"subject","id","version","schema",...}
//	GET  /subjects                             subjects
//	GET  /subjects/{subject}/versions          a subject's versions
//	GET  /subjects/{subject}/versions/{v}      a version, or "latest"
//	GET  /schemas/ids/{id}                     a schema by id
//	GET  /schemas/ids/{id}/versions            the subjects and versions that use an id
//
// Compatibility is not checked unless [Server.SetCompatibility] installs a check (the
// registry's NONE level); deletes, config, modes and contexts are not served.
package srtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gregor-kafka/producer/plugin/schemaregistry"
)

// Option configures a [Server].
type Option func(*Server)

// BasicAuth makes the server require HTTP basic auth with these credentials.
func BasicAuth(user, password string) Option {
	return func(s *Server) { s.basicUser, s.basicPass = user, password }
}

// BearerToken makes the server require "Authorization: Bearer <token>".
func BearerToken(token string) Option {
	return func(s *Server) { s.bearer = token }
}

// CompatibilityFunc decides whether candidate may be registered under subject after the
// subject's previous schemas (oldest first). A non-nil error is answered with 409.
type CompatibilityFunc func(subject string, previous []schemaregistry.Schema, candidate schemaregistry.Schema) error

// Fault makes the server answer matching requests with an error instead of serving them.
type Fault struct {
	Method string // "GET" or "POST"; "" matches both
	Path   string // a prefix of the request's escaped path, e.g. "/subjects/"; "" matches all

	Status    int    // HTTP status to answer, e.g. 500
	ErrorCode int    // error_code in the body; 0 means Status
	Message   string // message in the body; "" means a generic one
	RawBody   string // if set, the body as is (not JSON), as a proxy in front of a registry might answer

	// Block, if not nil, holds each matching request until it is closed or the client
	// gives up, then answers as above (or serves the request, if Status is 0).
	Block <-chan struct{}

	Times int // how many requests to fail; 0 means 1, -1 every one
}

// Server is a fake schema registry. Its methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server

	basicUser, basicPass string
	bearer               string

	requests  atomic.Int64
	closing   chan struct{} // closed by Close: blocked faults give up
	closeOnce sync.Once

	mu       sync.Mutex
	schemas  []schemaregistry.Schema // by id-1
	ids      map[string]int          // identity key -> id
	subjects map[string][]int
	faults   []Fault
	compat   CompatibilityFunc
}

// NewServer starts a fake registry on 127.0.0.1.
func NewServer(opts ...Option) *Server {
	s := &Server{ids: map[string]int{}, subjects: map[string][]int{}, closing: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the registry's base URL, e.g. "http://127.0.0.1:41234".
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server and waits for its requests to finish; requests held by a
// blocking fault are answered with their fault's error (or 503) first.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
	s.srv.Close()
}

// Requests counts the requests the server has received, answered or not.
func (s *Server) Requests() int64 { return s.requests.Load() }

// InjectFault adds a fault; faults are matched in the order they were added.
func (s *Server) InjectFault(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	s.mu.Lock()
	s.faults = append(s.faults, f)
	s.mu.Unlock()
}

// SetCompatibility installs a compatibility check for registrations; nil removes it.
func (s *Server) SetCompatibility(fn CompatibilityFunc) {
	s.mu.Lock()
	s.compat = fn
	s.mu.Unlock()
}

// apiError is an answer in the registry's error format.
type apiError struct {
	status  int
	code    int
	message string
}

func (e *apiError) Error() string { return e.message }

func errorf(status, code int, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

const contentType = "application/vnd.schemaregistry.v1+json"

// maxBody caps request bodies.
const maxBody = 16 << 20

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if f, ok := s.fault(r); ok {
		if f.Block != nil {
			select {
			case <-f.Block:
			case <-r.Context().Done():
				return
			case <-s.closing:
				if f.Status == 0 {
					f.Status = 503
				}
			}
		}
		if f.Status != 0 {
			if f.RawBody != "" {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(f.Status)
				io.WriteString(w, f.RawBody)
				return
			}
			code, msg := f.ErrorCode, f.Message
			if code == 0 {
				code = f.Status
			}
			if msg == "" {
				msg = "srtest: injected fault"
			}
			writeError(w, &apiError{status: f.Status, code: code, message: msg})
			return
		}
	}
	if err := s.authorize(w, r); err != nil {
		writeError(w, err)
		return
	}
	if err := negotiate(r); err != nil {
		writeError(w, err)
		return
	}
	out, err := s.route(r)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", contentType)
	json.NewEncoder(w).Encode(out)
}

func (s *Server) fault(r *http.Request) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		f := &s.faults[i]
		if f.Times == 0 || f.Method != "" && f.Method != r.Method || !strings.HasPrefix(r.URL.EscapedPath(), f.Path) {
			continue
		}
		if f.Times > 0 {
			f.Times--
		}
		return *f, true
	}
	return Fault{}, false
}

func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = errorf(500, 50001, "srtest: %v", err)
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(ae.status)
	json.NewEncoder(w).Encode(map[string]any{"error_code": ae.code, "message": ae.message})
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) error {
	switch {
	case s.bearer != "":
		if r.Header.Get("Authorization") != "Bearer "+s.bearer {
			w.Header().Set("WWW-Authenticate", `Bearer realm="srtest"`)
			return errorf(401, 401, "Unauthorized")
		}
	case s.basicUser != "" || s.basicPass != "":
		u, p, ok := r.BasicAuth()
		if !ok || u != s.basicUser || p != s.basicPass {
			w.Header().Set("WWW-Authenticate", `Basic realm="srtest"`)
			return errorf(401, 401, "Unauthorized")
		}
	}
	return nil
}

// The media types the registry accepts and answers with.
var mediaTypes = []string{contentType, "application/vnd.schemaregistry+json", "application/json", "application/octet-stream"}

// negotiate checks the request's Content-Type (for a body) and Accept headers as the
// registry does: 415 for a body it cannot read, 406 for an answer it cannot give.
func negotiate(r *http.Request) error {
	if r.Method == http.MethodPost {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || !slices.Contains(mediaTypes, mt) {
			return errorf(415, 415, "HTTP 415 Unsupported Media Type")
		}
	}
	accept := r.Header.Get("Accept")
	if accept == "" {
		return nil
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || params["q"] == "0" {
			continue
		}
		if mt == "*/*" || mt == "application/*" || slices.Contains(mediaTypes, mt) {
			return nil
		}
	}
	return errorf(406, 406, "HTTP 406 Not Acceptable")
}

// route serves one request: its path split into unescaped segments.
func (s *Server) route(r *http.Request) (any, error) {
	raw := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	seg := make([]string, len(raw))
	for i, p := range raw {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, errorf(404, 404, "HTTP 404 Not Found")
		}
		seg[i] = u
	}
	notAllowed := errorf(405, 405, "HTTP 405 Method Not Allowed")
	switch {
	case len(seg) == 1 && seg[0] == "subjects":
		if r.Method != http.MethodGet {
			return nil, notAllowed
		}
		return s.listSubjects(), nil
	case len(seg) == 2 && seg[0] == "subjects":
		if r.Method != http.MethodPost {
			return nil, notAllowed
		}
		return s.lookup(r, seg[1])
	case len(seg) == 3 && seg[0] == "subjects" && seg[2] == "versions":
		switch r.Method {
		case http.MethodGet:
			return s.versions(seg[1])
		case http.MethodPost:
			return s.register(r, seg[1])
		}
		return nil, notAllowed
	case len(seg) == 4 && seg[0] == "subjects" && seg[2] == "versions":
		if r.Method != http.MethodGet {
			return nil, notAllowed
		}
		return s.version(seg[1], seg[3])
	case len(seg) == 3 && seg[0] == "schemas" && seg[1] == "ids":
		if r.Method != http.MethodGet {
			return nil, notAllowed
		}
		return s.byID(seg[2])
	case len(seg) == 4 && seg[0] == "schemas" && seg[1] == "ids" && seg[3] == "versions":
		if r.Method != http.MethodGet {
			return nil, notAllowed
		}
		return s.idVersions(seg[2])
	}
	return nil, errorf(404, 404, "HTTP 404 Not Found")
}

// schemaBody is the body of a registration or a lookup.
type schemaBody struct {
	Schema     *string                    `json:"schema"`
	SchemaType *string                    `json:"schemaType"`
	References []schemaregistry.Reference `json:"references"`
	Metadata   json.RawMessage            `json:"metadata"`
	RuleSet    json.RawMessage            `json:"ruleSet"`
	ID         *int                       `json:"id"`
	Version    *int                       `json:"version"`
}

// schemaAnswer is a schema as the registry returns it: Avro's type and empty reference
// lists left out.
type schemaAnswer struct {
	Subject    string                     `json:"subject,omitempty"`
	Version    int                        `json:"version,omitempty"`
	ID         int                        `json:"id,omitempty"`
	Schema     string                     `json:"schema"`
	SchemaType string                     `json:"schemaType,omitempty"`
	References []schemaregistry.Reference `json:"references,omitempty"`
}

func answer(subject string, version, id int, sc schemaregistry.Schema) schemaAnswer {
	a := schemaAnswer{Subject: subject, Version: version, ID: id, Schema: sc.Schema, References: sc.References}
	if sc.Type != schemaregistry.Avro {
		a.SchemaType = sc.Type.String()
	}
	return a
}

func readSchema(r *http.Request) (schemaregistry.Schema, error) {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	dec.DisallowUnknownFields()
	var b schemaBody
	if err := dec.Decode(&b); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field") {
			return schemaregistry.Schema{}, errorf(422, 422, "Unrecognized field: %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return schemaregistry.Schema{}, errorf(400, 400, "Unexpected JSON in the request body: %v", err)
	}
	if dec.More() {
		return schemaregistry.Schema{}, errorf(400, 400, "Unexpected content after the JSON body")
	}
	if b.ID != nil && *b.ID > 0 || b.Version != nil && *b.Version > 0 {
		return schemaregistry.Schema{}, errorf(422, 42205, "srtest: registering with an explicit id or version (IMPORT mode) is not supported")
	}
	if b.Schema == nil || strings.TrimSpace(*b.Schema) == "" {
		return schemaregistry.Schema{}, errorf(422, schemaregistry.CodeInvalidSchema, "Empty schema")
	}
	sc := schemaregistry.Schema{Schema: *b.Schema, References: b.References}
	if b.SchemaType != nil {
		if err := sc.Type.UnmarshalText([]byte(*b.SchemaType)); err != nil || *b.SchemaType == "" {
			return schemaregistry.Schema{}, errorf(422, schemaregistry.CodeInvalidSchema, "Invalid schema type %q", *b.SchemaType)
		}
	}
	return sc, nil
}

func (s *Server) register(r *http.Request, subject string) (any, error) {
	sc, err := readSchema(r)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	key, err := s.check(sc)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if id, ok := s.ids[key]; ok && slices.Contains(s.subjects[subject], id) {
		s.mu.Unlock()
		return map[string]int{"id": id}, nil
	}
	compat := s.compat
	var prev []schemaregistry.Schema
	for _, v := range s.subjects[subject] {
		prev = append(prev, s.schemas[v-1])
	}
	s.mu.Unlock()

	// The check is the test's code: it runs with no lock held.
	if compat != nil {
		if err := compat(subject, prev, sc); err != nil {
			return nil, errorf(409, 409, "Schema being registered is incompatible with an earlier schema for subject %q, details: %v", subject, err)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	id, known := s.ids[key]
	if known && slices.Contains(s.subjects[subject], id) {
		return map[string]int{"id": id}, nil // registered meanwhile
	}
	if !known {
		s.schemas = append(s.schemas, sc)
		id = len(s.schemas)
		s.ids[key] = id
	}
	s.subjects[subject] = append(s.subjects[subject], id)
	return map[string]int{"id": id}, nil
}

func (s *Server) lookup(r *http.Request, subject string) (any, error) {
	sc, err := readSchema(r)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	versions, ok := s.subjects[subject]
	if !ok {
		return nil, errorf(404, schemaregistry.CodeSubjectNotFound, "Subject '%s' not found.", subject)
	}
	key, err := s.check(sc)
	if err != nil {
		return nil, err
	}
	id, known := s.ids[key]
	if i := slices.Index(versions, id); known && i >= 0 {
		return answer(subject, i+1, id, s.schemas[id-1]), nil
	}
	return nil, errorf(404, schemaregistry.CodeSchemaNotFound, "Schema not found")
}

func (s *Server) listSubjects() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.subjects))
	for sub := range s.subjects {
		out = append(out, sub)
	}
	sort.Strings(out)
	return out
}

func (s *Server) versions(subject string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	versions, ok := s.subjects[subject]
	if !ok {
		return nil, errorf(404, schemaregistry.CodeSubjectNotFound, "Subject '%s' not found.", subject)
	}
	out := make([]int, len(versions))
	for i := range out {
		out[i] = i + 1
	}
	return out, nil
}

func (s *Server) version(subject, v string) (any, error) {
	n := -1
	if v != "latest" {
		var err error
		n, err = strconv.Atoi(v)
		if err != nil || n != -1 && (n < 1 || n > math.MaxInt32) {
			return nil, errorf(422, schemaregistry.CodeInvalidVersion, "The specified version '%s' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"", v)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	versions, ok := s.subjects[subject]
	if !ok {
		return nil, errorf(404, schemaregistry.CodeSubjectNotFound, "Subject '%s' not found.", subject)
	}
	if n == -1 {
		n = len(versions)
	}
	if n > len(versions) {
		return nil, errorf(404, schemaregistry.CodeVersionNotFound, "Version %d not found.", n)
	}
	id := versions[n-1]
	return answer(subject, n, id, s.schemas[id-1]), nil
}

func (s *Server) id(v string) (int, error) {
	id, err := strconv.Atoi(v)
	if err != nil {
		return 0, errorf(404, 404, "HTTP 404 Not Found")
	}
	if id < 1 || id > len(s.schemas) {
		return 0, errorf(404, schemaregistry.CodeSchemaNotFound, "Schema %d not found", id)
	}
	return id, nil
}

func (s *Server) byID(v string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := s.id(v)
	if err != nil {
		return nil, err
	}
	return answer("", 0, 0, s.schemas[id-1]), nil
}

func (s *Server) idVersions(v string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := s.id(v)
	if err != nil {
		return nil, err
	}
	type subjectVersion struct {
		Subject string `json:"subject"`
		Version int    `json:"version"`
	}
	out := []subjectVersion{}
	for sub, versions := range s.subjects {
		for i, vid := range versions {
			if vid == id {
				out = append(out, subjectVersion{sub, i + 1})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Subject != out[j].Subject {
			return out[i].Subject < out[j].Subject
		}
		return out[i].Version < out[j].Version
	})
	return out, nil
}

// check parses sc with its references and returns the key that identifies it: schemas
// equal by this key share an id. s.mu is held.
func (s *Server) check(sc schemaregistry.Schema) (string, error) {
	refs, err := s.resolve(sc.References, 0)
	if err != nil {
		return "", err
	}
	canonical, err := parse(context.Background(), sc, refs)
	if err != nil {
		return "", errorf(422, schemaregistry.CodeInvalidSchema, "Invalid schema %s of type %s: %v", abbreviate(sc.Schema), sc.Type, err)
	}
	refKey, _ := json.Marshal(sc.References)
	return sc.Type.String() + "\x00" + canonical + "\x00" + string(refKey), nil
}

// resolved is a referenced schema, with its own references resolved, in dependency order.
type resolved struct {
	name string
	schemaregistry.Schema
}

// resolve finds the schemas refs name, their references first. s.mu is held.
func (s *Server) resolve(refs []schemaregistry.Reference, depth int) ([]resolved, error) {
	if depth > 32 {
		return nil, errorf(422, schemaregistry.CodeInvalidSchema, "Invalid schema: references nest more than 32 deep")
	}
	var out []resolved
	for _, ref := range refs {
		versions, ok := s.subjects[ref.Subject]
		if ref.Name == "" || !ok || ref.Version < 1 || ref.Version > len(versions) {
			return nil, errorf(422, schemaregistry.CodeInvalidSchema, "Invalid schema: reference %q to subject %q version %d not found", ref.Name, ref.Subject, ref.Version)
		}
		sc := s.schemas[versions[ref.Version-1]-1]
		deps, err := s.resolve(sc.References, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, deps...)
		out = append(out, resolved{name: ref.Name, Schema: sc})
	}
	return out, nil
}

func abbreviate(s string) string {
	const max = 80
	if len(s) > max {
		return strconv.Quote(s[:max] + "...")
	}
	return strconv.Quote(s)
}
