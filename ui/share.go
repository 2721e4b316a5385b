package ui

import (
	"slices"

	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio"
)

// screenLayout is the program's layout for a shared screen: the screen
// large, the speakers beside it (encode/scene's Screen).
const screenLayout = "screen"

// buildShare is the Share screen button, or nil if the show cannot share
// the host's screen.
func (s *Studio) buildShare() *widget.Button {
	if s.sharer == nil {
		return nil
	}
	s.share = widget.NewButtonWithIcon("", theme.ComputerIcon(), s.toggleShare)
	s.markShare()
	return s.share
}

// toggleShare starts or stops sharing the host's screen, off the UI thread.
func (s *Studio) toggleShare() {
	if s.shareBusy {
		return
	}
	on := !s.sharing
	s.shareBusy = true
	s.markShare()
	s.async(func() {
		err := s.sharer.ShareScreen(on)
		now := s.sharer.Sharing()
		s.do(func() {
			s.shareBusy = false
			if err != nil {
				if on {
					s.showError("Couldn't share your screen: " + s.explain(err))
				} else {
					s.showError("Couldn't stop sharing your screen: " + s.explain(err))
				}
			}
			s.applySharing(now)
		})
	})
}

// applySharing shows whether the host's screen is shared. When sharing
// starts the program shows the screen large, in the screen layout; when it
// ends (here or elsewhere) the layout it replaced comes back, unless the
// host chose another meanwhile.
func (s *Studio) applySharing(on bool) {
	was := s.sharing
	s.sharing = on
	s.sharingFlag.Store(on)
	s.markShare()
	screen := studio.ScreenInput(studio.HostID)
	switch {
	case on && !was && slices.Contains(studio.Layouts, screenLayout):
		if s.layout != screenLayout {
			s.layoutBefore = s.layout
		}
		s.layout, s.scene.Layout, s.scene.Main = screenLayout, screenLayout, screen
		s.markLayout()
		s.updateStrip()
		s.command("Couldn't show your screen", func() error {
			if err := s.show.SetLayout(screenLayout); err != nil {
				return err
			}
			return s.show.Spotlight(screen)
		})
	case !on && was && s.layout == screenLayout && s.layoutBefore != "":
		before := s.layoutBefore
		s.layoutBefore = ""
		s.layout, s.scene.Layout = before, before
		if s.scene.Main == screen {
			s.scene.Main = ""
		}
		s.markLayout()
		s.updateStrip()
		s.command("Couldn't change the layout", func() error { return s.show.SetLayout(before) })
	}
}

// markShare shows on the button whether the screen is shared, and that a
// ShareScreen is under way.
func (s *Studio) markShare() {
	if s.share == nil {
		return
	}
	if s.shareBusy {
		s.share.Disable()
	} else {
		s.share.Enable()
	}
	if s.sharing {
		s.share.Text = "Stop sharing"
		restyle(s.share, theme.MediaStopIcon(), widget.HighImportance)
	} else {
		s.share.Text = "Share screen"
		restyle(s.share, theme.ComputerIcon(), widget.MediumImportance)
	}
}
