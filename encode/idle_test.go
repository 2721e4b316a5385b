package encode_test

import (
	"math"
	"path/filepath"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/encode/record"
)

// TestEncoderRestsWithoutOutputs: while nothing takes the program (the
// studio before Go Live) x264 encodes nothing — the preview and meters go
// on — and the first output then starts at once on an IDR, not up to a GOP
// later; keyframes follow every 2 s from there.
func TestEncoderRestsWithoutOutputs(t *testing.T) {
	p, _ := patternProgram(t, 640, 360)
	defer p.Close()
	time.Sleep(1500 * time.Millisecond)
	if st := p.Stats(); st.EncodeTime != 0 || st.Frames < 30 {
		t.Fatalf("idle: %+v, want frames made and none encoded", st)
	}
	path := filepath.Join(t.TempDir(), "late.mp4")
	rec, err := record.New(record.Config{Path: path, Info: p.Info()})
	if err != nil {
		t.Fatal(err)
	}
	added := time.Now()
	p.AddOutput(rec)
	time.Sleep(4 * time.Second)
	if err := p.RemoveOutput(rec); err != nil {
		t.Fatal(err)
	}
	ran := time.Since(added).Seconds()
	if st := p.Stats(); st.EncodeTime == 0 {
		t.Errorf("live: %+v, want frames encoded", st)
	}
	// The recording is as long as the output was there (a GOP wait would
	// cut up to 2 s), and its keyframes are at 0, 2, 4 s.
	if d := mediatest.ProbeFile(t, path).Duration; math.Abs(d-ran) > 0.25 {
		t.Errorf("recording %.2f s, the output was there %.2f s", d, ran)
	}
	keys := mediatest.KeyframeTimes(t, path)
	frames := mediatest.VideoFrameTimes(t, path)
	if len(keys) < 2 || len(frames) == 0 || keys[0] != frames[0] || math.Abs(keys[1]-keys[0]-2) > 0.1 {
		t.Errorf("keyframes at %v (first frame %v), want the first frame and then every 2 s", keys, frames[:min(1, len(frames))])
	}
}
