package feed_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"greenroom/encode/compositor"
	"greenroom/encode/decode"
	"greenroom/encode/feed"
	"greenroom/encode/testpattern"
)

type sink struct {
	mu      sync.Mutex
	pool    compositor.Pool
	frames  int
	size    [2]int
	samples int
}

func (s *sink) NewFrame(w, h int) *compositor.Frame { return s.pool.Get(w, h) }
func (s *sink) WriteVideo(f *compositor.Frame) {
	s.mu.Lock()
	s.frames++
	s.size = [2]int{f.Rect.Dx(), f.Rect.Dy()}
	s.mu.Unlock()
	f.Release()
}
func (s *sink) WriteAudio(pcm []float32, rate, ch int) error {
	s.mu.Lock()
	s.samples += len(pcm) / ch
	s.mu.Unlock()
	return nil
}

// The host's picture and sound come out as VP8 and Opus that a decoder
// (ours, standing in for the guests' browsers) turns back into 640x360
// pictures and 48 kHz sound; a keyframe comes when asked.
func TestFeedEncodesForGuests(t *testing.T) {
	var got sink
	vdec, err := decode.New(decode.Config{MimeType: "video/VP8", ClockRate: 90000, Target: &got})
	if err != nil {
		t.Fatal(err)
	}
	defer vdec.Close()
	adec, err := decode.New(decode.Config{MimeType: "audio/opus", ClockRate: 48000, Channels: 2, Target: &got})
	if err != nil {
		t.Fatal(err)
	}
	defer adec.Close()
	vp := rtp.NewPacketizer(1200, 96, 1, &codecs.VP8Payloader{}, rtp.NewRandomSequencer(), 90000)
	ap := rtp.NewPacketizer(1200, 111, 2, &codecs.OpusPayloader{}, rtp.NewRandomSequencer(), 48000)
	var mu sync.Mutex
	var keyframes []int
	nVideo := 0
	f, err := feed.New(feed.Config{}, func(s feed.Sample) {
		mu.Lock()
		defer mu.Unlock()
		if s.Data[0]&1 == 0 {
			keyframes = append(keyframes, nVideo)
		}
		nVideo++
		for _, p := range vp.Packetize(s.Data, 3000) {
			vdec.WriteRTP(p)
		}
	}, func(s feed.Sample) {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range ap.Packetize(s.Data, 960) {
			adec.WriteRTP(p)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	pat, _ := testpattern.New(1280, 720, 30)
	audio := make([]float32, 2*480)
	start := time.Now()
	for n := int64(0); time.Since(start) < 2*time.Second; n++ {
		if n == 40 {
			f.RequestKeyframe()
		}
		f.WriteVideo(pat.Frame(n))
		pat.Audio(audio, n*1600, 48000)
		f.WriteAudio(audio, 48000, 2)
		f.WriteAudio(audio, 48000, 2)
		f.WriteAudio(audio, 48000, 2)
		f.WriteAudio(audio, 48000, 2)
		f.WriteAudio(audio, 48000, 2)
		f.WriteAudio(audio, 48000, 2)
		f.WriteAudio(audio, 48000, 2)
		f.WriteAudio(audio, 48000, 2)
		time.Sleep(time.Until(start.Add(time.Duration(n+1) * time.Second / 30)))
	}
	f.Close()
	f.Close()
	mu.Lock()
	defer mu.Unlock()
	got.mu.Lock()
	defer got.mu.Unlock()
	if got.frames < 45 || got.size != [2]int{640, 360} {
		t.Errorf("decoded %d pictures of %v, want ~60 of 640x360", got.frames, got.size)
	}
	if got.samples < 48000*3/2 {
		t.Errorf("decoded %d samples in 2 s, want ~96000", got.samples)
	}
	if len(keyframes) < 2 || keyframes[0] != 0 {
		t.Errorf("keyframes at %v: want the first frame and one soon after the request at 40", keyframes)
	}
}

// While nobody receives the feed (Config.Active says so: no guest yet) it
// encodes nothing but still meters the sound; when someone comes, the
// first picture is a keyframe.
func TestFeedRestsWithoutReceivers(t *testing.T) {
	var active atomic.Bool
	var mu sync.Mutex
	var video []bool // keyframe or not, per sample
	audio := 0
	f, err := feed.New(feed.Config{Active: active.Load}, func(s feed.Sample) {
		mu.Lock()
		video = append(video, s.Data[0]&1 == 0)
		mu.Unlock()
	}, func(feed.Sample) {
		mu.Lock()
		audio++
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pat, _ := testpattern.New(640, 360, 30)
	pcm := make([]float32, 2*1600)
	play := func(from, to int64) {
		start := time.Now()
		for n := from; n < to; n++ {
			f.WriteVideo(pat.Frame(n))
			pat.Audio(pcm, n*1600, 48000)
			f.WriteAudio(pcm, 48000, 2)
			time.Sleep(time.Until(start.Add(time.Duration(n-from+1) * time.Second / 30)))
		}
	}
	play(0, 2) // the beep starts the second
	level := f.Level()
	play(2, 30)
	mu.Lock()
	idleVideo, idleAudio := len(video), audio
	mu.Unlock()
	if idleVideo != 0 || idleAudio != 0 {
		t.Errorf("inactive: %d video and %d audio samples encoded, want none", idleVideo, idleAudio)
	}
	if level < 0.1 {
		t.Errorf("inactive: level %.2f during the beep, want it metered", level)
	}
	active.Store(true)
	play(30, 60)
	mu.Lock()
	defer mu.Unlock()
	if len(video) < 15 || !video[0] || audio < 25 {
		t.Errorf("active: %d video samples (first a keyframe: %v), %d audio; want ~30, a keyframe first, ~50", len(video), len(video) > 0 && video[0], audio)
	}
}

// A feed told to send less (its guests' downlinks are short) encodes a
// keyframe at the new rate and sends about that much from then on.
func TestFeedFollowsItsBitRate(t *testing.T) {
	var mu sync.Mutex
	var bytes int
	var keys int
	f, err := feed.New(feed.Config{VideoBitRate: 800_000}, func(s feed.Sample) {
		mu.Lock()
		defer mu.Unlock()
		bytes += len(s.Data)
		if s.Data[0]&1 == 0 {
			keys++
		}
	}, func(feed.Sample) {})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pat, _ := testpattern.New(640, 360, 30)
	rate := func(d time.Duration) (bps, keyframes int) {
		mu.Lock()
		bytes, keys = 0, 0
		mu.Unlock()
		start := time.Now()
		for n := int64(0); time.Since(start) < d; n++ {
			f.WriteVideo(pat.Frame(n))
			time.Sleep(time.Until(start.Add(time.Duration(n+1) * time.Second / 30)))
		}
		mu.Lock()
		defer mu.Unlock()
		return int(float64(bytes*8) / d.Seconds()), keys
	}
	rate(time.Second) // the first keyframe and the rate control settle
	high, _ := rate(2 * time.Second)
	f.SetVideoBitRate(150_000)
	low, keys := rate(2 * time.Second)
	t.Logf("at 800 kb/s: %d kb/s; told 150 kb/s: %d kb/s (%d keyframes)", high/1000, low/1000, keys)
	if f.VideoBitRate() != 150_000 || low > 250_000 || low > high/2 || keys < 1 {
		t.Errorf("told 150 kb/s: sends %d b/s (was %d) with %d keyframes", low, high, keys)
	}
}
