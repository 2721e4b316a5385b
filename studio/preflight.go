package studio

import (
	"context"
	"errors"

	"greenroom/encode/publish"
	"greenroom/encode/stream"
)

// DestinationCheck is how one destination answered a preflight (issue
// #13): dialled and the publish tried, no media sent.
type DestinationCheck struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Problem is what is wrong, in a sentence that names the destination
	// ("Twitch: the server refused the stream key: …"); never the key.
	Problem string `json:"problem,omitempty"`
	// Summary is the problem in a few words, naming the destination by
	// the creator's name for it ("Twitch refused the stream key"): the
	// headline a window shows above Problem.
	Summary string `json:"summary,omitempty"`
}

// Check tries, all at once, every destination the next go-live would
// publish to, without going live: a refused key, a DNS or TLS failure, a
// server that does not answer become a sentence each. It takes as long as
// the slowest, a few seconds at most (rtmpout.Check, srtout.Check), or until ctx ends.
func (p *Program) Check(ctx context.Context) []DestinationCheck {
	p.mu.Lock()
	dests := p.dests
	p.mu.Unlock()
	cfgs := make([]publish.Config, len(dests))
	for i, d := range dests {
		cfgs[i] = publish.Config{URL: d.URL}
	}
	checks := make([]DestinationCheck, len(dests))
	for i, err := range publish.CheckAll(ctx, cfgs) {
		d := dests[i]
		checks[i] = DestinationCheck{ID: d.ID, Name: d.String(), OK: err == nil}
		if err != nil {
			checks[i].Problem = d.String() + ": " + stream.Reason(err)
			checks[i].Summary = summary(d.Name, err)
		}
	}
	return checks
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
