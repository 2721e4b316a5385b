package ui

import (
	"fmt"
	"image/color"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio"
)

// healthView is the bottom of a guest's picture on their card: their
// connection's level and reason, and the numbers behind them (issue #10,
// item 5). It shows by itself at amber and red, and while the pointer is
// over the picture; the card's dot beside the name shows the level always.
type healthView struct {
	box      *fyne.Container
	line     *canvas.Text // "Weak uplink: 6 % loss"
	up, down *canvas.Text // the numbers of each direction
	more     *canvas.Text // the round trip and the freezes
	sound    *canvas.Text // their sound the program filled in, when any
	sends    *canvas.Text // the layers of their camera each other one gets
	hovered  bool
	shown    bool
	// What update was last given, to show again when the pointer comes.
	p       studio.Participant
	sent    string
	noMedia bool
}

func newHealthView() *healthView {
	h := &healthView{line: canvas.NewText("", colorWhite)}
	h.line.TextSize, h.line.TextStyle = 11, fyne.TextStyle{Bold: true}
	h.up = canvas.NewText("", colorWhite)
	h.up.TextSize = 10
	h.down = canvas.NewText("", colorWhite)
	h.down.TextSize = 10
	h.more = canvas.NewText("", colorWhite)
	h.more.TextSize = 10
	h.sound = canvas.NewText("", colorWhite)
	h.sound.TextSize = 10
	h.sends = canvas.NewText("", colorWhite)
	h.sends.TextSize = 10
	bg := canvas.NewRectangle(color.NRGBA{R: 0x10, G: 0x12, B: 0x16, A: 0xd8})
	bg.CornerRadius = 6
	// The lines sit close (no gap, not the theme's padding; a line's
	// height has room above and below its letters): five of them would
	// otherwise cover all of the picture but a sliver, and six (the
	// sound's with the layers') stay under the badges (the music button)
	// only so (86 px of the picture's 131, 87 under the button).
	lines := container.New(layout.NewCustomPaddedVBoxLayout(0), h.line, h.up, h.down, h.more, h.sound, h.sends)
	strip := container.NewStack(bg, container.New(layout.NewCustomPaddedLayout(2, 1, 6, 6), lines))
	h.box = container.NewVBox(layout.NewSpacer(), strip)
	h.box.Hide()
	return h
}

// update shows p's health, and sent, the layers of their camera the
// others get (sendsLine); noMedia is true while the card says instead
// that their media doesn't flow.
func (h *healthView) update(p studio.Participant, sent string, noMedia bool) {
	h.p, h.sent, h.noMedia = p, sent, noMedia
	line, up, down, more, sound, c := healthLines(p)
	room := float32(cardWidth) - 4*theme.Padding() - 12
	h.line.Text, h.line.Color = ellipsize(line, room, h.line.TextSize, h.line.TextStyle), c
	h.up.Text = ellipsize(up, room, h.up.TextSize, h.up.TextStyle)
	h.down.Text = ellipsize(down, room, h.down.TextSize, h.down.TextStyle)
	h.more.Text = ellipsize(more, room, h.more.TextSize, h.more.TextStyle)
	h.sound.Text = ellipsize(sound, room, h.sound.TextSize, h.sound.TextStyle)
	setShown(h.sound, sound != "")
	h.sends.Text = ellipsize(sent, room, h.sends.TextSize, h.sends.TextStyle)
	setShown(h.sends, sent != "")
	hl := p.Health
	h.shown = !noMedia && hl != nil && hl.Level != studio.LevelUnknown &&
		(hl.Level != studio.LevelGreen || h.hovered)
	setShown(h.box, h.shown)
	h.line.Refresh()
	h.up.Refresh()
	h.down.Refresh()
	h.more.Refresh()
	h.sound.Refresh()
	h.sends.Refresh()
}

// healthLines words p's health: the level's line, the uplink's and the
// downlink's numbers, the round trip and freezes, their sound the
// program filled in (empty while none), and the line's color. Empty
// without a rating.
func healthLines(p studio.Participant) (line, up, down, more, sound string, c color.Color) {
	h := p.Health
	if h == nil || h.Level == studio.LevelUnknown {
		return "", "", "", "", "", colorMuted
	}
	switch h.Level {
	case studio.LevelRed:
		c = colorLive
	case studio.LevelAmber:
		c = colorWarn
	default:
		c, line = colorOK, "Good connection"
	}
	if h.Reason != "" {
		r, n := utf8.DecodeRuneInString(h.Reason)
		line = string(unicode.ToUpper(r)) + h.Reason[n:]
	}
	up = fmt.Sprintf("↑ %d kb/s · %s loss · %d ms jitter", h.Up.Kbps, pct(h.Up.Loss), h.Up.JitterMs)
	down = fmt.Sprintf("↓ %d kb/s · %s loss", h.Down.Kbps, pct(h.Down.Loss))
	if h.Down.EstimateKbps > 0 {
		down += fmt.Sprintf(" · est. %d kb/s", h.Down.EstimateKbps)
	}
	more = fmt.Sprintf("%d ms round trip · no freeze", h.Up.RTTMs)
	if f := h.Freezes; f.Count > 0 {
		more = fmt.Sprintf("%d ms round trip · froze %d× (%.1f s) in 1 min", h.Up.RTTMs, f.Count, float64(f.LastMinuteMs)/1000)
	}
	// Frames that came but could not be decoded froze the program too.
	switch f := h.ProgramFreezes; {
	case f.Count > 0 && h.Freezes.Count > 0:
		more += fmt.Sprintf(" · program %d× (%.1f s)", f.Count, float64(f.LastMinuteMs)/1000)
	case f.Count > 0:
		more = fmt.Sprintf("%d ms round trip · froze %d× (%.1f s) in the program", h.Up.RTTMs, f.Count, float64(f.LastMinuteMs)/1000)
	}
	// Since their sound first reached the program: what FEC recovered is
	// near the real sound, the rest a guess (the level rates that).
	if a := h.ProgramAudio; a.ConcealedMs > 0 {
		sound = "♪ " + duration(a.ConcealedMs) + " filled in"
		if a.RecoveredMs > 0 {
			sound += ", " + duration(a.RecoveredMs) + " by FEC"
		}
	}
	return line, up, down, more, sound, c
}

