package wire

import "testing"

func saslHandshakeCases(t testing.TB) []msgCase {
	var cases []msgCase
	for _, v := range versionsOf(t, KeySaslHandshake) {
		req := &SaslHandshakeRequest{Mechanism: "SCRAM-SHA-512"}
		empty := &SaslHandshakeRequest{}
		resp := &SaslHandshakeResponse{ErrorCode: 33, Mechanisms: []string{"PLAIN", "SCRAM-SHA-256", ""}}
		none := &SaslHandshakeResponse{}
		cases = append(cases,
			msgCase{"SaslHandshakeRequest/scram", v, req, req},
			msgCase{"SaslHandshakeRequest/empty", v, empty, empty},
			msgCase{"SaslHandshakeResponse/full", v, resp, resp},
			msgCase{"SaslHandshakeResponse/none", v, none, none},
			// An empty, non-nil Mechanisms encodes as an empty array and decodes as nil.
			msgCase{"SaslHandshakeResponse/empty", v, &SaslHandshakeResponse{Mechanisms: []string{}}, none})
	}
	return cases
}

func TestSaslHandshakeRoundTrip(t *testing.T) { runMsgCases(t, saslHandshakeCases(t)) }

func TestSaslHandshakeGolden(t *testing.T) {
	for _, v := range []int16{0, 1} {
		checkGoldenBytes(t, "request", &SaslHandshakeRequest{Mechanism: "PLAIN"}, v, []byte{
			0x00, 0x05, 'P', 'L', 'A', 'I', 'N', // Mechanism
		})
		checkGoldenBytes(t, "response", &SaslHandshakeResponse{Mechanisms: []string{"PLAIN", "SCRAM-SHA-256"}}, v, []byte{
			0x00, 0x00, // ErrorCode
			0x00, 0x00, 0x00, 0x02, // Mechanisms: 2
			0x00, 0x05, 'P', 'L', 'A', 'I', 'N',
			0x00, 0x0d, 'S', 'C', 'R', 'A', 'M', '-', 'S', 'H', 'A', '-', '2', '5', '6',
		})
	}
}

func TestSaslHandshakeHostile(t *testing.T) {
	for name, b := range map[string][]byte{
		"null mechanisms":      {0x00, 0x21, 0xff, 0xff, 0xff, 0xff},
		"mechanisms too many":  {0x00, 0x21, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00},
		"null mechanism":       {0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff},
		"mechanism past end":   {0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x03, 'a'},
		"negative array count": {0x00, 0x00, 0xff, 0xff, 0xff, 0xfe},
	} {
		if err := new(SaslHandshakeResponse).Decode(b, 1); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
