//go:build unix

package producer

import "syscall"

// mapBuf returns n bytes of anonymous memory mapped outside the Go heap, or nil when the
// mapping fails (the caller then allocates on the heap). Batch buffers live there so that
// buffer.memory, which holds them for as long as the producer runs, does not count in the
// garbage collector's heap goal: on the heap, a full buffer.memory lets the heap grow to
// about twice its size before a collection (GOGC=100).
func mapBuf(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	return b
}

// unmapBuf gives back memory from mapBuf; b must be the whole mapping.
func unmapBuf(b []byte) { _ = syscall.Munmap(b) }
