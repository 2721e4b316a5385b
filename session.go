package main

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"greenroom/encode"
	"greenroom/encode/compositor"
	"greenroom/encode/device"
	"greenroom/encode/feed"
	"greenroom/encode/speaker"
	"greenroom/studio"
)

// session is one running studio, as serve and the window run it: the
// program pipeline with the host's source, the studio (guest server, SFU,
// control API) and the Program between them, and the host's feed to the
// guests.
type session struct {
	pipe     *encode.Pipeline
	prog     *studio.Program
	studio   *studio.Studio
	stopFeed func()
	feed     *feed.Feed
	host     *hostSource
	log      *slog.Logger

	screenMu   sync.Mutex
	stopScreen func() // the host's screen share; nil when not sharing

	speakerMu sync.Mutex
	speaker   *speaker.Speaker // the host's ears (the window's), or nil
	deaf      bool             // closing: no speaker any more

	// liveMu orders going live and ending (setLive) with output changes
	// (SetOutput): outputs are made for the program's format as it is
	// when they are added. pending is a change asked for while live, made
	// when the stream ends.
	liveMu  sync.Mutex
	pending *encode.Format

	// portTaken is why the studio is not on the port it was asked for
	// (startSession's anyPort), or nil: the window tells the creator.
	portTaken *portTakenError
}

// portTakenError is a studio moved to any free port because the one it
// was asked for (Want, ":8443" for the window) could not be had.
type portTakenError struct {
	Want string
	Err  error
}

func (e *portTakenError) Error() string {
	return fmt.Sprintf("the studio's usual address %s could not be used: %v", e.Want, e.Err)
}

func (e *portTakenError) Unwrap() error { return e.Err }

