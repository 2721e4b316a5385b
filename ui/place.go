package ui

import (
	"fyne.io/fyne/v2"
	"github.com/go-gl/glfw/v3.3/glfw"

	"greenroom/studio/settings"
)

// screenShare is how much of the screen's width and height the window
// takes at the first start (issue #15: at 1280x800 it was two thirds of a
// 1920x1080 screen in its top-left corner, and half of it on a larger
// one): room for the preview, the tabs and the strip, with the desktop
// still in sight around it.
const screenShare = 0.7

// fallbackSize is the window's first size when the screen's is not known
// (Fyne's test driver, no monitor reported).
var fallbackSize = fyne.NewSize(1280, 800)

// placeWindow sizes the window as it was closed last time, or, the first
// time, for fitToScreen to size once the driver runs; centred, until
// restorePlace puts it back where it was. Fyne 2.7 can't tell or set where
// a window is: on X11 xplace_x11.go does, elsewhere it stays centred.
func (s *Studio) placeWindow(saved settings.Window) {
	s.place = saved
	if saved == (settings.Window{}) {
		s.fitScreen = true
		s.w.Resize(fallbackSize)
	} else {
		s.w.Resize(fyne.NewSize(saved.Width, saved.Height))
	}
	s.w.CenterOnScreen()
}

// fitToScreen resizes the window to screenShare of its monitor and centres
// it. It runs on the driver's thread, where GLFW may be called, once the
// window exists and knows its scale (pixels per Fyne unit).
func (s *Studio) fitToScreen() {
	mon := glfw.GetPrimaryMonitor()
	if mon == nil {
		return
	}
	mode := mon.GetVideoMode()
	scale := s.w.Canvas().Scale()
	if mode == nil || scale <= 0 {
		return
	}
	s.w.Resize(fyne.NewSize(float32(mode.Width)*screenShare/scale, float32(mode.Height)*screenShare/scale))
	s.w.CenterOnScreen()
}

// restorePlace moves the window to where it was when last closed, if that
// is known and still on the screen. It runs on the driver's thread once
// the window is shown (and centred: Fyne centres it as it shows it).
func (s *Studio) restorePlace() {
	if s.place.Placed && !moveWindow(s.w, s.place.X, s.place.Y) {
		s.log.Info("the window's last place is not on this screen; centred", "x", s.place.X, "y", s.place.Y)
	}
}

// notePlace keeps where the window is, for Close to save. It runs on the
// UI thread every second and as the window closes: a session's logout
// (SIGTERM) stops the driver with no close of the window, and the X
// window is gone by the time Run returns, so the place saved then is the
// last one seen, at most a second old.
func (s *Studio) notePlace() {
	if x, y, ok := windowPlace(s.w); ok {
		s.place = settings.Window{X: x, Y: y, Placed: true}
	}
}
