package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/theme"

	"greenroom/studio"
)

// A guest's card shows the level the studio gives their connection: the
// dot beside their name in its color, and at amber and red the reason and
// the numbers on their picture; at green the numbers only while the
// pointer is over it; none of it while their media doesn't flow.
func TestCardShowsHealth(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	set := func(h *studio.Health, media studio.Media) {
		t.Helper()
		f.change(studio.EventHealth, func(st *studio.State) {
			p := &st.Participants[1]
			p.Health, p.Media, p.Connected = h, media, media == studio.MediaConnected
		})
		eventually(t, s, "the card to take the health", func() bool {
			c := s.cards["g1"]
			return c.person.Health == h && c.person.Media == media
		})
	}
	amber := &studio.Health{Level: studio.LevelAmber, Reason: "weak uplink: 6 % loss",
		Up:   studio.Uplink{Kbps: 1180, Loss: 0.06, JitterMs: 14, RTTMs: 42},
		Down: studio.Downlink{Kbps: 900, Loss: 0.01, EstimateKbps: 1500}}
	red := &studio.Health{Level: studio.LevelRed, Reason: "video frozen for 2.4 s",
		Up:      studio.Uplink{Kbps: 80, Loss: 0.02, RTTMs: 60},
		Freezes: studio.Freezes{Count: 3, LastMinuteMs: 4100}}
	green := &studio.Health{Level: studio.LevelGreen, Up: studio.Uplink{Kbps: 1500, RTTMs: 20}, Down: studio.Downlink{Kbps: 700}}

	for _, tc := range []struct {
		name                      string
		h                         *studio.Health
		dot, line, up, down, more string
	}{
		{"amber", amber, "● fair", "Weak uplink: 6 % loss", "↑ 1180 kb/s · 6 % loss · 14 ms jitter", "↓ 900 kb/s · 1 % loss · est. 1500 kb/s", "42 ms round trip · no freeze"},
		{"red", red, "● poor", "Video frozen for 2.4 s", "↑ 80 kb/s · 2 % loss · 0 ms jitter", "↓ 0 kb/s · 0 % loss", "60 ms round trip · froze 3× (4.1 s) in 1 min"},
	} {
		set(tc.h, studio.MediaConnected)
		c := s.cards["g1"]
		if !strings.Contains(c.conn.Text, tc.dot) || !c.health.box.Visible() {
			t.Errorf("%s: dot %q, strip shown %v; want %q and the strip", tc.name, c.conn.Text, c.health.box.Visible(), tc.dot)
		}
		if c.health.line.Text != tc.line || !strings.HasPrefix(c.health.up.Text, tc.up[:10]) {
			t.Errorf("%s: %q / %q / %q", tc.name, c.health.line.Text, c.health.up.Text, c.health.down.Text)
		}
		if line, up, down, more, _, _ := healthLines(c.person); line != tc.line || up != tc.up || down != tc.down || more != tc.more {
			t.Errorf("%s: lines %q / %q / %q / %q, want %q / %q / %q / %q", tc.name, line, up, down, more, tc.line, tc.up, tc.down, tc.more)
		}
		if c.health.up.Text != tc.up || c.health.more.Text != tc.more {
			t.Errorf("%s: the card shows %q / %q, cut short", tc.name, c.health.up.Text, c.health.more.Text)
		}
		if c.conn.Color != map[string]any{"amber": colorWarn, "red": colorLive}[tc.name] {
			t.Errorf("%s: dot color %v", tc.name, c.conn.Color)
		}
		writePNG(t, "ui-card-health-"+tc.name+".png", s.w.Canvas().Capture())
	}

	set(green, studio.MediaConnected)
	c := s.cards["g1"]
	if !strings.Contains(c.conn.Text, "● good") || c.health.box.Visible() {
		t.Errorf("green: dot %q, strip shown %v; want the dot alone", c.conn.Text, c.health.box.Visible())
	}
	c.health.hover(true)
	if !c.health.box.Visible() || c.health.line.Text != "Good connection" || !strings.Contains(c.health.up.Text, "1500 kb/s") {
		t.Errorf("green, hovered: shown %v %q %q", c.health.box.Visible(), c.health.line.Text, c.health.up.Text)
	}
	c.health.hover(false)
	if c.health.box.Visible() {
		t.Error("the numbers stay after the pointer left")
	}

	// Freezes in the program beside the SFU's.
	prog := *amber
	prog.ProgramFreezes = studio.Freezes{Count: 2, LastMinuteMs: 1500}
	if _, _, _, more, _, _ := healthLines(studio.Participant{Health: &prog}); more != "42 ms round trip · froze 2× (1.5 s) in the program" {
		t.Errorf("with freezes in the program: %q", more)
	}

	set(red, studio.MediaReconnecting)
	if c := s.cards["g1"]; c.health.box.Visible() || c.conn.Text != "" {
		t.Errorf("no media: strip shown %v, dot %q; the media note speaks instead", c.health.box.Visible(), c.conn.Text)
	}
}

