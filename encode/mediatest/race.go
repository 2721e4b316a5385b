//go:build race

package mediatest

// Race says the race detector is on (go test -race). It slows Go code
// five to ten times and the encoder below real time on CI's two cores, so
// tests that judge timing (frame rates, keyframe spacing, latency) check
// only what does not depend on it; the code under them runs all the same,
// which is what -race is for. Such a test ends with JudgedWithoutRace.
const Race = true