// duration words ms milliseconds as the card's numbers: "40 ms" under a
// second, else "3.8 s".
func duration(ms int) string {
	if ms < 1000 {
		return fmt.Sprintf("%d ms", ms)
	}
	return fmt.Sprintf("%.1f s", float64(ms)/1000)
}

// sendsLine words which layer of p's camera the program and each other
// guest get, from st's Forwarded (by receiver) and p's Layers: "→ 720p:
// Program, Bob · 180p: Cat", the highest layer first, the receivers in
// the show's order. A layer's height is that of its last keyframe, its
// rid until one came. Each receiver goes by their first name, the card
// being narrow (three full names overflow it), and by their whole name
// where another in the show shares that first name. Empty for a camera
// not sent in layers.
func sendsLine(st studio.State, p studio.Participant) string {
	if len(p.Layers) == 0 {
		return ""
	}
	first := func(name string) string {
		if w := strings.Fields(name); len(w) > 0 {
			return w[0]
		}
		return name
	}
	firsts := map[string]int{}
	for _, r := range st.Participants {
		firsts[first(r.Name)]++
	}
	who := map[string][]string{} // rid → who gets it
	if p.ProgramLayer != "" {
		who[p.ProgramLayer] = []string{"Program"}
	}
	for _, r := range st.Participants {
		if rid := r.Forwarded[p.ID]; rid != "" && r.ID != p.ID {
			name := r.Name
			if firsts[first(name)] == 1 {
				name = first(name)
			}
			who[rid] = append(who[rid], name)
		}
	}
	var parts []string
	for _, l := range p.Layers {
		if names := who[l.RID]; len(names) > 0 {
			name := l.RID
			if l.Height > 0 {
				name = fmt.Sprintf("%dp", l.Height)
			}
			parts = append(parts, name+": "+strings.Join(names, ", "))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "→ " + strings.Join(parts, " · ")
}

// healthPoll is how often the window reads the guests' numbers while it
// shows a guest: the studio measures each guest's connection every 2 s,
// but sends an event for new numbers at most every 10 s (one per guest
// every 2 s would be eight redraws a second for sixteen guests), and the
// layers it forwards change without one.
const healthPoll = 2 * time.Second

// pollNumbers reads the show's state off the UI thread and takes from it
// what changes without an event: each participant's health and layers
// (numbers). The rest of the state is the events' to apply: a poll
// applies no more than the numbers, and none at all if a whole state was
// applied while it read, which may be newer than its own.
func (s *Studio) pollNumbers() {
	if !s.guestsFlag.Load() {
		return
	}
	gen := s.applied.Load()
	st := s.show.State()
	s.do(func() {
		if s.applied.Load() == gen && takeNumbers(&s.state, st) {
			s.updateStrip()
		}
	})
}

// takeNumbers copies into st the numbers of from's participants who are
// in both, and says whether any changed.
func takeNumbers(st *studio.State, from studio.State) (changed bool) {
	for i := range st.Participants {
		p := &st.Participants[i]
		j := slices.IndexFunc(from.Participants, func(n studio.Participant) bool { return n.ID == p.ID })
		if j < 0 {
			continue
		}
		n := from.Participants[j]
		if reflect.DeepEqual(p.Health, n.Health) && reflect.DeepEqual(p.Forwarded, n.Forwarded) &&
			slices.Equal(p.Layers, n.Layers) && p.ProgramLayer == n.ProgramLayer {
			continue
		}
		p.Health, p.Forwarded, p.Layers, p.ProgramLayer = n.Health, n.Forwarded, n.Layers, n.ProgramLayer
		changed = true
	}
	return changed
}

func pct(f float64) string { return fmt.Sprintf("%.0f %%", f*100) }

// hover shows the numbers while the pointer is over the picture.
func (h *healthView) hover(in bool) {
	h.hovered = in
	h.update(h.p, h.sent, h.noMedia)
}

// hoverArea calls in with true when the pointer comes over it, false when
// it leaves; it draws nothing and takes no taps.
type hoverArea struct {
	widget.BaseWidget
	in func(bool)
}

func newHoverArea(in func(bool)) *hoverArea {
	h := &hoverArea{in: in}
	h.ExtendBaseWidget(h)
	return h
}

func (h *hoverArea) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(canvas.NewRectangle(color.Transparent))
}
func (h *hoverArea) MouseIn(*desktop.MouseEvent)    { h.in(true) }
func (h *hoverArea) MouseMoved(*desktop.MouseEvent) {}
func (h *hoverArea) MouseOut()                      { h.in(false) }
