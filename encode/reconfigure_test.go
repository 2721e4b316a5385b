package encode_test

import (
	"errors"
	"image"
	"math"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"greenroom/encode"
	"greenroom/encode/mediatest"
	"greenroom/encode/scene"
)

// A program started at 640x360@30 and reconfigured to 1280x720@25 records
// at the new format: outputs added after Reconfigure are made from its
// Info. The input, the scene (a banner rendered again at the new size),
// the preview and the thumbnails carry on.
//
// The preset is the governor's last step, ultrafast, so that a busy machine
// does not make it switch (a new encoder, an early keyframe) mid-test.
func TestReconfigureThenRecord(t *testing.T) {
	p := startProgramWith(t, encode.Config{Width: 640, Height: 360, FPS: 30, Preset: "ultrafast"})
	if err := p.SetScene(scene.Scene{Layout: scene.Solo, Banner: "Reconfigured"}); err != nil {
		t.Fatal(err)
	}
	var previews, thumbs atomic.Int64
	p.SetPreview(320, 180, 15, func(*image.RGBA) { previews.Add(1) })
	p.SetThumbnails(160, 90, 5, func(string, *image.RGBA) { thumbs.Add(1) })
	time.Sleep(300 * time.Millisecond)

	if err := p.Reconfigure(encode.Format{Width: 1280, Height: 720, FPS: 25}); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Preset != "ultrafast" {
		t.Errorf("preset %q after Reconfigure to a costlier format, want the one in use, ultrafast", st.Preset)
	}
	if v := p.Info().Video; v.Width != 1280 || v.Height != 720 || v.FPS != 25 || v.BitRate != 4500_000 {
		t.Errorf("Info after Reconfigure: %dx%d@%d %d b/s, want 1280x720@25 4500000 b/s (the default for 720p)", v.Width, v.Height, v.FPS, v.BitRate)
	}
	if st := p.Stats(); st.Width != 1280 || st.Height != 720 || st.FPS != 25 {
		t.Errorf("Stats after Reconfigure: %dx%d@%d", st.Width, st.Height, st.FPS)
	}
	pv, th := previews.Load(), thumbs.Load()
	path := filepath.Join(t.TempDir(), "after.mp4")
	rec := addRecorder(t, p, path)
	time.Sleep(4500 * time.Millisecond)
	if err := p.RemoveOutput(rec); err != nil {
		t.Fatal(err)
	}
	if previews.Load()-pv < 30 || thumbs.Load()-th < 10 {
		t.Errorf("after Reconfigure: %d previews, %d thumbnails in 4.5 s, want about 67 and 22", previews.Load()-pv, thumbs.Load()-th)
	}

	pr := mediatest.ProbeFile(t, path)
	if pr.Video == nil || pr.Audio == nil {
		t.Fatalf("want video and audio, probe found %+v", pr)
	}
	if v := pr.Video; v.Codec != "h264" || v.Width != 1280 || v.Height != 720 || v.FPS < 24 || v.FPS > 26 {
		t.Errorf("video %+v, want h264 1280x720 at 25 fps", *v)
	}
	if a := pr.Audio; a.Codec != "aac" || a.SampleRate != 48000 || a.Channels != 2 {
		t.Errorf("audio %+v, want aac 48000 Hz stereo", *a)
	}
	if frames, want := mediatest.FrameCount(t, path), pr.Duration*25; math.Abs(float64(frames)-want) > 0.05*want {
		t.Errorf("%d frames in %.2f s, want 25 fps (%.0f)", frames, pr.Duration, want)
	}
	keys := mediatest.KeyframeTimes(t, path)
	if len(keys) < 2 {
		t.Fatalf("keyframes at %v, want one every 2 s", keys)
	}
	for i := 1; i < len(keys); i++ {
		if gap := keys[i] - keys[i-1]; math.Abs(gap-2) > 0.1 {
			t.Errorf("keyframes at %v: gap %.2f s, want 2 s", keys, gap)
			break
		}
	}
	// The test pattern's beep, once a second, each a frame from a flash.
	onsets := mediatest.ToneOnsets(t, path, 500*time.Millisecond)
	if len(onsets) < 3 {
		t.Fatalf("beeps at %v, want one a second", onsets)
	}
	for i := 1; i < len(onsets); i++ {
		if gap := onsets[i] - onsets[i-1]; math.Abs(gap-1) > 0.03 {
			t.Errorf("beeps at %v: gap %.3f s, want 1 s", onsets, gap)
		}
	}
	from := time.Duration(onsets[1] * float64(time.Second))
	if beep, quiet := mediatest.AudioLevel(t, path, from, from+90*time.Millisecond),
		mediatest.AudioLevel(t, path, from+300*time.Millisecond, from+900*time.Millisecond); beep < -15 || quiet > -60 {
		t.Errorf("%.0f dBFS during the beep, %.0f dBFS after, want loud then silent", beep, quiet)
	}
}

