package presets_test

import (
	"strings"
	"testing"
	"time"

	"greenroom/encode/rtmpout"
	"greenroom/studio/presets"
)

// Every ingest a preset offers is a server URL the RTMP output takes, and
// IDs are unique: the settings file keeps them.
func TestIngestsParse(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range presets.All {
		if seen[p.ID] {
			t.Errorf("two presets have ID %q", p.ID)
		}
		seen[p.ID] = true
		if p.KeyHelp == "" {
			t.Errorf("%s: no help on where the key is", p.Name)
		}
		for _, in := range p.Ingests {
			if _, err := rtmpout.ParseServer(in.URL); err != nil {
				t.Errorf("%s %s: %s: %v", p.Name, in.Label, in.URL, err)
			}
		}
	}
	if fb := presets.ByID(presets.Facebook).URL(); !strings.HasPrefix(fb, "rtmps://") {
		t.Errorf("Facebook takes RTMPS only, preset %q", fb)
	}
	if tw := presets.ByID(presets.Twitch).URL(); tw != "rtmp://live.twitch.tv/app" {
		t.Errorf("Twitch's default ingest %q, want auto", tw)
	}
	if p := presets.ByID("no-such-platform"); p.ID != presets.Custom || p.URL() != "" {
		t.Errorf("an unknown ID gives %+v, want Custom", p)
	}
}

func TestCheck(t *testing.T) {
	ok := presets.Format{Width: 1280, Height: 720, FPS: 30, VideoKbps: 4500, Keyframe: 2 * time.Second}
	for _, tc := range []struct {
		preset string
		f      presets.Format
		want   []string // one warning each, holding these words; none: fine
	}{
		{presets.YouTube, ok, nil},
		{presets.YouTube, presets.Format{Width: 1920, Height: 1080, FPS: 60, VideoKbps: 12000, Keyframe: 2 * time.Second}, nil},
		{presets.Twitch, presets.Format{Width: 1920, Height: 1080, FPS: 60, VideoKbps: 6000, Keyframe: 2 * time.Second}, nil},
		{presets.Twitch, presets.Format{Width: 1920, Height: 1080, FPS: 30, VideoKbps: 8000}, []string{"Twitch takes at most 6000 kb/s of video; the program sends 8000 kb/s"}},
		{presets.Facebook, presets.Format{Width: 2560, Height: 1440, FPS: 30, VideoKbps: 6000}, []string{"Facebook takes at most 1920x1080; the program is 2560x1440"}},
		{presets.Facebook, presets.Format{Width: 1920, Height: 1080, FPS: 30, VideoKbps: 9000, Keyframe: 4 * time.Second},
			[]string{"at most 6000 kb/s", "keyframe at least every 2s; the program has one every 4s"}},
		{presets.Instagram, presets.Format{Width: 1280, Height: 720, FPS: 60, VideoKbps: 4500},
			[]string{"at most 30 fps", "vertical (9:16)"}},
		{presets.TikTok, presets.Format{Width: 720, Height: 1280, FPS: 30, VideoKbps: 4500}, nil},
		{presets.Custom, presets.Format{Width: 3840, Height: 2160, FPS: 60, VideoKbps: 50000}, nil},
	} {
		got := presets.ByID(tc.preset).Check(tc.f)
		if len(got) != len(tc.want) {
			t.Errorf("%s %+v: %q, want %d warnings", tc.preset, tc.f, got, len(tc.want))
			continue
		}
		for i, w := range tc.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s %+v: warning %q, want it to say %q", tc.preset, tc.f, got[i], w)
			}
		}
	}
}
