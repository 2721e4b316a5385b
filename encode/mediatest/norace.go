//go:build !race

package mediatest

// Race says the race detector is on; see race.go.
const Race = false
