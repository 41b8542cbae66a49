package kafkatest

import (
	"fmt"
	"sort"

	"github.com/gregor-kafka/producer/wire"
)

// handleApiVersions answers ApiVersions (key 18) with the version ranges of the APIs the
// brokers answer (see handlers), taken from wire.SupportedAPIs and capped by the cluster's
// options; from v3, with transactions V2, it lists the feature transaction.version (KIP-584),
// from which clients learn that they may use Produce v12 and EndTxn v5 as KIP-890 part 2
// intends (Kafka 4 brokers advertise those versions whatever the feature's level).
func handleApiVersions(cn *conn, ex *exchange) (wire.Response, error) {
	var req wire.ApiVersionsRequest
	if err := req.Decode(ex.body, ex.hdr.APIVersion); err != nil {
		return nil, err
	}
	resp := &wire.ApiVersionsResponse{FinalizedFeaturesEpoch: -1}
	if code := ex.faultCode(); code != 0 {
		resp.ErrorCode = code
		return resp, nil
	}
	if ex.hdr.APIVersion >= 3 {
		// KIP-511: Kafka answers INVALID_REQUEST to a software name or version that does not
		// match [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?.
		if !validSoftwareField(req.ClientSoftwareName) || !validSoftwareField(req.ClientSoftwareVersion) {
			resp.ErrorCode = wire.ErrInvalidRequest.Code
			return resp, nil
		}
	}
	c := cn.b.c
	resp.APIKeys = c.apis
	if ex.hdr.APIVersion >= 3 && c.txnV2 {
		// KIP-1022: below v4 a supported feature's MinVersion may not be 0; Kafka reports 1.
		minTV := int16(0)
		if ex.hdr.APIVersion < 4 {
			minTV = 1
		}
		resp.SupportedFeatures = []wire.SupportedFeature{{Name: transactionVersionFeature, MinVersion: minTV, MaxVersion: 2}}
		resp.FinalizedFeaturesEpoch = finalizedFeaturesEpoch
		resp.FinalizedFeatures = []wire.FinalizedFeature{{Name: transactionVersionFeature, MinVersionLevel: 2, MaxVersionLevel: 2}}
	}
	return resp, nil
}

const (
	// transactionVersionFeature is the feature whose level 2 means transactions V2 (KIP-890).
	transactionVersionFeature = "transaction.version"
	// finalizedFeaturesEpoch is the epoch the finalized features are reported with; any
	// value from 0 means "known", and they never change.
	finalizedFeaturesEpoch = 1
)

// Highest Produce and EndTxn versions of a broker without transactions V2 (Kafka's
// LAST_STABLE_VERSION_BEFORE_TRANSACTION_V2).
const (
	maxProduceTxnV1 = 11
	maxEndTxnTxnV1  = 4
)

// versionCaps returns the highest version the brokers accept of every API with a handler,
// after the MaxVersions and TransactionsV2 options. NewCluster computes it once (handlers
// cannot, as the map refers to handleApiVersions).
func versionCaps(cfg *config) map[int16]int16 {
	m := make(map[int16]int16)
	for _, a := range wire.SupportedAPIs() {
		if _, ok := handlers[a.Key]; !ok {
			continue
		}
		v := a.Max
		if limit, ok := cfg.maxVersions[a.Key]; ok {
			v = min(v, limit)
		}
		if !cfg.txnV2 {
			switch a.Key {
			case wire.KeyProduce:
				v = min(v, maxProduceTxnV1)
			case wire.KeyEndTxn:
				v = min(v, maxEndTxnTxnV1)
			case wire.KeyTxnOffsetCommit:
				v = min(v, maxTxnOffsetCommitTxnV1)
			}
		}
		m[a.Key] = v
	}
	return m
}

// advertisedAPIs returns the version range of every API with a handler, by key, up to the
// caps of versionCaps. Produce is advertised from v0, as Kafka 4 does though it refuses
// v0–2 (KAFKA-18659): librdkafka compresses with gzip, snappy or lz4 only when the broker
// lists Produce v0, and sends those batches uncompressed otherwise.
func advertisedAPIs(caps map[int16]int16) []wire.ApiVersionsKey {
	var keys []wire.ApiVersionsKey
	for _, a := range wire.SupportedAPIs() {
		if v, ok := caps[a.Key]; ok {
			lowest := a.Min
			if a.Key == wire.KeyProduce {
				lowest = 0
			}
			keys = append(keys, wire.ApiVersionsKey{APIKey: a.Key, MinVersion: lowest, MaxVersion: v})
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].APIKey < keys[j].APIKey })
	return keys
}

// handler returns the handler of requests with key at version, and whether the brokers
// answer key at all. A version above the cluster's cap gets a handler that closes the
// connection, as Kafka does for versions it does not know.
func (c *Cluster) handler(key, version int16) (handler, bool) {
	h, ok := handlers[key]
	if ok && version > c.maxVers[key] {
		return refuseVersion, true
	}
	return h, ok
}

func refuseVersion(cn *conn, ex *exchange) (wire.Response, error) {
	return nil, fmt.Errorf("%s v%d is above the cluster's MaxVersions cap of v%d", wire.APIName(ex.hdr.APIKey), ex.hdr.APIVersion, cn.b.c.maxVers[ex.hdr.APIKey])
}

// unsupportedApiVersions returns the answer to an ApiVersions request newer than we know
// (KIP-511): a v0 body with UNSUPPORTED_VERSION and our own ApiVersions range, so the client
// can retry at a version both sides speak.
func unsupportedApiVersions(h wire.RequestHeader) []byte {
	a, _ := wire.LookupAPI(wire.KeyApiVersions)
	resp := &wire.ApiVersionsResponse{
		ErrorCode:              wire.ErrUnsupportedVersion.Code,
		APIKeys:                []wire.ApiVersionsKey{{APIKey: a.Key, MinVersion: a.Min, MaxVersion: a.Max}},
		FinalizedFeaturesEpoch: -1,
	}
	return wire.AppendResponse(nil, h.CorrelationID, 0, resp)
}

// validSoftwareField reports whether s matches [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?.
func validSoftwareField(s string) bool {
	if s == "" {
		return false
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !alnum(c) && ((c != '-' && c != '.') || i == 0 || i == len(s)-1) {
			return false
		}
	}
	return true
}
