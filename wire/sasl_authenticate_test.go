package wire

import "testing"

func saslAuthenticateCases(t testing.TB) []msgCase {
	var cases []msgCase
	for _, v := range versionsOf(t, KeySaslAuthenticate) {
		plain := &SaslAuthenticateRequest{AuthBytes: []byte("\x00alice\x00s3cret")}
		empty := &SaslAuthenticateRequest{AuthBytes: []byte{}}
		cases = append(cases,
			msgCase{"SaslAuthenticateRequest/plain", v, plain, plain},
			msgCase{"SaslAuthenticateRequest/empty", v, empty, empty},
			// AuthBytes is not nullable: nil is sent as empty.
			msgCase{"SaslAuthenticateRequest/nil", v, &SaslAuthenticateRequest{}, empty})

		resp := &SaslAuthenticateResponse{
			ErrorCode:         58,
			ErrorMessage:      strp("Authentication failed: Invalid username or password"),
			AuthBytes:         []byte("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="),
			SessionLifetimeMs: 3600000,
		}
		want := *resp
		if v < 1 {
			want.SessionLifetimeMs = 0
		}
		cases = append(cases, msgCase{"SaslAuthenticateResponse/full", v, resp, &want})
		ok := &SaslAuthenticateResponse{}
		cases = append(cases, msgCase{"SaslAuthenticateResponse/nil bytes", v, ok, &SaslAuthenticateResponse{AuthBytes: []byte{}}})
	}
	return cases
}

func TestSaslAuthenticateRoundTrip(t *testing.T) { runMsgCases(t, saslAuthenticateCases(t)) }

func TestSaslAuthenticateGolden(t *testing.T) {
	req := &SaslAuthenticateRequest{AuthBytes: []byte("\x00u\x00p")}
	checkGoldenBytes(t, "request", req, 1, []byte{
		0x00, 0x00, 0x00, 0x04, 0x00, 'u', 0x00, 'p', // AuthBytes: int32 length 4
	})
	checkGoldenBytes(t, "request", req, 2, []byte{
		0x05, 0x00, 'u', 0x00, 'p', // compact bytes: uvarint 4+1
		0x00, // no tagged fields
	})
	resp := &SaslAuthenticateResponse{AuthBytes: []byte{}, SessionLifetimeMs: 1000}
	checkGoldenBytes(t, "response", &SaslAuthenticateResponse{AuthBytes: []byte{}}, 0, []byte{
		0x00, 0x00, // ErrorCode
		0xff, 0xff, // ErrorMessage null
		0x00, 0x00, 0x00, 0x00, // AuthBytes empty
	})
	checkGoldenBytes(t, "response", resp, 1, []byte{
		0x00, 0x00,
		0xff, 0xff,
		0x00, 0x00, 0x00, 0x00,
		0, 0, 0, 0, 0, 0, 0x03, 0xe8, // SessionLifetimeMs 1000
	})
	failed := &SaslAuthenticateResponse{ErrorCode: 58, ErrorMessage: strp("no"), AuthBytes: []byte{}}
	checkGoldenBytes(t, "response", failed, 2, []byte{
		0x00, 0x3a, // ErrorCode 58 SASL_AUTHENTICATION_FAILED
		0x03, 'n', 'o', // compact string
		0x01,                   // compact bytes, empty
		0, 0, 0, 0, 0, 0, 0, 0, // SessionLifetimeMs
		0x00,
	})
}

func TestSaslAuthenticateHostile(t *testing.T) {
	requests := []struct {
		version int16
		b       []byte
	}{
		{0, []byte{0xff, 0xff, 0xff, 0xff}},             // null AuthBytes
		{2, []byte{0x00, 0x00}},                         // compact null AuthBytes
		{1, []byte{0x7f, 0xff, 0xff, 0xff, 'a'}},        // length past the end
		{1, []byte{0xff, 0xff, 0xff, 0xf0}},             // negative length
		{2, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x01}}, // overlong uvarint
	}
	for _, c := range requests {
		if err := new(SaslAuthenticateRequest).Decode(c.b, c.version); err == nil {
			t.Errorf("v%d % x: no error", c.version, c.b)
		}
	}
	if err := new(SaslAuthenticateResponse).Decode([]byte{0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0); err == nil {
		t.Errorf("response with null AuthBytes: no error")
	}
}

func TestSaslAuthenticateDecodeCopies(t *testing.T) {
	b := (&SaslAuthenticateRequest{AuthBytes: []byte("token")}).AppendTo(nil, 2)
	var m SaslAuthenticateRequest
	if err := m.Decode(b, 2); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0
	}
	if string(m.AuthBytes) != "token" {
		t.Fatalf("AuthBytes aliases the input: %q", m.AuthBytes)
	}
}
