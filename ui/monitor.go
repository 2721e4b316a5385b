package ui

import (
	"image"
	"maps"
	"sync"
	"time"

	"greenroom/studio"
)

// Monitor gives the backstage cards their live view of each participant.
// A Show that has it gets a picture, a level meter and a mute button on
// every card; one without (a test's fake, a show with no decoder for the
// window) keeps the initials, and the host's meter only (HostDevices).
type Monitor interface {
	// Thumbnails calls frame with a small picture (about 160x90) of each participant's camera,
	// by participant ID, about 5 times a second each, until stop; stop waits until frame is no
	// longer being called. frame runs on a media goroutine; it may keep img.
	//
	// The host's camera is studio.HostID's. A nil img says id has no
	// picture any more (camera off, left): their card shows their initials
	// again. frame must return quickly: the window only keeps the newest
	// picture per participant and draws them on its own clock.
	Thumbnails(frame func(id string, img image.Image)) (stop func())
	// Levels is each participant's sound level now (a peak, 0…1), by participant ID; cheap.
	//
	// The host's is studio.HostID's (if it is missing, HostDevices.HostLevel
	// stands in). The window polls it ten times a second while it is open,
	// and does not keep or change the map.
	Levels() map[string]float32
	// SetMuted mutes (on) or unmutes a participant in the program and for the other guests;
	// the show's state (studio.Participant.Muted) then says so.
	//
	// studio.HostID is the host's own microphone. The window calls it off
	// the UI thread and reads State afterwards, so an event for the change
	// is welcome but not needed. An ID not in the show is an error wrapping
	// studio.ErrNoParticipant.
	SetMuted(id string, on bool) error
	// SetSolo puts a participant on solo (on) or takes them off, for the
	// host's ears only: while anyone is on solo the host's speakers play
	// only them; the program and the guests hear everyone as before. The
	// show's state (studio.Participant.Solo) then says so. Called off the
	// UI thread, as SetMuted.
	SetSolo(id string, on bool) error
}

// LocalRecorder switches the guests' own full-quality recording on or off
// (studio.Studio.SetLocalRecording): while the show is live, each guest's
// page records itself and uploads the file into the show's folder.
type LocalRecorder interface {
	SetLocalRecording(on bool)
}

// AutoSpotlighter switches auto-spotlight (studio.Studio.SetAutoSpotlight):
// the main tile goes to whoever speaks, held a few seconds. A Show that
// has it gets a checkbox by the layout buttons, which follows
// studio.State.AutoSpotlight. Cheap: called on the UI thread.
type AutoSpotlighter interface {
	SetAutoSpotlight(on bool)
}

// MusicModer switches a guest's music mode (studio.Studio.SetMusicMode):
// their page sends their sound as music — no echo cancellation, noise
// suppression or auto gain, stereo Opus at 128 kb/s — and says the host
// switched it. studio.Participant.MusicMode says where it stands, whoever
// switched it. A Show that has it gets a Music mode button on each guest's
// card. The window calls it off the UI thread and reads State afterwards.
type MusicModer interface {
	SetMusicMode(id string, on bool) error
}

// ScreenSharer lets the host share their own screen into the show.
type ScreenSharer interface {
	ShareScreen(on bool) error // may take a moment: call it off the UI thread
	// Sharing is whether the host's screen is shared now; cheap. It turns
	// false by itself when the share ends elsewhere (the screen went away):
	// the window polls it.
	Sharing() bool
}

// The cards' live view runs on one clock: levelPoll polls the levels and
// every thumbEvery-th look also draws the newest thumbnails, so pictures are
// redrawn at most 5 times a second and meters 10 times, in one trip to the
// UI thread.
const (
	levelPoll  = 100 * time.Millisecond
	thumbEvery = 2
)

// thumbs keeps the newest thumbnail per participant between the media
// goroutine that delivers them and the window's clock. Guarded by mu.
type thumbs struct {
	mu    sync.Mutex
	fresh map[string]image.Image // nil image: the participant's picture went
}

func (t *thumbs) put(id string, img image.Image) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fresh == nil {
		t.fresh = map[string]image.Image{}
	}
	t.fresh[id] = img
}

// take returns the pictures that came since the last take, or nil.
func (t *thumbs) take() map[string]image.Image {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.fresh
	t.fresh = nil
	return f
}

// startMonitor starts the cards' live view, if the show has one to give:
// thumbnails from Monitor, levels from Monitor or HostDevices, and the
// program's loudness from LoudnessMeter.
func (s *Studio) startMonitor() {
	s.stopThumbs = func() {}
	hd, _ := s.show.(HostDevices)
	if s.monitor == nil && hd == nil && s.loudness == nil {
		return
	}
	if s.monitor != nil {
		s.stopThumbs = s.monitor.Thumbnails(s.thumbs.put)
	}
	s.loops.Add(1)
	go s.watchMedia(hd)
}

// watchMedia feeds the cards' meters and pictures until the window closes.
// When the UI thread has not yet drawn the last look, this one is skipped
// rather than queued: a busy window shows fewer updates, never older ones.
func (s *Studio) watchMedia(hd HostDevices) {
	n := 0
	s.every(levelPoll, func() {
		n++
		if s.mediaPending.Load() {
			return
		}
		var levels map[string]float32
		if s.monitor != nil {
			levels = maps.Clone(s.monitor.Levels())
		}
		if _, ok := levels[studio.HostID]; !ok && hd != nil {
			if levels == nil {
				levels = map[string]float32{}
			}
			levels[studio.HostID] = hd.HostLevel()
		}
		var pics map[string]image.Image
		var loud *studio.Loudness
		if n%thumbEvery == 0 {
			pics = s.thumbs.take()
			if s.loudness != nil {
				l := s.loudness.Loudness()
				loud = &l
			}
		}
		s.mediaPending.Store(true)
		s.do(func() {
			s.mediaPending.Store(false)
			if loud != nil {
				s.showLoudness(*loud)
			}
			for id, c := range s.cards {
				c.setLevel(levels[id])
			}
			for id, img := range pics {
				if c := s.cards[id]; c != nil {
					c.setThumb(img)
				}
			}
		})
	})
}
