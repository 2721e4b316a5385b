package mediatest

import (
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// Lip sync, judged by ffmpeg: a camera that flashes as its microphone
// beeps (FlashBeep), and the flashes and beeps found again in a file the
// program or a browser made of them (FileSync). The studio's tests with
// an in-process Chromium guest and the NAT lab's (the studio a process of
// its own) share them.

// FlashBeep writes a camera (320x180 at 30 fps, black with a white frame
// on every whole second and a grey one after it) and a microphone (a
// 100 ms 1 kHz beep on every whole second) for Chromium's fake capture
// devices (--use-file-for-fake-video-capture, …-audio-capture). They are
// 30 s long because Chromium loops a video file a frame late, which would
// drift the flashes from the beeps by 33 ms a loop: a test is over before
// the first loop.
func FlashBeep(t testing.TB) (video, audio string) {
	t.Helper()
	dir := t.TempDir()
	video, audio = filepath.Join(dir, "flash.y4m"), filepath.Join(dir, "beep.wav")
	// Every frame is one flat colour, so geq (an expression evaluated per
	// pixel: 4.6 s of ffmpeg for 320x180) draws it at 16x16 and scale
	// makes the same 320x180 frames, byte for byte, in under a second.
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "color=black:s=16x16:r=30:d=30,format=yuv420p,geq=lum='if(eq(mod(N\\,30)\\,0)\\,235\\,if(eq(mod(N\\,30)\\,1)\\,150\\,16))':cb=128:cr=128,scale=320:180:flags=neighbor,setsar=1",
			"-pix_fmt", "yuv420p", video},
		{"-f", "lavfi", "-i", "aevalsrc='if(lt(mod(t\\,1)\\,0.1)\\,0.8*sin(2*PI*1000*t)\\,0)':s=48000:d=30",
			"-ac", "1", "-c:a", "pcm_s16le", audio},
	} {
		cmd := exec.Command("ffmpeg", append([]string{"-v", "error", "-y"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
		}
	}
	return video, audio
}

// FileSync is the flashes of the file at path (FlashStarts) and how long
// after each its nearest beep starts (ToneOnsets), on the file's own
// timeline.
func FileSync(t testing.TB, path string) AVSync {
	t.Helper()
	flashes := FlashStarts(t, path)
	beeps := ToneOnsets(t, path, 500*time.Millisecond)
	av := Pairs(flashes, beeps)
	t.Logf("%s: flashes %.3f\nbeeps %.3f\naudio − video %.3f", filepath.Base(path), flashes, beeps, av.D)
	return av
}

// FlashStarts is when FlashBeep's flashes start in the file at path, on
// its own timeline, in seconds. A flash is a white frame and then a grey
// one: a guest's 30 fps on the program's 30 fps ticks now and then loses
// a frame to jitter, and a flash of one frame would go with it. Where
// the white frame was lost, the grey one tells when it was, a frame
// before.
func FlashStarts(t testing.TB, path string) []float64 {
	t.Helper()
	l := frameLumas(t, path) // decoded once for both
	white := l.atLeast(200)
	bright := l.atLeast(110) // white and grey
	var starts []float64
	for i, f := range bright {
		if i > 0 && f-bright[i-1] < 0.5 {
			continue // the same flash
		}
		if !slices.Contains(white, f) {
			f -= 1.0 / 30 // the grey frame: the white one was lost
		}
		starts = append(starts, f)
	}
	return starts
}

// AVSync is a clip's flashes that have a beep within half a second (At,
// in seconds on some timeline) and how long after each its nearest beep
// starts (D).
type AVSync struct{ At, D []float64 }

// Pairs pairs each of times with the nearest of others within half a
// second (FlashBeep's events are a second apart): other − time of each
// pair.
func Pairs(times, others []float64) AVSync {
	var p AVSync
	for _, f := range times {
		best := 1.0
		for _, a := range others {
			if x := a - f; abs(x) < abs(best) {
				best = x
			}
		}
		if abs(best) < 0.5 {
			p.At, p.D = append(p.At, f), append(p.D, best)
		}
	}
	return p
}

// Added pairs each flash of v (a file's) with the same flash in sent
// (what the guest sent, on another timeline: one shift apart, the time
// from capture to the file, give or take the playout delay's changes)
// and returns what v adds to the guest's offset, flash by flash. The
// same flash, not the medians of the two: a browser whose devices drift
// apart under load sends offsets that change from flash to flash.
func (v AVSync) Added(sent AVSync) []float64 {
	const within = 0.3 // s: the playout delay's range, under FlashBeep's second
	match := func(shift float64) (d []float64, shifts []float64) {
		for i, a := range v.At {
			for j, b := range sent.At {
				if abs(a-b-shift) < within {
					d, shifts = append(d, v.D[i]-sent.D[j]), append(shifts, a-b)
					break
				}
			}
		}
		return d, shifts
	}
	// The shift that pairs the most flashes, then the median of its pairs'.
	var best []float64
	for _, a := range v.At {
		for _, b := range sent.At {
			if _, shifts := match(a - b); len(shifts) > len(best) {
				best = shifts
			}
		}
	}
	if len(best) == 0 {
		return nil
	}
	d, _ := match(Median(best))
	return d
}

// Median is the middle of x (sorted in place), 0 for none.
func Median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	slices.Sort(x)
	return x[len(x)/2]
}
