package mediatest

import (
	"fmt"
	"image"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Judges for pictures and sound that went through a bad network (issue
// #10): how long a picture stood still, whether its colours stayed those
// of the picture, and how long the sound fell silent.

// Tile is the frames of one region of a recording's video, decoded
// small: enough to see motion and colour, cheap to hold for a minute.
type Tile struct {
	// FPS is the rate the frames were decoded at (the recording's).
	FPS float64
	// Y is each frame's mean luma (0–255).
	Y []float64
	// Grey is each frame's share of colourless pixels (both chroma
	// components within greyTol of neutral): grey, black or white.
	Grey []float64
	// Diff is each frame's mean absolute luma difference from the frame
	// before (0 for the first): 0 is a repeated picture.
	Diff []float64
}

// tileW and tileH are what a tile is scaled to before it is judged.
const tileW, tileH = 64, 36

// greyTol is how far from neutral (128) both chroma components of a grey
// pixel are.
const greyTol = 12

// DecodeTile decodes region r (in the recording's pixels) of every frame
// of path's first video stream, at its frame rate.
func DecodeTile(t testing.TB, path string, r image.Rectangle, fps float64) Tile {
	t.Helper()
	vf := fmt.Sprintf("fps=%g,crop=%d:%d:%d:%d,scale=%d:%d:flags=area,format=yuv444p",
		fps, r.Dx(), r.Dy(), r.Min.X, r.Min.Y, tileW, tileH)
	out, _ := mustRun(t, 5*toolTimeout, "ffmpeg", "-v", "error", "-i", path, "-map", "0:v:0", "-vf", vf, "-f", "rawvideo", "-")
	const plane = tileW * tileH
	tile := Tile{FPS: fps}
	var prev []byte
	for len(out) >= 3*plane {
		f := out[:3*plane]
		out = out[3*plane:]
		tile.Y = append(tile.Y, mean(f[:plane]))
		grey := 0
		for i := 0; i < plane; i++ {
			if abs(float64(f[plane+i])-128) <= greyTol && abs(float64(f[2*plane+i])-128) <= greyTol {
				grey++
			}
		}
		tile.Grey = append(tile.Grey, float64(grey)/plane)
		d := 0.0
		if prev != nil {
			for i := 0; i < plane; i++ {
				d += abs(float64(f[i]) - float64(prev[i]))
			}
			d /= plane
		}
		tile.Diff = append(tile.Diff, d)
		prev = f[:plane]
	}
	if len(tile.Y) == 0 {
		t.Fatalf("mediatest: no frames decoded from %s", path)
	}
	return tile
}

func mean(b []byte) float64 {
	s := 0
	for _, v := range b {
		s += int(v)
	}
	return float64(s) / float64(len(b))
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// Freezes returns how long each run of repeated pictures lasted (frames
// whose difference from the one before is at most still) between from and
// to (0: the end), longest first. A frame that repeats once already
// counts as a run of two frames' time: a picture shown for 2/FPS.
func (tl Tile) Freezes(from, to time.Duration, still float64) []time.Duration {
	return Lengths(tl.FreezesAt(from, to, still))
}

// FreezesAt is Freezes with where each run began: a test's log can then
// be laid beside the studio's.
func (tl Tile) FreezesAt(from, to time.Duration, still float64) []Span {
	first, last := tl.frames(from, to)
	// A run of repeats begins at the frame repeated.
	return runsOf(max(first+1, 1), last, func(i int) bool { return tl.Diff[i] <= still },
		func(n int) time.Duration { return time.Duration(float64(n+1) / tl.FPS * float64(time.Second)) },
		func(i int) time.Duration { return time.Duration(float64(i-1) / tl.FPS * float64(time.Second)) }, 0)
}

// Span is a run in a recording: where it began and how long it lasted.
type Span struct{ At, Len time.Duration }

func (s Span) String() string {
	return fmt.Sprintf("%v at %v", s.Len.Round(time.Millisecond), s.At.Round(10*time.Millisecond))
}

// Lengths is how long each of spans lasted, in their order.
func Lengths(spans []Span) []time.Duration {
	ls := make([]time.Duration, len(spans))
	for i, s := range spans {
		ls[i] = s.Len
	}
	return ls
}

// runsOf returns each run of indices in [from, to) for which in holds,
// with where it began (at of its first index) and how long it lasted
// (length of its count), those at least least long, longest first.
func runsOf(from, to int, in func(i int) bool, length func(n int) time.Duration, at func(i int) time.Duration, least time.Duration) []Span {
	var runs []Span
	n := 0
	for i := from; i <= to; i++ {
		if i < to && in(i) {
			n++
			continue
		}
		if d := length(n); n > 0 && d >= least {
			runs = append(runs, Span{At: at(i - n), Len: d})
		}
		n = 0
	}
	slices.SortStableFunc(runs, func(a, b Span) int { return int(b.Len - a.Len) })
	return runs
}

// frameAt is where frame i of the tile begins.
func (tl Tile) frameAt(i int) time.Duration {
	return time.Duration(float64(i) / tl.FPS * float64(time.Second))
}

// Greyed returns the times of the frames between from and to (0: the
// end) of which more than share is colourless: where the picture is all
// colour (Chromium's fake camera is green throughout), a decoder's grey
// smear, a black or a white frame.
func (tl Tile) Greyed(from, to time.Duration, share float64) []time.Duration {
	var off []time.Duration
	first, last := tl.frames(from, to)
	for i := first; i < last; i++ {
		if tl.Grey[i] > share {
			off = append(off, time.Duration(float64(i)/tl.FPS*float64(time.Second)))
		}
	}
	return off
}

// GreyRuns returns how long each run of consecutive frames that Greyed
// would return lasted, longest first: a smear that outlives the repair
// of a loss, where single grey frames are a decoder's passing blemish.
func (tl Tile) GreyRuns(from, to time.Duration, share float64) []time.Duration {
	first, last := tl.frames(from, to)
	return Lengths(runsOf(first, last, func(i int) bool { return tl.Grey[i] > share }, tl.frameAt, tl.frameAt, 0))
}

// frames is the frame range [first, last) between from and to (0: the
// end).
func (tl Tile) frames(from, to time.Duration) (first, last int) {
	last = len(tl.Y)
	if to > 0 {
		last = min(last, int(to.Seconds()*tl.FPS))
	}
	return min(int(from.Seconds()*tl.FPS), last), last
}

// Duration is how long the tile's frames last.
func (tl Tile) Duration() time.Duration {
	return time.Duration(float64(len(tl.Y)) / tl.FPS * float64(time.Second))
}

// Silences returns the runs of digital silence (every sample within ±1 of
// zero, decoded at 48 kHz mono) at least least long in path's first audio
// stream between from and to (0: the end), longest first. A continuous
// tone has no such run longer than a sample or two (its zero crossings).
func Silences(t testing.TB, path string, from, to, least time.Duration) []time.Duration {
	t.Helper()
	return Lengths(SilencesAt(t, path, from, to, least))
}

// SilencesAt is Silences with where each run began.
func SilencesAt(t testing.TB, path string, from, to, least time.Duration) []Span {
	t.Helper()
	pcm, _ := mustRun(t, 5*toolTimeout, "ffmpeg", "-v", "error", "-i", path,
		"-map", "0:a:0", "-ac", "1", "-ar", "48000", "-f", "s16le", "-")
	if to > 0 {
		pcm = pcm[:min(len(pcm), int(to.Seconds()*48000)*2)]
	}
	return runsOf(int(from.Seconds()*48000), len(pcm)/2, func(i int) bool {
		v := int16(uint16(pcm[2*i]) | uint16(pcm[2*i+1])<<8)
		return v >= -1 && v <= 1
	}, sample, sample, least)
}

// sample is where sample n at 48 kHz is, and how long n samples last.
func sample(n int) time.Duration { return time.Duration(n) * time.Second / 48000 }

// Durations prints runs compactly for a log: "3 (1.2s 80ms 70ms)", the
// count and the longest few.
func Durations(runs []time.Duration) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(len(runs)))
	if len(runs) > 0 {
		b.WriteString(" (")
		for i, r := range runs[:min(len(runs), 5)] {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(r.Round(time.Millisecond).String())
		}
		if len(runs) > 5 {
			b.WriteString(" …")
		}
		b.WriteByte(')')
	}
	return b.String()
}
