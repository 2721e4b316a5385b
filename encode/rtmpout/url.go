package rtmpout

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Key is a stream key. It prints as [redacted] through fmt and slog, and
// marshals (JSON, YAML...) as [redacted] too, so it cannot leak into logs,
// errors, stats or dumps by accident; use string(k) where the server must
// see it or a settings file must keep it.
type Key string

const redacted = "[redacted]"

func (Key) String() string                 { return redacted }
func (Key) GoString() string               { return redacted }
func (Key) LogValue() slog.Value           { return slog.StringValue(redacted) }
func (k Key) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Target is a parsed RTMP(S) publish URL.
type Target struct {
	// Host is host:port, ready to dial (port 1935 for rtmp, 443 for rtmps
	// unless the URL says otherwise).
	Host string
	// App is everything between the host and the key ("live2", "app",
	// "rtmp", "a/b").
	App string
	// Key is the stream name sent in publish: the last path segment plus
	// the query string, if any (Facebook keys carry one).
	Key Key
	// TCURL is the tcUrl sent in connect: scheme://host[:port]/app as the
	// user wrote it (what OBS/librtmp sends).
	TCURL string
	TLS   bool
}

// Redacted is the URL with the key masked, e.g. rtmp://host:1935/app/****,
// for logs, errors and as a default output name.
func (t Target) Redacted() string {
	scheme := "rtmp"
	if t.TLS {
		scheme = "rtmps"
	}
	return scheme + "://" + t.Host + "/" + t.App + "/****"
}

// ParseURL validates a publish URL such as
//
//	rtmp://a.rtmp.youtube.com/live2/KEY
//	rtmp://live.twitch.tv/app/KEY
//	rtmps://live-api-s.facebook.com:443/rtmp/KEY?s_bl=1
//
// The key is the last path segment (plus the query string); the app is
// everything between the host and the key. Errors never contain the key.
func ParseURL(raw string) (Target, error) {
	t, path, query, _, err := parseHost(raw)
	if err != nil {
		return Target{}, err
	}
	if app, ok := appWithQuery(path, query); ok {
		j := strings.LastIndex(query, "/")
		if j == len(query)-1 {
			return Target{}, errors.New("rtmp URL has no stream key: expected rtmp://host/app?query/key")
		}
		// An empty query (rtmp://host/app?/KEY) is no part of the app:
		// as ParseServer reads rtmp://host/app?, the server it is made
		// from (found by FuzzParseURL).
		if q := query[:j]; q != "" {
			app += "?" + q
		}
		t.setApp(app)
		t.Key = Key(query[j+1:])
		return t, nil
	}
	i := strings.LastIndex(path, "/")
	switch {
	case path == "":
		return Target{}, errors.New("rtmp URL has no app and no stream key: expected rtmp://host/app/key")
	case i < 0, i == len(path)-1:
		return Target{}, errors.New("rtmp URL has no stream key: expected rtmp://host/app/key")
	}
	if !t.setApp(path[:i]) {
		return Target{}, errors.New("rtmp URL has no app: expected rtmp://host/app/key")
	}
	key := path[i+1:]
	if query != "" {
		key += "?" + query
	}
	t.Key = Key(key)
	return t, nil
}

// appWithQuery says whether a URL's query belongs to its app, and returns
// the app: YouTube's backup ingest is rtmp://b.rtmp.youtube.com/live2?backup=1,
// to which the key is added after a slash, and librtmp (OBS) reads
// .../live2?backup=1/KEY as the app "live2?backup=1" (sent in connect and
// tcUrl) and the stream KEY. That is so when the app is one path segment
// and a slash follows in the query; otherwise the query is the key's
// (Facebook's KEY?s_bl=1…).
func appWithQuery(path, query string) (string, bool) {
	app := strings.Trim(path, "/")
	return app, app != "" && !strings.Contains(app, "/") && strings.Contains(query, "/")
}

