// Package device owns the host's own camera and microphone, and their
// screen: it lists the cameras and microphones this machine has and
// captures the chosen ones (StartScreen: the X11 screen), through
// github.com/pion/mediadevices, into an encode.Target. Pictures become 4:2:0
// compositor frames at the camera's own size (the compositor scales them);
// samples go on as float32 at the device's rate and channel count (the
// mixer resamples).
//
// It does not choose between a device and the built-in test pattern (the
// session does), and knows nothing of guests or windows.
//
// Devices are named by their label, which stays the same from one run to
// the next; mediadevices' device IDs are made afresh at every start.
package device

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pion/mediadevices"
	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"

	// The drivers: V4L2 cameras, and microphones through miniaudio (which
	// falls back to a silent "null" device where there is no sound card).
	_ "github.com/pion/mediadevices/pkg/driver/camera"
	_ "github.com/pion/mediadevices/pkg/driver/microphone"
	// The X11 screen (XShm); it registers the screens of $DISPLAY when the
	// program starts, and StartScreen looks again if there were none.
	"github.com/pion/mediadevices/pkg/driver/screen"

	"greenroom/encode"
	"greenroom/encode/compositor"
)

// Kind is a camera or a microphone.
type Kind int

const (
	Camera Kind = iota + 1
	Mic
)

func (k Kind) String() string {
	if k == Camera {
		return "camera"
	}
	return "microphone"
}

// Device is one camera or microphone.
type Device struct {
	Kind  Kind
	Label string // how the settings name it: the driver's label (a microphone's is a hex ID)
	Name  string // what a person calls it ("HD Pro Webcam C920"); the label if the driver has none
}

// ErrNotFound is Start's error for a label no device has (unplugged since
// it was chosen).
var ErrNotFound = errors.New("no such device")

