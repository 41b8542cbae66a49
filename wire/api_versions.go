package wire

// ApiVersionsRequest (key 18) asks a broker which versions of each API it supports; a client
// sends it first on every connection. Versions 0–2 have an empty body.
type ApiVersionsRequest struct {
	// ClientSoftwareName names the client in the broker's metrics (v3+, KIP-511). The broker
	// answers INVALID_REQUEST unless it matches [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?.
	ClientSoftwareName string
	// ClientSoftwareVersion is the client's version (v3+), with the same pattern.
	ClientSoftwareVersion string
}

// Key returns [KeyApiVersions].
func (*ApiVersionsRequest) Key() int16 { return KeyApiVersions }

// AppendTo appends the request body encoded at version.
func (q *ApiVersionsRequest) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeyApiVersions, version)
	if version >= 3 {
		dst = AppendString(dst, q.ClientSoftwareName, flex)
		dst = AppendString(dst, q.ClientSoftwareVersion, flex)
	}
	return AppendEmptyTags(dst, flex)
}

// Decode replaces q with the request body decoded from b at version.
func (q *ApiVersionsRequest) Decode(b []byte, version int16) error {
	if err := CheckVersion(KeyApiVersions, version); err != nil {
		return err
	}
	*q = ApiVersionsRequest{}
	flex := IsFlexible(KeyApiVersions, version)
	var r Reader
	r.Reset(b)
	if version >= 3 {
		q.ClientSoftwareName = r.String(flex)
		q.ClientSoftwareVersion = r.String(flex)
	}
	r.Tags(flex, nil)
	return decodeError(KeyApiVersions, version, "request", r.Complete())
}

// ApiVersionsResponse (key 18) lists the API versions and features a broker supports. Its
// response header is always v0, even for flexible versions (KIP-511).
//
// A broker that does not support the requested ApiVersions version answers with a v0 body
// holding ErrorCode 35 (UNSUPPORTED_VERSION) and, in APIKeys, its own ApiVersions range. Such
// a body fails to decode at v1 and above, so a client whose decode at the version it asked
// for fails decodes again at v0 (see [ApiVersionsResponse.DecodeWithFallback]), then retries
// the request at the highest version both sides support.
type ApiVersionsResponse struct {
	// ErrorCode is the top-level error code.
	ErrorCode int16
	// APIKeys lists every API the broker supports with its version range.
	APIKeys []ApiVersionsKey
	// ThrottleTimeMs is how long the broker throttles this client for a quota violation (v1+).
	ThrottleTimeMs int32
	// SupportedFeatures lists the feature flags the broker supports (v3+, tag 0, KIP-584).
	SupportedFeatures []SupportedFeature
	// FinalizedFeaturesEpoch is the epoch of FinalizedFeatures (v3+, tag 1); -1, the Kafka
	// default and the value decoded when absent, means unknown. It is written only when not
	// -1, so a broker with no finalized features sets it to -1 rather than leaving it 0.
	FinalizedFeaturesEpoch int64
	// FinalizedFeatures lists the cluster-wide finalized feature levels (v3+, tag 2).
	FinalizedFeatures []FinalizedFeature
	// ZkMigrationReady is set by a KRaft controller ready for ZooKeeper migration (v3+, tag 3).
	ZkMigrationReady bool
}

// ApiVersionsKey is the version range a broker supports for one API.
type ApiVersionsKey struct{ APIKey, MinVersion, MaxVersion int16 }

// SupportedFeature is a feature flag a broker supports, with its version range.
type SupportedFeature struct {
	Name                   string
	MinVersion, MaxVersion int16
}

// FinalizedFeature is a cluster-wide finalized feature with its version levels.
type FinalizedFeature struct {
	Name                             string
	MaxVersionLevel, MinVersionLevel int16
}

// Key returns [KeyApiVersions].
func (*ApiVersionsResponse) Key() int16 { return KeyApiVersions }

