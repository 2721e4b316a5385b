package srtout

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/encode/stream"
)

const (
	testStreamID   = "live/stream-id-secret"
	testPassphrase = "pass-phrase-secret"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in, redacted, err string
	}{
		{in: "srt://ingest.example.com:9000?streamid=" + testStreamID + "&passphrase=" + testPassphrase + "&latency=2000000",
			redacted: "srt://ingest.example.com:9000?streamid=****&passphrase=****&latency=2000000"},
		{in: "SRT://127.0.0.1:9000", redacted: "srt://127.0.0.1:9000"},
		{in: "srt://[::1]:9000/?streamid=" + testStreamID, redacted: "srt://[::1]:9000?streamid=****"},
		{in: "srt://example.com?streamid=" + testStreamID, err: "port"},
		{in: "srt://example.com:99999", err: "port"},
		{in: "rtmp://example.com:9000", err: "srt://"},
		{in: "srt://example.com:9000/live?streamid=" + testStreamID, err: "path"},
		{in: "srt://example.com:9000?mode=listener&streamid=" + testStreamID, err: "caller"},
		{in: "srt://example.com:9000?passphrase=short-key", err: "10 to 79"},
	} {
		got, err := ParseURL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseURL(%q) = %v, want an error with %q", tc.in, err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("ParseURL(%q): a secret in %q", tc.in, err)
			}
			continue
		}
		if err != nil || got.Redacted() != tc.redacted {
			t.Errorf("ParseURL(%q) = %q, %v; want %q", tc.in, got.Redacted(), err, tc.redacted)
		}
	}
}

// A preflight against Haivision's own SRT listener: the right passphrase is
// taken, a wrong one or none is a refusal in words (in well under the
// timeout), nothing listening is "no answer" after it, an unknown host is
// said so; no secret in any of them.
func TestCheck(t *testing.T) {
	s := mediatest.StartSRTServer(t, testPassphrase)
	free := mediatest.FreeUDPPort(t)
	const timeout = 1500 * time.Millisecond
	for _, tc := range []struct {
		name, url string
		kind      error
		reason    string
	}{
		{"right passphrase", s.URL(testStreamID, ""), nil, ""},
		{"wrong passphrase", s.URL(testStreamID, "wrong-"+testPassphrase), stream.ErrKeyRejected, "rejected the connection"},
		{"no passphrase", "srt://127.0.0.1:" + strconv.Itoa(s.Port) + "?streamid=" + testStreamID, stream.ErrKeyRejected, "a wrong streamid or passphrase?"},
		{"nothing listens", "srt://127.0.0.1:" + strconv.Itoa(free) + "?streamid=" + testStreamID, stream.ErrUnreachable, "no SRT answer from 127.0.0.1:" + strconv.Itoa(free)},
		{"unknown host", "srt://no-such-host.invalid:9000?streamid=" + testStreamID, stream.ErrUnreachable, "cannot find the server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := Check(context.Background(), Config{URL: tc.url, DialTimeout: timeout})
			took := time.Since(start)
			t.Logf("%v after %v", err, took.Round(time.Millisecond))
			if tc.kind == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			var f *stream.Failure
			if !errors.Is(err, tc.kind) || !errors.As(err, &f) || !strings.Contains(f.Reason, tc.reason) {
				t.Errorf("Check = %v, want %v saying %q", err, tc.kind, tc.reason)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("a secret in %q", err)
			}
			if took > timeout+time.Second {
				t.Errorf("took %v, want within the %v timeout", took, timeout)
			}
		})
	}
}
