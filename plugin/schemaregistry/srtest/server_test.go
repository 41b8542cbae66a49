package srtest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gregor-kafka/producer/plugin/schemaregistry/srtest"
)

const ct = "application/vnd.schemaregistry.v1+json"

type exchange struct {
	method, path, contentType, accept, body string
	status                                  int
	code                                    int    // error_code, 0 for a success
	answer                                  string // the success body, compact JSON; "" to skip
}

// TestProtocol drives the fake with raw HTTP: the paths, content types, status codes and
// error bodies a client meets.
func TestProtocol(t *testing.T) {
	srv := srtest.NewServer()
	defer srv.Close()
	avro := `{"schema":"{\"type\": \"record\", \"name\": \"R\", \"fields\": [{\"name\": \"x\", \"type\": \"int\"}]}"}`
	avroCompact := `{"schema":"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"x\",\"type\":\"int\"}]}"}`
	proto := `{"schemaType":"PROTOBUF","schema":"syntax = \"proto3\";\nmessage P { int32 x = 1; }\n"}`
	protoRef := `{"schemaType":"PROTOBUF","schema":"syntax = \"proto3\";\nimport \"p.proto\";\nmessage Q { P p = 1; }\n","references":[{"name":"p.proto","subject":"p.proto","version":1}]}`
	for i, ex := range []exchange{
		{"GET", "/subjects", "", ct, "", 200, 0, `[]`},
		{"POST", "/subjects/a-value/versions", ct, ct, avro, 200, 0, `{"id":1}`},
		// The same schema, white space aside, is the same id and no new version.
		{"POST", "/subjects/a-value/versions", "application/json", "", avroCompact, 200, 0, `{"id":1}`},
		{"POST", "/subjects/b-value/versions", ct, "application/vnd.schemaregistry+json", avro, 200, 0, `{"id":1}`},
		{"POST", "/subjects/p.proto/versions", ct, ct, proto, 200, 0, `{"id":2}`},
		{"POST", "/subjects/q-value/versions", ct, ct, protoRef, 200, 0, `{"id":3}`},
		{"POST", "/subjects/a-value", ct, ct, avro, 200, 0, `{"subject":"a-value","version":1,"id":1,"schema":"{\"type\": \"record\", \"name\": \"R\", \"fields\": [{\"name\": \"x\", \"type\": \"int\"}]}"}`},
		{"GET", "/subjects/q-value/versions/latest", "", ct, "", 200, 0, `{"subject":"q-value","version":1,"id":3,"schema":"syntax = \"proto3\";\nimport \"p.proto\";\nmessage Q { P p = 1; }\n","schemaType":"PROTOBUF","references":[{"name":"p.proto","subject":"p.proto","version":1}]}`},
		{"GET", "/subjects/p.proto/versions/-1", "", "", "", 200, 0, ""},
		{"GET", "/schemas/ids/2", "", "*/*", "", 200, 0, `{"schema":"syntax = \"proto3\";\nmessage P { int32 x = 1; }\n","schemaType":"PROTOBUF"}`},
		{"GET", "/schemas/ids/1/versions", "", ct, "", 200, 0, `[{"subject":"a-value","version":1},{"subject":"b-value","version":1}]`},
		{"GET", "/subjects", "", ct, "", 200, 0, `["a-value","b-value","p.proto","q-value"]`},
		{"GET", "/subjects/a-value/versions", "", ct, "", 200, 0, `[1]`},

		{"GET", "/subjects/nope/versions", "", ct, "", 404, 40401, ""},
		{"GET", "/subjects/nope/versions/1", "", ct, "", 404, 40401, ""},
		{"GET", "/subjects/a-value/versions/2", "", ct, "", 404, 40402, ""},
		{"GET", "/subjects/a-value/versions/0", "", ct, "", 422, 42202, ""},
		{"GET", "/subjects/a-value/versions/x", "", ct, "", 422, 42202, ""},
		{"GET", "/schemas/ids/9", "", ct, "", 404, 40403, ""},
		{"GET", "/schemas/ids/nine", "", ct, "", 404, 404, ""},
		{"POST", "/subjects/a-value", ct, ct, proto, 404, 40403, ""},
		{"POST", "/subjects/nope", ct, ct, avro, 404, 40401, ""},
		{"POST", "/subjects/c-value/versions", ct, ct, `{"schema":"{\"type\":\"nope\"}"}`, 422, 42201, ""},
		{"POST", "/subjects/c-value/versions", ct, ct, `{"schema":"\"int\"","schemaType":"XML"}`, 422, 42201, ""},
		{"POST", "/subjects/c-value/versions", ct, ct, `{"schema":""}`, 422, 42201, ""},
		{"POST", "/subjects/c-value/versions", ct, ct, `{"schema":"\"int\"","color":"red"}`, 422, 422, ""},
		{"POST", "/subjects/c-value/versions", ct, ct, `{"schema":`, 400, 400, ""},
		{"POST", "/subjects/c-value/versions", ct, ct, `{"schemaType":"PROTOBUF","schema":"syntax = \"proto3\";\nimport \"p.proto\";\nmessage Q { P p = 1; }\n"}`, 422, 42201, ""},
		{"POST", "/subjects/c-value/versions", ct, ct, `{"schemaType":"PROTOBUF","schema":"syntax = \"proto3\";\nimport \"p.proto\";\nmessage Q { P p = 1; }\n","references":[{"name":"p.proto","subject":"p.proto","version":2}]}`, 422, 42201, ""},
		{"POST", "/subjects/c-value/versions", "text/plain", ct, avro, 415, 415, ""},
		{"POST", "/subjects/c-value/versions", "", ct, avro, 415, 415, ""},
		{"GET", "/subjects", "", "text/html", "", 406, 406, ""},
		{"PUT", "/subjects/a-value/versions", ct, ct, avro, 405, 405, ""},
		{"DELETE", "/subjects/a-value", "", ct, "", 405, 405, ""},
		{"GET", "/config", "", ct, "", 404, 404, ""},
	} {
		req, err := http.NewRequest(ex.method, srv.URL()+ex.path, strings.NewReader(ex.body))
		if err != nil {
			t.Fatal(err)
		}
		if ex.contentType != "" {
			req.Header.Set("Content-Type", ex.contentType)
		}
		if ex.accept != "" {
			req.Header.Set("Accept", ex.accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		where := fmt.Sprintf("#%d %s %s", i, ex.method, ex.path)
		if resp.StatusCode != ex.status || resp.Header.Get("Content-Type") != ct {
			t.Errorf("%s: HTTP %d %s %s, want %d", where, resp.StatusCode, resp.Header.Get("Content-Type"), body, ex.status)
			continue
		}
		if ex.code != 0 {
			var e struct {
				Code    int    `json:"error_code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Code != ex.code || e.Message == "" {
				t.Errorf("%s: body %s, want error_code %d and a message", where, body, ex.code)
			}
			continue
		}
		if ex.answer != "" && strings.TrimSpace(string(body)) != ex.answer {
			t.Errorf("%s: body\n%s\nwant\n%s", where, body, ex.answer)
		}
	}
}

func TestAuth(t *testing.T) {
	basic := srtest.NewServer(srtest.BasicAuth("u", "p"))
	defer basic.Close()
	bearer := srtest.NewServer(srtest.BearerToken("t"))
	defer bearer.Close()
	for _, tc := range []struct {
		srv           *srtest.Server
		authorization string
		status        int
		challenge     string
	}{
		{basic, "", 401, "Basic"},
		{basic, "Basic dTp4", 401, "Basic"}, // u:x
		{basic, "Bearer t", 401, "Basic"},
		{basic, "Basic dTpw", 200, ""}, // u:p
		{bearer, "", 401, "Bearer"},
		{bearer, "Bearer u", 401, "Bearer"},
		{bearer, "Basic dTpw", 401, "Bearer"},
		{bearer, "Bearer t", 200, ""},
	} {
		req, _ := http.NewRequest("GET", tc.srv.URL()+"/subjects", nil)
		if tc.authorization != "" {
			req.Header.Set("Authorization", tc.authorization)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), tc.challenge) {
			t.Errorf("Authorization %q: HTTP %d, WWW-Authenticate %q; want %d, %q", tc.authorization, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), tc.status, tc.challenge)
		}
	}
}

func TestFaults(t *testing.T) {
	srv := srtest.NewServer()
	defer srv.Close()
	srv.InjectFault(srtest.Fault{Method: "POST", Path: "/subjects/x", Status: 500, ErrorCode: 50001, Times: 2})
	get := func(method, path string) int {
		req, _ := http.NewRequest(method, srv.URL()+path, strings.NewReader(`{"schema":"\"int\""}`))
		req.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	got := []int{get("GET", "/subjects"), get("POST", "/subjects/y/versions"), get("POST", "/subjects/x/versions"), get("POST", "/subjects/x/versions"), get("POST", "/subjects/x/versions")}
	if want := []int{200, 200, 500, 500, 200}; !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	if srv.Requests() != 5 {
		t.Fatalf("Requests() = %d", srv.Requests())
	}
}
