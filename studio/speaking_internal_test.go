package studio

import (
	"testing"
	"time"

	"greenroom/encode/scene"
)

// The spotlighter's rules, tick by tick: a speaker takes the main tile
// after SpotlightAfter, not within SpotlightHold of the last change (the
// host's too), never from someone who speaks, and never for someone
// muted, off, backstage, or in a layout without a person's main tile;
// of two, the one speaking longer.
func TestSpotlighter(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	st := State{Participants: []Participant{
		{ID: HostID, Place: PlaceStage},
		{ID: "ann", Place: PlaceStage},
		{ID: "bob", Place: PlaceStage},
		{ID: "cat", Place: PlaceStage, Muted: true},
		{ID: "dan", Place: PlaceStage, Volume: VolumeOff},
		{ID: "eve", Place: PlaceGreenRoom},
	}}
	spot := Scene{Layout: scene.Spotlight}
	var a spotlighter
	for _, step := range []struct {
		ms       int
		speaking []string
		sc       Scene
		want     string // "" for no change
	}{
		{0, nil, spot, ""}, // the host has the tile from here: the hold starts
		{100, []string{"ann", "cat", "dan", "eve"}, spot, ""},
		{1200, []string{"ann", "cat", "dan", "eve"}, spot, ""}, // ann spoke 1.1 s, but within the hold
		{3000, []string{"ann", "cat", "dan", "eve"}, spot, "ann"},
		{3100, []string{"bob"}, Scene{Layout: scene.Spotlight, Main: "ann"}, ""},
		{6200, []string{"bob"}, Scene{Layout: scene.Spotlight, Main: "ann"}, "bob"}, // 3 s after ann took it
		{6300, []string{"ann", "bob"}, Scene{Layout: scene.Spotlight, Main: "bob"}, ""},
		{9400, []string{"ann", "bob"}, Scene{Layout: scene.Spotlight, Main: "bob"}, ""}, // bob still speaks
		{9500, []string{"ann"}, Scene{Layout: scene.Grid, Main: "bob"}, ""},             // no main tile in a grid
		{9600, []string{"ann"}, Scene{Layout: scene.Screen, Main: "bob/screen"}, ""},    // the screen keeps it
		{9700, []string{"ann"}, Scene{Layout: scene.Spotlight, Main: "dan"}, ""},        // the host's pick
		{12600, []string{"ann"}, Scene{Layout: scene.Spotlight, Main: "dan"}, ""},       // held 3 s
		{12800, []string{"ann"}, Scene{Layout: scene.Spotlight, Main: "dan"}, "ann"},
	} {
		got, ok := a.next(at(step.ms), step.speaking, st, step.sc)
		if ok != (step.want != "") || got != step.want {
			t.Errorf("at %d ms, speaking %v, scene %+v: next %q %v, want %q", step.ms, step.speaking, step.sc, got, ok, step.want)
		}
	}
}
