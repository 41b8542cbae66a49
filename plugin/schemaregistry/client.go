package schemaregistry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Content types of the REST API: requests carry the v1 type; answers may use any of them.
const (
	ContentType = "application/vnd.schemaregistry.v1+json"
	acceptTypes = "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json; q=0.9, application/json; q=0.5"
)

// maxResponseBytes caps what the client reads of an answer; schemas are kilobytes.
const maxResponseBytes = 16 << 20

// Config configures a [Client]. Only URLs is required.
type Config struct {
	// URLs of the registry's instances, e.g. "http://registry:8081" (schema.registry.url).
	// Each request goes to the instance that answered last, and moves on to the next URL
	// when an instance cannot be reached, times out, or answers 5xx or 429. User
	// information in a URL ("https://key:secret@host") is sent as basic auth to that URL.
	URLs []string

	// Username and Password for HTTP basic auth on every URL (basic.auth.user.info).
	Username, Password string

	// BearerToken is sent as "Authorization: Bearer ..." (bearer.auth.token).
	BearerToken string

	// TokenProvider, if set, is called before each request for a bearer token, so that it
	// can refresh an expiring one. It must be safe for concurrent use. Exclusive with
	// BearerToken and basic auth.
	TokenProvider func(ctx context.Context) (string, error)

	// HTTPClient sends the requests; set it for TLS settings or a proxy. Default: a client
	// with http.DefaultTransport's settings.
	HTTPClient *http.Client

	// RequestTimeout bounds each attempt at one URL, inside the caller's context.
	// Default 30 s.
	RequestTimeout time.Duration

	// CacheCapacity bounds each of the client's caches (schemas by id, ids by subject and
	// schema, schemas by subject and version), as max.schemas.per.subject. Default 1000.
	CacheCapacity int

	// UserAgent is sent with each request. Default "gregor-schemaregistry".
	UserAgent string
}

// Client talks to a Confluent Schema Registry (or one that speaks its REST API: Redpanda,
// Karapace, Apicurio's compatibility API). It caches what cannot change: a schema by its id,
// the id of a schema under a subject, a subject's numbered versions. A Client is safe for
// concurrent use.
type Client struct {
	urls      []endpoint
	preferred atomic.Int32 // index into urls of the instance that answered last
	cfg       Config
	http      *http.Client
	cache     cache
}

type endpoint struct {
	base     string // scheme://host[:port][/path], no trailing slash, no credentials
	user     *url.Userinfo
	redacted string // base without credentials, for errors
}

