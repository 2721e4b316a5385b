package studio

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"greenroom/encode/clock"
)

// ProgramDelay is how long after a guest captured a frame their file has
// it (recording.go).
const ProgramDelay = programDelay

// AttachTestScene gives s a scene to arrange without a Program (which
// needs the encoder): the control API's /api/scene then decodes and
// applies bodies as it does with one. For the fuzz and flood tests.
func (s *Studio) AttachTestScene() { s.attachScene(&testScene{}) }

// testScene keeps the scene it is given; mu guards sc.
type testScene struct {
	mu sync.Mutex
	sc Scene
}

func (t *testScene) Scene() Scene {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sc
}

func (t *testScene) changeScene(change func(*Scene)) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	change(&t.sc)
	return nil
}

func (t *testScene) followShow() {}

// ForceHealth rates guest id's connection l, with reason, instead of
// measuring it, from its next rating on (within qualityInterval), through
// the same hold and the same "health" to its page; LevelUnknown goes back
// to measuring. For the guest page's banner test: a browser's media can't
// be made lossy on loopback here (no netem), while the level itself is
// tested with real loss from pion peers (TestHealthFromRealLoss). False if
// the guest has no session.
func (s *Studio) ForceHealth(id string, l Level, reason string) bool {
	g := s.guestSession(id)
	if g == nil {
		return false
	}
	g.post(func() {
		g.forced = nil
		if l != LevelUnknown {
			g.forced = &Health{Level: l, Reason: reason}
		}
	})
	return true
}

// ForceDownlink caps guest id's send-side downlink estimate at bps (0
// lifts the cap), as a thin link would: the layers it is sent follow.
// For a browser guest, whose own network can't be made thin on loopback
// here (DevTools' throughput limits don't reach WebRTC, and its packet
// loss moved the estimate in 4 s to over 40 s); the estimate's part is
// tested with real feedback from pion peers and in the NAT lab
// (TestLabGuestOnSlowDownlink). False if the guest has no session.
func (s *Studio) ForceDownlink(id string, bps uint64) bool {
	g := s.guestSession(id)
	if g == nil {
		return false
	}
	g.post(func() {
		if est := g.down.estimator(); est != nil {
			est.ceiling.Store(bps)
		}
	})
	return true
}

// guestSession is guest id's session, nil if it has none.
func (s *Studio) guestSession(id string) *guest {
	s.show.mu.Lock()
	defer s.show.mu.Unlock()
	if e, ok := s.show.entries[id]; ok {
		g, _ := e.conn.(*guest)
		return g
	}
	return nil
}

// TestTake makes a take of guest name's local recording into dir, as a
// live show with the guests' local recording on would, without a Program
// (which needs the encoder), and returns its ID and key; end ends its
// show (show.json gets its end).
func (s *Studio) TestTake(dir, participant, name string) (id, key string, end func()) {
	ids, keys, end := s.TestTakes(dir, participant, name, 0, 1)
	return ids[0], keys[0], end
}

// TestTakes makes n takes of guest name's local recording into dir in
// one show, at into the show, as a page reloaded n-1 times would (a
// session each), and returns their IDs and keys; end ends the show.
func (s *Studio) TestTakes(dir, participant, name string, at time.Duration, n int) (ids, keys []string, end func()) {
	rec := newShowRecording(dir, showMeta{Title: "test"}, clock.New(), -at, func() State { return State{} }, func(string) {}, s.log)
	for range n {
		t := s.uploads.takeFor(rec, participant, name, new(guest))
		ids, keys = append(ids, t.id), append(keys, t.key.Reveal())
	}
	return ids, keys, func() { _ = rec.close() }
}

// LayerQuiet is how long layer rid of participant id's camera (or the
// host's feed) has sent nothing, and whether there is such a layer.
func (s *Studio) LayerQuiet(id, rid string) (time.Duration, bool) {
	l := s.cameraLayer(id, rid)
	if l == nil {
		return 0, false
	}
	return time.Since(time.Unix(0, l.lastAt.Load())), true
}

// LayerFlowing is how long layer rid of participant id's camera has
// flowed since the studio last saw it (re)start (a pause of layerPaused
// while another layer flowed, or a silence of layerLive): the run its
// hold (LayerHold) is measured against. 0 while it is silent.
func (s *Studio) LayerFlowing(id, rid string) time.Duration {
	now := time.Now().UnixNano()
	if l := s.cameraLayer(id, rid); l != nil && now-l.lastAt.Load() < int64(layerPaused) {
		return time.Duration(now - l.since.Load())
	}
	return 0
}

// LayerHold is how long layer rid of participant id's camera must flow
// after a restart before a receiver on another layer is moved onto it:
// layerSteady, or longer after the browser's pauses (backOff).
func (s *Studio) LayerHold(id, rid string) time.Duration {
	if l := s.cameraLayer(id, rid); l != nil {
		return time.Duration(max(l.hold.Load(), int64(layerSteady)))
	}
	return layerSteady
}

