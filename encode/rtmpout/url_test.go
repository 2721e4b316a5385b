package rtmpout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url      string
		want     Target
		redacted string
		err      string // substring of the error; "" means success
	}{
		{
			url:      "rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop",
			want:     Target{Host: "a.rtmp.youtube.com:1935", App: "live2", Key: "abcd-efgh-ijkl-mnop", TCURL: "rtmp://a.rtmp.youtube.com/live2"},
			redacted: "rtmp://a.rtmp.youtube.com:1935/live2/****",
		},
		{
			url:      "rtmp://live.twitch.tv/app/live_123456_AbCdEf",
			want:     Target{Host: "live.twitch.tv:1935", App: "app", Key: "live_123456_AbCdEf", TCURL: "rtmp://live.twitch.tv/app"},
			redacted: "rtmp://live.twitch.tv:1935/app/****",
		},
		{
			url:      "rtmps://live-api-s.facebook.com:443/rtmp/FB-1234-0-AbCd?s_bl=1&s_sw=0&a=Xyz",
			want:     Target{Host: "live-api-s.facebook.com:443", App: "rtmp", Key: "FB-1234-0-AbCd?s_bl=1&s_sw=0&a=Xyz", TCURL: "rtmps://live-api-s.facebook.com:443/rtmp", TLS: true},
			redacted: "rtmps://live-api-s.facebook.com:443/rtmp/****",
		},
		{
			url:      "rtmps://global-live.mux.com/app/k",
			want:     Target{Host: "global-live.mux.com:443", App: "app", Key: "k", TCURL: "rtmps://global-live.mux.com/app", TLS: true},
			redacted: "rtmps://global-live.mux.com:443/app/****",
		},
		{
			url:      "RTMP://127.0.0.1:19350/live/sub/stream-1",
			want:     Target{Host: "127.0.0.1:19350", App: "live/sub", Key: "stream-1", TCURL: "rtmp://127.0.0.1:19350/live/sub"},
			redacted: "rtmp://127.0.0.1:19350/live/sub/****",
		},
		{
			url:      "  rtmp://[::1]/live/key  ",
			want:     Target{Host: "[::1]:1935", App: "live", Key: "key", TCURL: "rtmp://[::1]/live"},
			redacted: "rtmp://[::1]:1935/live/****",
		},
		{
			// YouTube's backup ingest: the query is the app's (issue #13).
			url:      "rtmp://b.rtmp.youtube.com/live2?backup=1/abcd-efgh-ijkl-mnop",
			want:     Target{Host: "b.rtmp.youtube.com:1935", App: "live2?backup=1", Key: "abcd-efgh-ijkl-mnop", TCURL: "rtmp://b.rtmp.youtube.com/live2?backup=1"},
			redacted: "rtmp://b.rtmp.youtube.com:1935/live2?backup=1/****",
		},
		{url: "rtmp://b.rtmp.youtube.com/live2?backup=1/", err: "no stream key"},
		{url: "", err: "rtmp URL is empty"},
		{url: "live.twitch.tv/app/secretkey", err: "rtmp URL has no scheme: use rtmp:// or rtmps://"},
		{url: "http://example.com/app/secretkey", err: "unsupported scheme http: use rtmp:// or rtmps://"},
		{url: "srt://example.com:9000/app/secretkey", err: "unsupported scheme srt: use rtmp:// or rtmps://"},
		{url: "rtmp:///app/secretkey", err: "rtmp URL has no valid host"},
		{url: "rtmp://host:99999/app/secretkey", err: `invalid port "99999"`},
		{url: "rtmp://host:abc/app/secretkey", err: "rtmp URL has no valid host"},
		{url: "rtmp://user:pw@host/app/secretkey", err: "user:password@ is not supported"},
		{url: "rtmp://host", err: "rtmp URL has no app and no stream key"},
		{url: "rtmp://host/", err: "rtmp URL has no app and no stream key"},
		{url: "rtmp://host/app", err: "rtmp URL has no stream key"},
		{url: "rtmp://host/app/", err: "rtmp URL has no stream key"},
		{url: "rtmp://host//secretkey", err: "rtmp URL has no stream key"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := ParseURL(tt.url)
			if tt.err != "" {
				if err == nil {
					t.Fatalf("ParseURL = %+v, want error %q", got, tt.err)
				}
				if !strings.Contains(err.Error(), tt.err) {
					t.Errorf("error = %q, want it to contain %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "secretkey") {
					t.Errorf("error %q contains the key", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseURL: %v", err)
			}
			if got != tt.want {
				t.Errorf("ParseURL =\n %#v\nwant\n %#v", got, tt.want)
			}
			if r := got.Redacted(); r != tt.redacted {
				t.Errorf("Redacted = %q, want %q", r, tt.redacted)
			}
		})
	}
}

// A server URL, as the settings keep it, is a publish URL without its key.
func TestParseServer(t *testing.T) {
	for _, tc := range []struct{ url, err string }{
		{"rtmp://a.rtmp.youtube.com/live2", ""},
		{"rtmps://live-api-s.facebook.com:443/rtmp", ""},
		{"rtmp://127.0.0.1:1935/live/sub/", ""},
		{"rtmp://host", "has no app"},
		{"rtmp://host/", "has no app"},
		{"rtmp://b.rtmp.youtube.com/live2?backup=1", ""},
		{"rtmps://b.rtmps.youtube.com:443/live2?backup=1", ""},
		{"rtmp://host/app/sub?x=1", "has a query"},
		{"rtmp://host/?x=1", "has a query"},
		{"rtmp://user:pw@host/app", "user:password@ is not supported"},
		{"rtmp://host:0/app", "invalid port"},
		{"http://host/app", "unsupported scheme"},
	} {
		srv, err := ParseServer(tc.url)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseServer(%q) = %+v, %v; want %q", tc.url, srv, err, tc.err)
		}
	}
}

// The key must not leak however a Target or Key is printed or logged.
func TestKeyNeverPrinted(t *testing.T) {
	const secret = "live_98765_TopSecret"
	tg, err := ParseURL("rtmp://live.twitch.tv/app/" + secret)
	if err != nil {
		t.Fatal(err)
	}
	if string(tg.Key) != secret {
		t.Fatalf("Key = %q", string(tg.Key))
	}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		out = append(out, fmt.Sprintf(verb, tg), fmt.Sprintf(verb, tg.Key))
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(h).Info("publish", "key", tg.Key, "target", tg)
	}
	j, _ := json.Marshal(tg)
	out = append(out, buf.String(), string(j))
	for _, s := range out {
		if strings.Contains(s, secret) || strings.Contains(s, fmt.Sprintf("%x", secret)) {
			t.Errorf("key leaked: %s", s)
		}
	}
}

// Servers may echo the stream name in a status description; it is masked
// before it reaches an error.
func TestRedactIn(t *testing.T) {
	if got := redactIn("NetStream.Publish.BadName (stream sk_1 is already published)", "sk_1"); got != "NetStream.Publish.BadName (stream **** is already published)" {
		t.Errorf("redactIn = %q", got)
	}
	if got := redactIn("no key here", ""); got != "no key here" {
		t.Errorf("redactIn with no key = %q", got)
	}
}
