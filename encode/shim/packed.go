package shim

/*
#include <string.h>
#include <libavutil/frame.h>

static int shim_copy_packed_float(AVFrame *f, const float *src, int n) {
	int ret = av_frame_make_writable(f);
	if (ret < 0) return ret;
	memcpy(f->data[0], src, (size_t)n * sizeof(float));
	return 0;
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// CopyPackedFloat copies interleaved samples into an allocated
// AV_SAMPLE_FMT_FLT frame of f.NbSamples() samples of channels channels
// (libopus takes packed float).
func CopyPackedFloat(f *astiav.Frame, samples []float32, channels int) error {
	n := f.NbSamples() * channels
	if len(samples) < n || n == 0 {
		return fmt.Errorf("shim: copy samples: have %d, frame wants %d", len(samples), n)
	}
	if ret := C.shim_copy_packed_float((*C.AVFrame)(f.UnsafePointer()), (*C.float)(unsafe.Pointer(&samples[0])), C.int(n)); ret < 0 {
		return averr("av_frame_make_writable", ret)
	}
	return nil
}
