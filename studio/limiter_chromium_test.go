//go:build unix

package studio_test

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"greenroom/encode"
	"greenroom/encode/mediatest"
	"greenroom/studio"
)

// TestChromiumGuestIsLimited is issue #12's limiter test end to end: a
// Chromium guest whose fake mic plays a 0 dBFS square wave in bursts (a
// wav made here) is on stage in a show that goes live to nginx, and
// nginx's recording of the stream holds a true peak of −1.0 dBTP or less
// by ffmpeg's ebur128=peak=true. The guest is in music mode, which turns
// the browser's auto gain and noise suppression off (as a voice, noise
// suppression took a steady tone for noise: TestChromiumGuestMusicInStereo),
// so the mix meets the square at full scale, as the studio's own meter of
// the sum before the limiter shows; and the recording is loud, so the
// square wave did reach the program and the limiter held it down rather
// than something having taken it away.
func TestChromiumGuestIsLimited(t *testing.T) {
	needChromium(t)
	dir := t.TempDir()
	wav := filepath.Join(dir, "square.wav")
	// 1 s of a 500 Hz square wave at ±1.0 (full scale in s16), then 1 s of
	// silence, over and over: the limiter meets each burst's onset fresh.
	if out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
		"aevalsrc=if(lt(mod(t\\,2)\\,1)\\,if(lt(mod(t*500\\,1)\\,0.5)\\,1\\,-1)\\,0):s=48000:d=30",
		"-c:a", "pcm_s16le", wav).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	n := mediatest.StartNginx(t, mediatest.NginxOptions{})
	s, _, _, page, id := chromiumGuestInProgram(t, encode.Config{Width: 320, Height: 180, FPS: 15},
		studio.ProgramConfig{Destinations: []studio.Destination{{Name: "nginx", URL: n.URL("show")}}},
		"Ann", []string{"--use-file-for-fake-audio-capture=" + wav})
	if err := s.SetMusicMode(id, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the mic's processing off", func() bool {
		var got string
		return page.Eval(processingJS, &got) == nil && got == "- - -"
	})
	time.Sleep(time.Second) // the renegotiation
	setLive(t, s, n, true)
	time.Sleep(6 * time.Second) // three bursts
	l := s.State().Loudness
	setLive(t, s, n, false)
	if l == nil {
		t.Fatal("no loudness in the state")
	}
	got := mediatest.Loudness(t, n.Recording("show"))
	keepRecording(n.Recording("show"), "limited.flv")
	t.Logf("nginx's recording: true peak %.2f dBTP, integrated %.2f LUFS; the studio's meters: mix peak %.2f dBFS before the limiter, true peak %.2f dBTP",
		got.TruePeak, got.Integrated, l.MixPeak, l.TruePeak)
	if got.TruePeak > -1 {
		t.Errorf("true peak %.2f dBTP in nginx's recording, want ≤ −1.0", got.TruePeak)
	}
	if l.MixPeak < -1 {
		t.Errorf("the mix peaked at %.2f dBFS before the limiter, want about 0: the square wave did not reach the mix at full scale", l.MixPeak)
	}
	if got.TruePeak < -8 || got.Integrated < -20 {
		t.Errorf("nginx's recording at %.2f dBTP, %.2f LUFS: want the limited square wave (about −4 dBTP), not a quiet program", got.TruePeak, got.Integrated)
	}
}