// Reconfigure refuses while the program goes out somewhere, and changes
// nothing: the recording keeps its format to the end.
func TestReconfigureWithOutputFails(t *testing.T) {
	p := startProgramWith(t, encode.Config{Width: 640, Height: 360, FPS: 30})
	path := filepath.Join(t.TempDir(), "live.mp4")
	rec := addRecorder(t, p, path)
	before, info := p.Config(), p.Info()
	time.Sleep(500 * time.Millisecond)
	err := p.Reconfigure(encode.Format{Width: 1280, Height: 720, FPS: 25})
	if !errors.Is(err, encode.ErrHasOutputs) || err.Error() != "end the stream to change the output size" {
		t.Errorf("Reconfigure with a recording going: %v, want ErrHasOutputs", err)
	}
	if after := p.Config(); after != before {
		t.Errorf("config changed by a refused Reconfigure: %+v, was %+v", after, before)
	}
	if v := p.Info().Video; v.Width != info.Video.Width || v.Height != info.Video.Height || v.FPS != info.Video.FPS {
		t.Errorf("Info changed by a refused Reconfigure: %+v", v)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := p.RemoveOutput(rec); err != nil {
		t.Fatal(err)
	}
	pr := mediatest.ProbeFile(t, path)
	if v := pr.Video; v == nil || v.Width != 640 || v.Height != 360 {
		t.Errorf("recording %+v, want 640x360", v)
	}
	if d := pr.Duration; math.Abs(d-2) > 0.2 {
		t.Errorf("recording of %.2f s, want 2 s", d)
	}
	// No hole where Reconfigure was refused: frames every 1/30 s (a busy
	// machine may drop one now and then).
	times := mediatest.VideoFrameTimes(t, path)
	for i := 1; i < len(times); i++ {
		if gap := times[i] - times[i-1]; gap > 0.1 || gap < 0.03 {
			t.Errorf("frames at %.3f and %.3f s: want 30 fps throughout", times[i-1], times[i])
			break
		}
	}
	// Once the output is gone, the same change is made.
	if err := p.Reconfigure(encode.Format{Width: 1280, Height: 720, FPS: 25}); err != nil {
		t.Fatal(err)
	}
	if err := p.Reconfigure(encode.Format{Width: 1281, Height: 720, FPS: 25}); err == nil {
		t.Error("an odd width was accepted")
	}
	if c := p.Config(); c.Width != 1280 || c.FPS != 25 {
		t.Errorf("config %+v after a refused odd width, want 1280x720@25", c)
	}
}

// Reconfiguring many times, with the preview and thumbnails running, then
// closing leaves no goroutine behind.
func TestReconfigureLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for i := range 2 {
		p, err := encode.New(encode.Config{Width: 320, Height: 180, FPS: 30})
		if err != nil {
			t.Fatal(err)
		}
		in, err := p.AddTestPattern("host", 320, 180)
		if err != nil {
			t.Fatal(err)
		}
		p.SetPreview(160, 90, 15, func(*image.RGBA) {})
		p.SetThumbnails(160, 90, 5, func(string, *image.RGBA) {})
		for j, f := range []encode.Format{
			{Width: 640, Height: 360, FPS: 25},
			{Width: 320, Height: 180, FPS: 30, VideoBitRate: 800_000},
			{Width: 480, Height: 270, FPS: 50},
		} {
			if err := p.Reconfigure(f); err != nil {
				t.Fatal(err)
			}
			if j == 1 {
				rec := addRecorder(t, p, filepath.Join(t.TempDir(), strconv.Itoa(i)+".mkv"))
				time.Sleep(100 * time.Millisecond)
				if err := p.RemoveOutput(rec); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		if i == 0 {
			in.Close()
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if err := p.Reconfigure(encode.Format{Width: 640, Height: 360, FPS: 30}); err == nil {
			t.Error("Reconfigure after Close was accepted")
		}
	}
}
