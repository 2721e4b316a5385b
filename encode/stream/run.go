package stream

import (
	"context"
	"log/slog"
	"time"
)

// Session is one connection of a network output (rtmpout, srtout), used
// by Run's goroutine alone.
type Session interface {
	// Pump sends packets from the Outbox's current queue (Outbox.Send)
	// until a write fails or ctx ends, and calls live once the server has
	// taken the stream.
	Pump(ctx context.Context, live func()) error
	// Finish sends what is still queued (Outbox.Flush), ends the stream
	// cleanly and closes the connection: after Close.
	Finish()
	// Drop closes the connection at once.
	Drop()
}

// Publisher is what Run needs of a network output.
type Publisher struct {
	Box *Outbox
	Log *slog.Logger
	// Connect dials and sets a session up. Its errors are *Failure, or
	// ctx's error once ctx has ended.
	Connect func(ctx context.Context) (Session, error)
	// Lost words the error that ended a live session, with the URL's
	// secrets masked.
	Lost func(err error) error
	// Refused, if set, is the failure of a first session that ended
	// before it went live: rtmpout's servers that accept a publish and
	// then hang up on a key they refuse. A failure ends the output.
	Refused func(err error) *Failure
}

// Run is a network output's life, until ctx ends: Connecting → Live once
// the session says so → Reconnecting when it is lost (retrying after 1,
// 2, 4… at most 10 s, forever, on a fresh queue that starts at a
// keyframe) → Live again … → Closed. If the very first connection fails,
// the output goes to Failed and stays there: that failure (a refused key,
// no server) is the user's to fix, not ours to hammer. WaitLive's answer
// is closed if ctx ends first.
func Run(ctx context.Context, p Publisher, closed error) {
	defer p.Box.Settle(closed)
	var backoff Backoff
	for everLive := false; ; {
		s, err := p.Connect(ctx)
		if ctx.Err() != nil {
			if s != nil {
				s.Drop()
			}
			break
		}
		if err != nil && !everLive {
			p.fail(err)
			return
		}
		if err != nil {
			p.Log.Warn("reconnect failed", "err", err, "retry_in", backoff.Next())
		} else {
			start := time.Now()
			wasLive, live := everLive, false
			err = s.Pump(ctx, func() {
				live, everLive = true, true
				p.Box.Live(wasLive)
				p.Log.Info("live")
			})
			if ctx.Err() != nil {
				s.Finish()
				break
			}
			s.Drop()
			if !wasLive && !live && p.Refused != nil {
				p.fail(p.Refused(err))
				return
			}
			backoff.Held(time.Since(start))
			err = p.Lost(err)
			p.Log.Warn("connection lost, reconnecting", "err", err, "retry_in", backoff.Next())
		}
		p.Box.SetState(Reconnecting, err)
		p.Box.Renew()
		if !backoff.Wait(ctx) {
			break
		}
	}
	p.Box.SetState(Closed, nil)
	p.Log.Info("closed")
}

func (p Publisher) fail(err error) {
	p.Log.Error("publish failed", "err", err)
	p.Box.Fail(err)
}