// List returns this machine's cameras and microphones (not its screens), in
// a stable order.
func List() []Device {
	names := map[string]string{}
	for _, d := range driver.GetManager().Query(func(driver.Driver) bool { return true }) {
		// A camera's name is "card;bus info"; the card is enough.
		name, _, _ := strings.Cut(d.Info().Name, ";")
		names[d.ID()] = strings.TrimSpace(name)
	}
	var out []Device
	for _, d := range mediadevices.EnumerateDevices() {
		dev := Device{Label: d.Label, Name: names[d.DeviceID]}
		if dev.Name == "" {
			dev.Name = d.Label
		}
		switch {
		case d.Kind == mediadevices.VideoInput && d.DeviceType != driver.Screen:
			dev.Kind = Camera
		case d.Kind == mediadevices.AudioInput && d.Label != nullMic:
			dev.Kind = Mic
		default:
			continue
		}
		out = append(out, dev)
	}
	// The drivers register in no stable order: cameras first, then by name,
	// so the pickers do not shuffle.
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// nullMic is the label of miniaudio's "null" capture device (the hex of
// "null"), which the microphone driver offers where there is no sound card:
// it records silence, so it is no choice for a person.
const nullMic = "6e756c6c"

func find(kind Kind, label string) (string, error) {
	for _, d := range mediadevices.EnumerateDevices() {
		if d.Label == label && (kind == Camera) == (d.Kind == mediadevices.VideoInput) && d.DeviceType != driver.Screen {
			return d.DeviceID, nil
		}
	}
	return "", fmt.Errorf("device: %s %q: %w", kind, label, ErrNotFound)
}

// Config says what to capture.
type Config struct {
	Camera string // a camera's label; "" captures no video
	Mic    string // a microphone's label; "" captures no audio
	Logger *slog.Logger
}

// Capture is a running capture: one goroutine per device, reading until
// Close. Close stops them between two reads, so it waits at most a frame
// (or one 20 ms chunk of sound).
type Capture struct {
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// Start opens the chosen devices and writes what they capture into target
// until Close. If one cannot be opened, nothing is left running.
func Start(cfg Config, target encode.Target) (*Capture, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "device")
	c := &Capture{done: make(chan struct{})}
	var tracks []mediadevices.Track
	fail := func(err error) (*Capture, error) {
		for _, t := range tracks {
			t.Close()
		}
		return nil, err
	}
	if cfg.Camera != "" {
		t, err := open(Camera, cfg.Camera)
		if err != nil {
			return fail(err)
		}
		tracks = append(tracks, t)
	}
	if cfg.Mic != "" {
		t, err := open(Mic, cfg.Mic)
		if err != nil {
			return fail(err)
		}
		tracks = append(tracks, t)
	}
	for _, t := range tracks {
		c.wg.Add(1)
		switch t := t.(type) {
		case *mediadevices.VideoTrack:
			go c.run(t, log.With("camera", cfg.Camera), func() error { return readVideo(t.NewReader(false), target) })
		case *mediadevices.AudioTrack:
			go c.run(t, log.With("mic", cfg.Mic), func() error { return readAudio(t.NewReader(false), target) })
		}
	}
	return c, nil
}

// Close stops capturing and closes the devices. Safe to call twice.
func (c *Capture) Close() {
	c.once.Do(func() { close(c.done) })
	c.wg.Wait()
}

func open(kind Kind, label string) (mediadevices.Track, error) {
	id, err := find(kind, label)
	if err != nil {
		return nil, err
	}
	constrain := func(c *mediadevices.MediaTrackConstraints) { c.DeviceID = prop.StringExact(id) }
	var s mediadevices.MediaStream
	if kind == Camera {
		s, err = mediadevices.GetUserMedia(mediadevices.MediaStreamConstraints{Video: constrain})
	} else {
		s, err = mediadevices.GetUserMedia(mediadevices.MediaStreamConstraints{Audio: constrain})
	}
	if err != nil {
		return nil, fmt.Errorf("device: open %s %q: %w", kind, label, err)
	}
	return s.GetTracks()[0], nil
}

// ErrNoScreen is StartScreen's error where there is no X11 display to
// capture (none, or Wayland without XWayland).
var ErrNoScreen = errors.New("no screen to capture (an X11 display is needed)")

// ScreenConfig says how to capture the screen.
type ScreenConfig struct {
	FPS    float32 // frames a second; default 10 (a screen changes little, and text wants pixels more than motion)
	Logger *slog.Logger
}

// screenMu serializes StartScreen's look for screens: mediadevices' driver
// manager registers a screen twice if asked twice.
var screenMu sync.Mutex

// StartScreen captures the first screen of the X11 display ($DISPLAY) into
// target until Close: RGBA pictures at the screen's size, as 4:2:0 frames.
func StartScreen(cfg ScreenConfig, target encode.Target) (*Capture, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.FPS <= 0 {
		cfg.FPS = 10
	}
	if os.Getenv("DISPLAY") == "" {
		// A screen driver registered for an earlier display would fail
		// later with words of its own.
		return nil, fmt.Errorf("device: screen: %w", ErrNoScreen)
	}
	screenMu.Lock()
	id := screenID()
	if id == "" {
		// $DISPLAY was not set, or the display not up, when the program
		// started: the driver looked then and found nothing.
		screen.Initialize()
		id = screenID()
	}
	screenMu.Unlock()
	if id == "" {
		return nil, fmt.Errorf("device: screen: %w", ErrNoScreen)
	}
	var s mediadevices.MediaStream
	var err error
	// Opening fails now and then under Xvfb (a display just started, or a
	// capture just closed: "failed to open display"); a moment later it
	// works.
	for try := 0; try < 5; try++ {
		if try > 0 {
			time.Sleep(200 * time.Millisecond)
		}
		s, err = mediadevices.GetDisplayMedia(mediadevices.MediaStreamConstraints{Video: func(c *mediadevices.MediaTrackConstraints) {
			c.DeviceID = prop.StringExact(id)
			c.FrameRate = prop.Float(cfg.FPS)
		}})
		if err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("device: open the screen: %w: %w", ErrNoScreen, err)
	}
	t := s.GetVideoTracks()[0].(*mediadevices.VideoTrack)
	c := &Capture{done: make(chan struct{})}
	c.wg.Add(1)
	go c.run(t, log.With("component", "device", "screen", id), func() error { return readVideo(t.NewReader(false), target) })
	return c, nil
}

// screenID is the first screen's device ID, or "".
func screenID() string {
	for _, d := range mediadevices.EnumerateDevices() {
		if d.DeviceType == driver.Screen {
			return d.DeviceID
		}
	}
	return ""
}

// run calls read (one frame or chunk a call) until Close or an error, then
// closes the device. The device is closed here, after the last read has
// returned: some drivers (mediadevices' test pattern) never return from a
// read that was waiting when they were closed.
func (c *Capture) run(t mediadevices.Track, log *slog.Logger, read func() error) {
	defer c.wg.Done()
	defer t.Close()
	for {
		select {
		case <-c.done:
			return
		default:
		}
		if err := read(); err != nil {
			// The slot keeps the last picture; the compositor shows a
			// placeholder when it gets old. The window shows the device
			// as chosen still: choosing it again retries.
			log.Warn("capture stopped", "err", err)
			return
		}
	}
}

func readVideo(r video.Reader, target encode.Target) error {
	img, release, err := r.Read()
	if err != nil {
		return err
	}
	defer release()
	if f := Frame(target, img); f != nil {
		target.WriteVideo(f)
	}
	return nil
}

func readAudio(r audio.Reader, target encode.Target) error {
	chunk, release, err := r.Read()
	if err != nil {
		return err
	}
	defer release()
	info := chunk.ChunkInfo()
	if info.Len == 0 || info.Channels == 0 {
		return nil
	}
	return target.WriteAudio(Samples(chunk), info.SamplingRate, info.Channels)
}

// Frame copies img into a 4:2:0 frame from target (odd sizes lose their last
// column or row), or returns nil for an empty picture. Cameras deliver
// YCbCr — 4:2:2 (YUYV) or 4:2:0 (MJPEG, NV12) — which is copied, its chroma
// picked every other row; anything else goes through RGB.
func Frame(target encode.Target, img image.Image) *compositor.Frame {
	b := img.Bounds()
	w, h := b.Dx()&^1, b.Dy()&^1
	if w <= 0 || h <= 0 {
		return nil
	}
	f := target.NewFrame(w, h)
	switch src := img.(type) {
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			copy(f.Y[y*f.YStride:][:w], src.Y[src.YOffset(b.Min.X, b.Min.Y+y):][:w])
		}
		for y := 0; y < h/2; y++ {
			dcb, dcr := f.Cb[y*f.CStride:][:w/2], f.Cr[y*f.CStride:][:w/2]
			if src.SubsampleRatio == image.YCbCrSubsampleRatio420 || src.SubsampleRatio == image.YCbCrSubsampleRatio422 {
				o := src.COffset(b.Min.X, b.Min.Y+2*y)
				copy(dcb, src.Cb[o:][:w/2])
				copy(dcr, src.Cr[o:][:w/2])
				continue
			}
			for x := range w / 2 {
				o := src.COffset(b.Min.X+2*x, b.Min.Y+2*y)
				dcb[x], dcr[x] = src.Cb[o], src.Cr[o]
			}
		}
	case *image.RGBA: // a screen
		for y := 0; y < h; y++ {
			row := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				p := row[4*x:]
				yy, cb, cr := color.RGBToYCbCr(p[0], p[1], p[2])
				f.Y[y*f.YStride+x] = yy
				if x%2 == 0 && y%2 == 0 {
					f.Cb[y/2*f.CStride+x/2], f.Cr[y/2*f.CStride+x/2] = cb, cr
				}
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				yy, cb, cr := color.RGBToYCbCr(uint8(r>>8), uint8(g>>8), uint8(bl>>8))
				f.Y[y*f.YStride+x] = yy
				if x%2 == 0 && y%2 == 0 {
					f.Cb[y/2*f.CStride+x/2], f.Cr[y/2*f.CStride+x/2] = cb, cr
				}
			}
		}
	}
	return f
}

// Samples returns a chunk of sound as interleaved float32 in [-1, 1].
func Samples(a wave.Audio) []float32 {
	info := a.ChunkInfo()
	n := info.Len * info.Channels
	switch x := a.(type) {
	case *wave.Float32Interleaved:
		return x.Data[:n]
	case *wave.Int16Interleaved:
		out := make([]float32, n)
		for i, s := range x.Data[:n] {
			out[i] = float32(s) / 32768
		}
		return out
	}
	// Sample.Int is scaled so that 16-bit full scale is 2^31.
	out := make([]float32, 0, n)
	for i := range info.Len {
		for ch := range info.Channels {
			out = append(out, float32(float64(a.At(i, ch).Int())/(1<<31)))
		}
	}
	return out
}
