// Package filter builds FFmpeg audio filter graphs through go-astiav: an
// abuffer source of a given format, a chain in FFmpeg's own syntax, and an
// abuffersink. The master bus (limiter, meter) and the music player
// (any file's sound to the mix format) build theirs here, so the wiring of
// a graph is written once.
package filter

import (
	"errors"
	"fmt"

	"github.com/asticode/go-astiav"
)

// Graph builds abuffer(in) → chain → abuffersink. in are abuffer's
// options (sample_rate, sample_fmt, channel_layout, time_base). The graph
// runs on one thread: the blocks are small, and the audio must not wait
// for a pool of threads the video encoder keeps busy. The caller frees
// the graph, which frees its filter contexts.
func Graph(in astiav.FilterArgs, chain string) (*astiav.FilterGraph, *astiav.FilterContext, *astiav.FilterContext, error) {
	g := astiav.AllocFilterGraph()
	if g == nil {
		return nil, nil, nil, errors.New("filter: cannot allocate a filter graph")
	}
	g.SetThreadCount(1)
	fail := func(op string, err error) (*astiav.FilterGraph, *astiav.FilterContext, *astiav.FilterContext, error) {
		g.Free()
		return nil, nil, nil, fmt.Errorf("filter: %s %q: %w", op, chain, err)
	}
	src, err := g.NewFilterContext(astiav.FindFilterByName("abuffer"), "in", in)
	if err != nil {
		return fail("abuffer", err)
	}
	sink, err := g.NewFilterContext(astiav.FindFilterByName("abuffersink"), "out", nil)
	if err != nil {
		return fail("abuffersink", err)
	}
	outs, ins := astiav.AllocFilterInOut(), astiav.AllocFilterInOut()
	defer outs.Free()
	defer ins.Free()
	outs.SetName("in")
	outs.SetFilterContext(src)
	outs.SetPadIdx(0)
	outs.SetNext(nil)
	ins.SetName("out")
	ins.SetFilterContext(sink)
	ins.SetPadIdx(0)
	ins.SetNext(nil)
	if err := g.Parse(chain, ins, outs); err != nil {
		return fail("parse", err)
	}
	if err := g.Configure(); err != nil {
		return fail("configure", err)
	}
	return g, src, sink, nil
}
