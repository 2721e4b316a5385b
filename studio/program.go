package studio

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"greenroom/encode"
	"greenroom/encode/compositor"
	"greenroom/encode/decode"
	"greenroom/encode/iso"
	"greenroom/encode/publish"
	"greenroom/encode/record"
	"greenroom/encode/stream"
)

// Destination is a place the show goes live to.
type Destination struct {
	ID   string // the settings' ID, to match stats to destinations; may be ""
	Name string // what the creator calls it: "YouTube", "Twitch", …
	URL  string // rtmp(s)://host/app/key or srt://host:port?streamid=…: a secret, never logged
	// Preset is the platform's studio/presets ID, whose limits the
	// preflight warns of; "": the platform its URL's host is, if any.
	Preset string
	// Vertical sends it the vertical (9:16) program (encode's Vertical)
	// instead of the landscape one (issue #13).
	Vertical bool
}

// VerticalProgramFile is the vertical program's file in a show's folder
// (ProgramConfig.RecordDir), recorded while a vertical destination is on.
const VerticalProgramFile = "program-vertical.mp4"

// OutputStats is one live output's health, with what it is for.
type OutputStats struct {
	stream.Stats
	// Destination is the Destination.ID this output publishes to; "" for
	// the recording and for destinations without an ID.
	Destination string
	Recording   bool
	// Vertical: it carries the vertical (9:16) program.
	Vertical bool
}

// ProgramConfig says where the live show goes.
type ProgramConfig struct {
	Destinations []Destination
	// RecordDir, if set, gets a folder per go-live (issue #11),
	// "2026-12-04 15.30 <ShowTitle>", with the program (program.mp4),
	// the vertical program while a vertical destination is on
	// (VerticalProgramFile, unless RecordVertical says where), each
	// person's own media (see showRecording) and show.json.
	// RecordFile, if set instead, is where each go-live's program is
	// recorded (overwritten each time); the people's files and show.json
	// then go in a folder next to it named after it ("show.mp4": "show",
	// or "show (2)" if that exists).
	RecordFile string
	RecordDir  string
	// RecordVertical, if set, is where each go-live's vertical (9:16)
	// program is recorded (overwritten each time), beside the landscape
	// one; it turns the vertical program on as a vertical destination
	// does.
	RecordVertical string
	ShowTitle      string // "Show" if empty
	// DiskLow is the free space (bytes) under which a live show that
	// records warns; DefaultDiskLow if 0. DiskCheck is how often it
	// looks; DefaultDiskCheck if 0 (see disk.go).
	DiskLow   int64
	DiskCheck time.Duration
	// LoudnessTarget is the loudness the program starts steered to, LUFS
	// (CheckLoudnessTarget; 0: none, as the studio's own tests mix). The
	// window and serve start at DefaultLoudnessTarget unless the host
	// chose otherwise.
	LoudnessTarget float64
	Logger         *slog.Logger
}

// Program joins the show to the media pipeline: it is the studio's Sink,
// turning each guest's RTP into a program input through a decoder, and it
// is the studio's GoLive, adding the destinations and the recording as
// outputs of the pipeline. Every guest is decoded, backstage too, for the
// host's thumbnails and level meters (Thumbnails, Levels); the inputs of
// those who are not on stage are hidden (encode.Input.SetHidden), and of
// those the host muted, muted (see followShow). A guest who turned their
// camera off is shown as their initials, like a guest without a camera:
// their (black) pictures are left out until the camera is back on.
//
// mu guards inputs, outputs, keyframe and state; each decode.Track is used
// only by the goroutine the studio feeds that track from.
type Program struct {
	pipe *encode.Pipeline
	cfg  ProgramConfig
	log  *slog.Logger

	mu       sync.Mutex
	dests    []Destination
	inputs   map[string]*programInput // by input name: a participant ID, or ScreenInput of one
	outputs  []liveOutput
	keyframe func(participantID string) bool
	state    func() State // the studio's, once attached
	closed   bool

	// follow serialises followShow, so the last state read is the one
	// applied.
	follow sync.Mutex
	thumbs thumbnails

	look look // the scene: layout, main participant (scene.go)

	// rec records each person while the show is live (recording.go);
	// set with outputs, read on the media path without mu.
	rec atomic.Pointer[showRecording]
	// watch checks the disk while a recorded show is live (disk.go); set
	// and taken under mu.
	watch *diskWatch

	// news guards status and tell: what the studio has to say about the
	// recordings, and who to tell when it changes (disk.go).
	news   sync.Mutex
	status RecordingStatus
	tell   func()
}

type liveOutput struct {
	stream.Output
	dest      string // Destination.ID
	recording bool
	vertical  bool // added with AddVerticalOutput
}

