//go:build race

package e2e

// raceDetector: this binary runs under -race, which multiplies the CPU cost
// of every request, so latency comparisons do not hold.
const raceDetector = true
