package rtmpout

import (
	"net"
	"strings"
	"testing"
)

// FuzzParseURL: no destination URL a creator pastes panics ParseURL; what
// it accepts is dialable (host:port with a real port), has an app and a
// key, and its redacted form hides the key; what it refuses never quotes
// the key (the last path segment, when it is long and appears nowhere
// else in the URL). A server ParseServer accepts makes, with a key added
// as the settings add it, a URL ParseURL accepts, with the same server.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop",
		"rtmp://live.twitch.tv/app/live_123456_AbCdEf",
		"rtmps://live-api-s.facebook.com:443/rtmp/FB-123-0-Abc?s_bl=1&s_sc=2",
		"rtmp://[::1]:1935/a/b/secretsecret",
		"rtmp://user:pass@host/app/secretsecret",
		"rtmp://host:99999/app/secretsecret",
		"ftp://host/app/secretsecret",
		"rtmp://host/secretsecret",
		"rtmp://b.rtmp.youtube.com/live2?backup=1",
		"rtmp://b.rtmp.youtube.com/live2?backup=1/secretsecret",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if srv, err := ParseServer(raw); err == nil {
			tg, err := ParseURL(strings.TrimRight(strings.TrimSpace(raw), "/") + "/k")
			if err != nil || tg.Host != srv.Host || tg.App != srv.App || tg.TCURL != srv.TCURL || tg.TLS != srv.TLS {
				t.Fatalf("server %q: %+v; with a key: %+v, %v", raw, srv, tg, err)
			}
		}
		tg, err := ParseURL(raw)
		if err != nil {
			i := strings.LastIndex(raw, "/")
			key := raw[i+1:]
			if i >= 0 && len(key) >= 8 && strings.Count(raw, key) == 1 && strings.Contains(err.Error(), key) {
				t.Fatalf("the key %q is in the error %q", key, err)
			}
			return
		}
		host, port, err := net.SplitHostPort(tg.Host)
		if err != nil || host == "" || port == "" {
			t.Fatalf("Host %q is not host:port: %v", tg.Host, err)
		}
		if tg.App == "" || tg.Key == "" {
			t.Fatalf("accepted %q without an app or a key: %+v", raw, tg)
		}
		if red := tg.Redacted(); len(tg.Key) >= 8 && strings.Contains(red, string(tg.Key)) && !strings.Contains(tg.Host+"/"+tg.App, string(tg.Key)) {
			t.Fatalf("Redacted() %q shows the key", red)
		}
		if !strings.HasPrefix(tg.TCURL, "rtmp://") && !strings.HasPrefix(tg.TCURL, "rtmps://") {
			t.Fatalf("tcUrl %q", tg.TCURL)
		}
	})
}
