package ui

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio"
)

// mixShow is the fake show with a volume per person and the program's
// loudness (VolumeSetter, LoudnessMeter); f.mu guards its fields too.
type mixShow struct {
	*fakeShow
	volumes   []string // "id volume"
	volumeErr error
	delays    []string // "id ms"
	loud      studio.Loudness
	targets   []float64 // SetLoudnessTarget's calls
	targetErr error
}

// SetLoudnessTarget records the call and, as the program does, the meter
// then says the new target.
func (m *mixShow) SetLoudnessTarget(lufs float64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.targets = append(m.targets, lufs)
	if m.targetErr != nil {
		return m.targetErr
	}
	m.loud.Target = lufs
	return nil
}

func (m *mixShow) targetCalls() []float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]float64(nil), m.targets...)
}

// SetVolume records the call and, as the studio does, changes the state.
func (m *mixShow) SetVolume(id string, v studio.Volume) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.volumes = append(m.volumes, fmt.Sprintf("%s %s", id, v))
	return m.editLocked(id, m.volumeErr, func(p *studio.Participant) { p.Volume = v })
}

// SetDelay records the call and, as the studio does, changes the state.
func (m *mixShow) SetDelay(id string, d studio.Delay) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.delays = append(m.delays, fmt.Sprintf("%s %d", id, d))
	return m.editLocked(id, nil, func(p *studio.Participant) { p.Delay = d })
}

func (m *mixShow) delayCalls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.delays...)
}

func (m *mixShow) volumeCalls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.volumes...)
}

func (m *mixShow) Loudness() studio.Loudness {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.loud
}

// TestVolumeOnTheCard: each card's volume slider sends the person's new
// level when the host lets go (arrow keys step a dB; the left end is off),
// shows a level set elsewhere without sending it back, and explains a
// refusal; the top bar reads the program's loudness.
func TestVolumeOnTheCard(t *testing.T) {
	m := &mixShow{fakeShow: newFake()}
	s, _ := openShow(t, m, nil)
	ann := s.cards["g1"]
	if ann.volume == nil || s.cards[studio.HostID].volume == nil {
		t.Fatal("no volume slider on the cards")
	}
	if !shows(ann.box, "0 dB") {
		t.Error("Ann's card does not say 0 dB")
	}
	press(s, ann.volume, fyne.KeyLeft, 6)
	if got := m.volumeCalls(); len(got) != 6 || got[5] != "g1 -6 dB" {
		t.Fatalf("SetVolume calls %v, want six steps down to g1 -6 dB", got)
	}
	if !shows(ann.box, "-6 dB") {
		t.Error("Ann's card does not say -6 dB")
	}
	test.TapAt(ann.volume, fyne.NewPos(1, ann.volume.Size().Height/2))
	s.settle()
	s.tasks.Wait()
	s.settle()
	if got := m.volumeCalls(); got[len(got)-1] != "g1 off" || !shows(ann.box, "Off") {
		t.Errorf("tapped at the left end: SetVolume calls %v, card says Off: %v", got, shows(ann.box, "Off"))
	}

	// Set elsewhere (the control API): the event brings it, and the card
	// does not send it back.
	n := len(m.volumeCalls())
	m.change(EventVolumeForTest, func(st *studio.State) { st.Participants[1].Volume = 6 })
	eventually(t, s, "Ann's card to say +6 dB", func() bool { return shows(ann.box, "+6 dB") })
	if got := m.volumeCalls(); len(got) != n {
		t.Errorf("a volume set elsewhere was sent back: %v", got[n:])
	}

	m.mu.Lock()
	m.volumeErr = fmt.Errorf("studio: volume g1: %w", studio.ErrNoParticipant)
	m.mu.Unlock()
	ann.volume.TypedKey(&fyne.KeyEvent{Name: fyne.KeyRight})
	s.settle()
	s.tasks.Wait()
	s.settle()
	if got := bannerText(s); !strings.Contains(got, "Couldn't set Ann Lee's volume") {
		t.Errorf("banner %q", got)
	}
	if !shows(ann.box, "+6 dB") {
		t.Error("a refused volume stayed on the card")
	}

	m.mu.Lock()
	m.loud = studio.Loudness{Momentary: -18.04, ShortTerm: -19.5, Integrated: -20.25, TruePeak: -3.14}
	m.mu.Unlock()
	eventually(t, s, "the loudness readout", func() bool {
		return s.loudText.Text == "M -18.0  S -19.5  I -20.2 LUFS  TP  -3.1 dBTP"
	})
}

