package mediatest

import (
	"syscall"
	"time"
)

// CPUTime is the CPU time (user and system, every thread) this process has
// used so far: benchmarks judge by it, not by wall time, on a shared box.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
