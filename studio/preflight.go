package studio

import (
	"context"

	"greenroom/encode/rtmpout"
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
}

// Check tries, all at once, every destination the next go-live would
// publish to, without going live: a refused key, a DNS or TLS failure, a
// server that does not answer become a sentence each. It takes as long as
// the slowest, a few seconds at most (rtmpout.Check), or until ctx ends.
func (p *Program) Check(ctx context.Context) []DestinationCheck {
	p.mu.Lock()
	dests := p.dests
	p.mu.Unlock()
	cfgs := make([]rtmpout.Config, len(dests))
	for i, d := range dests {
		cfgs[i] = rtmpout.Config{URL: d.URL}
	}
	checks := make([]DestinationCheck, len(dests))
	for i, err := range rtmpout.CheckAll(ctx, cfgs) {
		d := dests[i]
		checks[i] = DestinationCheck{ID: d.ID, Name: d.String(), OK: err == nil}
		if err != nil {
			checks[i].Problem = d.String() + ": " + rtmpout.Reason(err)
		}
	}
	return checks
}