// ParseServer validates an ingest server URL: a publish URL without its
// key, rtmp[s]://host[:port]/app[?query], as a destination's settings keep
// it (they add the key at the end, after a slash). Its checks are ParseURL's, so a server
// it takes makes publish URLs ParseURL takes. The Target has no Key.
func ParseServer(raw string) (Target, error) {
	t, path, query, asked, err := parseHost(raw)
	if err != nil {
		return Target{}, err
	}
	if asked {
		// A query in a server URL is its app's (YouTube's ?backup=1):
		// see appWithQuery, which reads it back with the key added. An
		// empty one too (found by FuzzParseURL: "rtmp://h/a/b?" took
		// the app a/b, and its publish URL .../a/b?/KEY the app a).
		app, _ := appWithQuery(path, query+"/")
		if app == "" || strings.Contains(app, "/") {
			return Target{}, errors.New("rtmp server URL has a query (?...) after an app of several parts: it belongs after the stream key")
		}
		path = app
		if q := strings.TrimRight(query, "/"); q != "" {
			path += "?" + q
		}
	}
	// A # would end the URL the key is added to before the key (found by
	// FuzzParseURL: "rtmp://host/app#" took, and its publish URL had no key).
	if strings.Contains(raw, "#") {
		return Target{}, errors.New("rtmp server URL has a #: it ends with the app, e.g. rtmp://host/app")
	}
	if !t.setApp(path) {
		return Target{}, errors.New("rtmp server URL has no app: expected rtmp://host/app")
	}
	return t, nil
}

// parseHost reads a URL up to its host and port, and returns the rest: its
// path without the leading slashes, and its query (asked: a ? began one,
// empty or not).
func parseHost(raw string) (t Target, path, query string, asked bool, err error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Target{}, "", "", false, errors.New("rtmp URL is empty")
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return Target{}, "", "", false, errors.New("rtmp URL has no scheme: use rtmp:// or rtmps://")
	}
	switch strings.ToLower(scheme) {
	case "rtmp":
	case "rtmps":
		t.TLS = true
	default:
		return Target{}, "", "", false, fmt.Errorf("unsupported scheme %s: use rtmp:// or rtmps://", scheme)
	}
	// Split the key off by hand rather than trusting url.Parse with the
	// whole string: a key may contain characters url.Parse rejects, and its
	// errors quote the input, key included.
	authority, path, _ := strings.Cut(rest, "/")
	u, err := url.Parse(strings.ToLower(scheme) + "://" + authority)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return Target{}, "", "", false, errors.New("rtmp URL has no valid host")
	}
	if !validHost(u.Hostname()) {
		return Target{}, "", "", false, errors.New("rtmp URL has no valid host: want a name or an IP address")
	}
	if u.User != nil {
		return Target{}, "", "", false, errors.New("rtmp URL with user:password@ is not supported")
	}
	port := u.Port()
	if port == "" {
		port = "1935"
		if t.TLS {
			port = "443"
		}
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return Target{}, "", "", false, fmt.Errorf("rtmp URL has an invalid port %q", port)
	}
	t.Host = net.JoinHostPort(u.Hostname(), port)
	// tcUrl names the host as the user wrote it (what OBS/librtmp sends).
	t.TCURL = strings.ToLower(scheme) + "://" + u.Host

	path, _, _ = strings.Cut(path, "#")
	path, query, asked = strings.Cut(path, "?")
	return t, strings.TrimLeft(path, "/"), query, asked, nil
}

// setApp sets the app, and the tcUrl that ends with it; false if there is
// none.
func (t *Target) setApp(app string) bool {
	t.App = strings.Trim(app, "/")
	t.TCURL += "/" + t.App
	return t.App != ""
}

// validHost is whether h can be dialed: an IP address, or a DNS name.
// url.Parse lets through hosts no dialer takes (found by FuzzParseURL:
// "rtmp://]/app/key" gave the Host "]:1935", which failed only when going
// live).
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for _, c := range h {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