// NewClient checks cfg and returns a client. It does not contact the registry.
func NewClient(cfg Config) (*Client, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("schemaregistry: Config.URLs is empty")
	}
	basic := cfg.Username != "" || cfg.Password != ""
	if n := btoi(basic) + btoi(cfg.BearerToken != "") + btoi(cfg.TokenProvider != nil); n > 1 {
		return nil, errors.New("schemaregistry: set one of Username/Password, BearerToken and TokenProvider")
	}
	c := &Client{cfg: cfg, http: cfg.HTTPClient}
	for i, raw := range cfg.URLs {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil {
			// url.Parse's error quotes the URL, which may hold a password.
			return nil, fmt.Errorf("schemaregistry: Config.URLs[%d] is not a URL", i)
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			return nil, fmt.Errorf("schemaregistry: Config.URLs[%d] %q: want http://host:port or https://host:port", i, stripUser(u))
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("schemaregistry: Config.URLs[%d] %q: a query or fragment is not allowed", i, stripUser(u))
		}
		if u.User != nil && (basic || cfg.BearerToken != "" || cfg.TokenProvider != nil) {
			return nil, fmt.Errorf("schemaregistry: Config.URLs[%d] %q carries credentials and the Config sets others", i, stripUser(u))
		}
		base := stripUser(u)
		c.urls = append(c.urls, endpoint{base: base, user: u.User, redacted: base})
	}
	if c.http == nil {
		c.http = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if c.cfg.RequestTimeout <= 0 {
		c.cfg.RequestTimeout = 30 * time.Second
	}
	if c.cfg.CacheCapacity <= 0 {
		c.cfg.CacheCapacity = 1000
	}
	if c.cfg.UserAgent == "" {
		c.cfg.UserAgent = "gregor-schemaregistry"
	}
	c.cache.init(c.cfg.CacheCapacity)
	return c, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func stripUser(u *url.URL) string {
	v := *u
	v.User = nil
	return strings.TrimSuffix(v.String(), "/")
}

// Register registers s under subject (POST /subjects/{subject}/versions) and returns its id.
// Registering a schema the subject already has returns the existing id and adds no version.
// The answer is cached: registering the same schema again costs no request.
func (c *Client) Register(ctx context.Context, subject string, s Schema) (int, error) {
	if subject == "" {
		return 0, errors.New("schemaregistry: Register: empty subject")
	}
	body, err := json.Marshal(s)
	if err != nil {
		return 0, fmt.Errorf("schemaregistry: Register: %w", err)
	}
	key := subject + "\x00" + string(body)
	if ss, ok := c.cache.subjectSchema(key); ok {
		return ss.ID, nil
	}
	var out struct {
		ID *int `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, "/subjects/"+url.PathEscape(subject)+"/versions", body, &out); err != nil {
		return 0, err
	}
	if out.ID == nil || *out.ID < 0 {
		return 0, fmt.Errorf("schemaregistry: Register %q: the registry's answer has no schema id", subject)
	}
	c.cache.putSubjectSchema(key, SubjectSchema{Subject: subject, ID: *out.ID, Schema: cloneSchema(s)})
	c.cache.putID(*out.ID, s)
	return *out.ID, nil
}

// Lookup finds s among subject's versions (POST /subjects/{subject}) and returns its id and
// version there, without registering it. A subject without versions gives an error
// matching [ErrSubjectNotFound]; a schema the subject does not have, [ErrSchemaNotFound].
func (c *Client) Lookup(ctx context.Context, subject string, s Schema) (SubjectSchema, error) {
	if subject == "" {
		return SubjectSchema{}, errors.New("schemaregistry: Lookup: empty subject")
	}
	body, err := json.Marshal(s)
	if err != nil {
		return SubjectSchema{}, fmt.Errorf("schemaregistry: Lookup: %w", err)
	}
	key := subject + "\x00" + string(body)
	if ss, ok := c.cache.subjectSchema(key); ok && ss.Version > 0 {
		return ss, nil
	}
	var out SubjectSchema
	if err := c.do(ctx, http.MethodPost, "/subjects/"+url.PathEscape(subject), body, &out); err != nil {
		return SubjectSchema{}, err
	}
	if out.ID < 0 || out.Version < 1 {
		return SubjectSchema{}, fmt.Errorf("schemaregistry: Lookup %q: the registry's answer has no id or version", subject)
	}
	// The answer's text may be the registry's canonical form of s; the cache key is s.
	ss := SubjectSchema{Subject: subject, Version: out.Version, ID: out.ID, Schema: cloneSchema(s)}
	c.cache.putSubjectSchema(key, ss)
	c.cache.putID(out.ID, out.Schema)
	c.cache.putVersion(subject, out.Version, out)
	return ss, nil
}

// SchemaByID returns the schema with the given id (GET /schemas/ids/{id}), from the cache
// when it has been seen (after [Client.Register], the text that was registered, which the
// registry may have stored in a canonical form). An unknown id gives an error matching
// [ErrSchemaNotFound].
func (c *Client) SchemaByID(ctx context.Context, id int) (Schema, error) {
	if id < 0 || id > math.MaxInt32 {
		return Schema{}, fmt.Errorf("schemaregistry: schema id %d out of range", id)
	}
	if s, ok := c.cache.byID(id); ok {
		return s, nil
	}
	var out Schema
	if err := c.do(ctx, http.MethodGet, "/schemas/ids/"+strconv.Itoa(id), nil, &out); err != nil {
		return Schema{}, err
	}
	c.cache.putID(id, out)
	return cloneSchema(out), nil
}

// SchemaByVersion returns version of subject (GET /subjects/{subject}/versions/{version}),
// or its newest version for [Latest]. Numbered versions are cached; Latest always asks.
func (c *Client) SchemaByVersion(ctx context.Context, subject string, version int) (SubjectSchema, error) {
	if subject == "" {
		return SubjectSchema{}, errors.New("schemaregistry: SchemaByVersion: empty subject")
	}
	v := "latest"
	if version != Latest {
		if version < 1 || version > math.MaxInt32 {
			return SubjectSchema{}, fmt.Errorf("schemaregistry: version %d: want 1..%d or Latest", version, math.MaxInt32)
		}
		if ss, ok := c.cache.version(subject, version); ok {
			return ss, nil
		}
		v = strconv.Itoa(version)
	}
	var out SubjectSchema
	if err := c.do(ctx, http.MethodGet, "/subjects/"+url.PathEscape(subject)+"/versions/"+v, nil, &out); err != nil {
		return SubjectSchema{}, err
	}
	if out.Version < 1 {
		return SubjectSchema{}, fmt.Errorf("schemaregistry: SchemaByVersion %q: the registry's answer has no version", subject)
	}
	c.cache.putVersion(subject, out.Version, out)
	c.cache.putID(out.ID, out.Schema)
	out.Schema = cloneSchema(out.Schema)
	return out, nil
}

// Subjects lists the registry's subjects (GET /subjects).
func (c *Client) Subjects(ctx context.Context) ([]string, error) {
	var out []string
	err := c.do(ctx, http.MethodGet, "/subjects", nil, &out)
	return out, err
}

// Versions lists subject's versions (GET /subjects/{subject}/versions).
func (c *Client) Versions(ctx context.Context, subject string) ([]int, error) {
	if subject == "" {
		return nil, errors.New("schemaregistry: Versions: empty subject")
	}
	var out []int
	err := c.do(ctx, http.MethodGet, "/subjects/"+url.PathEscape(subject)+"/versions", nil, &out)
	return out, err
}

// do sends one request, failing over between URLs, and decodes a 2xx answer into into.
// path is already escaped.
func (c *Client) do(ctx context.Context, method, path string, body []byte, into any) error {
	first := int(c.preferred.Load())
	var errs []error
	for i := range c.urls {
		n := (first + i) % len(c.urls)
		err := c.attempt(ctx, c.urls[n], method, path, body, into)
		if err == nil {
			if n != first {
				c.preferred.CompareAndSwap(int32(first), int32(n))
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("schemaregistry: %s %s%s: %w", method, c.urls[n].redacted, path, context.Cause(ctx))
		}
		var rerr *Error
		if errors.As(err, &rerr) && !rerr.Retriable() {
			return err
		}
		errs = append(errs, err)
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return fmt.Errorf("schemaregistry: all %d registry URLs failed: %w", len(errs), errors.Join(errs...))
}

func (c *Client) attempt(ctx context.Context, ep endpoint, method, path string, body []byte, into any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	where := ep.redacted + path
	fail := func(err error) error { return fmt.Errorf("schemaregistry: %s %s: %w", method, where, err) }

	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, ep.base+path, rd)
	if err != nil {
		return fail(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", ContentType)
	}
	req.Header.Set("Accept", acceptTypes)
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	switch {
	case c.cfg.TokenProvider != nil:
		tok, err := c.cfg.TokenProvider(ctx)
		if err != nil {
			return fail(fmt.Errorf("token provider: %w", err))
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	case c.cfg.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+c.cfg.BearerToken)
	case c.cfg.Username != "" || c.cfg.Password != "":
		req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	case ep.user != nil:
		pass, _ := ep.user.Password()
		req.SetBasicAuth(ep.user.Username(), pass)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // its text repeats the URL
		}
		return fail(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return fail(fmt.Errorf("reading the answer: %w", err))
	}
	if len(data) > maxResponseBytes {
		return fail(fmt.Errorf("answer larger than %d bytes", maxResponseBytes))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return answerError(method, where, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, into); err != nil {
		return fail(fmt.Errorf("decoding the answer (HTTP %d, %s): %w", resp.StatusCode, resp.Header.Get("Content-Type"), err))
	}
	return nil
}

// answerError turns a non-2xx answer into an *Error. The registry's bodies are
// {"error_code": 40401, "message": "..."}; a proxy in front of it may answer anything.
func answerError(method, where string, status int, data []byte) *Error {
	e := &Error{Method: method, URL: where, StatusCode: status, Code: status}
	var body struct {
		Code    *int   `json:"error_code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &body) == nil && body.Code != nil {
		e.Code = *body.Code
		e.Message = body.Message
		return e
	}
	const maxText = 200
	text := strings.TrimSpace(string(data))
	if len(text) > maxText {
		text = text[:maxText] + "..."
	}
	e.Message = strings.ToValidUTF8(text, "?")
	return e
}

func cloneSchema(s Schema) Schema {
	s.References = slices.Clone(s.References)
	return s
}

// cache holds what the registry cannot change: schemas by id, the id (and version, once
// known) of a schema under a subject, a subject's numbered versions. Each map is bounded;
// a full map forgets an arbitrary entry.
type cache struct {
	mu       sync.RWMutex
	capacity int
	ids      map[int]Schema
	subjects map[string]SubjectSchema // subject \x00 request body
	versions map[string]SubjectSchema // subject \x00 version
}

func (c *cache) init(capacity int) {
	c.capacity = capacity
	c.ids = map[int]Schema{}
	c.subjects = map[string]SubjectSchema{}
	c.versions = map[string]SubjectSchema{}
}

func (c *cache) byID(id int) (Schema, bool) {
	c.mu.RLock()
	s, ok := c.ids[id]
	c.mu.RUnlock()
	return cloneSchema(s), ok
}

func (c *cache) subjectSchema(key string) (SubjectSchema, bool) {
	c.mu.RLock()
	ss, ok := c.subjects[key]
	c.mu.RUnlock()
	ss.Schema = cloneSchema(ss.Schema)
	return ss, ok
}

func (c *cache) version(subject string, version int) (SubjectSchema, bool) {
	c.mu.RLock()
	ss, ok := c.versions[subject+"\x00"+strconv.Itoa(version)]
	c.mu.RUnlock()
	ss.Schema = cloneSchema(ss.Schema)
	return ss, ok
}

func (c *cache) putID(id int, s Schema) {
	c.mu.Lock()
	makeRoom(c.ids, id, c.capacity)
	c.ids[id] = cloneSchema(s)
	c.mu.Unlock()
}

func (c *cache) putSubjectSchema(key string, ss SubjectSchema) {
	c.mu.Lock()
	if old, ok := c.subjects[key]; ok && old.Version > 0 && ss.Version == 0 {
		ss.Version = old.Version // a Register answer has no version; keep a Lookup's
	}
	makeRoom(c.subjects, key, c.capacity)
	c.subjects[key] = ss
	c.mu.Unlock()
}

func (c *cache) putVersion(subject string, version int, ss SubjectSchema) {
	ss.Schema = cloneSchema(ss.Schema)
	key := subject + "\x00" + strconv.Itoa(version)
	c.mu.Lock()
	makeRoom(c.versions, key, c.capacity)
	c.versions[key] = ss
	c.mu.Unlock()
}

func makeRoom[K comparable, V any](m map[K]V, key K, capacity int) {
	if _, ok := m[key]; ok || len(m) < capacity {
		return
	}
	for k := range m {
		delete(m, k)
		return
	}
}
