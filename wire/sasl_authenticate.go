package wire

// SaslAuthenticateRequest is the body of a SaslAuthenticate request (key 36, versions 0–2,
// flexible from 2): one client token of the SASL exchange after a v1 SaslHandshake (KIP-152).
type SaslAuthenticateRequest struct {
	// AuthBytes is the mechanism's client token, such as "authzid\x00user\x00password" for
	// PLAIN. Kafka declares it non-nullable: nil is sent as empty.
	AuthBytes []byte
}

// Key returns [KeySaslAuthenticate].
func (*SaslAuthenticateRequest) Key() int16 { return KeySaslAuthenticate }

// AppendTo appends the request body encoded at version to dst.
func (m *SaslAuthenticateRequest) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeySaslAuthenticate, version)
	dst = appendRequiredBytes(dst, m.AuthBytes, flex)
	return AppendEmptyTags(dst, flex)
}

// Decode replaces m with the request body decoded from b at version. AuthBytes is a copy, so
// b may be reused; null AuthBytes is an error.
func (m *SaslAuthenticateRequest) Decode(b []byte, version int16) error {
	*m = SaslAuthenticateRequest{}
	if err := CheckVersion(KeySaslAuthenticate, version); err != nil {
		return err
	}
	flex := IsFlexible(KeySaslAuthenticate, version)
	r := NewReader(b)
	m.AuthBytes = readRequiredBytes(r, flex)
	r.Tags(flex, nil)
	return decodeError(KeySaslAuthenticate, version, "request", r.Complete())
}

// SaslAuthenticateResponse is the body of a SaslAuthenticate response (key 36, versions 0–2).
type SaslAuthenticateResponse struct {
	// ErrorCode is 0 or a Kafka error code, such as SASL_AUTHENTICATION_FAILED (58).
	ErrorCode int16
	// ErrorMessage is the broker's message for ErrorCode, or nil.
	ErrorMessage *string
	// AuthBytes is the mechanism's server token (empty when it has none). Kafka declares it
	// non-nullable: nil is sent as empty.
	AuthBytes []byte
	// SessionLifetimeMs is how long the session lasts before the client must re-authenticate
	// over the same connection, or 0 for no limit (v1+, KIP-368).
	SessionLifetimeMs int64
}

// Key returns [KeySaslAuthenticate].
func (*SaslAuthenticateResponse) Key() int16 { return KeySaslAuthenticate }

// AppendTo appends the response body encoded at version to dst. SessionLifetimeMs is written
// only from v1.
func (m *SaslAuthenticateResponse) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeySaslAuthenticate, version)
	dst = AppendInt16(dst, m.ErrorCode)
	dst = AppendNullableString(dst, m.ErrorMessage, flex)
	dst = appendRequiredBytes(dst, m.AuthBytes, flex)
	if version >= 1 {
		dst = AppendInt64(dst, m.SessionLifetimeMs)
	}
	return AppendEmptyTags(dst, flex)
}

// Decode replaces m with the response body decoded from b at version. AuthBytes is a copy,
// so b may be reused; null AuthBytes is an error. Below v1 SessionLifetimeMs is 0.
func (m *SaslAuthenticateResponse) Decode(b []byte, version int16) error {
	*m = SaslAuthenticateResponse{}
	if err := CheckVersion(KeySaslAuthenticate, version); err != nil {
		return err
	}
	flex := IsFlexible(KeySaslAuthenticate, version)
	r := NewReader(b)
	m.ErrorCode = r.Int16()
	m.ErrorMessage = r.NullableString(flex)
	m.AuthBytes = readRequiredBytes(r, flex)
	if version >= 1 {
		m.SessionLifetimeMs = r.Int64()
	}
	r.Tags(flex, nil)
	return decodeError(KeySaslAuthenticate, version, "response", r.Complete())
}
