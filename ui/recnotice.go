package ui

import (
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio"
)

// recNotices shows what the studio has to say about the recordings
// (studio.RecordingStatus): the last show cut short, the disk short of
// space, the recordings stopped on a full disk — each a line at the top
// of the preview until the creator dismisses it. A dismissed message stays
// away; a new one (another show, another warning) comes. UI thread only.
type recNotices struct {
	box       *fyne.Container
	shown     []string
	dismissed map[string]bool
}

func (s *Studio) buildRecNotices() fyne.CanvasObject {
	s.notices.box = container.NewVBox()
	s.notices.dismissed = map[string]bool{}
	return s.notices.box
}

// showRecording shows st's messages that were not dismissed.
func (s *Studio) showRecording(st *studio.RecordingStatus) {
	var msgs []string
	if st != nil {
		if st.CutShort != nil {
			msgs = append(msgs, st.CutShort.Message)
		}
		msgs = append(msgs, st.Stopped, st.Warning)
	}
	var keep []string
	for _, m := range msgs {
		if m != "" && !s.notices.dismissed[m] {
			keep = append(keep, m)
		}
	}
	if slices.Equal(keep, s.notices.shown) {
		return
	}
	s.notices.shown = keep
	s.notices.box.RemoveAll()
	for _, m := range keep {
		s.notices.box.Add(s.recNotice(m))
	}
	s.center.Refresh()
}

// recNotice is one message with its dismiss button.
func (s *Studio) recNotice(msg string) fyne.CanvasObject {
	text := widget.NewLabel(msg)
	text.Wrapping = fyne.TextWrapWord
	bg := canvas.NewRectangle(colorCard)
	bg.CornerRadius = 8
	icon := widget.NewIcon(theme.NewWarningThemedResource(theme.WarningIcon()))
	var dismiss *widget.Button
	dismiss = widget.NewButtonWithIcon("", theme.CancelIcon(), func() {
		s.notices.dismissed[msg] = true
		s.showRecording(s.state.Recording)
	})
	dismiss.Importance = widget.LowImportance
	return container.NewPadded(container.NewStack(bg,
		container.NewBorder(nil, nil, container.NewCenter(icon), container.NewCenter(dismiss), text)))
}
