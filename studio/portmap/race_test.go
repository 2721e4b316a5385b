//go:build race

package portmap

// raceOn: the tests run under the race detector, whose instrumentation
// costs CPU (TestRenewCPU).
const raceOn = true