// A guest's sound the program filled in shows on their card, on a line
// of its own under the round trip while there is any: how much in all,
// and how much of it FEC recovered; their level's line says when the
// rest (a guess) breaks their sound up. With the layers line too, the
// strip still leaves the badges over the picture (the music button)
// clear.
func TestCardShowsConcealedSound(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	set := func(h *studio.Health) {
		t.Helper()
		f.change(studio.EventHealth, func(st *studio.State) {
			p := &st.Participants[1]
			p.Health = h
			p.Layers, p.ProgramLayer = []studio.Layer{{RID: "h", Height: 720}, {RID: "m", Height: 360}}, "m"
		})
		eventually(t, s, "the card to take the health", func() bool { return s.cards["g1"].person.Health == h })
	}
	h := &studio.Health{Level: studio.LevelAmber, Reason: "sound breaking up: 8 % filled in",
		Up:           studio.Uplink{Kbps: 1180, JitterMs: 64, RTTMs: 42},
		Down:         studio.Downlink{Kbps: 900, Loss: 0.01, EstimateKbps: 1500},
		ProgramAudio: studio.ProgramAudio{ConcealedMs: 3840, RecoveredMs: 2810, UnrecoveredShare: 0.08}}
	set(h)
	c := s.cards["g1"]
	if want := "♪ 3.8 s filled in, 2.8 s by FEC"; c.health.sound.Text != want || !c.health.sound.Visible() {
		t.Errorf("the sound line %q (shown %v), want %q", c.health.sound.Text, c.health.sound.Visible(), want)
	}
	if want := "Sound breaking up: 8 % filled in"; c.health.line.Text != want {
		t.Errorf("the level's line %q, want %q", c.health.line.Text, want)
	}
	if !c.health.sends.Visible() || c.health.more.Text != "42 ms round trip · no freeze" {
		t.Errorf("the other lines: layers shown %v, %q", c.health.sends.Visible(), c.health.more.Text)
	}
	strip, room := c.health.box.MinSize().Height, thumbSize().Height-2*theme.Padding()-c.music.MinSize().Height
	t.Logf("the strip with six lines: %v high; under the badges: %v", strip, room)
	if strip > room {
		t.Errorf("the strip is %v high, over the badges: %v under them", strip, room)
	}
	writePNG(t, "ui-card-health-sound.png", s.w.Canvas().Capture())

	// Under a second, in milliseconds; none from FEC, not said.
	_, _, _, _, sound, _ := healthLines(studio.Participant{Health: &studio.Health{Level: studio.LevelGreen, ProgramAudio: studio.ProgramAudio{ConcealedMs: 40}}})
	if want := "♪ 40 ms filled in"; sound != want {
		t.Errorf("40 ms concealed, none recovered: %q, want %q", sound, want)
	}
	// None: no line.
	set(&studio.Health{Level: studio.LevelAmber, Reason: "weak uplink: 6 % loss", Up: studio.Uplink{Kbps: 1180, Loss: 0.06, RTTMs: 42}})
	if c := s.cards["g1"]; c.health.sound.Visible() || c.health.sound.Text != "" {
		t.Errorf("no sound filled in: the line %q, shown %v", c.health.sound.Text, c.health.sound.Visible())
	}
}

