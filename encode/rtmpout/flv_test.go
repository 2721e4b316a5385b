package rtmpout

import (
	"bytes"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"greenroom/encode/stream"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAppendAVCC(t *testing.T) {
	tests := []struct {
		name   string
		annexB string
		want   string
	}{
		{"4-byte start codes", "00000001" + "6588" + "00000001" + "4101", "00000002" + "6588" + "00000002" + "4101"},
		{"3-byte start codes", "000001" + "06aa" + "000001" + "6588ff", "00000002" + "06aa" + "00000003" + "6588ff"},
		{"drops AUD, keeps SPS, PPS", "00000001" + "0910" + "00000001" + "6764" + "00000001" + "68eb" + "00000001" + "6588", "00000002" + "6764" + "00000002" + "68eb" + "00000002" + "6588"},
		{"trailing zeros belong to the next start code", "000001" + "65880000" + "000001" + "4101", "00000002" + "6588" + "00000002" + "4101"},
		{"no start code", "6588", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := appendAVCC(nil, unhex(t, tt.annexB))
			if !bytes.Equal(got, unhex(t, tt.want)) {
				t.Errorf("appendAVCC = %x, want %s", got, tt.want)
			}
		})
	}
}

// The record we build from x264's Annex-B parameter sets must be the one
// FFmpeg's mp4 muxer builds (testdata/high720.avcC was cut out of
// `ffmpeg -i high720.h264 -c copy high720.mp4`), including the High
// profile's chroma format and bit depth bytes read from the SPS, which
// has an emulation prevention byte.
func TestAVCDecoderConfigMatchesFFmpeg(t *testing.T) {
	es, err := os.ReadFile("testdata/high720.h264")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/high720.avcC")
	if err != nil {
		t.Fatal(err)
	}
	got, err := avcDecoderConfig(es)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("avcC =\n%x\nwant\n%x", got, want)
	}
	// Already a record: passed through.
	if again, err := avcDecoderConfig(want); err != nil || !bytes.Equal(again, want) {
		t.Errorf("avcDecoderConfig(record) = %x, %v", again, err)
	}
	if _, err := avcDecoderConfig(unhex(t, "0000000168eb")); err == nil {
		t.Error("no SPS: want an error")
	}
}

func TestSPSFormat(t *testing.T) {
	tests := []struct {
		name                           string
		sps                            string
		chroma, lumaDepth, chromaDepth int
	}{
		// High 4:2:0 8-bit: seq_parameter_set_id 0 (1), chroma 1 (010), depths 0 (1, 1).
		{"high 420 8 bit", "6764001f" + "ac", 1, 8, 8},
		// High 4:4:4: chroma 3 (00100), separate planes 0, luma 2 (011), chroma 2 (011).
		{"high 444 10 bit", "67f4001f" + "90d8", 3, 10, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, l, cd, err := spsFormat(unhex(t, tt.sps))
			if err != nil {
				t.Fatal(err)
			}
			if c != tt.chroma || l != tt.lumaDepth || cd != tt.chromaDepth {
				t.Errorf("spsFormat = %d, %d, %d; want %d, %d, %d", c, l, cd, tt.chroma, tt.lumaDepth, tt.chromaDepth)
			}
		})
	}
	if _, _, _, err := spsFormat(unhex(t, "6764001f")); err == nil {
		t.Error("truncated SPS: want an error")
	}
}

