package studio_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/studio"
	"greenroom/studio/presets"
)

// /api/live's dry run tries every destination without going live and says
// what is wrong with each, naming it; the host can then go on with the
// others, which go live.
func TestPreflightThroughTheAPI(t *testing.T) {
	const good, bad = "good-key-5d1e", "bad-key-9c3a"
	n := mediatest.StartNginx(t, mediatest.NginxOptions{RejectKeys: []string{bad}})
	s, _, _ := startShow(t, studio.ProgramConfig{Destinations: []studio.Destination{
		{ID: "yt", Name: "YouTube", URL: n.URL(good)},
		// The window's warnings in the API's answer too: a landscape
		// program to a vertical platform (issue #13).
		{ID: "ig", Name: "Instagram", URL: n.URL(good + "-ig"), Preset: presets.Instagram},
		{ID: "tw", Name: "Twitch", URL: n.URL(bad)},
	}})

	code, out := api(t, s, "POST", "/api/live", "", `{"dryRun":true}`)
	body, _ := json.Marshal(out)
	t.Logf("dry run: %d %s", code, body)
	var res struct {
		OK           bool
		Destinations []studio.DestinationCheck
	}
	json.Unmarshal(body, &res)
	if code != 200 || res.OK || len(res.Destinations) != 3 {
		t.Fatalf("dry run: %d %s: want 200, not ok, three destinations", code, body)
	}
	if yt := res.Destinations[0]; yt.ID != "yt" || !yt.OK || yt.Problem != "" || len(yt.Warnings) != 0 {
		t.Errorf("YouTube: %+v, want ok, no warning", yt)
	}
	if ig := res.Destinations[1]; ig.ID != "ig" || !ig.OK || len(ig.Warnings) != 1 || !strings.HasPrefix(ig.Warnings[0], "Instagram Live expects a vertical (9:16) picture") {
		t.Errorf("Instagram: %+v, want ok with the vertical warning", ig)
	}
	if tw := res.Destinations[2]; tw.ID != "tw" || tw.OK || tw.Summary != "Twitch refused the stream key" ||
		!strings.HasPrefix(tw.Problem, "Twitch rtmp://") || !strings.Contains(tw.Problem, "/live/****: the server refused the stream key") {
		t.Errorf("Twitch: %+v, want the refused key, naming Twitch", tw)
	}
	if strings.Contains(string(body), good) || strings.Contains(string(body), bad) {
		t.Errorf("a stream key in the answer: %s", body)
	}
	if _, st := api(t, s, "GET", "/api/state", "", ""); st["live"] == true {
		t.Errorf("live after a dry run")
	}
	n.WaitUnpublished(t, good, 5*time.Second) // the check's own publish, ended
	n.WaitUnpublished(t, good+"-ig", 5*time.Second)

	// The host goes on: YouTube and Instagram go live, Twitch is reported.
	if code, out := api(t, s, "POST", "/api/live", "", `{"on":true}`); code != 200 {
		t.Fatalf("go live: %d %v", code, out)
	}
	n.WaitPublishing(t, good, 5*time.Second)
	n.WaitPublishing(t, good+"-ig", 5*time.Second)
	if code, out := api(t, s, "POST", "/api/live", "", `{"on":false}`); code != 200 {
		t.Fatalf("end: %d %v", code, out)
	}
}
