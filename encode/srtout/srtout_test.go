package srtout

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

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
		{"wrong passphrase", s.URL(testStreamID, "wrong-"+testPassphrase), stream.ErrKeyRejected, "rejected the connection"},
		{"no passphrase", "srt://127.0.0.1:" + strconv.Itoa(s.Port) + "?streamid=" + testStreamID, stream.ErrKeyRejected, "a wrong streamid or passphrase?"},
		{"nothing listens", "srt://127.0.0.1:" + strconv.Itoa(free) + "?streamid=" + testStreamID, stream.ErrUnreachable, "no SRT answer from 127.0.0.1:" + strconv.Itoa(free)},
		{"unknown host", "srt://no-such-host.invalid:9000?streamid=" + testStreamID, stream.ErrUnreachable, "cannot find the server"},
		// Last: a caller that connects and goes at once breaks
		// srt-live-transmit's one connection, and it listens again only
		// some time later ("ConfigurePost: Connection was broken"); the
		// refusals above leave it listening. (First, the two refusals
		// after it found nobody listening, in CI.)
		{"right passphrase", s.URL(testStreamID, ""), nil, ""},
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

// An Output's life against the real listener: it goes live, its packets
// count, a wrong passphrase fails it for good with the refusal (no
// retries against a refusal), and Close is safe twice and leaves no
// goroutine behind.
func TestOutputLifecycle(t *testing.T) {
	s := mediatest.StartSRTServer(t, testPassphrase)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent()) // the server's own goroutines are older
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	bad, err := New(Config{URL: s.URL(testStreamID, "wrong-"+testPassphrase), DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.WaitLive(ctx); !errors.Is(err, stream.ErrKeyRejected) || bad.Stats().State != stream.Failed {
		t.Errorf("wrong passphrase: WaitLive %v, state %v; want ErrKeyRejected, failed", err, bad.Stats().State)
	}
	bad.Close()
	bad.Close()

	// The listener accepts before any media: the stream's info is all the
	// muxer needs for its header.
	info := stream.Info{
		Video: stream.VideoInfo{Width: 320, Height: 240, FPS: 30},
		Audio: stream.AudioInfo{SampleRate: 48000, Channels: 2},
	}
	o, err := New(Config{URL: s.URL(testStreamID, ""), Info: info})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.WaitLive(ctx); err != nil {
		t.Fatalf("WaitLive: %v", err)
	}
	if st := o.Stats(); st.State != stream.Live || st.Name != "srt://127.0.0.1:"+strconv.Itoa(s.Port)+"?streamid=****&passphrase=****" {
		t.Errorf("stats %+v: want live, named redacted", st)
	}
	o.Close()
	o.Close()
	if st := o.Stats(); st.State != stream.Closed {
		t.Errorf("after Close: %v", st.State)
	}
}

// FFmpeg's libsrt quotes the URL it failed to open; its log line reaches
// slog with the secrets masked.
func TestRedactLog(t *testing.T) {
	in := "Connection to srt://h:9000?streamid=" + testStreamID + "&PASSPHRASE=" + testPassphrase + "&latency=1 failed: Input/output error"
	want := "Connection to srt://h:9000?streamid=****&PASSPHRASE=****&latency=1 failed: Input/output error"
	if got := RedactLog(in); got != want {
		t.Errorf("RedactLog = %q, want %q", got, want)
	}
}
