// Package publish picks the publisher for a destination's URL: rtmpout
// for rtmp:// and rtmps://, srtout for srt:// (issue #13). Callers that
// take a URL from the user (the CLI, the studio's destinations, the
// preflight) go through it, so every protocol is validated, redacted,
// published and checked alike.
//
// It owns no connection itself; the outputs do.
package publish

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"greenroom/encode/rtmpout"
	"greenroom/encode/srtout"
	"greenroom/encode/stream"
)

// Config describes one destination; see rtmpout.Config and srtout.Config.
type Config struct {
	Name string
	// URL holds the stream key (or SRT streamid and passphrase): never
	// log it.
	URL         string
	Info        stream.Info
	Logger      *slog.Logger
	DialTimeout time.Duration // 5 s if 0
}

// Output is a network output: a stream.Output that can say how its first
// connection went (nil: live; else a *stream.Failure).
type Output interface {
	stream.Output
	WaitLive(ctx context.Context) error
}

// IsSRT is whether url is an srt:// one.
func IsSRT(url string) bool {
	scheme, _, _ := strings.Cut(strings.TrimSpace(url), "://")
	return strings.EqualFold(scheme, "srt")
}

// Redacted validates url and returns it with its secrets masked, for logs,
// errors and names. Its errors never contain a secret.
func Redacted(url string) (string, error) {
	if IsSRT(url) {
		t, err := srtout.ParseURL(url)
		return t.Redacted(), err
	}
	t, err := rtmpout.ParseURL(url)
	if err != nil {
		return "", err
	}
	return t.Redacted(), nil
}

// New starts publishing to cfg.URL in the background.
func New(cfg Config) (Output, error) {
	// Each branch returns its own nil on error: a nil *Output in an
	// Output interface would not be nil.
	if IsSRT(cfg.URL) {
		o, err := srtout.New(srtout.Config{Name: cfg.Name, URL: cfg.URL, Info: cfg.Info, Logger: cfg.Logger, DialTimeout: cfg.DialTimeout})
		if err != nil {
			return nil, err
		}
		return o, nil
	}
	o, err := rtmpout.New(rtmpout.Config{Name: cfg.Name, URL: cfg.URL, Info: cfg.Info, Logger: cfg.Logger, DialTimeout: cfg.DialTimeout})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// Check is a preflight of one destination: rtmpout.Check or srtout.Check.
func Check(ctx context.Context, cfg Config) error {
	if IsSRT(cfg.URL) {
		return srtout.Check(ctx, srtout.Config{URL: cfg.URL, DialTimeout: cfg.DialTimeout})
	}
	return rtmpout.Check(ctx, rtmpout.Config{URL: cfg.URL, DialTimeout: cfg.DialTimeout})
}

// CheckAll checks every destination at once and returns their results in
// cfgs' order: a preflight of four takes as long as the slowest.
func CheckAll(ctx context.Context, cfgs []Config) []error {
	return stream.AllAtOnce(len(cfgs), func(i int) error { return Check(ctx, cfgs[i]) })
}
