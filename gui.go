package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"greenroom/encode"
	"greenroom/encode/device"
	"greenroom/encode/feed"
	"greenroom/encode/stream"
	"greenroom/studio"
	"greenroom/studio/settings"
	"greenroom/ui"
)

// runGUI is `greenroom` with no arguments: the studio window over a running
// studio (guest server and program) built from the user's settings.
func runGUI(stdout, stderr io.Writer) int {
	if err := ui.CheckDisplay(); err != nil {
		// No window to say it in: stderr and the start log (a menu's
		// launcher shows neither, but the log is where the README says to
		// look).
		reportStart(stderr, fmt.Errorf("%w — run `greenroom serve` for the studio without a window, or `greenroom live` to stream the test pattern", err))
		return 1
	}
	st, serr := settings.Open("")
	if st == nil {
		return startFailed(stderr, serr)
	}
	if serr != nil {
		// A damaged file moved aside, or values out of range kept at their
		// defaults: said here for whoever started us from a terminal, and
		// in the window.
		reportStart(stderr, serr)
	}
	log := newLogger(stderr, false)
	set := st.Get()
	out := set.Output
	// The STUN/TURN servers, NAT IP and domain from Settings → Network; one that
	// does not parse is left out and the window says which.
	cfg := studio.Config{ReconnectGrace: set.ReconnectGrace, Limits: set.Limits, GuestKbps: set.GuestKbps}
	netErr := set.Network.Configure(&cfg)
	sess, err := startSession(
		encode.Config{Width: out.Width, Height: out.Height, FPS: out.FPS, VideoBitRate: out.VideoKbps * 1000, Logger: log},
		cfg, studio.ProgramConfig{RecordDir: set.RecordingDir, LoudnessTarget: set.LoudnessTarget, Logger: log}, true, log)
	if err != nil {
		return startFailed(stderr, err)
	}
	if sess.portTaken != nil {
		reportStart(stderr, sess.portTaken)
	}
	recErr := checkRecordingDir(set.RecordingDir)
	if recErr != nil {
		reportStart(stderr, recErr)
	}
	// The speakers open beside the window's start, not before it: a sound
	// server slow to answer must not hold the window up.
	go func() {
		if err := sess.listen(); err != nil {
			log.Warn("no sound for the host", "err", err)
		}
	}()
	fmt.Fprintf(stdout, "guest link: %s\n", sess.studio.GuestURL())
	fmt.Fprintf(stdout, "control: %s\n", sess.studio.ControlURL())

	// With a Store, Open's error is a damaged file moved aside or values
	// kept at their defaults: the window says so, and which saved servers
	// were left out.
	w, _ := openWindow(app.NewWithID(appID), sess, st, errors.Join(serr, netErr, recErr), fyne.Do)
	w.Run() // until the window closes (it ends a live show first), or SIGINT or SIGTERM: Fyne quits then
	if err := sess.Close(); err != nil {
		fmt.Fprintf(stderr, "greenroom: %v\n", err)
		return 1
	}
	return 0
}

// appID is the Fyne app's ID: its preferences and storage folder.
const appID = "io.greenroom.studio"

// startFailed says why the studio could not start, in a window of its
// own (started from a menu, no one reads stderr), on stderr and in the
// start log, and returns the exit code once the creator has read it.
func startFailed(stderr io.Writer, problem error) int {
	logPath := reportStart(stderr, problem)
	ui.StartFailure(app.NewWithID(appID), problem, logPath).ShowAndRun()
	return 1
}

// checkRecordingDir makes the recordings folder if need be and writes a
// file there, so that a folder that can't take the show (gone with its
// disk, not the creator's to write) is said at the start, not after
// pressing Go Live.
func checkRecordingDir(dir string) error {
	err := os.MkdirAll(dir, 0o755)
	if err == nil {
		var f *os.File
		if f, err = os.CreateTemp(dir, ".greenroom-check-*"); err == nil {
			f.Close()
			err = os.Remove(f.Name())
		}
	}
	if err != nil {
		return fmt.Errorf("recordings can't be saved in %s: %w; choose another recording folder in Settings", dir, err)
	}
	return nil
}

