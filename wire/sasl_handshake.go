package wire

// SaslHandshakeRequest is the body of a SaslHandshake request (key 17, versions 0–1, never
// flexible): the first step of SASL on a connection, naming the mechanism the client wants.
// After a v1 handshake the tokens travel in SaslAuthenticate requests; after v0 they travel as
// bare int32-length-prefixed frames. Kafka froze this API at v1 (KAFKA-9577).
type SaslHandshakeRequest struct {
	// Mechanism is the SASL mechanism, such as PLAIN or SCRAM-SHA-256.
	Mechanism string
}

// Key returns [KeySaslHandshake].
func (*SaslHandshakeRequest) Key() int16 { return KeySaslHandshake }

// AppendTo appends the request body to dst; both versions encode the same.
func (m *SaslHandshakeRequest) AppendTo(dst []byte, version int16) []byte {
	return AppendString(dst, m.Mechanism, false)
}

// Decode replaces m with the request body decoded from b at version.
func (m *SaslHandshakeRequest) Decode(b []byte, version int16) error {
	*m = SaslHandshakeRequest{}
	if err := CheckVersion(KeySaslHandshake, version); err != nil {
		return err
	}
	r := NewReader(b)
	m.Mechanism = r.String(false)
	return decodeError(KeySaslHandshake, version, "request", r.Complete())
}

// SaslHandshakeResponse is the body of a SaslHandshake response (key 17, versions 0–1). When
// the broker does not enable the requested mechanism it answers UNSUPPORTED_SASL_MECHANISM
// (33) with the mechanisms it does enable.
type SaslHandshakeResponse struct {
	// ErrorCode is 0 or a Kafka error code; see [ErrorForCode].
	ErrorCode int16
	// Mechanisms are the SASL mechanisms the broker enables.
	Mechanisms []string
}

// Key returns [KeySaslHandshake].
func (*SaslHandshakeResponse) Key() int16 { return KeySaslHandshake }

// AppendTo appends the response body to dst; both versions encode the same.
func (m *SaslHandshakeResponse) AppendTo(dst []byte, version int16) []byte {
	dst = AppendInt16(dst, m.ErrorCode)
	return appendStringArray(dst, m.Mechanisms, false)
}

// Decode replaces m with the response body decoded from b at version. An empty Mechanisms
// array decodes as nil.
func (m *SaslHandshakeResponse) Decode(b []byte, version int16) error {
	*m = SaslHandshakeResponse{}
	if err := CheckVersion(KeySaslHandshake, version); err != nil {
		return err
	}
	r := NewReader(b)
	m.ErrorCode = r.Int16()
	m.Mechanisms = readStringArray(r, false)
	return decodeError(KeySaslHandshake, version, "response", r.Complete())
}