// press presses key n times on slider and waits for the commands it
// sends.
func press(s *testStudio, slider *widget.Slider, key fyne.KeyName, n int) {
	for range n {
		slider.TypedKey(&fyne.KeyEvent{Name: key})
	}
	s.settle()
	s.tasks.Wait()
	s.settle()
}

// TestDelayOnTheCard: a guest's card has a delay slider (the host's has
// none: their media is not placed by a sender's clock); it sends the new
// offset when the host lets go, in 10 ms steps, and shows one set
// elsewhere without sending it back.
func TestDelayOnTheCard(t *testing.T) {
	m := &mixShow{fakeShow: newFake()}
	s, _ := openShow(t, m, nil)
	ann := s.cards["g1"]
	if ann.delay == nil || s.cards[studio.HostID].delay != nil {
		t.Fatalf("delay sliders: Ann's %v, the host's %v; want Ann's alone", ann.delay != nil, s.cards[studio.HostID].delay != nil)
	}
	if !shows(ann.box, "In sync") {
		t.Error("Ann's card does not say In sync")
	}
	press(s, ann.delay, fyne.KeyRight, 3)
	if got := m.delayCalls(); len(got) != 3 || got[2] != "g1 30" {
		t.Fatalf("SetDelay calls %v, want three steps up to g1 30", got)
	}
	if !shows(ann.box, "+30 ms") {
		t.Error("Ann's card does not say +30 ms")
	}
	n := len(m.delayCalls())
	m.change(EventVolumeForTest, func(st *studio.State) { st.Participants[1].Delay = -120 })
	eventually(t, s, "Ann's card to say -120 ms", func() bool { return shows(ann.box, "-120 ms") })
	if got := m.delayCalls(); len(got) != n {
		t.Errorf("a delay set elsewhere was sent back: %v", got[n:])
	}
}

// TestLoudnessTargetChoice: the top bar's choice sends the target the host
// picks, follows one set elsewhere (the meter's Target) without sending
// it back, and explains a refusal and goes back to the program's.
func TestLoudnessTargetChoice(t *testing.T) {
	m := &mixShow{fakeShow: newFake()}
	s, st := openShow(t, m, nil)
	if s.loudTarget == nil || s.loudTarget.Selected != "No loudness target" {
		t.Fatalf("no loudness target choice, or not at none: %v", s.loudTarget)
	}
	s.loudTarget.SetSelected("Target -16 LUFS")
	s.settle()
	s.tasks.Wait()
	if got := fmt.Sprint(m.targetCalls()); got != "[-16]" {
		t.Fatalf("SetLoudnessTarget calls %s, want [-16]", got)
	}
	if got := st.Get().LoudnessTarget; got != -16 {
		t.Errorf("the host's choice not remembered: settings say %g LUFS", got)
	}
	m.mu.Lock()
	m.loud.Target = -23 // set through the control API
	m.mu.Unlock()
	eventually(t, s, "the choice to follow the program's target", func() bool { return s.loudTarget.Selected == "Target -23 LUFS" })
	if got := fmt.Sprint(m.targetCalls()); got != "[-16]" {
		t.Errorf("a target set elsewhere was sent back: %s", got)
	}
	m.mu.Lock()
	m.targetErr = fmt.Errorf("loudness target: %w", studio.ErrNoProgram)
	m.mu.Unlock()
	s.loudTarget.SetSelected("No loudness target")
	s.settle()
	s.tasks.Wait()
	s.settle()
	if got := bannerText(s); !strings.Contains(got, "Couldn't set the loudness target") {
		t.Errorf("banner %q", got)
	}
	if s.loudTarget.Selected != "Target -23 LUFS" {
		t.Errorf("a refused target stayed chosen: %q", s.loudTarget.Selected)
	}
	if got := st.Get().LoudnessTarget; got != -16 {
		t.Errorf("settings say %g LUFS after a target set elsewhere and a refusal, want the host's last choice, -16", got)
	}
}

// EventVolumeForTest is the studio's event for a volume set elsewhere.
const EventVolumeForTest = studio.EventVolume
