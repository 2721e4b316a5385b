//go:build wayland || !(linux || freebsd || openbsd || netbsd)

package ui

import "fyne.io/fyne/v2"

// Elsewhere than X11 the window's place is the desktop's to choose (Wayland
// lets no program place its windows) or not yet written (macOS, Windows):
// the window opens centred.

// CheckDisplay says why no window can open here, or nil.
func CheckDisplay() error {
	if !HasDisplay() {
		return errNoDisplay
	}
	return nil
}

func windowPlace(fyne.Window) (x, y int, ok bool) { return 0, 0, false }

func moveWindow(fyne.Window, int, int) bool { return false }

func closeX11() {}