// screenSuffix makes a participant's ID the name of their screen's input.
const screenSuffix = "/screen"

// ScreenInput is the program input (and scene source) of participant id's
// shared screen: what Spotlight and ShowScreen take to show it large.
func ScreenInput(id string) string { return id + screenSuffix }

// owner is the participant whose input (camera or screen) name is.
func owner(name string) string { return strings.TrimSuffix(name, screenSuffix) }

// inputName is the program input t goes into.
func inputName(t TrackInfo) string {
	if t.Screen {
		return ScreenInput(t.ParticipantID)
	}
	return t.ParticipantID
}

type programInput struct {
	in     *encode.Input
	tracks map[string]*decode.Track // by track ID
	// cameraOff is set while the participant has turned their camera off:
	// the decoders' pictures are dropped (the browser sends black), so the
	// tile shows their initials until the first picture after it is back
	// on. Read by the decoding goroutines, written by followShow.
	cameraOff atomic.Bool
	// shift is the participant's own sync offset (Delay), added to where
	// their sender's clock places their sound and their picture. Read by
	// the decoding goroutines, written by followShow.
	shift delayShift
	// freezes meters a camera's pictures as the decoder makes them, for
	// the guest's health (Health.ProgramFreezes); nil for a screen, which
	// may stand still for minutes.
	freezes *freezeMeter
	// concealed counts the samples (a channel's, at 48 kHz) of the
	// participant's sound its decoders filled in for lost packets, and
	// recovered those of them from FEC (Health.ProgramAudio): written
	// by the decoding goroutines, read at health intervals.
	concealed, recovered atomic.Int64
}

// conceal is the decoders' OnConceal: n samples filled in, fec of them
// from FEC.
func (pi *programInput) conceal(n, fec int) {
	pi.concealed.Add(int64(n))
	pi.recovered.Add(int64(fec))
}

// WriteVideo passes the decoder's picture on to the input, unless the
// camera is off: then the picture is dropped and the input's cleared
// (decoding goes on, so the first picture after the camera is back on
// needs no keyframe).
func (pi *programInput) WriteVideo(f *compositor.Frame) {
	if pi.shows(f) {
		pi.in.WriteVideo(f)
	}
}

// shows says whether the decoder's picture f goes on to the input; if
// not (the camera is off), it is released and the input cleared. A
// picture shown counts for the freeze meter.
func (pi *programInput) shows(f *compositor.Frame) bool {
	if pi.cameraOff.Load() {
		f.Release()
		pi.in.Video.Clear()
		return false
	}
	if pi.freezes != nil {
		pi.freezes.frame(time.Now())
	}
	return true
}

// WriteVideoAt is WriteVideo for a picture placed on the program clock
// (decode.TimedTarget).
func (pi *programInput) WriteVideoAt(f *compositor.Frame, at time.Duration) {
	if pi.shows(f) {
		pi.in.WriteVideoAt(f, at+pi.shift.of(true))
	}
}

// NewFrame, WriteAudio and WriteAudioAt, with WriteVideo and
// WriteVideoAt, make programInput the decoders' target.
func (pi *programInput) NewFrame(w, h int) *compositor.Frame { return pi.in.NewFrame(w, h) }
func (pi *programInput) WriteAudio(pcm []float32, rate, channels int) error {
	return pi.in.WriteAudio(pcm, rate, channels)
}
func (pi *programInput) WriteAudioAt(pcm []float32, rate, channels int, at time.Duration) error {
	return pi.in.WriteAudioAt(pcm, rate, channels, at+pi.shift.of(false))
}

// setDelay sets the participant's sync offset. It applies to media placed
// by their sender's clock (WriteVideoAt, WriteAudioAt), as a guest's is
// from their first sender reports on, a few seconds after they join;
// what comes by arrival before that (the host's own, a screen's) keeps
// its fixed wait.
func (pi *programInput) setDelay(d Delay) { pi.shift.set(d) }

// setCameraOff turns the camera gate on or off; on, the tile shows the
// initials at once.
func (pi *programInput) setCameraOff(off bool) {
	if pi.cameraOff.Swap(off) != off {
		if off {
			pi.in.Video.Clear()
		}
		if pi.freezes != nil {
			pi.freezes.camera(!off) // a browser's black frames come a second apart
		}
	}
}

// freezesOf implements freezeCounter: participant id's camera freezes
// as the program decodes them; false while it has no input for their
// camera.
func (p *Program) freezesOf(id string, now time.Time) (freezeRead, bool) {
	p.mu.Lock()
	pi := p.inputs[id]
	p.mu.Unlock()
	if pi == nil || pi.freezes == nil {
		return freezeRead{}, false
	}
	return pi.freezes.readAt(now), true
}