// startSession builds a session. scfg gets the Program as its Sink and
// GoLive; a scfg.Listen that is taken falls back to any free port when
// anyPort is set.
func startSession(enc encode.Config, scfg studio.Config, pcfg studio.ProgramConfig, anyPort bool, log *slog.Logger) (*session, error) {
	pipe, err := encode.New(enc)
	if err != nil {
		return nil, err
	}
	s := &session{pipe: pipe, log: log}
	if s.prog, err = studio.NewProgram(pipe, pcfg); err != nil {
		pipe.Close()
		return nil, err
	}
	scfg.Sink, scfg.GoLive, scfg.CheckLive, scfg.Logger = s.prog, s.setLive, s.prog.Check, log
	if s.studio, err = studio.New(scfg); err != nil && anyPort {
		// Another program (or another Greenroom) has the usual port: any
		// free one will do, the guest link says which.
		want := cmp.Or(scfg.Listen, studio.DefaultListen)
		taken := &portTakenError{Want: want, Err: err}
		host, _, _ := net.SplitHostPort(want) // on the same interfaces
		scfg.Listen = net.JoinHostPort(host, "0")
		if s.studio, err = studio.New(scfg); err == nil {
			s.portTaken = taken
		}
	}
	if err != nil {
		s.prog.Close()
		pipe.Close()
		return nil, err
	}
	s.prog.Attach(s.studio)
	// The host: the test pattern until the window picks a camera or mic
	// (hostSource), into the program and, at conference size, to the
	// guests; one input, whatever the source, so the host keeps its place.
	f, stop, err := s.studio.StartHostFeed(feed.Config{Logger: log})
	if err != nil {
		s.Close()
		return nil, err
	}
	s.stopFeed, s.feed = stop, f
	in := pipe.AddInput(studio.HostID)
	// The host hears the guests, not themselves (the Program keeps it so
	// at every change of the show; this is for the time before the first).
	in.SetMonitored(false)
	s.host = &hostSource{pipe: pipe, target: encode.Tee(in, f), log: log}
	if err := s.host.Set("", ""); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// listen plays what the host hears of the show (the guests, on stage and
// in the green room; the pipeline's monitor) on the machine's speakers or
// headphones: the window's, whose host is at the computer. A machine with
// no output device says so in the log, and the show goes on unheard.
func (s *session) listen() error {
	spk, err := speaker.Open(speaker.Config{Logger: s.log})
	if err != nil {
		return fmt.Errorf("the guests can't be heard here: %w", err)
	}
	s.speakerMu.Lock()
	defer s.speakerMu.Unlock()
	if s.deaf { // the window closed while the speakers opened
		return spk.Close()
	}
	s.speaker = spk
	s.pipe.SetMonitor(spk.Write)
	return nil
}

// setLive is the studio's go-live (the window's button, /api/live): the
// Program's SetLive, then, when the stream has ended, an output change
// asked for while it ran.
func (s *session) setLive(on bool) error {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	if err := s.prog.SetLive(on); err != nil || on || s.pending == nil {
		return err
	}
	f := *s.pending
	s.pending = nil
	if err := s.reconfigure(f); err != nil {
		s.log.Error("output change after the stream", "err", err)
	}
	return nil
}

// SetOutput changes the program's size, frame rate and bit rate at once
// when the show is not live. While it is, the change is kept for the end
// of the stream (a stream cannot change size midway) and the error wraps
// encode.ErrHasOutputs.
func (s *session) SetOutput(f encode.Format) error {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	err := s.reconfigure(f)
	if errors.Is(err, encode.ErrHasOutputs) {
		s.pending = &f
		return err
	}
	s.pending = nil
	return err
}

// reconfigure changes the pipeline's format, and the host's test pattern
// to match it. Under liveMu.
func (s *session) reconfigure(f encode.Format) error {
	before := s.pipe.Config().Format()
	if err := s.pipe.Reconfigure(f); err != nil || s.pipe.Config().Format() == before {
		return err
	}
	return s.host.Resize()
}

// ShareScreen starts (on) or stops sharing the host's screen — the X11
// display the studio runs on ($DISPLAY), through encode/device — as a
// program source of its own next to the host's camera:
// studio.ScreenInput(studio.HostID), tagged "<host>'s screen", and sent to
// the guests as a stream of that name (StartHostScreenFeed). It is not
// shown large by itself: Program.ShowScreen(studio.HostID) does that (the
// window's Share screen button may do both). Stopping takes it out of the
// program and from the guests, and the scene falls back if it was shown
// large. Sharing twice, or stopping when not sharing, does nothing.
// Without an X11 display the error wraps device.ErrNoScreen.
func (s *session) ShareScreen(on bool) error {
	s.screenMu.Lock()
	defer s.screenMu.Unlock()
	if !on {
		if s.stopScreen != nil {
			s.stopScreen()
			s.stopScreen = nil
		}
		return nil
	}
	if s.stopScreen != nil {
		return nil
	}
	in, remove, err := s.prog.AddScreen(studio.HostID)
	if err != nil {
		return err
	}
	f, stopFeed, err := s.studio.StartHostScreenFeed(feed.Config{})
	if err != nil {
		remove()
		return err
	}
	c, err := device.StartScreen(device.ScreenConfig{}, encode.Tee(in, f))
	if err != nil {
		stopFeed()
		remove()
		return err
	}
	s.stopScreen = func() {
		c.Close()
		stopFeed()
		remove()
	}
	return nil
}

// Sharing says whether the host's screen is shared.
func (s *session) Sharing() bool {
	s.screenMu.Lock()
	defer s.screenMu.Unlock()
	return s.stopScreen != nil
}

// Close ends the session: the studio first (no more RTP into the program),
// the host's source and screen, the feed, the program's outputs, then the
// pipeline.
func (s *session) Close() error {
	s.speakerMu.Lock()
	s.deaf = true
	s.pipe.SetMonitor(nil)
	if s.speaker != nil {
		s.speaker.Close()
		s.speaker = nil
	}
	s.speakerMu.Unlock()
	err := s.studio.Close()
	_ = s.ShareScreen(false)
	if s.host != nil {
		s.host.Close()
	}
	if s.stopFeed != nil {
		s.stopFeed()
	}
	return errors.Join(err, s.prog.Close(), s.pipe.Close())
}

// hostSource is what the host's input and feed show and play: the chosen
// camera and microphone, and the built-in test pattern's picture or sound
// for whichever is not chosen. Its mutex serializes switches.
type hostSource struct {
	pipe   *encode.Pipeline
	target encode.Target // the host's program input and conference feed
	log    *slog.Logger

	mu    sync.Mutex
	stops []func() // the devices
	// pattern stops the test pattern, if it stands in for a device, and
	// patternTo is where it writes.
	pattern   func()
	patternTo encode.Target
	closed    bool
}

// Set switches to the camera and microphone with these labels ("" for the
// test pattern's picture or sound), without restarting anything else: the
// old source stops, the new one writes into the same input, so the host
// keeps its place in the program. A device that cannot be opened is
// replaced by the test pattern, and the error says which.
func (h *hostSource) Set(camera, mic string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return errors.New("the studio has shut down")
	}
	h.stop()
	var errs []error
	for _, d := range []struct {
		kind  device.Kind
		label *string
		cfg   device.Config
	}{
		{device.Camera, &camera, device.Config{Camera: camera, Logger: h.log}},
		{device.Mic, &mic, device.Config{Mic: mic, Logger: h.log}},
	} {
		if *d.label == "" {
			continue
		}
		c, err := device.Start(d.cfg, h.target)
		if err != nil {
			errs = append(errs, &hostDeviceError{d.kind, *d.label, err})
			*d.label = ""
			continue
		}
		h.stops = append(h.stops, c.Close)
	}
	if camera == "" || mic == "" {
		var t encode.Target = h.target
		switch {
		case camera != "":
			t = soundOnly{t}
		case mic != "":
			t = pictureOnly{t}
		}
		h.patternTo = t
		if err := h.startPattern(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// startPattern starts the test pattern at the program's size and rate.
func (h *hostSource) startPattern() error {
	cfg := h.pipe.Config()
	stop, err := h.pipe.StartTestPattern(cfg.Width, cfg.Height, h.patternTo)
	if err != nil {
		return err
	}
	h.pattern = stop
	return nil
}

// Resize starts the test pattern again, if it stands in for the camera or
// the microphone, at the program's size and rate after a change of format;
// the devices go on as they are.
func (h *hostSource) Resize() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.pattern == nil {
		return nil
	}
	h.pattern()
	h.pattern = nil
	return h.startPattern()
}

func (h *hostSource) stop() {
	for _, f := range h.stops {
		f()
	}
	h.stops = nil
	if h.pattern != nil {
		h.pattern()
		h.pattern = nil
	}
}

// Close stops the source. Safe to call twice.
func (h *hostSource) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stop()
	h.closed = true
}

// hostDeviceError is a chosen camera or microphone that could not be used,
// in the words the window shows.
type hostDeviceError struct {
	kind  device.Kind
	label string
	err   error
}

func (e *hostDeviceError) Error() string {
	if errors.Is(e.err, device.ErrNotFound) {
		return fmt.Sprintf("your %s “%s” is not connected; the test pattern stands in. Plug it in and pick it again under Settings, or pick another.", e.kind, e.label)
	}
	return fmt.Sprintf("your %s “%s” could not be opened (%v); the test pattern stands in.", e.kind, e.label, e.err)
}

func (e *hostDeviceError) Unwrap() error { return e.err }

// soundOnly and pictureOnly pass on half of a source: the test pattern's
// sound next to a camera, or its picture next to a microphone.
type soundOnly struct{ encode.Target }

func (soundOnly) WriteVideo(f *compositor.Frame) { f.Release() }

type pictureOnly struct{ encode.Target }

func (pictureOnly) WriteAudio([]float32, int, int) error { return nil }
