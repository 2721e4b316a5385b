package studio

import (
	"slices"
	"time"

	"greenroom/encode/scene"
)

// Speaking (issue #12 item 6): the mixer says whose sound is a voice now
// (encode/mixer's hysteresis: on after 150 ms of syllables, off after
// 0.8 s of quiet); the studio polls it, puts it on each participant
// (Participant.Speaking, EventSpeaking) and, with auto-spotlight on,
// gives the main tile to whoever speaks.

// EventSpeaking: a participant started or stopped speaking
// (Participant.Speaking).
const EventSpeaking EventKind = "speaking"

// EventSpotlight: auto-spotlight gave the main tile to someone else (the
// scene's main), or was switched on or off (State.AutoSpotlight).
const EventSpotlight EventKind = "spotlight"

// Auto-spotlight's timing: a speaker takes the main tile once they have
// spoken SpotlightAfter (a short answer or a laugh does not), and the
// tile stays SpotlightHold at least after any change, the host's too, so
// two people talking over each other do not make it flap. Whoever has it
// keeps it while they speak.
const (
	SpotlightAfter = time.Second
	SpotlightHold  = 3 * time.Second
	speakPoll      = 100 * time.Millisecond
)

// speakingSource is the Program's side: the inputs whose sound is a
// voice now (encode.Pipeline.Speaking).
type speakingSource interface {
	Speaking() []string
}

// attachSpeaking starts following who speaks in src, until Close.
func (s *Studio) attachSpeaking(src speakingSource) {
	s.life.spawn(func() { s.followSpeaking(src) })
}

// followSpeaking is the speaking flags' and auto-spotlight's loop; the
// spotlighter is its own.
func (s *Studio) followSpeaking(src speakingSource) {
	tick := time.NewTicker(speakPoll)
	defer tick.Stop()
	var a spotlighter
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-tick.C:
			var ids []string
			for _, name := range src.Speaking() {
				if owner(name) == name { // a shared screen does not speak
					ids = append(ids, name)
				}
			}
			s.show.setSpeaking(ids)
			s.mu.Lock()
			sc := s.scene
			s.mu.Unlock()
			if sc == nil {
				continue
			}
			if !s.autoSpotlight.Load() {
				a = spotlighter{}
				continue
			}
			cur := sc.Scene()
			if id, ok := a.next(now, ids, s.show.state(), cur); ok {
				if err := sc.changeScene(func(sc *Scene) { sc.Main = id }); err != nil {
					s.log.Warn("auto-spotlight", "participant", id, "err", err)
					continue
				}
				s.log.Info("auto-spotlight", "participant", id)
				s.show.notify(EventSpotlight)
			}
		}
	}
}

// setSpeaking marks the participants in ids as speaking and everyone
// else not, with an event for each that changed.
func (sh *show) setSpeaking(ids []string) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for _, e := range sh.entries {
		if on := slices.Contains(ids, e.p.ID); e.p.Speaking != on {
			e.p.Speaking = on
			sh.emitLocked(Event{Kind: EventSpeaking, Participant: e.p})
		}
	}
}

// spotlighter decides whom auto-spotlight shows large.
type spotlighter struct {
	since map[string]time.Time // when each who speaks began, by ID
	main  string               // the main tile as it last saw it
	moved time.Time            // when that last changed
}

// next is who should have the main tile now, if not whoever has it (the
// caller gives it to them):
// among those on stage and heard (not muted, not off) who have spoken
// SpotlightAfter, the one speaking longest; none while whoever has it
// speaks or within SpotlightHold of the last change. Only in the layouts
// with a main tile for a person (solo, spotlight, picture-in-picture):
// in the screen layout the screen keeps it.
func (a *spotlighter) next(now time.Time, speaking []string, st State, sc Scene) (string, bool) {
	if a.since == nil {
		a.since = map[string]time.Time{}
	}
	for id := range a.since {
		if !slices.Contains(speaking, id) {
			delete(a.since, id)
		}
	}
	for _, id := range speaking {
		if _, ok := a.since[id]; !ok {
			a.since[id] = now
		}
	}
	main := sc.Main
	var best string
	for _, p := range st.Participants {
		if p.Place != PlaceStage {
			continue
		}
		if main == "" {
			main = p.ID // the first on stage has it
		}
		began, ok := a.since[p.ID]
		if ok && !p.Muted && !p.Volume.Off() && now.Sub(began) >= SpotlightAfter &&
			(best == "" || began.Before(a.since[best])) {
			best = p.ID
		}
	}
	if main != a.main {
		a.main, a.moved = main, now // the host's choice, or the first start, holds too
	}
	switch {
	case sc.Layout != scene.Solo && sc.Layout != scene.Spotlight && sc.Layout != scene.PiP,
		best == "" || best == main,
		now.Sub(a.moved) < SpotlightHold,
		slices.Contains(speaking, main):
		return "", false
	}
	a.main, a.moved = best, now // if the change fails, the next look sees it and holds anyway
	return best, true
}

// SetAutoSpotlight switches auto-spotlight on or off: while on, whoever
// speaks is shown large (see SpotlightAfter). POST /api/autospotlight
// {"on": true}.
func (s *Studio) SetAutoSpotlight(on bool) {
	if s.autoSpotlight.Swap(on) == on {
		return
	}
	s.log.Info("auto-spotlight", "on", on)
	s.show.notify(EventSpotlight)
}