func TestVideoTag(t *testing.T) {
	tests := []struct {
		name string
		p    stream.Packet
		want string
	}{
		{"keyframe", stream.Packet{Kind: stream.Video, Key: true, Data: unhex(t, "000000016588"), PTS: 66 * time.Millisecond, DTS: 0}, "1701000042" + "000000026588"},
		{"inter frame", stream.Packet{Kind: stream.Video, Data: unhex(t, "000000014101"), PTS: time.Second, DTS: time.Second}, "2701000000" + "000000024101"},
		{"negative composition time", stream.Packet{Kind: stream.Video, Data: unhex(t, "000000014101"), PTS: 0, DTS: 33 * time.Millisecond}, "2701ffffdf" + "000000024101"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := appendVideoTag(nil, &tt.p); !bytes.Equal(got, unhex(t, tt.want)) {
				t.Errorf("appendVideoTag = %x, want %s", got, tt.want)
			}
		})
	}
	if got := appendAudioTag(nil, &stream.Packet{Kind: stream.Audio, Data: []byte{0x21, 0x10}}); !bytes.Equal(got, unhex(t, "af012110")) {
		t.Errorf("appendAudioTag = %x", got)
	}
	if got := audioSequenceHeader(unhex(t, "1190")); !bytes.Equal(got, unhex(t, "af001190")) {
		t.Errorf("audioSequenceHeader = %x", got)
	}
	if got := videoSequenceHeader([]byte{1, 2}); !bytes.Equal(got, unhex(t, "17000000000102")) {
		t.Errorf("videoSequenceHeader = %x", got)
	}
}

func TestClock(t *testing.T) {
	ms := time.Millisecond
	type in struct {
		kind stream.Kind
		dts  time.Duration
		want uint32
	}
	const skipped = ^uint32(0) // not sent
	const priming = 21333 * time.Microsecond
	tests := []struct {
		name string
		lead time.Duration
		seq  []in
	}{
		{"relative to the first packet", 0, []in{
			{stream.Video, 10 * time.Second, 0},
			{stream.Audio, 10*time.Second + 21*ms, 21},
			{stream.Video, 10*time.Second + 33*ms, 33},
		}},
		{"audio from before the first video is not sent", 0, []in{
			{stream.Video, 0, 0},
			{stream.Audio, -21 * ms, skipped},
			{stream.Audio, 0, 0},
			{stream.Audio, 21 * ms, 21},
		}},
		// The master bus's audio arriving a block behind the keyframe
		// (issue #12): clamped to 0, all of it played 33 ms late.
		{"audio further back than the lead is not sent", priming, []in{
			{stream.Video, 10 * time.Second, 21},
			{stream.Audio, 10*time.Second - 64*ms, skipped},
			{stream.Audio, 10*time.Second - 42666*time.Microsecond, skipped},
			{stream.Audio, 10*time.Second - 21333*time.Microsecond, 0},
			{stream.Audio, 10 * time.Second, 21},
			{stream.Video, 10*time.Second + 33333*time.Microsecond, 54},
		}},
		{"video from before the start is clamped, not lost", priming, []in{
			{stream.Audio, 0, 21},
			{stream.Video, -30 * ms, 0},
			{stream.Video, 3 * ms, 24},
		}},
		{"never goes back within a kind", 0, []in{
			{stream.Video, 0, 0},
			{stream.Video, 100 * ms, 100},
			{stream.Video, 90 * ms, 100},
			{stream.Audio, 50 * ms, 50},
			{stream.Video, 133 * ms, 133},
		}},
		{"priming lead keeps the first audio packet in place", priming, []in{
			{stream.Video, 0, 21},
			{stream.Audio, -21333 * time.Microsecond, 0},
			{stream.Audio, 0, 21},
			{stream.Video, 33333 * time.Microsecond, 54},
		}},
		{"sub-millisecond truncates", 0, []in{
			{stream.Audio, 0, 0},
			{stream.Audio, 21333 * time.Microsecond, 21},
			{stream.Audio, 42666 * time.Microsecond, 42},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clock{lead: tt.lead}
			for i, s := range tt.seq {
				got, ok := c.timestamp(s.kind, s.dts)
				if !ok {
					got = skipped
				}
				if got != s.want {
					t.Errorf("packet %d (%v at %v): timestamp %d, want %d", i, s.kind, s.dts, got, s.want)
				}
			}
		})
	}
}

// The per-frame cost of FLV packaging: Annex-B split and length prefixes.
func BenchmarkAppendVideoTag(b *testing.B) {
	es, err := os.ReadFile("testdata/high720.h264")
	if err != nil {
		b.Fatal(err)
	}
	p := &stream.Packet{Kind: stream.Video, Key: true, Data: es}
	var buf []byte
	b.SetBytes(int64(len(es)))
	b.ReportAllocs()
	for b.Loop() {
		buf = appendVideoTag(buf[:0], p)
	}
}
