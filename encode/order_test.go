package encode

import (
	"slices"
	"testing"
)

// Order puts the inputs, whatever order they came in, in the order of
// their ranks, equal ranks as they were.
func TestInputsInOrder(t *testing.T) {
	p := &Pipeline{}
	for _, n := range []string{"b", "c", "a", "x", "y"} {
		p.AddInput(n)
	}
	p.Order(func(name string) int { return map[string]int{"a": 1, "b": 2, "c": 3}[name] }) // x, y: 0
	var got []string
	for _, in := range p.snapshotInputs(nil) {
		got = append(got, in.Name())
	}
	if want := []string{"x", "y", "a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("inputs in the order %v, want %v", got, want)
	}
}
