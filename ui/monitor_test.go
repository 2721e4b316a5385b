package ui

import (
	"fmt"
	"image"
	"image/color"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio"
)

func (f *fakeShow) Thumbnails(frame func(string, image.Image)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.thumb = frame
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.thumb = nil
	}
}

// sendThumb delivers a thumbnail as the media side does.
func (f *fakeShow) sendThumb(id string, img image.Image) {
	f.mu.Lock()
	frame := f.thumb
	f.mu.Unlock()
	if frame != nil {
		frame(id, img)
	}
}

func (f *fakeShow) Levels() map[string]float32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.levels
}

func (f *fakeShow) setLevels(l map[string]float32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.levels = l
}

func (f *fakeShow) SetMuted(id string, on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mutes = append(f.mutes, fmt.Sprintf("%s %v", id, on))
	return f.muteErr
}

func (f *fakeShow) muteCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.mutes...)
}

var _ Monitor = (*fakeShow)(nil)

// bareShow hides every optional interface of the Show inside it.
type bareShow struct{ Show }

func thumbImage(c color.Color) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 160, 90))
	for y := range 90 {
		for x := range 160 {
			img.Set(x, y, c)
		}
	}
	return img
}

func TestCardsTidy(t *testing.T) {
	for name, show := range map[string]func(*fakeShow) Show{
		"monitor": func(f *fakeShow) Show { return f },
		"bare":    func(f *fakeShow) Show { return bareShow{f} },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake()
			f.state.Participants[1].Place = studio.PlaceStage
			s, _ := openShow(t, show(f), nil)
			for id, c := range s.cards {
				if got := c.box.MinSize(); got.Width != cardWidth || got.Height != cardHeight {
					t.Errorf("%s's card is %v, not %vx%v", id, got, cardWidth, cardHeight)
				}
			}
		})
	}
}

// TestThumbnails: a picture delivered for a participant becomes their
// card's picture in place of the initials; nil brings the initials back;
// closing the window stops the thumbnails.
func TestThumbnails(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	c := s.cards["g1"]
	if c.thumb.Visible() || !c.avatar.Visible() {
		t.Fatal("a card shows a picture before one came")
	}
	img := thumbImage(color.RGBA{0x20, 0x80, 0x40, 0xff})
	f.sendThumb("g1", img)
	eventually(t, s, "Ann's picture on her card", func() bool { return c.thumb.Image == img })
	if !c.thumb.Visible() || c.avatar.Visible() {
		t.Error("the picture came but the initials still show")
	}
	if h := s.cards[studio.HostID]; h.thumb.Visible() || h.thumb.Image != nil {
		t.Error("Ann's picture is on the host's card too")
	}
	f.sendThumb("g1", nil)
	eventually(t, s, "Ann's initials again", func() bool { return c.avatar.Visible() })
	if c.thumb.Visible() {
		t.Error("the last picture stays after the camera went")
	}
	s.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.thumb != nil {
		t.Error("Close did not stop the thumbnails")
	}
}

// TestWithoutMonitor: a show without Monitor or ScreenSharer gets the
// window as before — initials, no mute buttons, a meter on the host's card
// only, no Share screen.
func TestWithoutMonitor(t *testing.T) {
	f := newFake()
	s, _ := openShow(t, bareShow{f}, nil)
	f.mu.Lock()
	called := f.thumb != nil
	f.mu.Unlock()
	if called {
		t.Error("Thumbnails called on a show without Monitor")
	}
	for id, c := range s.cards {
		if c.mute != nil || c.thumb.Visible() || !c.avatar.Visible() {
			t.Errorf("%s's card: mute button %v, picture shown %v", id, c.mute != nil, c.thumb.Visible())
		}
	}
	if s.cards["g1"].level != nil || s.cards[studio.HostID].level == nil {
		t.Error("without Monitor only the host's card has a meter")
	}
}

var _ = widget.HighImportance
var _ = test.Tap
