package device

import (
	"errors"
	"image"
	"image/color"
	"math"
	"sync"
	"testing"
	"time"

	// mediadevices' test drivers: a 640x480 colour-bar camera
	// ("VideoTest") and a 480 Hz microphone ("AudioTest").
	_ "github.com/pion/mediadevices/pkg/driver/audiotest"
	_ "github.com/pion/mediadevices/pkg/driver/videotest"
	"go.uber.org/goleak"

	"greenroom/encode/compositor"
)

// target stands in for a program input: it keeps what it is given.
type target struct {
	pool compositor.Pool

	mu       sync.Mutex
	frames   int
	last     *compositor.Frame
	samples  int // per channel
	rate, ch int
	peak     float32
}

func (t *target) NewFrame(w, h int) *compositor.Frame { return t.pool.Get(w, h) }

func (t *target) WriteVideo(f *compositor.Frame) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last != nil {
		t.last.Release()
	}
	t.last = f
	t.frames++
}

func (t *target) WriteAudio(pcm []float32, rate, channels int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.samples += len(pcm) / channels
	t.rate, t.ch = rate, channels
	for _, s := range pcm {
		t.peak = max(t.peak, float32(math.Abs(float64(s))))
	}
	return nil
}

func (t *target) snapshot() (frames, samples int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.frames, t.samples
}

func TestList(t *testing.T) {
	var cam, mic bool
	for _, d := range List() {
		t.Logf("%s %q (%s)", d.Kind, d.Label, d.Name)
		cam = cam || d == Device{Camera, "VideoTest", "VideoTest"}
		mic = mic || d == Device{Mic, "AudioTest", "AudioTest"}
	}
	if !cam || !mic {
		t.Errorf("the test drivers are not listed (camera %v, microphone %v)", cam, mic)
	}
}

// The test camera and microphone, captured into a target: 640x480 4:2:0
// pictures with the colour bars where they should be, 48 kHz sound at the
// tone's level, about as much as the time that passed; Close ends it all.
func TestCapture(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	tg := &target{}
	start := time.Now()
	c, err := Start(Config{Camera: "VideoTest", Mic: "AudioTest"}, tg)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	c.Close()
	took := time.Since(start).Seconds()
	c.Close() // twice is fine
	frames, samples := tg.snapshot()
	time.Sleep(100 * time.Millisecond)
	if f, s := tg.snapshot(); f != frames || s != samples {
		t.Errorf("still capturing after Close")
	}
	t.Logf("%.1f s: %d frames, %d samples at %d Hz × %d, peak %.2f", took, frames, samples, tg.rate, tg.ch, tg.peak)
	if frames < 30 {
		t.Errorf("%d frames in %.1f s", frames, took)
	}
	if tg.rate != 48000 || tg.ch < 1 || tg.ch > 2 {
		t.Errorf("sound at %d Hz, %d channels", tg.rate, tg.ch)
	}
	if want := took * 48000; float64(samples) < 0.8*want || float64(samples) > 1.1*want {
		t.Errorf("%d samples in %.1f s", samples, took)
	}
	if math.Abs(float64(tg.peak)-0.25) > 0.02 {
		t.Errorf("peak %.3f, want the tone's 0.25", tg.peak)
	}
	f := tg.last
	if f == nil || f.Rect != image.Rect(0, 0, 640, 480) || f.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		t.Fatalf("last frame %v", f)
	}
	// The first and last of the seven bars: white and blue, at 75 %.
	for _, c := range []struct {
		x    int
		want color.YCbCr
	}{{20, color.YCbCr{176, 128, 128}}, {620, color.YCbCr{30, 240, 110}}} {
		got := f.YCbCrAt(c.x, 100)
		if d := int(got.Y) - int(c.want.Y); d < -2 || d > 2 || got.Cb != c.want.Cb || got.Cr != c.want.Cr {
			t.Errorf("at x=%d: %v, want %v", c.x, got, c.want)
		}
	}
}

func TestStartUnknownDevice(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, cfg := range []Config{{Camera: "No Such Camera"}, {Camera: "VideoTest", Mic: "No Such Mic"}} {
		c, err := Start(cfg, &target{})
		if !errors.Is(err, ErrNotFound) || c != nil {
			t.Errorf("%+v: %v, want ErrNotFound", cfg, err)
		}
	}
}

// Frame turns what cameras deliver into 4:2:0 frames of even size.
func TestFrame(t *testing.T) {
	tg := &target{}
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio444} {
		src := image.NewYCbCr(image.Rect(10, 20, 10+65, 20+49), ratio)
		for y := 20; y < 69; y++ {
			for x := 10; x < 75; x++ {
				src.Y[src.YOffset(x, y)] = uint8(x + y)
				o := src.COffset(x, y)
				src.Cb[o], src.Cr[o] = uint8(x), uint8(y)
			}
		}
		f := Frame(tg, src)
		if f.Rect != image.Rect(0, 0, 64, 48) {
			t.Fatalf("%v: frame %v", ratio, f.Rect)
		}
		for _, p := range []image.Point{{0, 0}, {63, 47}, {30, 11}} {
			got, want := f.YCbCrAt(p.X, p.Y), src.YCbCrAt(10+p.X&^1, 20+p.Y&^1)
			if got.Y != src.YCbCrAt(10+p.X, 20+p.Y).Y || got.Cb != want.Cb || got.Cr != want.Cr {
				t.Errorf("%v at %v: %v, want Y %d Cb %d Cr %d", ratio, p, got, src.YCbCrAt(10+p.X, 20+p.Y).Y, want.Cb, want.Cr)
			}
		}
		f.Release()
	}
	rgba := image.NewRGBA(image.Rect(0, 0, 4, 2))
	for i := range rgba.Pix {
		rgba.Pix[i] = 255
	}
	if f := Frame(tg, rgba); f.YCbCrAt(3, 1) != (color.YCbCr{255, 128, 128}) {
		t.Errorf("white RGBA became %v", f.YCbCrAt(3, 1))
	}
}