// The card's numbers follow the guest's health as the studio measures it,
// and the layers of their camera the others get, though no event comes
// for them (the studio sends one for new numbers at most every 10 s, none
// for a layer forwarded): the window reads them every healthPoll.
func TestCardNumbersFollowHealth(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	h := &studio.Health{Level: studio.LevelAmber, Reason: "weak uplink: 6 % loss",
		Up: studio.Uplink{Kbps: 1180, Loss: 0.06, JitterMs: 14, RTTMs: 42}}
	f.change(studio.EventJoined, func(st *studio.State) {
		st.Participants[1].Health = h
		st.Participants = append(st.Participants,
			studio.Participant{ID: "g2", Name: "Bob", Role: studio.RoleGuest, Connected: true, Media: studio.MediaConnected},
			studio.Participant{ID: "g3", Name: "Cat", Role: studio.RoleGuest, Connected: true, Media: studio.MediaConnected})
	})
	eventually(t, s, "the card to show the first numbers", func() bool {
		c := s.cards["g1"]
		return c != nil && strings.HasPrefix(c.health.up.Text, "↑ 1180 kb/s") && !c.health.sends.Visible()
	})
	// New numbers, the level unchanged, and Ann's camera in layers: the
	// studio's state has them, no event says so.
	f.mu.Lock()
	ann := &f.state.Participants[1]
	ann.Health = &studio.Health{Level: studio.LevelAmber, Reason: "weak uplink: 6 % loss",
		Up:   studio.Uplink{Kbps: 640, Loss: 0.07, JitterMs: 31, RTTMs: 95},
		Down: studio.Downlink{Kbps: 900, Loss: 0.01, EstimateKbps: 1500}}
	ann.Layers = []studio.Layer{{RID: "h", Height: 720}, {RID: "m", Height: 360}, {RID: "l"}}
	ann.ProgramLayer = "m"
	f.state.Participants[2].Forwarded = map[string]string{"g1": "h"}
	f.state.Participants[3].Forwarded = map[string]string{"g1": "l"}
	f.mu.Unlock()
	eventually(t, s, "the card to show the new numbers without an event", func() bool {
		c := s.cards["g1"]
		return c.health.up.Text == "↑ 640 kb/s · 7 % loss · 31 ms jitter" && strings.HasPrefix(c.health.more.Text, "95 ms round trip")
	})
	c := s.cards["g1"]
	if want := "→ 720p: Bob · 360p: Program · l: Cat"; c.health.sends.Text != want || !c.health.sends.Visible() {
		t.Errorf("Ann's card says %q (shown %v) of the layers sent, want %q", c.health.sends.Text, c.health.sends.Visible(), want)
	}
	writePNG(t, "ui-card-health-layers.png", s.w.Canvas().Capture())
}

// The layers line names each receiver by their first name, and by their
// whole name where two in the show share one.
func TestSendsLineNames(t *testing.T) {
	bo := studio.Participant{ID: "g2", Name: "Bo Chen", Layers: []studio.Layer{{RID: "h", Height: 720}, {RID: "l", Height: 180}}, ProgramLayer: "h"}
	st := studio.State{Participants: []studio.Participant{
		{ID: studio.HostID, Name: "Host"},
		{ID: "g1", Name: "Ann Lee", Forwarded: map[string]string{"g2": "l"}},
		bo,
		{ID: "g3", Name: "Carla Díaz", Forwarded: map[string]string{"g2": "h"}},
		{ID: "g4", Name: "Ann Park", Forwarded: map[string]string{"g2": "l"}},
		{ID: "g5", Name: "  ", Forwarded: map[string]string{"g2": "l"}},
	}}
	if got, want := sendsLine(st, bo), "→ 720p: Program, Carla · 180p: Ann Lee, Ann Park,   "; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
