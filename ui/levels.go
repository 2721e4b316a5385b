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
// 1 dB steps, and the level in words. The command goes when the host
// lets go (OnChangeEnded), not at every step of a drag.
func (s *Studio) newVolume(c *card) fyne.CanvasObject {
	c.volume = widget.NewSlider(volumeOffAt, float64(studio.MaxVolume))
	c.volume.Step = 1
	c.volume.Value = 0
	c.volumeText = canvas.NewText(volumeText(0), colorMuted)
	c.volumeText.TextSize = 12
	c.volumeText.TextStyle = fyne.TextStyle{Monospace: true}
	c.volume.OnChanged = func(x float64) {
		c.volumeText.Text = volumeText(sliderVolume(x))
		c.volumeText.Refresh()
	}
	c.volume.OnChangeEnded = func(x float64) {
		if !c.setting {
			s.setVolume(c.person, sliderVolume(x))
		}
	}
	// The widest text ("-60 dB") keeps its room, so the slider does not
	// jump as the number's width changes.
	room := canvas.NewRectangle(nil)
	room.SetMinSize(fyne.MeasureText("-60 dB", c.volumeText.TextSize, c.volumeText.TextStyle))
	return container.NewBorder(nil, nil, nil, container.NewStack(room, c.volumeText), c.volume)
}

// showVolume puts the state's volume on the card, without sending it back.
func (c *card) showVolume(v studio.Volume) {
	if c.volume == nil || sliderVolume(c.volume.Value) == v {
		return
	}
	c.setting = true
	c.volume.SetValue(sliderValue(v))
	c.setting = false
}

// setVolume sets p's level in the program, in order (a few arrow keys
// in a row must end where the last one put it); the show's event brings
// the new state. A refusal is explained and the card goes back to the
// state's level.
func (s *Studio) setVolume(p studio.Participant, v studio.Volume) {
	s.mixes.run(s, func() {
		err := s.volumes.SetVolume(p.ID, v)
		if err == nil {
			return
		}
		st := s.show.State()
		s.do(func() {
			s.showError("Couldn't set " + p.Name + "'s volume: " + s.explain(err))
			s.applyState(st)
		})
	})
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