// portNotice is the window's words for a studio moved off its usual port:
// why, what it means for the guest links, and how to get the port back.
func portNotice(p *portTakenError, now net.Addr) (title, text string) {
	_, want, _ := net.SplitHostPort(p.Want)
	_, port, _ := net.SplitHostPort(now.String())
	title = "Port " + want + " is in use"
	who := "Another program (perhaps another Greenroom) is using port " + want + ", Greenroom's usual port"
	if !errors.Is(p.Err, syscall.EADDRINUSE) {
		title = "Port " + want + " couldn't be used"
		who = fmt.Sprintf("Greenroom couldn't use its usual port, %s (%v)", want, p.Err)
	}
	text = who + ", so this studio is on port " + port + " until Greenroom restarts.\n\n" +
		"Guests need the new guest link; a link sent before won't reach this studio. " +
		"To keep port " + want + ", close the other program and start Greenroom again."
	return title, text
}

// openWindow builds the studio window over sess: the host's camera and mic
// as last chosen, and a problem met while starting (startErr, if not nil; a
// device that is gone) shown in the window. do runs the window's updates on
// the UI thread: fyne.Do (see ui.NewOn).
func openWindow(a fyne.App, sess *session, st *settings.Store, startErr error, do func(func())) (*ui.Studio, *show) {
	host := st.Get().Host
	if err := sess.host.Set(host.Camera, host.Mic); err != nil && startErr == nil {
		startErr = err
	}
	sh := &show{Studio: sess.studio, sess: sess, prog: sess.prog, pipe: sess.pipe, host: sess.host, feed: sess.feed, settings: st}
	w := ui.NewOn(a, sh, st, do)
	if startErr != nil {
		w.ShowError(startErr)
	}
	if sess.portTaken != nil {
		w.ShowNotice(portNotice(sess.portTaken, sess.studio.Addr()))
	}
	return w, sh
}

// show is what the window drives: the studio, plus the program's media
// side (preview, layout, live outputs, the host's devices) and the settings
// read at go-live.
type show struct {
	*studio.Studio
	sess     *session
	prog     *studio.Program
	pipe     *encode.Pipeline
	host     *hostSource
	feed     *feed.Feed // the host's conference feed
	settings *settings.Store

	preview, vertical previewTap // the program's, the vertical program's
}

// previewTap hands one program's preview pictures to the window: a copy
// each (the pipeline reuses its buffers, the window may keep what it
// gets). mu guards frame, the window's consumer or nil.
type previewTap struct {
	start sync.Once
	mu    sync.Mutex
	frame func(image.Image)
	calls sync.WaitGroup // frame calls in flight, for stop
}

// attach makes frame the consumer, starting the pipeline's preview with
// set (SetPreview or SetVerticalPreview, once: the pipeline has no way to
// stop one) the first time; stop waits until frame is no longer called.
func (t *previewTap) attach(set func(fn func(*image.RGBA)), frame func(image.Image)) (stop func()) {
	t.start.Do(func() { set(t.deliver) })
	t.mu.Lock()
	t.frame = frame
	t.mu.Unlock()
	return func() {
		t.mu.Lock()
		t.frame = nil
		t.mu.Unlock()
		t.calls.Wait()
	}
}

func (t *previewTap) deliver(img *image.RGBA) {
	t.mu.Lock()
	f := t.frame
	if f != nil {
		t.calls.Add(1)
	}
	t.mu.Unlock()
	if f == nil {
		return
	}
	defer t.calls.Done()
	cp := image.NewRGBA(img.Rect)
	copy(cp.Pix, img.Pix)
	f(cp)
}

// SetLive goes live to the destinations enabled in the settings now, and
// records into the settings' folder.
//
// The window goes live only if at least one destination does: a creator who
// pressed Go Live and whose every server refused is not live, even though
// the recording alone could go on (the CLI's `live` does go on with it).
// The refusals are the error, and the stub recording is removed.
func (s *show) SetLive(on bool) error {
	if !on {
		return s.Studio.SetLive(false)
	}
	return s.goLive(func(string) bool { return true })
}

// GoLiveTo (ui.Preflighter) is SetLive(true) to the enabled destinations
// among ids: the ones that passed the preflight, when the host chose to go
// on without the others.
func (s *show) GoLiveTo(ids []string) error {
	return s.goLive(func(id string) bool { return slices.Contains(ids, id) })
}

// CheckLive (ui.Preflighter) is the preflight of Go Live: the program's
// Check of the destinations enabled in the settings now.
func (s *show) CheckLive(ctx context.Context) []studio.DestinationCheck {
	if err := s.prog.SetDestinations(s.destinations(func(string) bool { return true })); err != nil {
		// The window validates them first; a URL it let through and the
		// program refuses still gets its say.
		return []studio.DestinationCheck{{Name: "Destinations", Problem: err.Error(), Summary: "A destination's server URL is not right"}}
	}
	return s.prog.Check(ctx)
}