// cameraLayer is layer rid of participant id's camera (or the host's
// feed) sent in simulcast layers; nil if there is none.
func (s *Studio) cameraLayer(id, rid string) *layer {
	if t := s.cameraInLayers(id); t != nil {
		for _, l := range t.layerList() {
			if l.rid == rid {
				return l
			}
		}
	}
	return nil
}

// PausedLayers is the layers of participant id's camera the studio has
// told her page to pause (resting, issue #10).
func (s *Studio) PausedLayers(id string) []string {
	var rids []string
	if t := s.cameraInLayers(id); t != nil {
		for _, l := range t.layerList() {
			if l.rest.resting() {
				rids = append(rids, l.rid)
			}
		}
	}
	return rids
}

// cameraInLayers is participant id's camera (or the host's feed) sent in
// simulcast layers; nil if there is none.
func (s *Studio) cameraInLayers(id string) *pubTrack {
	s.sfu.mu.Lock()
	defer s.sfu.mu.Unlock()
	for _, t := range s.sfu.tracks[id] {
		if t.simul != nil && !t.info.Screen {
			return t
		}
	}
	return nil
}

// TestRecordingsIn has /api/recordings list dir's shows, as a Program
// recording into dir would, without one.
func (s *Studio) TestRecordingsIn(dir string) { s.attachRecordings(fixedRecordings(dir)) }

type fixedRecordings string

func (d fixedRecordings) recordingsWhere() (dir, live string) { return string(d), "" }

// LayerReports says, for each simulcast layer of participant id's
// camera, whether the guest's clock (clock.Sender) has had a sender
// report of it: the program places that layer by the sender's clock
// only then. held is how many tracks pion's receiver holds for the
// camera (one per rid, or twice that for a receiver configured twice).
func (s *Studio) LayerReports(id string) (reported map[string]bool, held int) {
	g := s.guestSession(id)
	if g == nil {
		return nil, 0
	}
	reported = map[string]bool{}
	if t := s.cameraInLayers(id); t != nil {
		for _, l := range t.layerList() {
			if l.remote == nil {
				continue
			}
			_, reported[l.rid] = g.sender.Wall(uint32(l.remote.SSRC()), 0, 90000)
		}
	}
	got := make(chan int, 1)
	g.post(func() {
		n := 0
		if g.pc != nil {
			for _, tr := range g.pc.GetTransceivers() {
				if r := tr.Receiver(); r != nil {
					if tracks := r.Tracks(); len(tracks) > 0 && tracks[0].RID() != "" {
						n = len(tracks)
					}
				}
			}
		}
		got <- n
	})
	select {
	case held = <-got:
	case <-time.After(time.Second):
	}
	return reported, held
}

// LayerChoice says how guest receiver is sent publisher's simulcast
// camera: the layer it gets and the one it waits for, the downlink
// estimate its switcher chooses by (and from what: REMB, send-side,
// loss), and each layer as the choice sees it now (statsOf). "" if it is sent none.
// For a test's message when a receiver stays on a layer.
func (s *Studio) LayerChoice(receiver, publisher string) string {
	t := s.cameraInLayers(publisher)
	if t == nil {
		return ""
	}
	t.simul.mu.RLock()
	var b *binding
	for _, c := range t.simul.bindings {
		if t.simul.owners[c.ssrc] == receiver {
			b = c
		}
	}
	t.simul.mu.RUnlock()
	if b == nil {
		return ""
	}
	now := time.Now()
	budget, from := b.estimate(t)
	ls := t.layerList()
	cur := b.sw.current()
	stats := statsOf(ls, cur, now)
	out := fmt.Sprintf("gets %q, waits for %q; estimate %d b/s (from %q; remb %d, loss %d); layers",
		ridOf(cur), ridOf(b.sw.wanted()), budget, from, b.byREMB.Load(), b.byLoss.Load())
	for i, l := range ls {
		out += fmt.Sprintf(" [%s %dp %d kb/s live=%v resting=%v asleep=%v silent %v]", l.rid, l.height(), l.rate.Load()/1000,
			stats[i].live, l.rest.resting(), l.rest.asleep(now.UnixNano()), now.Sub(time.Unix(0, l.lastAt.Load())).Round(time.Millisecond))
	}
	if d := b.down.Load(); d != nil && d.est != nil {
		total, _ := d.est.estimate()
		usage, loss := d.est.signals()
		out += fmt.Sprintf("; downlink: estimate %d kb/s, sending %d kb/s, room above %v, %s, loss %.3f; climb may %v, toward the tile may %v",
			total/1000, d.sending()/1000, d.roomAbove(), usage, loss, b.climb.may(now), b.tileClimb.may(now))
	}
	return out
}

// SelectedRemote is where guest id's connection sends, as pion last
// reported its selected pair (move.go); the zero AddrPort before.
func (s *Studio) SelectedRemote(id string) netip.AddrPort {
	g := s.guestSession(id)
	if g == nil {
		return netip.AddrPort{}
	}
	if at := g.ice.selected.Load(); at != nil {
		return *at
	}
	return netip.AddrPort{}
}
