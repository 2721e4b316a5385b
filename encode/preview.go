package encode

import (
	"image"
	"sync"

	"greenroom/encode/shim"
)

// preview hands a small RGBA copy of the program to the GUI. The video
// stage scales into one of three buffers and posts it to a one-slot
// mailbox; the preview goroutine calls the consumer. A slow consumer only
// misses frames. Three buffers are enough that the stage never writes the
// one being consumed nor the one waiting. mu guards busy and waiting.
type preview struct {
	fn      func(*image.RGBA)
	fps     int   // as asked for
	every   int64 // render one preview per this many program frames; the video stage's
	scaler  shim.Scaler
	bufs    [3]*image.RGBA
	mu      sync.Mutex
	busy    int // index the consumer holds, -1 for none
	waiting int // index in the mailbox, -1 for none
	mailbox chan int
	done    chan struct{}
}

// SetPreview delivers a w×h RGBA copy of the program to fn about fps times a
// second, on a goroutine of its own, until the pipeline closes. fn must not
// keep the image after it returns. Call it once, before or while running.
func (p *Pipeline) SetPreview(w, h, fps int, fn func(*image.RGBA)) {
	p.startPreview(&p.preview, w, h, fps, fn)
}

// SetVerticalPreview is SetPreview for the vertical program (issue #13):
// fn gets a w×h copy of it about fps times a second while it is made
// (while it has outputs, see AddVerticalOutput), nothing otherwise, across
// Reconfigure (the vertical program opens again at its new size, scaled to
// w×h all the same).
func (p *Pipeline) SetVerticalPreview(w, h, fps int, fn func(*image.RGBA)) {
	p.startPreview(&p.vpreview, w, h, fps, fn)
}

// startPreview starts the preview of a program that the video stage
// offers in *slot (p.preview or p.vpreview), guarded by p.mu.
func (p *Pipeline) startPreview(slot **preview, w, h, fps int, fn func(*image.RGBA)) {
	pv := &preview{
		fn:      fn,
		fps:     fps,
		busy:    -1,
		waiting: -1,
		mailbox: make(chan int, 1),
		done:    make(chan struct{}),
	}
	for i := range pv.bufs {
		pv.bufs[i] = shim.NewRGBA(w, h) // swscale may write a little past the last row
	}
	p.mu.Lock()
	if *slot != nil {
		p.mu.Unlock()
		panic("encode: a preview set twice")
	}
	pv.every = pv.everyFor(p.cfg.FPS) // under mu, as Reconfigure changes both
	*slot = pv
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		pv.run(p)
	}()
}

// everyFor is every for a program of fps frames a second.
func (pv *preview) everyFor(fps int) int64 { return max(1, int64(fps/max(1, pv.fps))) }

func (pv *preview) run(p *Pipeline) {
	defer close(pv.done)
	for {
		select {
		case i := <-pv.mailbox:
			pv.mu.Lock()
			pv.busy, pv.waiting = i, -1
			pv.mu.Unlock()
			pv.fn(pv.bufs[i])
			pv.mu.Lock()
			pv.busy = -1
			pv.mu.Unlock()
		case <-p.ctx.Done():
			return
		}
	}
}

// offer is called by the video stage with the frame just rendered.
func (pv *preview) offer(n int64, canvas *image.YCbCr) {
	if n%pv.every != 0 {
		return
	}
	pv.mu.Lock()
	i := 0
	for i == pv.busy || i == pv.waiting {
		i++
	}
	pv.mu.Unlock()
	if err := pv.scaler.ScaleRGBA(canvas, pv.bufs[i]); err != nil {
		return
	}
	pv.mu.Lock()
	defer pv.mu.Unlock()
	select {
	case <-pv.mailbox: // replace the older waiting frame
	default:
	}
	pv.waiting = i
	pv.mailbox <- i
}

func (pv *preview) close() {
	<-pv.done
	pv.scaler.Close()
}
