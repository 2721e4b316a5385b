package shim

/*
#cgo pkg-config: libavutil
#include <stdlib.h>
#include <libavutil/frame.h>
#include <libavutil/dict.h>

static const char *shim_frame_meta(AVFrame *f, const char *key) {
	AVDictionaryEntry *e = av_dict_get(f->metadata, key, NULL, 0);
	return e ? e->value : NULL;
}
*/
import "C"

import (
	"unsafe"

	"github.com/asticode/go-astiav"
)

// FrameMetadata is the value a filter attached to a frame under key
// (ebur128's loudness figures, for one), which astiav v0.16.0 cannot
// read: its Frame has no Metadata.
func FrameMetadata(f *astiav.Frame, key string) (string, bool) {
	k := C.CString(key)
	defer C.free(unsafe.Pointer(k))
	v := C.shim_frame_meta(frameC(f), k)
	if v == nil {
		return "", false
	}
	return C.GoString(v), true
}
