package compositor

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"greenroom/encode/scene"
)

// twin keeps, for every slot of a cast, a second Frame with the same
// picture, so a source can be made to send a new Frame at every tick
// without its picture changing (as a camera filming a still scene does).
type twin struct {
	cs   *cast
	pics [][2]*Frame
}

func newTwin(cs *cast, w, h func(i int) int) *twin {
	tw := &twin{cs: cs}
	for i, s := range cs.slots {
		a := s.Take()
		tw.pics = append(tw.pics, [2]*Frame{a, person(&cs.pool, i, w(i), h(i))})
	}
	return tw
}

// put gives every slot its picture in the n-th of its two Frames.
func (tw *twin) put(n int) {
	for i, s := range tw.cs.slots {
		s.Put(tw.pics[i][n%2].Retain())
	}
}

func castSize(i int) (int, int) {
	if i%4 == 3 {
		return 640, 480
	}
	return 1280, 720
}

// TestRepeatedPictureDrawsTheSame: a source that gives the same Frame at
// several ticks (slower than the program) has it copied from what the
// tile kept scaled, and the program is byte for byte the one a source
// sending a new Frame of the same picture at every tick gives — with
// tiles over tiles (picture-in-picture), name tags, a banner; and when its
// picture changes, the new one shows at once.
func TestRepeatedPictureDrawsTheSame(t *testing.T) {
	w := func(i int) int { x, _ := castSize(i); return x }
	h := func(i int) int { _, y := castSize(i); return y }
	for _, layout := range []string{scene.PiP, scene.Grid} {
		t.Run(layout, func(t *testing.T) {
			still, moving := newCast(4), newCast(4)
			tw := newTwin(moving, w, h)
			sc := scene.Scene{Layout: layout, Main: "p1", Names: still.names, Banner: "Live from the Greenroom"}
			a, b := New(720, 1280), New(720, 1280)
			defer a.Close()
			defer b.Close()
			for _, c := range []*Compositor{a, b} {
				c.StallAfter = time.Hour
				if err := c.SetScene(sc); err != nil {
					t.Fatal(err)
				}
			}
			t0 := time.Now()
			for tick := range 16 {
				at := t0.Add(scene.TransitionTime + time.Duration(tick)*33*time.Millisecond)
				if tick == 10 { // both sources' pictures change
					for i, s := range still.slots {
						s.Put(solid(&still.pool, w(i), h(i), YCbCr{Y: uint8(100 + 10*i), Cb: 110, Cr: 140}))
					}
					for i := range tw.pics {
						for k := range 2 {
							tw.pics[i][k].Release()
							tw.pics[i][k] = solid(&moving.pool, w(i), h(i), YCbCr{Y: uint8(100 + 10*i), Cb: 110, Cr: 140})
						}
					}
				}
				tw.put(tick)
				got, err := a.Render(still.slots, at)
				if err != nil {
					t.Fatal(err)
				}
				want, err := b.Render(moving.slots, at)
				if err != nil {
					t.Fatal(err)
				}
				for p, planes := range [3][2][]uint8{{got.Y, want.Y}, {got.Cb, want.Cb}, {got.Cr, want.Cr}} {
					if !bytes.Equal(planes[0], planes[1]) {
						t.Fatalf("tick %d: plane %d differs from the program of a source sending new Frames", tick, p)
					}
				}
			}
			kept := 0
			for _, tl := range a.tiles {
				if tl.scaledOf != nil {
					kept++
				}
			}
			if kept == 0 {
				t.Error("no tile kept its scaled picture for a source that repeats")
			}
			for _, tl := range b.tiles {
				if tl.scaled != nil {
					t.Error("a tile kept a scaled picture for a source with a new Frame at every tick")
				}
			}
			for i := range tw.pics {
				tw.pics[i][0].Release()
				tw.pics[i][1].Release()
			}
		})
	}
}

// BenchmarkRenderPortraitSolo: the vertical program's usual picture (issue
// #13), the host's 1920x1080 camera cropped and enlarged into a 1080x1920
// portrait program, with a new picture at every tick (a 30 fps source)
// and at every other tick (15 fps: a webcam in low light, a guest's
// picture under a tight uplink), against one held (a stalled source).
func BenchmarkRenderPortraitSolo(b *testing.B) {
	for _, every := range []int{1, 2, 0} {
		name := fmt.Sprintf("new-every-%d", every)
		if every == 0 {
			name = "held"
		}
		b.Run(name, func(b *testing.B) {
			var pool Pool
			s := NewSlot("host")
			s.Put(person(&pool, 0, 1920, 1080))
			tw := newTwin(&cast{slots: []*Slot{s}}, func(int) int { return 1920 }, func(int) int { return 1080 })
			c := New(1080, 1920)
			defer c.Close()
			c.StallAfter = time.Hour
			c.SetScene(scene.Scene{Layout: scene.Solo, Names: map[string]string{"host": "Ann Lee"}})
			now := time.Now()
			c.Render(tw.cs.slots, now)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if every > 0 && i%every == 0 {
					tw.put(i / every)
				}
				if _, err := c.Render(tw.cs.slots, now); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