// audioOf implements concealCounter: how much of participant id's sound
// the program filled in; zero while it has no input for them.
func (p *Program) audioOf(id string) ProgramAudio {
	p.mu.Lock()
	pi := p.inputs[id]
	p.mu.Unlock()
	if pi == nil {
		return ProgramAudio{}
	}
	const perMs = 48 // samples a channel in a millisecond, at Opus's 48 kHz
	return ProgramAudio{ConcealedMs: int(pi.concealed.Load() / perMs), RecoveredMs: int(pi.recovered.Load() / perMs)}
}

// NewProgram returns a Program feeding pipe. Pass it as Config.Sink and its
// SetLive as Config.GoLive, then Attach the studio.
func NewProgram(pipe *encode.Pipeline, cfg ProgramConfig) (*Program, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := &Program{
		pipe:   pipe,
		cfg:    cfg,
		log:    cfg.Logger.With("component", "program"),
		inputs: map[string]*programInput{},
	}
	if err := p.SetDestinations(cfg.Destinations); err != nil {
		return nil, err
	}
	if err := CheckLoudnessTarget(cfg.LoudnessTarget); err != nil {
		return nil, fmt.Errorf("studio: %w", err)
	}
	if err := pipe.SetLoudnessTarget(cfg.LoudnessTarget); err != nil {
		return nil, fmt.Errorf("studio: %w", err)
	}
	if cfg.RecordDir != "" {
		if c := lastCutShort(cfg.RecordDir, p.log); c != nil {
			p.status.CutShort = c
			p.log.Warn("the last show was cut short", "title", c.Title, "start", c.Start, "folder", c.Folder)
		}
	}
	return p, nil
}

