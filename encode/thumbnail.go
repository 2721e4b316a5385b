package encode

import (
	"image"
	"time"

	"greenroom/encode/scene"
	"greenroom/encode/shim"
)

// thumbnails is the goroutine behind SetThumbnails. It reads the inputs'
// slots on a ticker of its own, not in the video stage: a thumbnail costs
// the compositor nothing, and a slow consumer only delays thumbnails.
type thumbnails struct {
	w, h  int
	fps   int // as asked for
	every time.Duration
	fn    func(name string, img *image.RGBA)
	stop  chan struct{}
	done  chan struct{}
}

// thumb is one input's thumbnail state, owned by the thumbnail goroutine.
type thumb struct {
	scaler shim.Scaler
	img    *image.RGBA
	view   image.YCbCr // the cropped part of the picture, over its pixels
	frames int64       // the slot's picture count at the last thumbnail
	seen   int64       // the last round the input was there
	given  bool        // fn has had a thumbnail of it
}

// SetThumbnails hands fn a w×h RGBA picture of every input about fps times
// a second — hidden inputs too — from a goroutine of its own, until the
// pipeline closes or SetThumbnails is called again (fn nil: no more
// thumbnails). Pictures are cropped to w×h's shape (as a tile that is not
// letterboxed), not letterboxed. An input that has no picture yet, or no
// new one since its last thumbnail, is skipped. img is the input's own
// buffer, written again for its next thumbnail: fn must copy what it keeps.
// An input that had thumbnails and leaves the program (Close) gets one last
// call with img nil. When SetThumbnails returns, the fn it replaced is no
// longer called.
func (p *Pipeline) SetThumbnails(w, h, fps int, fn func(name string, img *image.RGBA)) {
	p.thumbMu.Lock()
	defer p.thumbMu.Unlock()
	p.setThumbnailsLocked(w, h, fps, fn)
}

// retimeThumbnails starts the thumbnails again at the program's frame
// rate, after Reconfigure.
func (p *Pipeline) retimeThumbnails() {
	p.thumbMu.Lock()
	defer p.thumbMu.Unlock()
	if th := p.thumbs; th != nil {
		p.setThumbnailsLocked(th.w, th.h, th.fps, th.fn)
	}
}

func (p *Pipeline) setThumbnailsLocked(w, h, fps int, fn func(name string, img *image.RGBA)) {
	p.stopThumbnailsLocked()
	if fn == nil || w < 1 || h < 1 || fps < 1 || p.ctx.Err() != nil {
		return
	}
	th := &thumbnails{
		w: w, h: h, fps: fps, fn: fn,
		every: time.Second / time.Duration(min(fps, p.Config().FPS)),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	p.thumbs = th
	go th.run(p)
}

func (p *Pipeline) stopThumbnails() {
	p.thumbMu.Lock()
	defer p.thumbMu.Unlock()
	p.stopThumbnailsLocked()
}

func (p *Pipeline) stopThumbnailsLocked() {
	if th := p.thumbs; th != nil {
		close(th.stop)
		<-th.done
		p.thumbs = nil
	}
}

func (th *thumbnails) run(p *Pipeline) {
	defer close(th.done)
	tick := time.NewTicker(th.every)
	defer tick.Stop()
	thumbs := map[*Input]*thumb{}
	defer func() {
		for _, t := range thumbs {
			t.scaler.Close()
		}
	}()
	var inputs []*Input
	for round := int64(1); ; round++ {
		select {
		case <-tick.C:
		case <-th.stop:
			return
		case <-p.ctx.Done():
			return
		}
		inputs = p.snapshotInputs(inputs)
		for _, in := range inputs {
			if t := thumbs[in]; t != nil {
				t.seen = round
			}
		}
		// Inputs that left first: one that came back under the same name
		// (a guest who reconnected) is not blanked after its new picture.
		for in, t := range thumbs {
			if t.seen != round {
				t.scaler.Close()
				delete(thumbs, in)
				if t.given {
					th.fn(in.Video.Name, nil)
				}
			}
		}
		for _, in := range inputs {
			t := thumbs[in]
			if t == nil {
				t = &thumb{img: shim.NewRGBA(th.w, th.h), seen: round} // swscale may write past the last row
				thumbs[in] = t
			}
			if th.render(in, t) {
				t.given = true
				th.fn(in.Video.Name, t.img)
			}
		}
	}
}

// render scales in's newest picture into t.img; false if there is none, or
// none new.
func (th *thumbnails) render(in *Input, t *thumb) bool {
	n := in.Video.Frames()
	if n == t.frames {
		return false
	}
	f := in.Video.Take()
	if f == nil {
		return false
	}
	defer f.Release()
	t.frames = n
	crop := scene.Crop(f.Rect.Size(), t.img.Rect).Add(f.Rect.Min)
	if crop.Empty() {
		return false
	}
	// A view of the crop over the picture's own pixels, as SubImage makes
	// one but without allocating: crop's corner is even (scene.Crop), so
	// chroma lines up.
	yi, ci := f.YOffset(crop.Min.X, crop.Min.Y), f.COffset(crop.Min.X, crop.Min.Y)
	t.view = image.YCbCr{
		Y: f.Y[yi:], Cb: f.Cb[ci:], Cr: f.Cr[ci:],
		YStride: f.YStride, CStride: f.CStride, SubsampleRatio: f.SubsampleRatio, Rect: crop,
	}
	err := t.scaler.ScaleRGBA(&t.view, t.img)
	t.view = image.YCbCr{} // holds no pixels of a frame back in its pool
	return err == nil
}
