package scene

import (
	"image"
	"time"
)

// TransitionTime is how long a tile takes to move to its new place when
// the layout or the stage changes.
const TransitionTime = 300 * time.Millisecond

// Progress is how far a transition that started at start is at now, eased
// in and out (cubic): 0 at the start, 1 from TransitionTime on.
func Progress(start, now time.Time) float64 {
	t := float64(now.Sub(start)) / float64(TransitionTime)
	switch {
	case t <= 0:
		return 0
	case t >= 1:
		return 1
	case t < 0.5:
		return 4 * t * t * t
	}
	u := 2 - 2*t
	return 1 - u*u*u/2
}

// Tween is the rectangle a fraction p of the way from a to b, with even
// corners. An empty a or b stands for a point at the other's centre, so a
// tile that appears grows from its middle and one that goes shrinks to it.
func Tween(a, b image.Rectangle, p float64) image.Rectangle {
	if a.Empty() && b.Empty() {
		return image.Rectangle{}
	}
	if a.Empty() {
		a = image.Rectangle{Min: centre(b), Max: centre(b)}
	}
	if b.Empty() {
		b = image.Rectangle{Min: centre(a), Max: centre(a)}
	}
	mix := func(x, y int) int { return even(x + int(float64(y-x)*p+0.5)) }
	return image.Rect(mix(a.Min.X, b.Min.X), mix(a.Min.Y, b.Min.Y), mix(a.Max.X, b.Max.X), mix(a.Max.Y, b.Max.Y))
}

func centre(r image.Rectangle) image.Point {
	return image.Pt(even((r.Min.X+r.Max.X)/2), even((r.Min.Y+r.Max.Y)/2))
}
