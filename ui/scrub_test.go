package ui

import (
	"strings"
	"testing"

	"greenroom/studio/settings"
)

// A TURN password saved in Settings → Network never reaches the window's
// words, whether a library quotes the whole server URL or the password alone.
func TestScrubHidesTURNPasswords(t *testing.T) {
	s, _ := open(t, newFake(), func(set *settings.Settings) {
		set.Network.ICEServers = []settings.ICEServer{settings.NewICEServer("turn:ann:hunter22@turn.example.com:3478?transport=udp")}
	})
	for _, msg := range []string{
		"ice: dial turn:ann:hunter22@turn.example.com:3478?transport=udp: refused",
		"401 Unauthorized for user ann (password hunter22)",
	} {
		got := s.scrub(msg)
		if strings.Contains(got, "hunter22") || !strings.Contains(got, "[redacted]") {
			t.Errorf("scrub(%q) = %q", msg, got)
		}
	}
}