// destinations are the enabled ones of the settings that keep takes.
func (s *show) destinations(keep func(id string) bool) []studio.Destination {
	var dests []studio.Destination
	for _, d := range s.settings.Get().Enabled() {
		if keep(d.ID) {
			dests = append(dests, studio.Destination{ID: d.ID, Name: d.Name, URL: d.PublishURL(), Preset: string(d.Service), Vertical: d.Vertical})
		}
	}
	return dests
}

func (s *show) goLive(keep func(id string) bool) error {
	set := s.settings.Get()
	dests := s.destinations(keep)
	if err := s.prog.SetDestinations(dests); err != nil {
		return err
	}
	s.prog.SetRecordDir(set.RecordingDir)
	if err := s.Studio.SetLive(true); err != nil || len(dests) == 0 {
		return err
	}
	var failed []error
	var stub string
	for _, o := range s.prog.Outputs() {
		switch {
		case o.Recording:
			stub = o.Name
		case o.State == stream.Live:
			return nil // at least one destination is live
		case o.Err != nil:
			failed = append(failed, o.Err)
		}
	}
	if len(failed) == 0 {
		return nil // still connecting: the window reports how it goes
	}
	err := s.Studio.SetLive(false)
	if stub != "" {
		removeStub(stub, set.RecordingDir)
	}
	return errors.Join(append(failed, err)...)
}

// removeStub removes the recording of a go-live that never went out: the
// show's folder the program was recorded in (made for it: a show folder's
// name is never reused), so that no empty show is left in the Recordings
// tab; just the file if it is not in such a folder.
func removeStub(program, dir string) {
	folder := filepath.Dir(program)
	if dir != "" && filepath.Base(program) == "program.mp4" && filepath.Dir(folder) == filepath.Clean(dir) {
		os.RemoveAll(folder)
		return
	}
	os.Remove(program)
}

// Recordings lists the shows of the settings' recordings folder, which
// the Settings tab changes without telling the program: the program is
// told here, so that the tab and /api/recordings list the folder the next
// go-live records into (SetLive tells it again then).
func (s *show) Recordings(ctx context.Context) studio.Recordings {
	s.prog.SetRecordDir(s.settings.Get().RecordingDir)
	return s.Studio.Recordings(ctx)
}

func (s *show) SetLayout(name string) error { return s.prog.SetLayout(name) }

// The scene and the brand are the program's; the window edits them here and
// the control API (/api/scene) edits the same.

func (s *show) Scene() studio.Scene                { return s.prog.Scene() }
func (s *show) Spotlight(id string) error          { return s.prog.Spotlight(id) }
func (s *show) SetFit(id string, on bool) error    { return s.prog.SetFit(id, on) }
func (s *show) ShowBanner(text string) error       { return s.prog.ShowBanner(text) }
func (s *show) SetTicker(text string) error        { return s.prog.SetTicker(text) }
func (s *show) SetBrand(kit studio.BrandKit) error { return s.prog.SetBrand(kit) }

// Preview hands the window a copy of each preview frame.
func (s *show) Preview(frame func(image.Image)) (stop func()) {
	return s.preview.attach(func(fn func(*image.RGBA)) { s.pipe.SetPreview(640, 360, 15, fn) }, frame)
}

// VerticalPreview (ui.VerticalPreviewer) is Preview for the vertical
// program, 180x320: pictures only while it is made (a vertical
// destination live).
func (s *show) VerticalPreview(frame func(image.Image)) (stop func()) {
	return s.vertical.attach(func(fn func(*image.RGBA)) { s.pipe.SetVerticalPreview(180, 320, 15, fn) }, frame)
}

// LiveStats reports the program's outputs in the window's words.
func (s *show) LiveStats() []ui.DestinationStats {
	var out []ui.DestinationStats
	for _, o := range s.prog.Outputs() {
		d := ui.DestinationStats{
			ID: o.Destination, Name: o.Name, State: o.State.String(),
			BitRate: o.BitRate, FPS: o.FPS, Dropped: o.Dropped, Reconnects: o.Reconnects,
		}
		if o.Recording {
			d.Name = "Recording"
		}
		if o.Recording && o.Vertical { // beside the landscape one, "" too
			d.ID, d.Name = ui.VerticalRecordingID, "Vertical recording"
		}
		if o.Err != nil {
			d.Err = o.Err.Error()
		}
		out = append(out, d)
	}
	return out
}

