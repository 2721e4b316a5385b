// Package keyframe reads what the studio needs of a video RTP payload, or
// of a whole frame, without decoding it: whether it begins a keyframe
// (where a receiver may start, or switch from one simulcast layer to
// another, or a recording begin) and, for VP8, the picture's size, which
// the keyframe's header carries in the clear.
package keyframe

import (
	"encoding/binary"
	"strings"
)

// Start says whether payload (of codec mime) is the first packet of
// a keyframe, and for VP8 the picture's size.
func Start(mime string, payload []byte) (key bool, w, h int) {
	switch strings.ToLower(mime) {
	case "video/vp8":
		return VP8(payload)
	case "video/h264":
		return H264(payload), 0, 0
	}
	return false, 0, 0
}

// VP8 says whether p is the first packet of a VP8 keyframe, and its size.
// It parses the VP8 payload descriptor (RFC 7741 §4.2) and,
// for the first packet of a keyframe, the frame header's size (RFC 6386
// §9.1: a 3-byte frame tag, the start code 9d 01 2a, then 14-bit width and
// height, little-endian).
func VP8(p []byte) (bool, int, int) {
	if len(p) < 1 {
		return false, 0, 0
	}
	i := 1
	if p[0]&0x80 != 0 { // X: extension byte
		if len(p) < 2 {
			return false, 0, 0
		}
		x := p[1]
		i = 2
		if x&0x80 != 0 { // I: picture ID
			if len(p) <= i {
				return false, 0, 0
			}
			if p[i]&0x80 != 0 {
				i += 2
			} else {
				i++
			}
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // T or K: TID/KEYIDX
			i++
		}
	}
	start := p[0]&0x10 != 0 && p[0]&0x07 == 0 // S, partition 0
	if !start || len(p) <= i {
		return false, 0, 0
	}
	return VP8Frame(p[i:])
}

// VP8Frame says whether f, the start of a VP8 frame, is a keyframe (RFC
// 6386 §9.1: the frame tag's first bit is 0), and its size (after the
// 3-byte frame tag and the start code 9d 01 2a, 14-bit width and height,
// little-endian; 0 if f is too short to say).
func VP8Frame(f []byte) (bool, int, int) {
	if len(f) < 1 || f[0]&0x01 != 0 {
		return false, 0, 0
	}
	if len(f) < 10 || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a {
		return true, 0, 0
	}
	return true, int(binary.LittleEndian.Uint16(f[6:]) & 0x3fff), int(binary.LittleEndian.Uint16(f[8:]) & 0x3fff)
}

// Frame says whether a whole frame of codec mime — VP8, or H.264 in
// Annex-B (an IDR slice in it) — is a keyframe: for frames put together
// from RTP, or encoded here.
func Frame(mime string, f []byte) bool {
	if strings.EqualFold(mime, "video/h264") {
		for i := 0; i+3 < len(f); i++ {
			if f[i] == 0 && f[i+1] == 0 && f[i+2] == 1 && f[i+3]&0x1f == 5 {
				return true
			}
		}
		return false
	}
	key, _, _ := VP8Frame(f)
	return key
}

// H264 says whether an H.264 payload (RFC 6184) begins an IDR
// picture or its parameter sets: a single NAL unit, the start of a
// fragmented one, or an aggregate holding one.
func H264(p []byte) bool {
	if len(p) < 2 {
		return false
	}
	isKey := func(t byte) bool { return t == 5 || t == 7 }
	switch t := p[0] & 0x1f; t {
	case 24: // STAP-A
		for i := 1; i+2 < len(p); {
			n := int(binary.BigEndian.Uint16(p[i:]))
			if isKey(p[i+2] & 0x1f) {
				return true
			}
			i += 2 + n
		}
		return false
	case 28: // FU-A
		return p[1]&0x80 != 0 && isKey(p[1]&0x1f)
	default:
		return isKey(t)
	}
}
