package studio_test

import (
	"encoding/json"
	"math"
	"path/filepath"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/studio"
	"greenroom/studio/presets"
)

// A vertical destination and a vertical recording through the control API
// (issue #13): a go-live without them leaves the vertical program off (no
// frame of it made); with them, nginx gets the landscape program at
// 1280x720 and the vertical one at 720x1280, both H.264 + AAC, and the
// file the vertical one too; the dry run says which destination is
// vertical and checks it against its platform as such (no warning for
// Instagram).
func TestVerticalThroughTheAPI(t *testing.T) {
	n := mediatest.StartNginx(t, mediatest.NginxOptions{})
	wide := studio.Destination{ID: "yt", Name: "YouTube", URL: n.URL("wide")}
	tall := studio.Destination{ID: "ig", Name: "Instagram", URL: n.URL("tall"), Preset: presets.Instagram, Vertical: true}
	goLive := func(s *studio.Studio, on bool) {
		t.Helper()
		body, _ := json.Marshal(map[string]bool{"on": on})
		if code, out := api(t, s, "POST", "/api/live", "", string(body)); code != 200 {
			t.Fatalf("live %v: %d %v\n%s", on, code, out, n.LogTail(20))
		}
	}

	t.Run("landscape only", func(t *testing.T) {
		s, _, pipe := startShow(t, studio.ProgramConfig{Destinations: []studio.Destination{wide}})
		goLive(s, true)
		n.WaitPublishing(t, "wide", 5*time.Second)
		time.Sleep(time.Second)
		if frames, dropped := pipe.VerticalStats(); frames != 0 || dropped != 0 {
			t.Errorf("the vertical program made %d frames (%d dropped), want none", frames, dropped)
		}
		goLive(s, false)
		n.WaitUnpublished(t, "wide", 10*time.Second)
	})

	file := filepath.Join(t.TempDir(), "tall.mp4")
	s, _, pipe := startShow(t, studio.ProgramConfig{Destinations: []studio.Destination{wide, tall}, RecordVertical: file})
	code, out := api(t, s, "POST", "/api/live", "", `{"dryRun":true}`)
	body, _ := json.Marshal(out)
	var res struct{ Destinations []studio.DestinationCheck }
	json.Unmarshal(body, &res)
	if code != 200 || len(res.Destinations) != 2 || res.Destinations[0].Vertical || !res.Destinations[1].Vertical ||
		!res.Destinations[1].OK || len(res.Destinations[1].Warnings) != 0 {
		t.Errorf("dry run: %d %s: want YouTube landscape, Instagram vertical without a warning", code, body)
	}
	n.WaitUnpublished(t, "tall", 5*time.Second) // the check's own publish, ended

	goLive(s, true)
	n.WaitPublishing(t, "wide", 5*time.Second)
	n.WaitPublishing(t, "tall", 5*time.Second)
	time.Sleep(4 * time.Second)
	goLive(s, false)
	frames, dropped := pipe.VerticalStats()
	t.Logf("vertical program: %d frames encoded, %d dropped", frames, dropped)
	n.WaitUnpublished(t, "wide", 10*time.Second)
	n.WaitUnpublished(t, "tall", 10*time.Second)
	// Each as its program, for about as long as the show.
	judge := func(path string, w, h int) {
		p, _ := mediatest.ProbeProgram(t, path, w, h)
		t.Logf("%s: %.2f s, %+v, %+v", filepath.Base(path), p.Duration, p.Video, p.Audio)
		if math.Abs(p.Duration-4) > 1.5 {
			t.Errorf("%s: %.2f s of a 4 s show", filepath.Base(path), p.Duration)
		}
	}
	judge(n.Recording("wide"), 1280, 720)
	judge(n.Recording("tall"), 720, 1280)
	judge(file, 720, 1280)
}
