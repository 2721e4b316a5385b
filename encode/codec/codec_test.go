package codec_test

import (
	"bytes"
	"testing"
	"time"

	"greenroom/encode/codec"
	"greenroom/encode/compositor"
	"greenroom/encode/shim"
	"greenroom/encode/stream"
	"greenroom/encode/testpattern"
)

func TestVideoEncoderGOPAndHeaders(t *testing.T) {
	e, err := codec.NewVideoEncoder(codec.VideoConfig{Width: 320, Height: 180, FPS: 30, BitRate: 500_000})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	info := e.Info()
	if len(info.Extradata) < 8 || info.Extradata[0] != 0 || info.Extradata[2] != 0 {
		t.Fatalf("extradata %x: want Annex-B SPS/PPS", info.Extradata)
	}
	pat, _ := testpattern.New(320, 180, 30)
	f, err := codec.NewVideoFrame(320, 180)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Free()
	var keys []time.Duration
	var last time.Duration = -1
	emit := func(p *stream.Packet) {
		if p.DTS <= last {
			t.Errorf("DTS %v after %v: not increasing", p.DTS, last)
		}
		last = p.DTS
		if p.Key {
			keys = append(keys, p.PTS)
		}
	}
	for n := int64(0); n < 150; n++ {
		img := pat.Frame(n)
		if err := shim.CopyImage(f, &img.YCbCr); err != nil {
			t.Fatal(err)
		}
		img.Release()
		f.SetPts(n)
		if err := e.Encode(f, emit); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Encode(nil, emit); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{0, 2 * time.Second, 4 * time.Second}
	if len(keys) != len(want) {
		t.Fatalf("keyframes at %v, want %v (no scene-cut keyframes on flashes)", keys, want)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Fatalf("keyframes at %v, want %v", keys, want)
		}
	}
}

func TestAudioEncoder(t *testing.T) {
	e, err := codec.NewAudioEncoder(codec.AudioConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.FrameSize() != 1024 {
		t.Fatalf("frame size %d, want 1024", e.FrameSize())
	}
	if asc := e.Info().Extradata; len(asc) < 2 || asc[0]>>3 != 2 {
		t.Fatalf("AudioSpecificConfig %x: want AAC-LC (object type 2)", asc)
	}
	f, err := e.NewFrame()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Free()
	l, r := make([]float32, 1024), make([]float32, 1024)
	var pkts []*stream.Packet
	for k := int64(0); k < 50; k++ {
		shim.CopyPlanarFloat(f, [][]float32{l, r})
		f.SetPts(k * 1024)
		if err := e.Encode(f, func(p *stream.Packet) { pkts = append(pkts, p) }); err != nil {
			t.Fatal(err)
		}
	}
	e.Encode(nil, func(p *stream.Packet) { pkts = append(pkts, p) })
	if len(pkts) < 49 {
		t.Fatalf("%d packets for 50 frames", len(pkts))
	}
	// The first packet carries the encoder's priming: negative PTS.
	if pkts[0].PTS >= 0 || pkts[1].PTS-pkts[0].PTS != 21333333 {
		t.Errorf("PTS %v, %v: want priming before 0 and 1024-sample steps", pkts[0].PTS, pkts[1].PTS)
	}
}

// BenchmarkEncode1080p30 is the H.264 encoder's budget at 1080p30,
// veryfast, 6 Mb/s. x-realtime is seconds of program encoded per wall
// second: below 1 the machine cannot go live at this preset.
func BenchmarkEncode1080p30(b *testing.B) {
	for _, preset := range codec.Presets {
		b.Run(preset, func(b *testing.B) {
			e, err := codec.NewVideoEncoder(codec.VideoConfig{Width: 1920, Height: 1080, FPS: 30, BitRate: 6_000_000, Preset: preset})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			pat, _ := testpattern.New(1920, 1080, 30)
			frames := make([]*compositor.Frame, 30)
			for i := range frames {
				frames[i] = pat.Frame(int64(i + 1))
			}
			f, _ := codec.NewVideoFrame(1920, 1080)
			defer f.Free()
			n := int64(0)
			start := time.Now()
			for b.Loop() {
				shim.CopyImage(f, &frames[n%30].YCbCr)
				f.SetPts(n)
				if err := e.Encode(f, func(*stream.Packet) {}); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n)/30/time.Since(start).Seconds(), "x-realtime")
		})
	}
}

// Every keyframe carries its encoder's parameter sets in-band, so one that
// takes over mid-stream (another preset) announces its own.
func TestKeyframesCarryHeadersInBand(t *testing.T) {
	e, err := codec.NewVideoEncoder(codec.VideoConfig{Width: 320, Height: 180, FPS: 30, BitRate: 500_000})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	n, err := e.WithPreset("ultrafast")
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.Preset() != "ultrafast" {
		t.Fatalf("preset %s", n.Preset())
	}
	pat, _ := testpattern.New(320, 180, 30)
	f, _ := codec.NewVideoFrame(320, 180)
	defer f.Free()
	var pkts []*stream.Packet
	for i := int64(0); i < 62; i++ {
		img := pat.Frame(i)
		shim.CopyImage(f, &img.YCbCr)
		img.Release()
		f.SetPts(100 + i)
		if err := n.Encode(f, func(p *stream.Packet) { pkts = append(pkts, p) }); err != nil {
			t.Fatal(err)
		}
	}
	hdr := n.Info().Extradata
	if len(pkts) != 62 {
		t.Fatalf("%d packets for 62 frames", len(pkts))
	}
	for i, p := range pkts {
		if p.Key != (i%60 == 0) || p.Key != bytes.HasPrefix(p.Data, hdr) {
			t.Fatalf("packet %d: key %v, starts with the SPS/PPS: %v; want both on every keyframe and only there",
				i, p.Key, bytes.HasPrefix(p.Data, hdr))
		}
	}
	if bytes.Equal(hdr, e.Info().Extradata) {
		t.Error("ultrafast has the same parameter sets as veryfast: the test proves nothing")
	}
}
