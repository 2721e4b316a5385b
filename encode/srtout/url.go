package srtout

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Target is a parsed srt:// publish URL.
type Target struct {
	// Host is host:port, as the URL names it (SRT has no default port).
	Host string
	// raw is the URL as given, secrets included: for FFmpeg only.
	raw string
	// redacted is raw with the streamid's and passphrase's values masked.
	redacted string
	// secrets are the values masked in redacted, to mask them in errors too.
	secrets []string
}

// secretParams are the query parameters that let a stream in: a streamid
// is what a platform's SRT ingest takes as the stream key, the passphrase
// decrypts it.
var secretParams = map[string]bool{"streamid": true, "passphrase": true}

// Redacted is the URL with the streamid and the passphrase masked, e.g.
// srt://host:9000?streamid=****&latency=2000000: for logs, errors and as
// a default output name.
func (t Target) Redacted() string { return t.redacted }

// ParseURL validates an SRT publish URL, caller mode, as FFmpeg's libsrt
// takes it (its query parameters are libsrt's options, in its units:
// latency in microseconds):
//
//	srt://ingest.example.com:9000?streamid=KEY&passphrase=SECRET&latency=2000000
//
// Errors never contain the streamid or the passphrase.
func ParseURL(raw string) (Target, error) {
	raw = strings.TrimSpace(raw)
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || !strings.EqualFold(scheme, "srt") {
		return Target{}, errors.New("srt URL must start with srt://")
	}
	// The query is split by hand, not by url.Parse: its errors quote
	// the input, secrets included.
	authority, query, _ := strings.Cut(rest, "?")
	authority = strings.TrimRight(authority, "/")
	if strings.ContainsAny(authority, "/#@") {
		return Target{}, errors.New("srt URL has a path or user@: expected srt://host:port?streamid=…")
	}
	host, port, err := net.SplitHostPort(authority)
	if err != nil || host == "" {
		return Target{}, errors.New("srt URL needs a host and a port: srt://host:port (SRT has no default port)")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return Target{}, fmt.Errorf("srt URL has an invalid port %q", port)
	}
	t := Target{Host: net.JoinHostPort(host, port), raw: "srt://" + authority}
	var shown []string
	if query != "" {
		t.raw += "?" + query
	}
	for _, kv := range strings.Split(query, "&") {
		if kv == "" {
			continue
		}
		k, raw, _ := strings.Cut(kv, "=")
		name, v := strings.ToLower(k), raw
		if dv, err := url.QueryUnescape(raw); err == nil {
			v = dv
		}
		switch {
		case name == "mode" && v != "caller":
			return Target{}, errors.New("srt URL: Greenroom calls the server (mode=caller); a listener's URL is the server's own")
		case name == "passphrase" && (len(v) < 10 || len(v) > 79):
			// SRT's own rule (SRTO_PASSPHRASE): else the handshake
			// fails later with a less helpful error.
			return Target{}, errors.New("srt URL: the passphrase must be 10 to 79 characters long")
		case secretParams[name]:
			t.secrets = append(t.secrets, raw, v)
			kv = k + "=****"
		}
		shown = append(shown, kv)
	}
	t.redacted = "srt://" + authority
	if len(shown) > 0 {
		t.redacted += "?" + strings.Join(shown, "&")
	}
	return t, nil
}

// ffmpegURL is the URL FFmpeg's libsrt opens: raw, with a connect timeout
// and an I/O timeout added unless the user set their own, so that neither
// a silent server nor a stalled one holds the output for long. Both are
// dial: libsrt bounds the handshake by the I/O timeout too.
func (t Target) ffmpegURL(dial time.Duration) string {
	u := t.raw
	add := func(k, v string) {
		if !t.has(k) {
			if strings.Contains(u, "?") {
				u += "&"
			} else {
				u += "?"
			}
			u += k + "=" + v
		}
	}
	add("connect_timeout", strconv.FormatInt(dial.Milliseconds(), 10)) // ms
	add("timeout", strconv.FormatInt(dial.Microseconds(), 10))         // µs
	return u
}

func (t Target) has(param string) bool {
	_, query, _ := strings.Cut(t.raw, "?")
	for _, kv := range strings.Split(query, "&") {
		if k, _, _ := strings.Cut(kv, "="); strings.EqualFold(k, param) {
			return true
		}
	}
	return false
}

// secretInLog is a streamid or passphrase as FFmpeg's libsrt quotes the
// URL it failed to open ("Connection to srt://…?passphrase=… failed").
var secretInLog = regexp.MustCompile(`(?i)\b(streamid|passphrase)=[^&\s]*`)

// RedactLog masks every streamid and passphrase in a log line of FFmpeg's:
// encode.RouteFFmpegLog passes each line through it.
func RedactLog(line string) string { return secretInLog.ReplaceAllString(line, "$1=****") }

// redact masks t's secrets in s (an FFmpeg error may quote the URL).
func (t Target) redact(s string) string {
	for _, v := range t.secrets {
		if v != "" {
			s = strings.ReplaceAll(s, v, "****")
		}
	}
	return s
}
