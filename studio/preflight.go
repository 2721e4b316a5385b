package studio

import (
	"context"
	"errors"

	"time"

	"greenroom/encode"
	"greenroom/encode/publish"
	"greenroom/encode/stream"
	"greenroom/studio/presets"
)

// DestinationCheck is how one destination answered a preflight (issue
// #13): dialled and the publish tried, no media sent.
type DestinationCheck struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Vertical: it is sent the vertical (9:16) program, whose format its
	// warnings are about.
	Vertical bool `json:"vertical,omitempty"`
	// Problem is what is wrong, in a sentence that names the destination
	// ("Twitch: the server refused the stream key: …"); never the key.
	Problem string `json:"problem,omitempty"`
	// Summary is the problem in a few words, naming the destination by
	// the creator's name for it ("Twitch refused the stream key"): the
	// headline a window shows above Problem.
	Summary string `json:"summary,omitempty"`
	// Warnings are what in the program's format the destination's
	// platform would refuse (its preset's Check): the window's warnings,
	// given to the API and the CLI too. They do not make OK false.
	Warnings []string `json:"warnings,omitempty"`
}

// Check tries, all at once, every destination the next go-live would
// publish to, without going live: a refused key, a DNS or TLS failure, a
// server that does not answer become a sentence each. It takes as long as
// the slowest, a few seconds at most (rtmpout.Check, srtout.Check), or until ctx ends.
func (p *Program) Check(ctx context.Context) []DestinationCheck {
	p.mu.Lock()
	dests := p.dests
	p.mu.Unlock()
	format := p.Format()
	cfgs := make([]publish.Config, len(dests))
	for i, d := range dests {
		cfgs[i] = publish.Config{URL: d.URL}
	}
	checks := make([]DestinationCheck, len(dests))
	for i, err := range publish.CheckAll(ctx, cfgs) {
		d := dests[i]
		f := format
		if d.Vertical {
			f = VerticalFormat(f)
		}
		checks[i] = DestinationCheck{ID: d.ID, Name: d.String(), OK: err == nil, Vertical: d.Vertical,
			Warnings: presets.For(d.Preset, d.URL).Check(f)}
		if err != nil {
			checks[i].Problem = d.String() + ": " + stream.Reason(err)
			checks[i].Summary = summary(d.Name, err)
		}
	}
	return checks
}

// Format is the program's output as the presets check it (FormatOf).
func (p *Program) Format() presets.Format { return FormatOf(p.pipe.Config()) }

// FormatOf is a program's output as the presets check it: the encoder's
// size, frame rate and video bit rate, and its 2 s keyframe interval
// (encode/codec's, fixed). live --check words its warnings with it too.
func FormatOf(c encode.Config) presets.Format {
	c = c.WithDefaults()
	return presets.Format{Width: c.Width, Height: c.Height, FPS: c.FPS, VideoKbps: c.VideoBitRate / 1000, Keyframe: 2 * time.Second}
}

// VerticalFormat is the vertical program's format beside the landscape
// program f (encode.VerticalSize: 720x1280 beside 720p, 1080x1920 beside
// 1080p), the rest the same: what a vertical destination is checked
// against.
func VerticalFormat(f presets.Format) presets.Format {
	f.Width, f.Height = encode.VerticalSize(f.Width, f.Height)
	return f
}

// summary words a failed check by what the host does about it: a refused
// key is copied again, a refused session or an unreachable server is the
// URL or the network.
func summary(name string, err error) string {
	if name == "" {
		name = "The destination"
	}
	switch {
	case errors.Is(err, stream.ErrKeyRejected):
		return name + " refused the stream key"
	case errors.Is(err, stream.ErrRefused):
		return name + " turned the connection away"
	case errors.Is(err, stream.ErrUnreachable):
		return name + " could not be reached"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return name + " did not answer in time"
	}
	return name + " could not be checked"
}
