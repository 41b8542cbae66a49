package wire

import (
	"encoding/binary"
	"fmt"
	"io"
)

// RequestHeader is the header of every request: v1, or v2 (with a tagged-field section)
// when the API version is flexible. The client id stays an int16-length nullable string in
// both.
type RequestHeader struct {
	APIKey        int16
	APIVersion    int16
	CorrelationID int32
	ClientID      *string
}

// AppendTo appends the header in the version its API version calls for.
func (h *RequestHeader) AppendTo(dst []byte) []byte {
	dst = AppendInt16(dst, h.APIKey)
	dst = AppendInt16(dst, h.APIVersion)
	dst = AppendInt32(dst, h.CorrelationID)
	dst = AppendNullableString(dst, h.ClientID, false)
	return AppendEmptyTags(dst, IsFlexible(h.APIKey, h.APIVersion))
}

// ResponseHeaderFlexible reports whether the response to version of key has a v1 header
// (with tagged fields). ApiVersions answers always use v0 (KIP-511).
func ResponseHeaderFlexible(key, version int16) bool {
	return key != KeyApiVersions && IsFlexible(key, version)
}

// AppendRequest appends one whole request frame to dst: the int32 size, the header and body
// encoded at h.APIVersion. h.APIKey is set from body.
func AppendRequest(dst []byte, h RequestHeader, body Request) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	h.APIKey = body.Key()
	dst = h.AppendTo(dst)
	dst = body.AppendTo(dst, h.APIVersion)
	PutInt32(dst, start, int32(len(dst)-start-4))
	return dst
}

// PiecewiseRequest is a request whose encoding can leave large byte slices it refers to
// (record batches) out of the encoded bytes, so that they are written from their own
// buffers with a vectored write rather than copied.
type PiecewiseRequest interface {
	Request
	// AppendPieces appends the body like AppendTo, except for the slices left out: for
	// each, in order, the offset in dst where it belongs is appended to cuts and the slice
	// to refs.
	AppendPieces(dst []byte, version int16, cuts []int, refs [][]byte) ([]byte, []int, [][]byte)
}

// AppendRequestPieces is [AppendRequest] for a [PiecewiseRequest]: the frame is dst from
// len(dst) on with refs[i] inserted at offset cuts[i] (offsets into the returned dst); its
// size prefix counts them.
func AppendRequestPieces(dst []byte, h RequestHeader, body PiecewiseRequest, cuts []int, refs [][]byte) ([]byte, []int, [][]byte) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	h.APIKey = body.Key()
	dst = h.AppendTo(dst)
	n := len(refs)
	dst, cuts, refs = body.AppendPieces(dst, h.APIVersion, cuts, refs)
	size := len(dst) - start - 4
	for _, r := range refs[n:] {
		size += len(r)
	}
	PutInt32(dst, start, int32(size))
	return dst, cuts, refs
}

// AppendResponse appends one whole response frame to dst: the int32 size, a response header
// for correlationID and the body encoded at version.
func AppendResponse(dst []byte, correlationID int32, version int16, body Response) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = AppendInt32(dst, correlationID)
	dst = AppendEmptyTags(dst, ResponseHeaderFlexible(body.Key(), version))
	dst = body.AppendTo(dst, version)
	PutInt32(dst, start, int32(len(dst)-start-4))
	return dst
}

// ParseRequestHeader decodes a request header from frame (without its size prefix) and
// returns it with the body that follows. A request for an API or version this package does
// not implement returns the decoded fixed fields together with an error.
func ParseRequestHeader(frame []byte) (RequestHeader, []byte, error) {
	r := NewReader(frame)
	var h RequestHeader
	h.APIKey = r.Int16()
	h.APIVersion = r.Int16()
	h.CorrelationID = r.Int32()
	if err := r.Err(); err != nil {
		return h, nil, err
	}
	// ApiVersions requests newer than we know still get an answer (KIP-511): the broker
	// reads the header as v2 and does not decode the body.
	if av, _ := LookupAPI(KeyApiVersions); h.APIKey == KeyApiVersions && h.APIVersion > av.Max {
		h.ClientID = r.NullableString(false)
		r.Tags(true, nil)
		if err := r.Err(); err != nil {
			return h, nil, err
		}
		return h, frame[r.Offset():], CheckVersion(h.APIKey, h.APIVersion)
	}
	if err := CheckVersion(h.APIKey, h.APIVersion); err != nil {
		return h, nil, err
	}
	h.ClientID = r.NullableString(false)
	r.Tags(IsFlexible(h.APIKey, h.APIVersion), nil)
	if err := r.Err(); err != nil {
		return h, nil, err
	}
	return h, frame[r.Offset():], nil
}

// ParseResponseHeader decodes the response header of a frame (without its size prefix) that
// answers version of key, and returns the correlation id and the body.
func ParseResponseHeader(frame []byte, key, version int16) (int32, []byte, error) {
	r := NewReader(frame)
	id := r.Int32()
	r.Tags(ResponseHeaderFlexible(key, version), nil)
	if err := r.Err(); err != nil {
		return 0, nil, fmt.Errorf("wire: response header: %w", err)
	}
	return id, frame[r.Offset():], nil
}

// ReadFrame reads one size-prefixed frame from rd into buf (grown as needed) and returns the
// frame without its size. A size that is negative or above maxSize is an error and nothing
// past the size is read, so a hostile peer cannot make us allocate.
func ReadFrame(rd io.Reader, buf []byte, maxSize int) ([]byte, error) {
	var sz [4]byte
	if _, err := io.ReadFull(rd, sz[:]); err != nil {
		return buf[:0], err
	}
	n := int32(binary.BigEndian.Uint32(sz[:]))
	if n < 0 || int(n) > maxSize {
		return buf[:0], fmt.Errorf("wire: frame size %d outside 0..%d", n, maxSize)
	}
	// Read in chunks, growing the buffer only as bytes arrive: a peer that announces a
	// large frame and sends nothing costs nothing.
	buf = buf[:0]
	for len(buf) < int(n) {
		chunk := min(int(n)-len(buf), frameChunk)
		if cap(buf)-len(buf) < chunk {
			buf = append(buf[:cap(buf)], make([]byte, chunk-(cap(buf)-len(buf)))...)[:len(buf)]
		}
		m, err := io.ReadFull(rd, buf[len(buf):len(buf)+chunk])
		buf = buf[:len(buf)+m]
		if err != nil {
			if err == io.EOF && len(buf) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return buf[:0], err
		}
	}
	return buf, nil
}

// frameChunk is how much ReadFrame grows its buffer ahead of the bytes received.
const frameChunk = 1 << 20