// Devices lists the cameras and microphones for the window's pickers.
func (s *show) Devices() (cameras, mics []ui.Device) {
	for _, d := range device.List() {
		if d.Kind == device.Camera {
			cameras = append(cameras, ui.Device{Label: d.Label, Name: d.Name})
		} else {
			mics = append(mics, ui.Device{Label: d.Label, Name: d.Name})
		}
	}
	return cameras, mics
}

func (s *show) SetHostDevices(camera, mic string) error { return s.host.Set(camera, mic) }

// SetOutput is the Settings tab's output, applied at once when not live;
// while live the session keeps it for the end of the stream.
func (s *show) SetOutput(width, height, fps, kbps int) error {
	err := s.sess.SetOutput(encode.Format{Width: width, Height: height, FPS: fps, VideoBitRate: kbps * 1000})
	if errors.Is(err, encode.ErrHasOutputs) {
		return ui.ErrOutputWhenLive
	}
	return err
}

// HostLevel is the level of the host's sound as the guests get it.
func (s *show) HostLevel() float32 { return s.feed.Level() }

// ShareScreen shares the host's screen into the show and to the guests;
// stopping takes it out of both. The window puts it large itself (the
// screen layout, then back), as it arranges everything else.
func (s *show) ShareScreen(on bool) error {
	err := s.sess.ShareScreen(on)
	if errors.Is(err, device.ErrNoScreen) {
		return errors.New("screen sharing needs an X11 desktop session; this one has none")
	}
	return err
}

// Sharing says whether the host's screen is shared.
func (s *show) Sharing() bool { return s.sess.Sharing() }

// The backstage cards' live view (ui.Monitor) is the program's: every
// participant's camera and level, backstage guests' too; SetMuted is the
// studio's.

func (s *show) Levels() map[string]float32 { return s.prog.Levels() }

// Loudness (ui.LoudnessMeter) is the program's; SetVolume
// (ui.VolumeSetter) and SetLoudnessTarget (ui.LoudnessTargeter) the
// studio's.
func (s *show) Loudness() studio.Loudness { return s.prog.Loudness() }

func (s *show) Thumbnails(frame func(id string, img image.Image)) (stop func()) {
	return s.prog.Thumbnails(frame)
}

var (
	_ ui.Show          = (*show)(nil)
	_ ui.HostDevices   = (*show)(nil)
	_ ui.OutputFormat  = (*show)(nil)
	_ ui.Monitor       = (*show)(nil)
	_ ui.ScreenSharer  = (*show)(nil)
	_ ui.Preflighter   = (*show)(nil)
	_ ui.VolumeSetter  = (*show)(nil)
	_ ui.LoudnessMeter = (*show)(nil)
	_ ui.Show          = (*show)(nil)
	_ ui.HostDevices   = (*show)(nil)
	_ ui.OutputFormat  = (*show)(nil)
	_ ui.Monitor       = (*show)(nil)
	_ ui.ScreenSharer  = (*show)(nil)
	_ ui.Preflighter   = (*show)(nil)
	_ ui.MusicModer    = (*show)(nil)
)

// Its own line: the block above stays as it was, for merging.
var _ ui.LoudnessTargeter = (*show)(nil)
var _ ui.AutoSpotlighter = (*show)(nil)

// The Music tab (ui.MusicPlayer) is the studio's ChangeMusic and MusicState.
var _ ui.MusicPlayer = (*show)(nil)

// SetICEServers (ui.NetworkApplier) hands the STUN/TURN servers saved in
// Settings → Network to guests who join from now on; the NAT IP still
// waits for the next start. A server the studio cannot use changes
// nothing; the error names it without its password.
func (s *show) SetICEServers(urls []string) error {
	servers, err := studio.ParseICEServers(urls)
	if err != nil {
		return err
	}
	return s.Studio.SetICEServers(servers)
}

var _ ui.NetworkApplier = (*show)(nil)

// The window's Settings → Guests applies at once: *studio.Studio's
// SetReconnectGrace, for the guests who go from then on.
var _ ui.GraceSetter = (*show)(nil)

// And so do its guest limits and upload cap: SetLimits, SetGuestKbps.
var _ ui.GuestLimiter = (*show)(nil)
