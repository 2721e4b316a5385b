//go:build !wayland && (linux || freebsd || openbsd || netbsd)

package ui

/*
#cgo LDFLAGS: -lX11
#include <X11/Xlib.h>

// frame_pos sets *x, *y to where win's frame is on the screen: the
// top-left corner of the top-level window that holds win (the window
// manager's frame, or win itself when there is none, as on Xvfb).
static int frame_pos(Display *d, Window win, int *x, int *y) {
	Window root, parent, *children, w = win, child;
	unsigned int n;
	for (;;) {
		if (!XQueryTree(d, w, &root, &parent, &children, &n)) return 0;
		if (children) XFree(children);
		if (parent == root || parent == 0) break;
		w = parent;
	}
	return XTranslateCoordinates(d, w, root, 0, 0, x, y, &child);
}

// move_on_screen moves win to x, y, where a window manager puts the
// frame's corner (ICCCM 4.1.2.3, NorthWest gravity), unless that would
// leave less than 64 pixels of it on the screen (a monitor since
// unplugged).
static int move_on_screen(Display *d, Window win, int x, int y) {
	XWindowAttributes a;
	if (!XGetWindowAttributes(d, win, &a)) return 0;
	int sw = DisplayWidth(d, DefaultScreen(d)), sh = DisplayHeight(d, DefaultScreen(d));
	if (x > sw - 64 || y > sh - 64 || x < 64 - a.width || y < 0) return 0;
	XMoveWindow(d, win, x, y);
	XFlush(d);
	return 1;
}
*/
import "C"

import (
	"fmt"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver"
)

// CheckDisplay says why no window can open here, or nil. GLFW, built for
// X11, needs an X server (XWayland on a Wayland desktop) and panics deep
// in Fyne's driver when it can't reach one, so main asks first and says it
// in words.
func CheckDisplay() error {
	if !HasDisplay() {
		return errNoDisplay
	}
	d := C.XOpenDisplay(nil)
	if d == nil {
		return fmt.Errorf("can't open the X display %q (DISPLAY; WAYLAND_DISPLAY %q): the window needs an X server, or XWayland on a Wayland desktop",
			os.Getenv("DISPLAY"), os.Getenv("WAYLAND_DISPLAY"))
	}
	C.XCloseDisplay(d)
	return nil
}

// The window's place on an X11 screen, which Fyne 2.7 can neither tell nor
// set: Xlib on its own connection to the same server, with the window's ID
// from driver.NativeWindow. Called on the UI thread only, while the window
// is open: an X call on a window already destroyed would end the program
// (Xlib's default error handler), and GLFW destroys it on that thread.

// xDisplay is the connection, opened at the first call and kept: the
// window's place is read every second (Studio.notePlace).
var xDisplay *C.Display

// windowPlace returns where w's frame is on the screen, in pixels; ok is
// false when that is not known (another driver, no X server).
func windowPlace(w fyne.Window) (x, y int, ok bool) {
	withX11Window(w, func(d *C.Display, win C.Window) {
		var cx, cy C.int
		if C.frame_pos(d, win, &cx, &cy) != 0 {
			x, y, ok = int(cx), int(cy), true
		}
	})
	return x, y, ok
}

// moveWindow puts w's frame at x, y (as windowPlace gave them) if that
// is on the screen, and says whether it did.
func moveWindow(w fyne.Window, x, y int) (moved bool) {
	withX11Window(w, func(d *C.Display, win C.Window) {
		moved = C.move_on_screen(d, win, C.int(x), C.int(y)) != 0
	})
	return moved
}

// closeX11 closes the connection, once the window is gone (Studio.Close).
func closeX11() {
	if xDisplay != nil {
		C.XCloseDisplay(xDisplay)
		xDisplay = nil
	}
}

func withX11Window(w fyne.Window, f func(*C.Display, C.Window)) {
	nw, ok := w.(driver.NativeWindow)
	if !ok {
		return // Fyne's test driver
	}
	nw.RunNative(func(ctx any) {
		x11, ok := ctx.(driver.X11WindowContext)
		if !ok || x11.WindowHandle == 0 { // not shown yet, or closing
			return
		}
		if xDisplay == nil {
			if xDisplay = C.XOpenDisplay(nil); xDisplay == nil {
				return
			}
		}
		f(xDisplay, C.Window(x11.WindowHandle))
	})
}