// SetDestinations replaces where the next go-live publishes to (the window
// reads them from the settings at that moment). A live show keeps going to
// the destinations it started with.
func (p *Program) SetDestinations(dests []Destination) error {
	for _, d := range dests {
		if _, err := publish.Redacted(d.URL); err != nil {
			return fmt.Errorf("studio: destination %s: %w", d.Name, err)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dests = append([]Destination(nil), dests...)
	return nil
}

// SetRecordDir sets the folder the next go-live records into.
func (p *Program) SetRecordDir(dir string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg.RecordDir = dir
}

// Attach lets the program ask the studio for keyframes after packet loss,
// and put the participants' names on their tiles.
func (p *Program) Attach(s *Studio) {
	p.mu.Lock()
	p.keyframe = s.RequestKeyframe
	p.state = s.State
	p.mu.Unlock()
	p.look.mu.Lock()
	p.look.state = s.State
	p.look.mu.Unlock()
	p.news.Lock()
	p.tell = s.recordingChanged
	p.news.Unlock()
	s.attachRecording(p.Recording)
	s.attachLoudness(p)
	s.attachSpeaking(p.pipe)
	s.attachMusic(p.pipe.Music())
	p.applyScene()
	s.attachScene(p)
	s.attachRecordings(p)
	p.followShow()
}

// followShow makes the program follow the show: the inputs of whoever is
// not on stage (or no longer in the show) are hidden — out of the picture
// and the mix at once, as if they had left, and back when staged — and
// those of participants the host muted (the host's own input too) are out
// of the mix; the own files of those who left the show are finished. The
// studio calls it on every change.
func (p *Program) followShow() {
	p.follow.Lock()
	defer p.follow.Unlock()
	p.mu.Lock()
	state := p.state
	p.mu.Unlock()
	if state == nil {
		return
	}
	rec := p.rec.Load()
	var made uint64
	if rec != nil {
		made = rec.mark() // before the show is read: see follow
	}
	st := state()
	if rec != nil {
		rec.follow(made, st) // the files of those who left the show go; the others take their delay
	}
	p.pipe.Order(inShowOrder(st))
	var gone []string
	p.mu.Lock()
	for name, pi := range p.inputs {
		// A camera's input kept for a participant in the show (EndTrack)
		// goes when they do.
		if len(pi.tracks) == 0 && owner(name) == name && !inShow(st, name) && p.dropInput(name, pi) {
			gone = append(gone, name)
			continue
		}
		hidden, muted, cameraOff, volume, delay := shown(st, name)
		if hidden && !pi.in.Hidden() {
			gone = append(gone, name)
		}
		pi.in.SetHidden(hidden)
		pi.in.SetMuted(muted)
		pi.in.SetMonitored(monitored(st, name))
		pi.in.SetVolume(float64(volume))
		pi.setCameraOff(cameraOff)
		pi.setDelay(delay)
	}
	p.mu.Unlock()
	if in := p.pipe.Input(HostID); in != nil { // the session's, not the Sink's
		_, muted, _, volume, _ := shown(st, HostID)
		in.SetMuted(muted)
		in.SetMonitored(false) // the host hears the guests, not themselves
		in.SetVolume(float64(volume))
	}
	for _, name := range gone {
		p.inputGone(name) // the scene falls back, as when an input leaves
	}
}

// shown says how input name (a participant's, or their screen's) is to be
// in the program as the show st stands: hidden unless its owner is on
// stage, muted if the host muted them, its pictures left out (cameraOff)
// if it is their camera and they turned it off, at their volume (a
// screen's sound too), with their sync offset if it is their camera (a
// screen's picture and sound come from no camera that lags).
func shown(st State, name string) (hidden, muted, cameraOff bool, volume Volume, delay Delay) {
	id := owner(name)
	for _, pt := range st.Participants {
		if pt.ID == id {
			if id == name {
				delay = pt.Delay
			}
			return pt.Place != PlaceStage, pt.Muted, pt.CameraOff && id == name, pt.Volume, delay
		}
	}
	return true, false, false, 0, 0
}

// monitored is whether the host's speakers play the input called name (a
// participant's camera and mic, or their screen's sound): all do while no
// one is on solo, else those of the participants on solo.
func monitored(st State, name string) bool {
	id, solo := owner(name), false
	for _, pt := range st.Participants {
		if pt.Solo && pt.ID != id {
			solo = true
		} else if pt.ID == id && pt.Solo {
			return true
		}
	}
	return !solo
}

// inShowOrder ranks a program input by its owner's place in the show
// st (the host, then the guests in the order they joined, or for those
// put back on stage after a restart the stage's order of before), the
// screens after every camera: the program's tiles then follow the show,
// not the order the media came in (after a restart, the order the pages
// came back in). Inputs of no participant go last.
func inShowOrder(st State) func(name string) int {
	n := len(st.Participants)
	at := make(map[string]int, n)
	for i, pt := range st.Participants {
		at[pt.ID] = i
	}
	return func(name string) int {
		i, ok := at[owner(name)]
		switch {
		case !ok:
			return 2 * n
		case owner(name) != name:
			return n + i
		}
		return i
	}
}

// inShow is whether participant id is in the show st.
func inShow(st State, id string) bool {
	return slices.ContainsFunc(st.Participants, func(pt Participant) bool { return pt.ID == id })
}

// WriteRTP implements Sink.
func (p *Program) WriteRTP(t TrackInfo, pkt *rtp.Packet) {
	if r := p.rec.Load(); r != nil {
		r.writeRTP(t, pkt)
	}
	tr, added := p.track(t)
	if added {
		p.applyScene() // the newcomer's name tag
	}
	if tr != nil {
		tr.WriteRTP(pkt)
	}
}

// TileHeight implements TileSizer: how tall t's input is drawn in the
// program now; 0 while it is in no layout (hidden: only the host's
// thumbnail shows it).
func (p *Program) TileHeight(t TrackInfo) int {
	p.mu.Lock()
	pi := p.inputs[inputName(t)]
	p.mu.Unlock()
	if pi == nil || pi.in.Hidden() {
		return 0
	}
	return pi.in.Video.Tile().Y
}

// track returns the decoder for t, starting it (and the participant's
// program input: added) on the track's first packet.
func (p *Program) track(t TrackInfo) (tr *decode.Track, added bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, false
	}
	name := inputName(t)
	pi := p.inputs[name]
	if pi == nil {
		pi = p.newInput(name)
		p.inputs[name] = pi
		added = true
	}
	// Any packet of the participant's says their media flows, for their
	// camera's tile. (A screen's tile keeps its last picture for the
	// compositor's StallAfter: a still screen may send nothing for a
	// while, and its owner may have neither camera nor mic.)
	if cam := p.inputs[t.ParticipantID]; cam != nil {
		cam.in.Video.FeedAliveUntil(time.Now().Add(mediaStall))
	}
	if tr, ok := pi.tracks[t.TrackID]; ok {
		return tr, added // nil for a track that could not be decoded
	}
	id := t.ParticipantID
	tr, err := decode.New(decode.Config{
		MimeType:  t.MimeType,
		ClockRate: t.ClockRate,
		Channels:  int(t.Channels),
		Target:    pi,
		OnConceal: pi.conceal,
		Playout:   t.Playout,
		Clock:     p.pipe.Clock(),
		OnKeyframeNeeded: func() {
			p.mu.Lock()
			kf := p.keyframe
			p.mu.Unlock()
			if kf != nil {
				go kf(id) // sends RTCP: not on the media goroutine
			}
		},
		Logger: p.log.With("participant", id),
	})
	if err != nil {
		p.log.Warn("guest track left out of the program", "participant", id, "track", t.TrackID, "err", err)
	}
	pi.tracks[t.TrackID] = tr
	return tr, added
}

// mediaStall is how long after a guest's last packet (of any track: their
// sound comes every 20 ms, even silence, so a picture that drops frames
// on a poor link still counts as flowing) the program shows the
// placeholder in their camera's tile instead of their last picture: their media
// stopped (a tab killed, a laptop shut, a network gone, or a blip). The
// tile keeps its place while the studio holds it (Config.ReconnectGrace)
// and shows the guest again when their packets come back. Issue #10 asks
// for the placeholder within 1 s of the media stopping; the compositor
// adds at most one frame.
const mediaStall = 500 * time.Millisecond

// guestVideoDelay holds a guest's pictures back so that they meet their
// sound, which waits in the mixer's jitter buffer (60 ms, played a block
// at a time), as a browser delays whichever of the two comes first.
// Measured with a Chromium guest (TestChromiumRecordingsAlign): without it the
// sound came 30–58 ms after the picture, with 40 ms 15–36 ms after, with
// 50 ms within 5 ms of it either way — when a picture went to the first
// program frame after its time, 17 ms later on average than to the
// nearest as now, and against a browser whose own offset is not known
// (see TestChromiumRecordingsAlign): to measure again. Screens have no
// sound to wait for.
const guestVideoDelay = 50 * time.Millisecond

// newInput adds the program input called name, hidden, muted, at the
// volume and with the camera off as the show stands (a guest in the green
// room must not flash into the layout). Call with mu held.
func (p *Program) newInput(name string) *programInput {
	hidden, muted, cameraOff, volume, heard, delay := false, false, false, Volume(0), true, Delay(0)
	if p.state != nil {
		st := p.state()
		hidden, muted, cameraOff, volume, delay = shown(st, name)
		heard = monitored(st, name)
	}
	var in *encode.Input
	if hidden {
		in = p.pipe.AddHiddenInput(name)
	} else {
		in = p.pipe.AddInput(name)
	}
	in.SetMuted(muted)
	in.SetMonitored(heard)
	in.SetVolume(float64(volume))
	if !strings.HasSuffix(name, screenSuffix) {
		in.Video.SetDelay(guestVideoDelay)
		// A guest's sound comes over a network: running dry, it is
		// concealed rather than cut (issue #10).
		in.Audio.SetConceal(true)
		// Placed by their sender's clock once it reports, their sound
		// moves there without a jump (decode, clock.Playout).
		in.Audio.SetSlip(true)
	}
	pi := &programInput{in: in, tracks: map[string]*decode.Track{}}
	if !strings.HasSuffix(name, screenSuffix) {
		pi.freezes = &freezeMeter{}
	}
	pi.setCameraOff(cameraOff)
	pi.setDelay(delay)
	return pi
}

// EndTrack implements Sink: the track's decoder stops, and an input with
// no tracks left leaves the program (a participant who left, a screen no
// longer shared; see removeInput for the scene) — except the camera's of
// a participant still in the show: their session ended but the studio
// holds their place (issue #10: a gone guest's tile stays, with the
// placeholder, while the host sees their countdown), or their page came
// back on a new session whose tracks are on their way (the same tile
// again). followShow drops it when they leave.
func (p *Program) EndTrack(t TrackInfo) {
	if r := p.rec.Load(); r != nil {
		r.endTrack(t)
	}
	name := inputName(t)
	p.mu.Lock()
	// Under mu, as followShow decides: whichever of the two sees the
	// participant gone drops the input.
	held := p.state != nil && name == t.ParticipantID && inShow(p.state(), name)
	pi := p.inputs[name]
	if pi == nil {
		p.mu.Unlock()
		return
	}
	if tr := pi.tracks[t.TrackID]; tr != nil {
		tr.Close()
	}
	delete(pi.tracks, t.TrackID)
	gone := len(pi.tracks) == 0 && !held && p.dropInput(name, pi)
	p.mu.Unlock()
	if gone {
		p.inputGone(name)
	}
}

// dropInput takes pi, the input called name, out of the program if it is
// still there, and says whether it was. Call with mu held, and inputGone
// after letting go of it.
func (p *Program) dropInput(name string, pi *programInput) bool {
	if p.inputs[name] != pi {
		return false
	}
	pi.in.Close()
	delete(p.inputs, name)
	return true
}

// AddScreen makes the program input for the screen of participant id
// when it does not come through the Sink: the host's own screen. It is
// named and letterboxed like a guest's, ShowScreen(id) shows it large, and
// remove (safe to call twice, and after Close) takes it out, the scene
// falling back as when a guest stops sharing.
func (p *Program) AddScreen(id string) (in *encode.Input, remove func(), err error) {
	name := ScreenInput(id)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, nil, errors.New("studio: the program is closed")
	}
	if p.inputs[name] != nil {
		p.mu.Unlock()
		return nil, nil, fmt.Errorf("studio: %s's screen is shared already", id)
	}
	pi := p.newInput(name)
	p.inputs[name] = pi
	p.mu.Unlock()
	p.applyScene()
	return pi.in, func() {
		p.mu.Lock()
		gone := p.dropInput(name, pi)
		p.mu.Unlock()
		if gone {
			p.inputGone(name)
		}
	}, nil
}

