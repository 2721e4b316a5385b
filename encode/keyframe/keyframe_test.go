package keyframe

import "testing"

func TestVP8(t *testing.T) {
	// A 640×360 keyframe's frame header: tag (P bit clear), start code,
	// width, height.
	frame := []byte{0x50, 0x2a, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01}
	for _, c := range []struct {
		name      string
		desc      []byte
		key       bool
		w, h      int
		interOnly bool
	}{
		{"plain descriptor", []byte{0x10}, true, 640, 360, false},
		{"15-bit picture ID", []byte{0x90, 0x80, 0x81, 0x23}, true, 640, 360, false},
		{"7-bit picture ID, TL0PICIDX, TID", []byte{0x90, 0xe0, 0x12, 0x05, 0x40}, true, 640, 360, false},
		{"not the start of a partition", []byte{0x00}, false, 0, 0, false},
		{"an inter frame", []byte{0x10}, false, 0, 0, true},
	} {
		p := append(append([]byte{}, c.desc...), frame...)
		if c.interOnly {
			p[len(c.desc)] |= 1
		}
		key, w, h := Start("video/VP8", p)
		if key != c.key || w != c.w || h != c.h {
			t.Errorf("%s: got key %v %dx%d, want %v %dx%d", c.name, key, w, h, c.key, c.w, c.h)
		}
	}
	if key, _, _ := VP8(nil); key {
		t.Error("an empty payload is a keyframe")
	}
}

func TestH264(t *testing.T) {
	for _, c := range []struct {
		name string
		p    []byte
		key  bool
	}{
		{"IDR", []byte{0x65, 0x88}, true},
		{"SPS", []byte{0x67, 0x42}, true},
		{"non-IDR slice", []byte{0x41, 0x9a}, false},
		{"STAP-A with SPS", []byte{0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce}, true},
		{"STAP-A without", []byte{0x78, 0x00, 0x02, 0x06, 0x05}, false},
		{"FU-A start of IDR", []byte{0x7c, 0x85, 0x00}, true},
		{"FU-A middle of IDR", []byte{0x7c, 0x05, 0x00}, false},
	} {
		if key, _, _ := Start("video/H264", c.p); key != c.key {
			t.Errorf("%s: key %v, want %v", c.name, key, c.key)
		}
	}
}
