package studio_test

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"greenroom/encode"
	"greenroom/encode/mediatest"
	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// TestGuestSyncBySenderReports is issue #12's sync from the senders'
// clocks: a pion guest whose camera flashes as its mic beeps, captured
// together and said to be by its sender reports, while the network
// delays one of the two streams more than the other. The program places
// both by the reports and plays them with one delay that covers the
// later, so the beeps still start within a frame of their flashes in the
// recording. Placed by arrival (with the picture's fixed 50 ms wait),
// the first case would be ~100 ms off and the second ~130 ms.
func TestGuestSyncBySenderReports(t *testing.T) {
	video, audio := flashBeepFiles(t, 12, 0)
	for _, tc := range []struct {
		name string
		opt  studiotest.Options
	}{
		{"video 150 ms later than audio", studiotest.Options{VideoDelay: 150 * time.Millisecond}},
		{"audio 80 ms later than video", studiotest.Options{AudioDelay: 80 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, rec, _ := pionGuestSolo(t, video, audio, tc.opt)
			// pion reports each stream every second: past the first
			// reports and the hand-over from arrival.
			time.Sleep(2500 * time.Millisecond)
			offsets := liveSync(t, s, rec, "placement.mp4", 6*time.Second).D
			if len(offsets) < 4 {
				t.Fatalf("found %d flash/beep pairs in 6 s, want ≥ 4", len(offsets))
			}
			if med := mediatest.Median(offsets); abs(med) > 1.0/30 {
				t.Errorf("median A/V offset %+.0f ms (audio − video), want within a frame (±33 ms)", med*1000)
			}
		})
	}
}

// pionGuestSolo starts a 640x360 program recording to rec, its studio
// and a pion guest called Ann who sends video and audio (files for
// studiotest's player) with opt, alone on stage in the solo layout; and
// the program's pipeline.
func pionGuestSolo(t *testing.T, video, audio string, opt studiotest.Options) (s *studio.Studio, id, rec string, pipe *encode.Pipeline) {
	t.Helper()
	rec = filepath.Join(t.TempDir(), "show.mp4")
	var err error
	pipe, err = encode.New(encode.Config{Width: 640, Height: 360, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pipe.Close() })
	prog, err := studio.NewProgram(pipe, studio.ProgramConfig{RecordFile: rec,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: testLogLevel()}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prog.Close() })
	s = newStudio(t, func(c *studio.Config) { c.Sink = prog; c.GoLive = prog.SetLive })
	prog.Attach(s)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opt.VideoIVF, opt.AudioOgg = video, audio
	g, err := studiotest.Join(ctx, s.GuestURL(), "Ann", opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	if err := s.Stage(g.ID, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the guest in the program", func() bool { return slices.Contains(prog.Inputs(), g.ID) })
	if err := prog.SetLayout("solo"); err != nil {
		t.Fatal(err)
	}
	if err := prog.Spotlight(g.ID); err != nil {
		t.Fatal(err)
	}
	return s, g.ID, rec, pipe
}

// flashBeepFiles writes mediatest.FlashBeep's camera and microphone for a pion guest:
// VP8 of keyframes only (a keyframe asked for then leaves the picture in
// step with the sound: studiotest's player goes on to the next one) and
// Opus in 20 ms pages, secs long, so that neither loops in a test (a
// loop shifts the sound by Opus's pre-skip). Under the beeps the
// microphone hums a 300 Hz tone at bed (0–1; 0 for none, silence between
// the beeps): sound that never pauses, above the mixer's quiet (−40
// dBFS) and under a beep's onset (0.1).
func flashBeepFiles(t *testing.T, secs int, bed float64) (video, audio string) {
	t.Helper()
	dir := t.TempDir()
	video, audio = filepath.Join(dir, "flash.ivf"), filepath.Join(dir, "beep.ogg")
	// Flat frames: drawn at 16x16 and scaled, the same pictures as geq
	// at 320x180 (6 s of ffmpeg, per test) in under a second; see
	// mediatest.FlashBeep.
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", fmt.Sprintf("color=black:s=16x16:r=30:d=%d,format=yuv420p,geq=lum='if(eq(mod(N\\,30)\\,0)\\,235\\,if(eq(mod(N\\,30)\\,1)\\,150\\,16))':cb=128:cr=128,scale=320:180:flags=neighbor,setsar=1", secs),
			"-c:v", "libvpx", "-g", "1", "-deadline", "realtime", "-b:v", "300k", video},
		{"-f", "lavfi", "-i", fmt.Sprintf("aevalsrc='if(lt(mod(t\\,1)\\,0.1)\\,0.8*sin(2*PI*1000*t)\\,0)+%g*sin(2*PI*300*t)':s=48000:d=%d", bed, secs),
			"-c:a", "libopus", "-frame_duration", "20", "-page_duration", "20000", audio},
	} {
		cmd := exec.Command("ffmpeg", append([]string{"-v", "error", "-y"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
		}
	}
	return video, audio
}
