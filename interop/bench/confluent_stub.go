//go:build !cgo

package bench

import "fmt"

// newConfluent reports that confluent-kafka-go, which needs cgo, is not in this build.
func newConfluent(Options) (Client, error) {
	return nil, fmt.Errorf("confluent-kafka-go needs cgo (CGO_ENABLED=1 and a C compiler): %w", ErrUnavailable)
}
