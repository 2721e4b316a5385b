package rtmpout

import (
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/encode/stream"
)

// program is an encoded test program: what the encoder pipeline would hand
// an output, made by the ffmpeg CLI so this package's tests do not depend
// on our own encoders.
type program struct {
	info    stream.Info
	packets []*stream.Packet // in DTS order, video and audio interleaved
}

// makeProgram encodes src with ffmpeg into an H.264 Annex-B file and an
// ADTS file and splits them into packets.
func makeProgram(t *testing.T, src mediatest.Source) program {
	t.Helper()
	dir := t.TempDir()
	withAudio := !src.NoAudio
	src.NoAudio = true
	vpath := filepath.Join(dir, "v.h264")
	mediatest.WriteTestFile(t, vpath, src)

	var p program
	es, err := os.ReadFile(vpath)
	if err != nil {
		t.Fatal(err)
	}
	fps := src.FPS
	if fps == 0 {
		fps = 30
	}
	p.info.Video = stream.VideoInfo{Width: src.Width, Height: src.Height, FPS: fps, BitRate: 1_000_000}
	for i, au := range accessUnits(es) {
		pts := time.Duration(i) * time.Second / time.Duration(fps)
		pkt := &stream.Packet{Kind: stream.Video, Data: au.data, PTS: pts, DTS: pts, Key: au.key}
		if i == 0 {
			// x264 without a global header repeats SPS/PPS before each IDR;
			// play the encoder that exports them as extradata.
			sps, pps := parameterSets(au.data)
			for _, n := range append(sps, pps...) {
				p.info.Video.Extradata = append(append(p.info.Video.Extradata, 0, 0, 0, 1), n...)
			}
		}
		p.packets = append(p.packets, pkt)
	}

	if withAudio {
		p.addAudio(t, src, filepath.Join(dir, "a.aac"))
	}
	slices.SortStableFunc(p.packets, func(a, b *stream.Packet) int {
		return cmp.Compare(a.DTS, b.DTS)
	})
	return p
}

func (p *program) addAudio(t *testing.T, src mediatest.Source, apath string) {
	t.Helper()
	src.NoAudio = false
	mediatest.WriteTestFile(t, apath, src)
	adts, err := os.ReadFile(apath)
	if err != nil {
		t.Fatal(err)
	}
	frames, asc, rate, channels := adtsFrames(t, adts)
	p.info.Audio = stream.AudioInfo{SampleRate: rate, Channels: channels, BitRate: 128_000, Extradata: asc}
	for i, f := range frames {
		// The first frame is the encoder's priming: it starts 1024
		// samples before zero, as FFmpeg's AAC encoder reports it.
		pts := time.Duration(i-1) * 1024 * time.Second / time.Duration(rate)
		p.packets = append(p.packets, &stream.Packet{Kind: stream.Audio, Data: f, PTS: pts, DTS: pts, Key: true})
	}
}

type accessUnit struct {
	data []byte
	key  bool
}

// accessUnits groups an Annex-B stream into access units (H.264 7.4.1.2.3):
// a new one starts at an AUD, SPS, PPS or SEI after a slice, or at a slice
// whose first_mb_in_slice is 0 (its first bit is 1) after a slice.
func accessUnits(es []byte) []accessUnit {
	var aus []accessUnit
	var cur accessUnit
	sawSlice := false
	flush := func() {
		if len(cur.data) > 0 {
			aus = append(aus, cur)
		}
		cur, sawSlice = accessUnit{}, false
	}
	for _, n := range splitAnnexB(es) {
		typ := n[0] & 0x1f
		switch {
		case typ == 1 || typ == 5:
			if sawSlice && len(n) > 1 && n[1]&0x80 != 0 {
				flush()
			}
			sawSlice = true
			cur.key = cur.key || typ == 5
		case typ == 6 || typ == 7 || typ == 8 || typ == 9:
			if sawSlice {
				flush()
			}
		}
		cur.data = append(append(cur.data, 0, 0, 0, 1), n...)
	}
	flush()
	return aus
}

// adtsFrames strips ADTS headers (ISO 14496-3 1.A.2) and builds the
// AudioSpecificConfig they imply.
func adtsFrames(t *testing.T, b []byte) (frames [][]byte, asc []byte, rate, channels int) {
	t.Helper()
	rates := []int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}
	for len(b) >= 7 {
		if b[0] != 0xff || b[1]&0xf0 != 0xf0 {
			t.Fatalf("ADTS: lost sync")
		}
		hdr := 7
		if b[1]&1 == 0 { // protection_absent == 0: CRC follows
			hdr = 9
		}
		n := int(b[3]&3)<<11 | int(b[4])<<3 | int(b[5]>>5)
		if n < hdr || n > len(b) {
			t.Fatalf("ADTS: bad frame length %d", n)
		}
		if asc == nil {
			objType := b[2]>>6 + 1
			freq := b[2] >> 2 & 0xf
			ch := (b[2]&1)<<2 | b[3]>>6
			asc = []byte{objType<<3 | freq>>1, freq<<7 | ch<<3}
			rate, channels = rates[freq], int(ch)
		}
		frames = append(frames, b[hdr:n])
		b = b[n:]
	}
	if len(frames) == 0 {
		t.Fatal("ADTS: no frames")
	}
	return frames, asc, rate, channels
}
