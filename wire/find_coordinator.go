package wire

// Coordinator key types of [FindCoordinatorRequest.KeyType].
const (
	CoordinatorKeyGroup       int8 = 0 // a consumer group id
	CoordinatorKeyTransaction int8 = 1 // a transactional.id
	CoordinatorKeyShare       int8 = 2 // a share group, "group:topicId:partition" (KIP-932, v6+)
)

// FindCoordinatorRequest is the body of a FindCoordinator request (key 10, versions 0–6,
// flexible from 3): it asks which broker coordinates a group or a transactional id. Up to v3
// it names one key; from v4 (KIP-699) it names a batch of keys of one type.
type FindCoordinatorRequest struct {
	// CoordinatorKey is the group or transactional id to look up (v0–3 only). Kafka calls
	// this field Key; that name is taken by the [Request] method Key.
	CoordinatorKey string
	// KeyType says what CoordinatorKey or CoordinatorKeys name: [CoordinatorKeyGroup] or
	// [CoordinatorKeyTransaction] (v1+; v0 only knows groups).
	KeyType int8
	// CoordinatorKeys are the keys to look up (v4+ only).
	CoordinatorKeys []string
}

// Key returns [KeyFindCoordinator].
func (*FindCoordinatorRequest) Key() int16 { return KeyFindCoordinator }

// AppendTo appends the request body encoded at version to dst. CoordinatorKey is written only
// up to v3, KeyType from v1, CoordinatorKeys from v4.
func (m *FindCoordinatorRequest) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeyFindCoordinator, version)
	if version <= 3 {
		dst = AppendString(dst, m.CoordinatorKey, flex)
	}
	if version >= 1 {
		dst = AppendInt8(dst, m.KeyType)
	}
	if version >= 4 {
		dst = appendStringArray(dst, m.CoordinatorKeys, flex)
	}
	return AppendEmptyTags(dst, flex)
}

// Decode replaces m with the request body decoded from b at version. Fields absent at
// version are left at their zero value, which is also Kafka's default.
func (m *FindCoordinatorRequest) Decode(b []byte, version int16) error {
	*m = FindCoordinatorRequest{}
	if err := CheckVersion(KeyFindCoordinator, version); err != nil {
		return err
	}
	flex := IsFlexible(KeyFindCoordinator, version)
	r := NewReader(b)
	if version <= 3 {
		m.CoordinatorKey = r.String(flex)
	}
	if version >= 1 {
		m.KeyType = r.Int8()
	}
	if version >= 4 {
		m.CoordinatorKeys = readStringArray(r, flex)
	}
	r.Tags(flex, nil)
	return decodeError(KeyFindCoordinator, version, "request", r.Complete())
}

// FindCoordinatorResponse is the body of a FindCoordinator response (key 10, versions 0–6).
// Up to v3 it describes one coordinator in top-level fields; from v4 it lists one
// [Coordinator] per requested key.
type FindCoordinatorResponse struct {
	// ThrottleTimeMs is how long the broker throttled the request for quota, or 0 (v1+).
	ThrottleTimeMs int32
	// ErrorCode is 0 or a Kafka error code (v0–3).
	ErrorCode int16
	// ErrorMessage is the broker's message for ErrorCode, or nil (v1–3).
	ErrorMessage *string
	// NodeID is the coordinator's broker id (v0–3).
	NodeID int32
	// Host is the coordinator's host name (v0–3).
	Host string
	// Port is the coordinator's port (v0–3).
	Port int32
	// Coordinators holds one result per requested key (v4+).
	Coordinators []Coordinator
}

// Coordinator is the result for one key of a v4+ [FindCoordinatorResponse].
type Coordinator struct {
	// Key is the group or transactional id this result is for.
	Key string
	// NodeID is the coordinator's broker id.
	NodeID int32
	// Host is the coordinator's host name.
	Host string
	// Port is the coordinator's port.
	Port int32
	// ErrorCode is 0 or a Kafka error code for this key.
	ErrorCode int16
	// ErrorMessage is the broker's message for ErrorCode, or nil.
	ErrorMessage *string
}

// Key returns [KeyFindCoordinator].
func (*FindCoordinatorResponse) Key() int16 { return KeyFindCoordinator }

// AppendTo appends the response body encoded at version to dst. The top-level coordinator
// fields are written only up to v3, Coordinators only from v4.
func (m *FindCoordinatorResponse) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeyFindCoordinator, version)
	if version >= 1 {
		dst = AppendInt32(dst, m.ThrottleTimeMs)
	}
	if version <= 3 {
		dst = AppendInt16(dst, m.ErrorCode)
		if version >= 1 {
			dst = AppendNullableString(dst, m.ErrorMessage, flex)
		}
		dst = AppendInt32(dst, m.NodeID)
		dst = AppendString(dst, m.Host, flex)
		dst = AppendInt32(dst, m.Port)
	} else {
		dst = AppendArrayLen(dst, len(m.Coordinators), flex)
		for i := range m.Coordinators {
			c := &m.Coordinators[i]
			dst = AppendString(dst, c.Key, flex)
			dst = AppendInt32(dst, c.NodeID)
			dst = AppendString(dst, c.Host, flex)
			dst = AppendInt32(dst, c.Port)
			dst = AppendInt16(dst, c.ErrorCode)
			dst = AppendNullableString(dst, c.ErrorMessage, flex)
			dst = AppendEmptyTags(dst, flex)
		}
	}
	return AppendEmptyTags(dst, flex)
}

// Decode replaces m with the response body decoded from b at version. Fields absent at
// version are left at their zero value, which is also Kafka's default.
func (m *FindCoordinatorResponse) Decode(b []byte, version int16) error {
	*m = FindCoordinatorResponse{}
	if err := CheckVersion(KeyFindCoordinator, version); err != nil {
		return err
	}
	flex := IsFlexible(KeyFindCoordinator, version)
	r := NewReader(b)
	if version >= 1 {
		m.ThrottleTimeMs = r.Int32()
	}
	if version <= 3 {
		m.ErrorCode = r.Int16()
		if version >= 1 {
			m.ErrorMessage = r.NullableString(flex)
		}
		m.NodeID = r.Int32()
		m.Host = r.String(flex)
		m.Port = r.Int32()
	} else {
		// key, node id, host, port, error code, error message, tags
		n := r.ArrayLenNonNull(flex, 1+4+1+4+2+1+1)
		if n > 0 {
			m.Coordinators = make([]Coordinator, n)
		}
		for i := 0; i < n && r.Err() == nil; i++ {
			c := &m.Coordinators[i]
			c.Key = r.String(flex)
			c.NodeID = r.Int32()
			c.Host = r.String(flex)
			c.Port = r.Int32()
			c.ErrorCode = r.Int16()
			c.ErrorMessage = r.NullableString(flex)
			r.Tags(flex, nil)
		}
	}
	r.Tags(flex, nil)
	return decodeError(KeyFindCoordinator, version, "response", r.Complete())
}
