package feed_test

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"greenroom/encode/compositor"
	"greenroom/encode/decode"
	"greenroom/encode/feed"
	"greenroom/encode/keyframe"
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

// The conference layers: the studio's default (studio.HostFeedLayers).
var layers = []feed.Layer{{Width: 640, Height: 360, VideoBitRate: 800_000}, {Width: 320, Height: 180, VideoBitRate: 200_000}}

// A feed in two layers encodes each picture at both sizes, each near its
// own bit rate; a keyframe asked of one layer comes on that layer only.
func TestFeedEncodesInLayers(t *testing.T) {
	var mu sync.Mutex
	bytes, keys := make([]int, 2), make([]int, 2)
	size := make([][2]int, 2)
	f, err := feed.New(feed.Config{Layers: layers}, func(s feed.Sample) {
		mu.Lock()
		defer mu.Unlock()
		bytes[s.Layer] += len(s.Data)
		if key, w, h := keyframe.VP8Frame(s.Data); key {
			keys[s.Layer]++
			size[s.Layer] = [2]int{w, h}
		}
	}, func(feed.Sample) {})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pat, _ := testpattern.New(1280, 720, 30)
	play := func(from, to int64) {
		start := time.Now()
		for n := from; n < to; n++ {
			f.WriteVideo(pat.Frame(n))
			time.Sleep(time.Until(start.Add(time.Duration(n-from+1) * time.Second / 30)))
		}
	}
	play(0, 30) // the first keyframes and the rate control settle
	mu.Lock()
	clear(bytes)
	clear(keys)
	mu.Unlock()
	play(30, 60)
	f.RequestLayerKeyframe(1)
	play(60, 90)
	mu.Lock()
	defer mu.Unlock()
	t.Logf("over 2 s: 640x360 at %d kb/s, 320x180 at %d kb/s; keyframes %v", bytes[0]*8/2000, bytes[1]*8/2000, keys)
	if size[0] != [2]int{640, 360} || size[1] != [2]int{320, 180} {
		t.Errorf("keyframes of %v, want 640x360 and 320x180", size)
	}
	// Each layer near its own rate (libvpx overshoots by a few percent
	// over 2 s), the low one a fraction of the top.
	if hi, lo := bytes[0]*8/2, bytes[1]*8/2; hi > 1_000_000 || lo > 250_000 || lo > hi/2 || lo == 0 {
		t.Errorf("sent %d and %d b/s, want about 800 and 200 kb/s, the low layer under half the top", hi, lo)
	}
	if keys[0] != 0 || keys[1] != 1 {
		t.Errorf("keyframes per layer after asking one of the low layer: %v, want [0 1]", keys)
	}
}

// A layer nobody is sent is not encoded; wanted again, it starts on a
// keyframe while the other goes on without one.
func TestFeedRestsALayerNobodyGets(t *testing.T) {
	var top atomic.Bool
	var mu sync.Mutex
	var got [2][]bool // per layer, keyframe or not per sample
	f, err := feed.New(feed.Config{Layers: layers, LayerActive: func(i int) bool { return i > 0 || top.Load() }}, func(s feed.Sample) {
		key, _, _ := keyframe.VP8Frame(s.Data)
		mu.Lock()
		got[s.Layer] = append(got[s.Layer], key)
		mu.Unlock()
	}, func(feed.Sample) {})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pat, _ := testpattern.New(1280, 720, 30)
	for n := range int64(20) {
		if n == 10 {
			mu.Lock()
			low := len(got[1])
			mu.Unlock()
			if low == 0 {
				t.Fatal("the low layer encoded nothing")
			}
			top.Store(true)
		}
		f.WriteVideo(pat.Frame(n))
		time.Sleep(time.Second / 30)
	}
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(got[0]) == 0 || !got[0][0] || slices.Contains(got[0][1:], true) {
		t.Fatalf("top layer, wanted from the 10th picture: keyframes %v, want one sample or more, only the first a keyframe", got[0])
	}
	if len(got[0]) >= len(got[1]) || slices.Contains(got[1][1:], true) {
		t.Errorf("low layer %v, top %v: want the low layer throughout and one keyframe", got[1], got[0])
	}
}

// BenchmarkFeedLayers is the video goroutine's cost per picture (scale and
// VP8 encode) of the top layer alone, of the low one alone (all the
// guests get it: the top one rests) and of both conference layers: what
// the second layer adds to the host's CPU.
func BenchmarkFeedLayers(b *testing.B) {
	for _, bc := range []struct {
		name   string
		layers []feed.Layer
	}{{"640x360", layers[:1]}, {"320x180", layers[1:]}, {"640x360+320x180", layers}} {
		b.Run(bc.name, func(b *testing.B) {
			done := make(chan struct{}, 1)
			f, err := feed.New(feed.Config{Layers: bc.layers, FPS: 10_000}, func(s feed.Sample) {
				if s.Layer == len(bc.layers)-1 {
					select {
					case done <- struct{}{}:
					default:
					}
				}
			}, func(feed.Sample) {})
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			pat, _ := testpattern.New(1280, 720, 30)
			frames := make([]*compositor.Frame, 30)
			for i := range frames {
				frames[i] = pat.Frame(int64(i))
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p := frames[i%len(frames)]
				p.Retain()
				f.WriteVideo(p)
				<-done
			}
		})
	}
}