// AppendTo appends the response body encoded at version. Tagged fields holding their
// default (empty, -1, false) are not written.
func (p *ApiVersionsResponse) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeyApiVersions, version)
	dst = AppendInt16(dst, p.ErrorCode)
	dst = AppendArrayLen(dst, len(p.APIKeys), flex)
	for _, k := range p.APIKeys {
		dst = AppendInt16(dst, k.APIKey)
		dst = AppendInt16(dst, k.MinVersion)
		dst = AppendInt16(dst, k.MaxVersion)
		dst = AppendEmptyTags(dst, flex)
	}
	if version >= 1 {
		dst = AppendInt32(dst, p.ThrottleTimeMs)
	}
	if !flex {
		return dst
	}
	var n uint32
	for _, present := range [...]bool{
		len(p.SupportedFeatures) > 0,
		p.FinalizedFeaturesEpoch != -1,
		len(p.FinalizedFeatures) > 0,
		p.ZkMigrationReady,
	} {
		if present {
			n++
		}
	}
	dst = AppendUvarint(dst, n)
	if len(p.SupportedFeatures) > 0 {
		dst = AppendUvarint(dst, 0)
		start := len(dst)
		dst = AppendArrayLen(dst, len(p.SupportedFeatures), true)
		for _, f := range p.SupportedFeatures {
			dst = AppendString(dst, f.Name, true)
			dst = AppendInt16(dst, f.MinVersion)
			dst = AppendInt16(dst, f.MaxVersion)
			dst = AppendEmptyTags(dst, true)
		}
		dst = InsertUvarintLen(dst, start)
	}
	if p.FinalizedFeaturesEpoch != -1 {
		dst = AppendUvarint(dst, 1)
		dst = AppendUvarint(dst, 8)
		dst = AppendInt64(dst, p.FinalizedFeaturesEpoch)
	}
	if len(p.FinalizedFeatures) > 0 {
		dst = AppendUvarint(dst, 2)
		start := len(dst)
		dst = AppendArrayLen(dst, len(p.FinalizedFeatures), true)
		for _, f := range p.FinalizedFeatures {
			dst = AppendString(dst, f.Name, true)
			dst = AppendInt16(dst, f.MaxVersionLevel)
			dst = AppendInt16(dst, f.MinVersionLevel)
			dst = AppendEmptyTags(dst, true)
		}
		dst = InsertUvarintLen(dst, start)
	}
	if p.ZkMigrationReady {
		dst = AppendUvarint(dst, 3)
		dst = AppendUvarint(dst, 1)
		dst = AppendBool(dst, true)
	}
	return dst
}

// Decode replaces p with the response body decoded from b at version, reusing p's slices.
// On error p's contents are unspecified.
func (p *ApiVersionsResponse) Decode(b []byte, version int16) error {
	if err := CheckVersion(KeyApiVersions, version); err != nil {
		return err
	}
	flex := IsFlexible(KeyApiVersions, version)
	var r Reader
	r.Reset(b)
	p.ErrorCode = r.Int16()
	p.APIKeys = reuseSlice(p.APIKeys, r.ArrayLenNonNull(flex, 6))
	for i := range p.APIKeys {
		k := &p.APIKeys[i]
		k.APIKey = r.Int16()
		k.MinVersion = r.Int16()
		k.MaxVersion = r.Int16()
		r.Tags(flex, nil)
	}
	p.ThrottleTimeMs = 0
	if version >= 1 {
		p.ThrottleTimeMs = r.Int32()
	}
	p.SupportedFeatures = p.SupportedFeatures[:0]
	p.FinalizedFeaturesEpoch = -1
	p.FinalizedFeatures = p.FinalizedFeatures[:0]
	p.ZkMigrationReady = false
	r.Tags(flex, func(tag uint32, data []byte) {
		var sub Reader
		sub.Reset(data)
		switch tag {
		case 0:
			p.SupportedFeatures = reuseSlice(p.SupportedFeatures, sub.ArrayLenNonNull(true, 6))
			for i := range p.SupportedFeatures {
				f := &p.SupportedFeatures[i]
				f.Name = sub.String(true)
				f.MinVersion = sub.Int16()
				f.MaxVersion = sub.Int16()
				sub.Tags(true, nil)
			}
		case 1:
			p.FinalizedFeaturesEpoch = sub.Int64()
		case 2:
			p.FinalizedFeatures = reuseSlice(p.FinalizedFeatures, sub.ArrayLenNonNull(true, 6))
			for i := range p.FinalizedFeatures {
				f := &p.FinalizedFeatures[i]
				f.Name = sub.String(true)
				f.MaxVersionLevel = sub.Int16()
				f.MinVersionLevel = sub.Int16()
				sub.Tags(true, nil)
			}
		case 3:
			p.ZkMigrationReady = sub.Bool()
		default:
			return
		}
		if err := sub.Complete(); err != nil {
			r.Failf("tag %d: %w", tag, err)
		}
	})
	if len(p.SupportedFeatures) == 0 {
		p.SupportedFeatures = nil
	}
	if len(p.FinalizedFeatures) == 0 {
		p.FinalizedFeatures = nil
	}
	return decodeError(KeyApiVersions, version, "response", r.Complete())
}

// DecodeWithFallback decodes b as an answer to an ApiVersions request sent at version. When
// that fails it decodes b at v0, the version of the body a broker sends when it does not
// support the requested version (KIP-511), and succeeds only if that v0 body carries
// UNSUPPORTED_VERSION. It returns the version the body was decoded at; on failure the error
// is the one from decoding at version.
func (p *ApiVersionsResponse) DecodeWithFallback(b []byte, version int16) (int16, error) {
	err := p.Decode(b, version)
	if err == nil || version == 0 {
		return version, err
	}
	if p.Decode(b, 0) == nil && p.ErrorCode == ErrUnsupportedVersion.Code {
		return 0, nil
	}
	return version, err
}
