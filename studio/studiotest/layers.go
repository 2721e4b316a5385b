package studiotest

import (
	"fmt"
	"strings"
	"time"
)

// Layers follows the simulcast layer (rid: l, m, h) a receiver gets of one
// sender, as a test reads it now and then (/api/state's forwarded): when
// it changed, and how often it flipped — a move down right after a move
// up, each a keyframe for every receiver of the layer (issue #10). Not
// safe for concurrent use.
type Layers struct {
	start   time.Time
	cur     string
	rose    bool
	changes []string
	ups     []time.Time
	flips   int
}

// layerRank orders the rids a guest's page and a pion test guest send.
var layerRank = map[string]int{"l": 1, "m": 2, "h": 3}

// See notes that the receiver gets layer rid at at ("": none yet, not
// noted).
func (l *Layers) See(rid string, at time.Time) {
	switch {
	case rid == "" || rid == l.cur:
		return
	case l.start.IsZero():
		l.start, l.cur = at, rid
		l.changes = append(l.changes, rid)
		return
	}
	up := layerRank[rid] > layerRank[l.cur]
	if !up && l.rose {
		l.flips++
	}
	if up {
		l.ups = append(l.ups, at)
	}
	l.rose, l.cur = up, rid
	l.changes = append(l.changes, fmt.Sprintf("%.1fs %s", at.Sub(l.start).Seconds(), rid))
}

// Current is the layer last seen.
func (l *Layers) Current() string { return l.cur }

// Changes is how many times the layer changed.
func (l *Layers) Changes() int { return max(0, len(l.changes)-1) }

// Flips is how many moves down came right after a move up.
func (l *Layers) Flips() int { return l.flips }

// Ups are when the receiver was seen moved up.
func (l *Layers) Ups() []time.Time { return l.ups }

// String is the timeline: the first layer, then each change with the
// seconds since the first.
func (l *Layers) String() string { return strings.Join(l.changes, ", ") }
