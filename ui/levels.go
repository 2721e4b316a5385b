package ui

import (
	"fmt"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio"
	"greenroom/studio/settings"
)

// VolumeSetter sets a person's level in the program's mix
// (studio.Studio.SetVolume): a Show that has it gets a volume slider on
// every card. Called off the UI thread; the state (Participant.Volume)
// then says the new level.
type VolumeSetter interface {
	SetVolume(id string, v studio.Volume) error
}

// LoudnessMeter is the program's sound as EBU R128 measures it after the
// limiter (studio.Program.Loudness): a Show that has it gets a readout in
// the top bar, polled with the cards' levels. Cheap.
type LoudnessMeter interface {
	Loudness() studio.Loudness
}

// LoudnessTargeter chooses the program's loudness target
// (studio.Studio.SetLoudnessTarget: one of studio.LoudnessTargets, 0 for
// none): a Show that has it, and a LoudnessMeter, gets a choice next to
// the readout, which follows the meter's Target. Called off the UI thread.
type LoudnessTargeter interface {
	SetLoudnessTarget(lufs float64) error
}

// targetOff is the target choice's "none".
const targetOff = "No loudness target"

func targetText(lufs float64) string {
	if lufs == 0 {
		return targetOff
	}
	return fmt.Sprintf("Target %g LUFS", lufs)
}

// volumeOffAt is the volume slider's left end, a step below
// studio.MinVolume: off.
const volumeOffAt = float64(studio.MinVolume) - 1

func sliderValue(v studio.Volume) float64 {
	if v.Off() {
		return volumeOffAt
	}
	return float64(v)
}

func sliderVolume(x float64) studio.Volume {
	if x <= volumeOffAt {
		return studio.VolumeOff
	}
	return studio.Volume(math.Round(x))
}

func volumeText(v studio.Volume) string {
	switch {
	case v.Off():
		return "Off"
	case v == 0:
		return "0 dB"
	}
	return fmt.Sprintf("%+.0f dB", float64(v))
}

// newVolume is the card's volume row: a slider from off to +12 dB in
// 1 dB steps, and the level in words (cardSlider).
func (s *Studio) newVolume(c *card) fyne.CanvasObject {
	var row fyne.CanvasObject
	c.volume, c.volumeText, row = s.cardSlider(c, volumeOffAt, float64(studio.MaxVolume), 1, "-60 dB",
		func(x float64) string { return volumeText(sliderVolume(x)) },
		func(p studio.Participant, x float64) {
			s.setOnCard(p, "volume", func() error { return s.volumes.SetVolume(p.ID, sliderVolume(x)) })
		})
	return row
}

// cardSlider is a card's slider row: a slider from lo to hi in steps of
// step, at 0, and its value in words (text) on its right, in room for
// the widest words. The command (set) goes when the host lets go
// (OnChangeEnded), not at every step of a drag, nor when update moves it
// (showOnSlider).
func (s *Studio) cardSlider(c *card, lo, hi, step float64, widest string, text func(float64) string,
	set func(p studio.Participant, x float64)) (*widget.Slider, *canvas.Text, fyne.CanvasObject) {
	slider := widget.NewSlider(lo, hi)
	slider.Step = step
	slider.Value = 0
	words := canvas.NewText(text(0), colorMuted)
	words.TextSize = 12
	words.TextStyle = fyne.TextStyle{Monospace: true}
	slider.OnChanged = func(x float64) {
		words.Text = text(x)
		words.Refresh()
	}
	slider.OnChangeEnded = func(x float64) {
		if !c.setting {
			set(c.person, x)
		}
	}
	// The widest text keeps its room, so the slider does not jump as
	// the number's width changes.
	room := canvas.NewRectangle(nil)
	room.SetMinSize(fyne.MeasureText(widest, words.TextSize, words.TextStyle))
	return slider, words, container.NewBorder(nil, nil, nil, container.NewStack(room, words), slider)
}

// showOnSlider puts x, from the state, on one of the card's sliders
// (nil: the card has none), without sending it back.
func (c *card) showOnSlider(slider *widget.Slider, x float64) {
	if slider == nil || slider.Value == x {
		return
	}
	c.setting = true
	slider.SetValue(x)
	c.setting = false
}

// showVolume puts the state's volume on the card, without sending it back.
func (c *card) showVolume(v studio.Volume) {
	if c.volume != nil && sliderVolume(c.volume.Value) != v {
		c.showOnSlider(c.volume, sliderValue(v))
	}
}

