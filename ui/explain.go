package ui

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"

	"greenroom/studio"
)

// explain turns an error from the show into words a creator understands.
// The window is the edge where this happens (STYLE.md, habit 7): the show's
// errors carry context for a log; here they become advice.
//
// The RTMP output's sentinel errors live in encode, which the window must not
// import; their texts are matched instead ("server refused the stream",
// "server unreachable" — encode/rtmpout). If those texts change, the fallback
// still shows the error itself.
func (s *Studio) explain(err error) string {
	msg := err.Error()
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, studio.ErrClosed):
		return "the studio has shut down. Restart Greenroom."
	case errors.Is(err, studio.ErrNoParticipant):
		return "they have already left the studio."
	case errors.Is(err, studio.ErrStudioFull):
		return "the studio is full."
	case errors.Is(err, studio.ErrStageFull):
		return "the stage is full. Take someone off the stage first, or allow more guests on it in Settings → Guests."
	case errors.Is(err, studio.ErrBadBrand):
		return s.scrub(brandProblem(err))
	case strings.Contains(msg, "refused the stream"):
		return "the server refused the stream key. Copy the key again from the service's live dashboard and paste it under Destinations. (" + s.scrub(msg) + ")"
	case errors.As(err, &dns):
		return "couldn't find the server " + quote(dns.Name) + ". Check the server URL and your internet connection."
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the server refused the connection. Check the server URL and its port."
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "the server did not answer in time. Check your internet connection and the server URL."
	}
	return s.explainText(msg)
}

// explainText is explain for an error that reached the window as text only
// (DestinationStats.Err: an output that dropped mid-show). It matches the
// words of the RTMP output and of the network (encode/rtmpout,
// syscall), and keeps the original, scrubbed, in brackets for a bug report.
func (s *Studio) explainText(msg string) string {
	for _, w := range plainWords {
		for _, m := range w.match {
			if strings.Contains(msg, m) {
				return w.say + " (" + s.scrub(msg) + ")"
			}
		}
	}
	return s.scrub(msg)
}

// plainWords are what explainText says, first match wins.
var plainWords = []struct {
	match []string
	say   string
}{
	{[]string{"refused the stream"},
		"the server refused the stream key. Copy the key again from the service's live dashboard and paste it under Destinations."},
	// An SRT listener that rejected the handshake (encode/srtout).
	{[]string{"SRT server at", "rejected the connection"},
		"the SRT server rejected the connection: check the stream key (its streamid) and the passphrase under Destinations."},
	// A server that turned us away before publish (rtmpout.ErrRefused):
	// not the key, and not retried.
	{[]string{"closed the connection after", "closed the connection before", "the server answered"},
		"the server turned the connection away before the stream started. Check the server URL (the part before the key) and the service's live dashboard."},
	// srtout's lost connection is FFmpeg's "Input/output error".
	{[]string{"stopped the stream", "closed the connection", "connection reset", "broken pipe", "EOF", "Input/output error"},
		"the server ended the connection. Greenroom keeps trying; if it does not come back, check the service's live dashboard."},
	{[]string{"connection refused"},
		"the server refused the connection. Check the server URL and its port."},
	{[]string{"no such host"},
		"couldn't find the server. Check the server URL and your internet connection."},
	{[]string{"stalled", "timeout", "timed out", "no answer within", "deadline exceeded"},
		"the connection is too slow: the stream is not getting through. Check your internet connection, or lower the bit rate under Settings."},
	{[]string{"unreachable", "network is down", "no SRT answer"},
		"couldn't reach the server. Check the server URL and your internet connection."},
}

// scrub replaces every stream key and TURN password the user has saved
// with [redacted]. The
// show promises keys never appear in its errors; this is the window's own
// guarantee, should a library quote a URL we did not build.
func (s *Studio) scrub(msg string) string {
	for _, d := range s.st.Get().Destinations {
		// A one- or two-letter "key" would garble sentences; no service
		// issues keys that short.
		for _, k := range []string{d.Key.Reveal(), d.Passphrase.Reveal()} {
			if len(k) >= 4 {
				msg = strings.ReplaceAll(msg, k, "[redacted]")
			}
		}
	}
	// The TURN servers' passwords likewise (settings.Network).
	for _, srv := range s.st.Get().Network.ICEServers {
		url := srv.Reveal()
		msg = strings.ReplaceAll(msg, url, srv.Masked("[redacted]"))
		if at := strings.LastIndex(url, "@"); at > 0 {
			// turn:USER:PASS@…: what is between the second colon and the @.
			if _, cred, ok := strings.Cut(url[:at], ":"); ok {
				if _, pass, ok := strings.Cut(cred, ":"); ok && len(pass) >= 4 {
					msg = strings.ReplaceAll(msg, pass, "[redacted]")
				}
			}
		}
	}
	return msg
}

func quote(s string) string { return "“" + s + "”" }
