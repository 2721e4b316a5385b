package studio_test

import (
	"errors"
	"testing"

	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// The scene model: the layout and the spotlit participant reach the
// pipeline, bad ones are refused and change nothing, and everyone in the
// program wears their display name — the host from the start, a guest as
// soon as their picture arrives.
func TestSceneReachesThePipeline(t *testing.T) {
	s, prog, pipe := startShow(t, studio.ProgramConfig{})
	if got := prog.Scene(); got.Layout != "grid" || got.Main != "" {
		t.Errorf("first scene %+v, want the grid", got)
	}
	if got := pipe.Scene().Names[studio.HostID]; got != "Host" {
		t.Errorf("host's name tag %q, want Host", got)
	}
	for _, l := range studio.Layouts {
		if err := prog.SetLayout(l); err != nil {
			t.Fatal(err)
		}
		if got := pipe.Scene().Layout; got != l {
			t.Errorf("pipeline layout %q after SetLayout(%q)", got, l)
		}
	}
	if err := prog.SetLayout("mosaic"); err == nil || prog.Scene().Layout != "pip" {
		t.Errorf("SetLayout(mosaic) = %v, scene now %+v", err, prog.Scene())
	}
	if err := prog.Spotlight("g99"); !errors.Is(err, studio.ErrNoParticipant) {
		t.Errorf("Spotlight of nobody: %v", err)
	}

	zoe := join(t, s, "Zoë Ω", studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg})
	if err := s.Stage(zoe.ID, true); err != nil {
		t.Fatal(err)
	}
	// Nothing else changes the scene: her first packets bring her name.
	eventually(t, "Zoë's name tag", func() bool { return pipe.Scene().Names[zoe.ID] == "Zoë Ω" })
	if err := prog.Spotlight(zoe.ID); err != nil {
		t.Fatal(err)
	}
	if got := pipe.Scene(); got.Main != zoe.ID || got.Layout != "pip" {
		t.Errorf("pipeline scene %+v, want Zoë large in pip", got)
	}
	if err := prog.SetScene(studio.Scene{Layout: "solo"}); err != nil || pipe.Scene().Main != "" {
		t.Errorf("SetScene(solo): %v, %+v", err, pipe.Scene())
	}
}
