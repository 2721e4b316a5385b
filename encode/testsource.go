package encode

import (
	"context"
	"time"

	"greenroom/encode/mixer"
	"greenroom/encode/testpattern"
)

// AddTestPattern adds the built-in test-pattern source (w×h at the program
// frame rate) and starts feeding it on the program clock until the input
// or the pipeline is closed.
//
// The generator renders frame n half a frame before the video stage's tick
// n, placed at that tick, so every tick finds exactly its own frame, and
// writes its sound a little ahead with the media time it belongs at, so
// the beep that starts second s is mixed at second s however late the
// generator started: flash and beep leave the pipeline together.
func (p *Pipeline) AddTestPattern(name string, w, h int) (*Input, error) {
	return p.AddTestPatternWith(name, w, h, nil)
}

// AddTestPatternWith is AddTestPattern that also feeds also (the host's
// conference feed), if not nil.
func (p *Pipeline) AddTestPatternWith(name string, w, h int, also Target) (*Input, error) {
	if _, err := testpattern.New(w, h, p.Config().FPS); err != nil {
		return nil, err // before the input shows in the program
	}
	in := p.AddInput(name)
	var target Target = in
	if also != nil {
		target = Tee(in, also)
	}
	stop, err := p.StartTestPattern(w, h, target)
	if err != nil {
		in.Close()
		return nil, err
	}
	in.stop = stop
	return in, nil
}

// StartTestPattern feeds the test pattern (w×h at the program frame rate)
// into target on the program clock, from the program's present moment, until
// stop (which waits for it) or the pipeline's Close. The host's source uses
// it to switch between the pattern and a camera while its input stays in the
// program, in its place.
func (p *Pipeline) StartTestPattern(w, h int, target Target) (stop func(), err error) {
	fps := p.Config().FPS
	pat, err := testpattern.New(w, h, fps)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(p.ctx)
	done := make(chan struct{})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(done)
		p.runTestPattern(ctx, target, pat, fps)
	}()
	return func() { cancel(); <-done }, nil
}

func (p *Pipeline) runTestPattern(ctx context.Context, in Target, pat *testpattern.Pattern, fps int) {
	interval := time.Second / time.Duration(fps)
	const audioStep = 10 * time.Millisecond
	lead := mixer.DefaultPrebuffer + 2*audioStep
	buf := make([]float32, 2*int(audioStep*mixer.Rate/time.Second))
	// The next frame and sample: from the frame under way now, which is
	// frame 0 for a pattern that starts with the pipeline.
	n := int64(p.clock.Now() / interval)
	sample := int64((time.Duration(n) * interval).Seconds() * mixer.Rate)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		now := p.clock.Now()
		// Video: every frame whose (early) time has come.
		for time.Duration(n)*interval-interval/2 <= now {
			if late := now - time.Duration(n)*interval; late > interval {
				n += int64(late / interval) // skip what nobody will show
			}
			// At its own tick: a render of the tick before that runs
			// late, on a loaded machine, does not take it a frame early.
			// Pattern frames come from the pattern's own pool.
			writeVideo(in, pat.Frame(n), time.Duration(n)*interval)
			n++
		}
		// Audio: keep the track filled up to now + lead.
		for time.Duration(sample)*time.Second/mixer.Rate < now+lead {
			pat.Audio(buf, sample, mixer.Rate)
			at := time.Duration(sample) * time.Second / mixer.Rate
			if err := writeAudio(in, buf, mixer.Rate, mixer.Channels, at); err != nil {
				p.log.Error("test pattern audio", "err", err)
				return
			}
			sample += int64(len(buf) / 2)
		}
		next := min(time.Duration(n)*interval-interval/2, now+audioStep)
		timer.Reset(time.Until(p.clock.At(next)))
		select {
		case <-timer.C:
		case <-ctx.Done():
			return
		}
	}
}