// setOnCard sends a command a card's slider made (what: "volume",
// "delay"), in order (a few arrow keys in a row must end where the last
// one put it); the show's event brings the new state. A refusal is
// explained and the card goes back to the state's.
func (s *Studio) setOnCard(p studio.Participant, what string, set func() error) {
	s.mixes.run(s, func() {
		err := set()
		if err == nil {
			return
		}
		st := s.show.State()
		s.do(func() {
			s.showError("Couldn't set " + p.Name + "'s " + what + ": " + s.explain(err))
			s.applyState(st)
		})
	})
}

// DelaySetter sets a person's sync offset in the program
// (studio.Studio.SetDelay): a Show that has it gets a delay slider on
// every guest's card, for a camera that lags. Called off the UI thread;
// the state (Participant.Delay) then says the new offset.
type DelaySetter interface {
	SetDelay(id string, d studio.Delay) error
}

func delayText(x float64) string {
	if x == 0 {
		return "In sync"
	}
	return fmt.Sprintf("%+.0f ms", x)
}

// newDelay is a guest's card's delay row: a slider from −200 to +500 ms
// in 10 ms steps (studio.Delay: positive plays their sound later, for a
// camera that lags), and the offset in words.
func (s *Studio) newDelay(c *card, ds DelaySetter) fyne.CanvasObject {
	var row fyne.CanvasObject
	c.delay, c.delayText, row = s.cardSlider(c, float64(studio.MinDelay), float64(studio.MaxDelay), 10, "+500 ms", delayText,
		func(p studio.Participant, x float64) {
			s.setOnCard(p, "delay", func() error { return ds.SetDelay(p.ID, studio.Delay(math.Round(x))) })
		})
	return row
}

// loudnessText is the top bar's readout of the program's loudness.
func loudnessText(l studio.Loudness) string {
	f := func(v float64) string {
		if v <= -70 {
			return "  –  " // below EBU R128's absolute gate: nothing to measure
		}
		return fmt.Sprintf("%5.1f", v)
	}
	return fmt.Sprintf("M %s  S %s  I %s LUFS  TP %s dBTP", f(l.Momentary), f(l.ShortTerm), f(l.Integrated), f(l.TruePeak))
}

// buildLoudness is the top bar's loudness readout, nil without a
// LoudnessMeter.
func (s *Studio) buildLoudness() fyne.CanvasObject {
	if s.loudness == nil {
		return nil
	}
	s.loudText = canvas.NewText(loudnessText(studio.Loudness{Momentary: -120, ShortTerm: -120, Integrated: -120, TruePeak: -120}), colorMuted)
	s.loudText.TextSize = 12
	s.loudText.TextStyle = fyne.TextStyle{Monospace: true}
	t, ok := s.show.(LoudnessTargeter)
	if !ok {
		return container.NewCenter(s.loudText)
	}
	options := []string{targetOff}
	for _, lufs := range studio.LoudnessTargets {
		options = append(options, targetText(lufs))
	}
	s.loudTarget = widget.NewSelect(options, func(choice string) {
		if s.targetSetting {
			return
		}
		lufs := 0.0
		for _, v := range studio.LoudnessTargets {
			if targetText(v) == choice {
				lufs = v
			}
		}
		s.mixes.run(s, func() {
			if err := t.SetLoudnessTarget(lufs); err != nil {
				l := s.loudness.Loudness()
				s.do(func() {
					s.showError("Couldn't set the loudness target: " + s.explain(err))
					s.showTarget(l.Target)
				})
				return
			}
			// The host's choice is the next show's start too; a target
			// set through the control API is for this show only.
			s.save(func(set *settings.Settings) { set.LoudnessTarget = lufs }, nil)
		})
	})
	s.showTarget(0)
	return container.NewHBox(container.NewCenter(s.loudText), container.NewCenter(s.loudTarget))
}

// showTarget puts the program's target on the choice, without sending it
// back (UI thread).
func (s *Studio) showTarget(lufs float64) {
	if s.loudTarget == nil || s.loudTarget.Selected == targetText(lufs) {
		return
	}
	s.targetSetting = true
	s.loudTarget.SetSelected(targetText(lufs))
	s.targetSetting = false
}

// showLoudness updates the readout (UI thread).
func (s *Studio) showLoudness(l studio.Loudness) {
	if t := loudnessText(l); s.loudText != nil && t != s.loudText.Text {
		s.loudText.Text = t
		s.loudText.Refresh()
	}
	s.showTarget(l.Target)
}
