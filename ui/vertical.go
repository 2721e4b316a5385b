package ui

import (
	"image"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
)

// VerticalPreviewer is a Show that can make a vertical (9:16) program
// beside the landscape one (issue #13): the window shows it, small, to the
// right of the program's preview while it is made.
type VerticalPreviewer interface {
	// VerticalPreview is Preview for the vertical program, about 180x320:
	// frame gets its pictures only while it is made (while the show is
	// live to a vertical destination), until stop.
	VerticalPreview(frame func(img image.Image)) (stop func())
}

// verticalPane is the vertical program's preview: hidden until its first
// picture of a show, and again when the show ends. The UI thread's.
type verticalPane struct {
	frames latest
	img    *canvas.Image
	box    *fyne.Container
}

func (v *verticalPane) build() fyne.CanvasObject {
	v.img = previewImage(fyne.NewSize(153, 272))
	v.box = container.NewPadded(container.NewStack(canvas.NewRectangle(colorProgram), v.img, previewLabel(" VERTICAL ")))
	v.box.Hide()
	return container.NewCenter(v.box)
}

// onVerticalFrame is called by the media side for every picture of the
// vertical program.
func (s *Studio) onVerticalFrame(img image.Image) {
	s.vertical.frames.offer(s, img, s.drawVertical)
}

func (s *Studio) drawVertical(img image.Image) {
	if !s.live {
		return // the last picture of a show that has ended
	}
	v := &s.vertical
	v.img.Image = img
	v.img.Refresh()
	if !v.box.Visible() {
		v.box.Show()
		s.center.Refresh()
	}
}

// hideVertical takes the vertical preview away when the show ends: the
// vertical program is made only while live.
func (s *Studio) hideVertical() {
	v := &s.vertical
	if v.box != nil && v.box.Visible() {
		v.img.Image = nil
		v.box.Hide()
		s.center.Refresh()
	}
}