// SetLive starts (on) or ends the live show: every destination and the
// recording become outputs of the pipeline. Going live waits until each
// destination is live or has failed; it fails only if nothing could start,
// and then says why for each. Destinations that fail while others go on
// show as failed in Outputs.
func (p *Program) SetLive(on bool) error {
	if !on {
		return p.endLive()
	}
	p.mu.Lock()
	busy := len(p.outputs) > 0
	dests := p.dests
	p.mu.Unlock()
	if busy {
		return nil // already live
	}
	info := p.pipe.Info()
	var outs []liveOutput
	var errs []error
	p.setRecordingStatus(func(st *RecordingStatus) { st.Warning, st.Stopped = "", "" })
	path, people, err := p.startRecording()
	if err != nil {
		errs = append(errs, err)
	}
	if path != "" {
		p.checkSpace(filepath.Dir(path), info)
	}
	var program *record.Recorder
	if path != "" {
		rec, err := record.New(record.Config{Path: path, Info: info, Logger: p.cfg.Logger})
		if err != nil {
			errs = append(errs, err)
			if diskFull(err) {
				p.setRecordingStatus(func(st *RecordingStatus) {
					st.Stopped = "The disk is full: the show is not recorded"
				})
			}
		} else {
			outs = append(outs, liveOutput{Output: rec, recording: true})
			program = rec
		}
	}
	if people != nil && len(outs) == 0 {
		people.close() // the program could not be recorded: nor the people
		people = nil
	}
	p.mu.Lock()
	recordVertical := p.cfg.RecordVertical
	p.mu.Unlock()
	// The vertical program is opened, and costs CPU, only for a show
	// that has somewhere to send it.
	var vinfo stream.Info
	vertical := recordVertical != "" || slices.ContainsFunc(dests, func(d Destination) bool { return d.Vertical })
	if vertical {
		if vinfo, err = p.pipe.Vertical(); err != nil {
			errs = append(errs, err)
			vertical = false
		}
	}
	// A show recorded to a folder (the window's) keeps the vertical
	// program too, beside the landscape one, while it is made.
	verticalFile := recordVertical
	if vertical && verticalFile == "" && people != nil {
		verticalFile = filepath.Join(people.folder(), VerticalProgramFile)
	}
	if vertical && verticalFile != "" {
		rec, err := record.New(record.Config{Path: verticalFile, Info: vinfo, Logger: p.cfg.Logger})
		if err != nil {
			errs = append(errs, err)
		} else {
			outs = append(outs, liveOutput{Output: rec, recording: true, vertical: true})
			if recordVertical == "" {
				people.setVerticalProgram(VerticalProgramFile)
			}
		}
	}
	for _, d := range dests {
		if d.Vertical && !vertical {
			continue // the vertical program could not open: said in errs
		}
		t, _ := publish.Redacted(d.URL) // checked in SetDestinations
		name, in := d.Name+" ("+t+")", info
		if d.Vertical {
			name, in = d.Name+" (vertical, "+t+")", vinfo
		}
		o, err := publish.New(publish.Config{Name: name, URL: d.URL, Info: in, Logger: p.cfg.Logger})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		outs = append(outs, liveOutput{Output: o, dest: d.ID, vertical: d.Vertical})
	}
	// The loudness meters measure the show as it goes out, from here.
	p.pipe.ResetLoudness()
	for i, o := range outs {
		if !o.vertical {
			p.pipe.AddOutput(o.Output)
		} else if err := p.pipe.AddVerticalOutput(o.Output); err != nil {
			// Only a pipeline closing under the show closes its
			// vertical program: o is not the pipeline's to close.
			errs = append(errs, err)
			o.Close()
			outs[i].Output = nil
		}
	}
	outs = slices.DeleteFunc(outs, func(o liveOutput) bool { return o.Output == nil })
	var pubs []publish.Output
	for _, o := range outs {
		if !o.recording {
			pubs = append(pubs, o.Output.(publish.Output))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	healthy := len(outs) - len(pubs)
	for _, o := range pubs {
		if err := o.WaitLive(ctx); err != nil {
			errs = append(errs, err)
		} else {
			healthy++
		}
	}
	if healthy == 0 {
		for _, o := range outs {
			p.pipe.RemoveOutput(o.Output)
		}
		if people != nil {
			people.close()
		}
		if len(errs) == 0 {
			return errors.New("studio: nothing to go live to: add a destination or a recording folder")
		}
		return errors.Join(errs...)
	}
	for _, err := range errs {
		p.log.Warn("destination failed; the show goes on", "err", err)
	}
	if people != nil {
		people.setOrigin(p.fileStart(program, people.origin))
	}
	p.mu.Lock()
	p.outputs = outs
	p.rec.Store(people)
	if path != "" {
		p.watch = p.watchDisk(filepath.Dir(path), time.Now())
	}
	p.mu.Unlock()
	if people != nil {
		people.layout(p.Scene().Layout)
		people.begin()
	}
	return nil
}

func (p *Program) endLive() error {
	p.mu.Lock()
	watch := p.watch
	p.watch = nil
	p.mu.Unlock()
	watch.close() // first: it may be stopping the recordings
	p.mu.Lock()
	outs := p.outputs
	p.outputs = nil
	people := p.rec.Swap(nil)
	p.mu.Unlock()
	if people != nil {
		people.end() // now, not once the outputs below are finished
	}
	var errs []error
	for _, o := range outs {
		if err := p.pipe.RemoveOutput(o.Output); err != nil && o.Stats().State != stream.Failed {
			errs = append(errs, err)
		}
	}
	if people != nil {
		errs = append(errs, people.close())
	}
	return errors.Join(errs...)
}

// fileStart is the program time at the program file's time 0, the show's
// zero for every file of it (issue #11): the file starts with what was
// made but not yet encoded at go-live (rec.Start), a backlog that grows
// with the machine's load, so go-live's own time (live) would put the
// people's files that much off the program. It waits for the file's
// first packets, a frame or two; live if they do not come.
func (p *Program) fileStart(rec *record.Recorder, live time.Duration) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start, err := rec.Start(ctx)
	if err != nil {
		p.log.Warn("the show's files take go-live as their zero, not the program file's", "err", err)
		return live
	}
	p.log.Debug("the show's zero", "program file before go-live", live-start)
	return start
}

// startRecording makes the show's folder and starts recording its people
// into it (see ProgramConfig), and says where the program goes: "" if the
// show is not recorded.
func (p *Program) startRecording() (program string, people *showRecording, err error) {
	p.mu.Lock()
	file, dir, title := p.cfg.RecordFile, p.cfg.RecordDir, p.cfg.ShowTitle
	state, keyframe := p.state, p.keyframe
	p.mu.Unlock()
	if file == "" && dir == "" {
		return "", nil, nil
	}
	now := time.Now()
	var folder, rel string
	if file != "" {
		program, rel = file, filepath.Join("..", filepath.Base(file))
		base := strings.TrimSuffix(file, filepath.Ext(file))
		folder, err = iso.Unique(base, "", func(path string) error { return os.Mkdir(path, 0o755) })
		if err != nil {
			// The program is recorded as asked all the same.
			p.log.Warn("no folder for the people's own recordings", "err", err)
			return program, nil, nil
		}
	} else {
		if folder, err = showFolder(dir, title, now); err != nil {
			return "", nil, err
		}
		program, rel = filepath.Join(folder, "program.mp4"), "program.mp4"
	}
	if state == nil {
		state = func() State { return State{} }
	}
	askKey := func(id string) {
		if keyframe != nil {
			keyframe(id)
		}
	}
	meta := showMeta{Title: cmp.Or(title, "Show"), Start: now.Format(time.RFC3339), Program: rel}
	clk := p.pipe.Clock()
	return program, newShowRecording(folder, meta, clk, clk.Now(), state, askKey, p.log), nil
}

// showRecording is the show recording going on, nil when not live or
// not recorded to a folder: where the guests' own recordings go.
func (p *Program) showRecording() *showRecording { return p.rec.Load() }

// recordsHost and recordHost make the Program the studio's hostRecorder.
func (p *Program) recordsHost() bool { return p.rec.Load() != nil }

func (p *Program) recordHost(name, mime string, data []byte) {
	if r := p.rec.Load(); r != nil {
		r.writeHost(name, mime, data)
	}
}

// Outputs returns the live outputs' health (empty when not live).
func (p *Program) Outputs() []OutputStats {
	p.mu.Lock()
	outs := append([]liveOutput(nil), p.outputs...)
	p.mu.Unlock()
	stats := make([]OutputStats, len(outs))
	for i, o := range outs {
		stats[i] = OutputStats{Stats: o.Stats(), Destination: o.dest, Recording: o.recording, Vertical: o.vertical}
	}
	return stats
}

// Inputs lists the program's inputs from the studio that are in the
// program: the participants on stage whose media comes in, by ID, and
// shared screens (ScreenInput). Backstage guests' inputs (hidden) are not
// listed.
func (p *Program) Inputs() []string { return p.inputNames(false) }

// inputNames lists the inputs from the studio, hidden ones too if all.
func (p *Program) inputNames(all bool) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := make([]string, 0, len(p.inputs))
	for id, pi := range p.inputs {
		if all || !pi.in.Hidden() {
			ids = append(ids, id)
		}
	}
	return ids
}

