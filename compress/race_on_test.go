//go:build race

package compress

// raceEnabled: sync.Pool drops values at random under the race detector, so allocation
// counts are not meaningful.
const raceEnabled = true
