package shim

/*
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

// shim_fix_mmap_threshold pins glibc's mmap threshold at its initial
// value; 0 where the C library is not glibc (nothing to pin).
static int shim_fix_mmap_threshold(int bytes) {
#ifdef __GLIBC__
	return mallopt(M_MMAP_THRESHOLD, bytes);
#else
	return 0;
#endif
}
*/
import "C"

// MmapThreshold is the size from which C's malloc (FFmpeg, x264, libvpx)
// takes memory straight from the kernel and gives it back on free: glibc's
// own starting value, pinned.
//
// Why pinned: glibc raises the threshold each time such a block is freed
// (up to 32 MB), so after the first encoder closes, the next one's
// picture buffers (x264 at 720p: some 15 MB) come from a malloc arena
// instead — the arena of whichever thread opened it, and the Go runtime
// moves the encoder's goroutine between threads. Freed, that memory stays
// in its arena, which no later encoder on another thread reuses: the
// process grew by about an encoder each time the governor changed x264's
// preset or a program restarted (issue #14's soak: RSS +15–25 MB a
// minute, none of it Go's). Pinned, big blocks go back to the kernel when
// freed (TestEncoderSwapsKeepRSS). Setting it also stops glibc adjusting
// the trim threshold, which stays at its 128 KiB default.
const MmapThreshold = 128 << 10

func init() {
	// In init, so every program and test that links FFmpeg through this
	// package (encode, codec, decode, feed) has it before the first codec
	// opens. mallopt returns 1 on success; 0 off glibc, where nothing is
	// to pin.
	C.shim_fix_mmap_threshold(C.int(MmapThreshold))
}