// Levels is everyone's sound level, 0..1 (the loudest sample of the last
// 100–200 ms), by participant ID — backstage guests, muted ones and the
// host (HostID) too; a shared screen under ScreenInput(id).
func (p *Program) Levels() map[string]float32 { return p.pipe.Levels() }

// Thumbnail size and rate: small cards in the window's backstage strip.
const (
	thumbWidth, thumbHeight = 160, 90
	thumbFPS                = 5
)

// thumbnails hands the pipeline's thumbnails to Thumbnails' callers. mu
// guards subs and next, and is held while calling them: a stop that has
// taken it knows its fn is not running and will not run again. run
// serialises starting and stopping the pipeline's thumbnails.
type thumbnails struct {
	run  sync.Mutex
	mu   sync.Mutex
	subs map[int]func(id string, img image.Image)
	next int
}

// Thumbnails calls fn with a 160x90 picture (cropped to fill) of each
// participant's camera, backstage guests' and the host's (HostID) too,
// about five times a second while it changes, from a media goroutine;
// img is fn's own copy, to keep. img is nil when someone's camera leaves
// the program (they left, or their track ended). stop ends it, and waits
// until fn is no longer called (don't call it from fn).
func (p *Program) Thumbnails(fn func(id string, img image.Image)) (stop func()) {
	th := &p.thumbs
	th.run.Lock()
	defer th.run.Unlock()
	th.mu.Lock()
	if th.subs == nil {
		th.subs = map[int]func(string, image.Image){}
	}
	id := th.next
	th.next++
	th.subs[id] = fn
	first := len(th.subs) == 1
	th.mu.Unlock()
	if first {
		p.pipe.SetThumbnails(thumbWidth, thumbHeight, thumbFPS, p.thumbnail)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			th.run.Lock()
			defer th.run.Unlock()
			th.mu.Lock()
			_, had := th.subs[id]
			delete(th.subs, id)
			last := had && len(th.subs) == 0
			th.mu.Unlock()
			if last {
				p.pipe.SetThumbnails(0, 0, 0, nil) // the pipeline makes none for nobody
			}
		})
	}
}

