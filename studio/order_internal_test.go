package studio

import (
	"slices"
	"testing"
)

// The program's inputs ranked by the show's order: the host, then the
// guests as the show lists them (here g2 put back before g1 after a
// restart), their screens after every camera, inputs of nobody last.
func TestInShowOrder(t *testing.T) {
	st := State{Participants: []Participant{{ID: HostID}, {ID: "g2"}, {ID: "g1"}}}
	names := []string{"g1", ScreenInput("g1"), "music", "g2", HostID, ScreenInput(HostID)}
	rank := inShowOrder(st)
	slices.SortStableFunc(names, func(a, b string) int { return rank(a) - rank(b) })
	if want := []string{HostID, "g2", "g1", ScreenInput(HostID), ScreenInput("g1"), "music"}; !slices.Equal(names, want) {
		t.Errorf("the program's order %v, want %v", names, want)
	}
}
