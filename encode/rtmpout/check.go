package rtmpout

import (
	"context"
	"fmt"
	"time"

	"greenroom/encode/stream"
)

// Check is a preflight (issue #13): it dials cfg's destination and tries
// the publish the way an Output would — handshake, connect, createStream,
// publish — then holds the stream for the second a server may take to
// change its mind (liveProbation), unpublishes and hangs up. It sends no
// media. It returns nil if a Go Live now would be taken, else a *Failure
// saying why not (or ctx's error). It takes at most cfg.DialTimeout plus
// a second and a half.
func Check(ctx context.Context, cfg Config) error {
	t, err := ParseURL(cfg.URL)
	if err != nil {
		return fmt.Errorf("rtmpout: %w", err)
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = defaultDialTimeout
	}
	s, err := connect(ctx, t, cfg)
	if err != nil {
		return err
	}
	defer s.close()
	probation := time.NewTimer(liveProbation)
	defer probation.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-probation.C:
			bye, cancel := context.WithTimeout(ctx, flushTimeout/4)
			defer cancel()
			s.unpublish(bye)
			return nil
		case m := <-s.msgs:
			if err := s.handle(ctx, m); err != nil {
				return endedOnProbation(t, err)
			}
		}
	}
}

// CheckAll checks every destination at once and returns their results in
// cfgs' order: a preflight of four takes as long as the slowest.
func CheckAll(ctx context.Context, cfgs []Config) []error {
	return stream.AllAtOnce(len(cfgs), func(i int) error { return Check(ctx, cfgs[i]) })
}

// Reason is err in a sentence for a person, without the "rtmpout: publish
// to URL" prefix (stream.Reason).
func Reason(err error) string { return stream.Reason(err) }