// thumbnail hands one input's thumbnail to every caller of Thumbnails.
func (p *Program) thumbnail(name string, img *image.RGBA) {
	if owner(name) != name {
		return // a screen: the cards show cameras
	}
	th := &p.thumbs
	th.mu.Lock()
	defer th.mu.Unlock()
	for _, fn := range th.subs {
		if img == nil {
			fn(name, nil) // an untyped nil: no picture any more
			continue
		}
		cp := image.NewRGBA(img.Rect)
		copy(cp.Pix, img.Pix)
		fn(name, cp)
	}
}

// Close ends the live show and frees every decoder. The studio must be
// closed first (it stops feeding the sink); the pipeline after.
func (p *Program) Close() error {
	err := p.endLive()
	p.thumbs.run.Lock()
	p.thumbs.mu.Lock()
	clear(p.thumbs.subs)
	p.thumbs.mu.Unlock()
	p.pipe.SetThumbnails(0, 0, 0, nil)
	p.thumbs.run.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for id, pi := range p.inputs {
		for _, tr := range pi.tracks {
			if tr != nil {
				tr.Close()
			}
		}
		pi.in.Close()
		delete(p.inputs, id)
	}
	return err
}

// String names the destinations without their keys.
func (d Destination) String() string {
	t, err := publish.Redacted(d.URL)
	if err != nil {
		return d.Name
	}
	return strings.TrimSpace(d.Name + " " + t)
}
