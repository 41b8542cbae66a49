//go:build !unix

package producer

// mapBuf returns nil: batch buffers are allocated on the heap on this platform.
func mapBuf(int) []byte { return nil }

func unmapBuf([]byte) {}
