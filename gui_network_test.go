package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"greenroom/studio/studiotest"
)

// The window's show takes the STUN/TURN servers of Settings → Network at
// once (ui.NetworkApplier): a guest who joins after is given them; a server
// the studio cannot use is refused without its password.
func TestGuiICEServersForNewGuests(t *testing.T) {
	g := openGUI(t, "rtmp://127.0.0.1:1/live", "unused-key")
	if err := g.show.SetICEServers([]string{"turn:ann:pa55w0rd@127.0.0.1:3478?transport=carrier-pigeon"}); err == nil || strings.Contains(err.Error(), "pa55w0rd") {
		t.Errorf("a bad TURN server: %v", err)
	}
	if err := g.show.SetICEServers([]string{"stun:127.0.0.1:3478", "turn:ann:pa55w0rd@127.0.0.1:3478?transport=udp"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ann, err := studiotest.Join(ctx, g.show.GuestURL(), "Ann", studiotest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ann.Close()
	if got := ann.ICEServers; len(got) != 2 || got[0].URLs[0] != "stun:127.0.0.1:3478" || got[1].Username != "ann" || got[1].Credential != "pa55w0rd" {
		t.Errorf("Ann was given %+v", got)
	}
}
