package studiotest

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/pion/rtp"

	"greenroom/encode/keyframe"
)

// Pictures follows what a receiver could show of one VP8 stream it
// receives, as a decoder would, and how long its picture stood still
// (issue #10: a receiver moved up a layer its link can't carry loses the
// layer's keyframe and shows nothing new until one comes whole). A frame
// is shown once every packet from its first to its marker came
// (retransmissions included) and so did every packet since the last frame
// shown, or its VP8 picture ID follows that frame's (as Chromium's
// decoder goes on by picture IDs: what is missing between was padding, a
// sender's probe, no frame), or it is a whole keyframe; after a frame that
// can't be shown, nothing is until the next whole keyframe. Padding-only packets (a
// sender's probe) only fill the numbering; Padding counts them. Safe for
// concurrent use; See is called from the track's reader.
type Pictures struct {
	mu      sync.Mutex
	got     map[uint16]bool
	frames  []*picture // not yet shown, in order of their first packet
	shown   bool
	lastEnd uint16    // the marker's sequence number of the last frame shown
	lastPID int       // its VP8 picture ID, -1 for none
	lastTS  uint32    // its timestamp
	lastAt  time.Time // when it was shown
	stills  []Still
	padding int
}

// Still is a time a receiver's picture stood still: from the frame shown
// at From until the next, Took later. Missing is how many packets between
// the two never came (a hole no NACK filled, 0 for a stream that paused
// or one going on now), and Key says whether the next was a keyframe.
type Still struct {
	From    time.Time
	Took    time.Duration
	Missing int
	Key     bool
}

// String says when the still began, how long it lasted and what ended it.
func (s Still) String() string {
	end := "then a frame"
	if s.Key {
		end = "then a keyframe"
	}
	return fmt.Sprintf("from %s for %v (%d packets missing, %s)", s.From.Format("15:04:05.000"), s.Took.Round(time.Millisecond), s.Missing, end)
}

type picture struct {
	ts                    uint32
	start, end            uint16
	hasStart, hasEnd, key bool
	pid, pidMask          int // VP8 picture ID and its range (7 or 15 bits); pid -1 for none
}

// See takes a packet of the stream as it arrives.
func (p *Pictures) See(pkt *rtp.Packet) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.got == nil {
		p.got = map[uint16]bool{}
	}
	p.got[pkt.SequenceNumber] = true
	if len(pkt.Payload) == 0 {
		p.padding++
		p.advance(now)
		return
	}
	i := slices.IndexFunc(p.frames, func(f *picture) bool { return f.ts == pkt.Timestamp })
	if i < 0 {
		if p.shown && int32(pkt.Timestamp-p.lastTS) <= 0 {
			return // a late retransmission of a frame gone by
		}
		p.frames = append(p.frames, &picture{ts: pkt.Timestamp, pid: -1})
		i = len(p.frames) - 1
	}
	f := p.frames[i]
	if vp8Start(pkt.Payload) {
		f.start, f.hasStart = pkt.SequenceNumber, true
		f.key, _, _ = keyframe.VP8(pkt.Payload)
		f.pid, f.pidMask = vp8PictureID(pkt.Payload)
	}
	if pkt.Marker {
		f.end, f.hasEnd = pkt.SequenceNumber, true
	}
	p.advance(now)
}

// advance shows what can be shown now. Call with mu held.
func (p *Pictures) advance(now time.Time) {
	for len(p.frames) > 0 {
		f := p.frames[0]
		whole := f.hasStart && f.hasEnd && p.all(f.start, f.end)
		switch {
		case whole && (f.key || !p.shown || p.all(p.lastEnd+1, f.start-1) || f.follows(p.lastPID)):
			p.show(f, now)
			continue
		case slices.ContainsFunc(p.frames[1:], func(g *picture) bool { return g.key && g.hasStart && g.hasEnd && p.all(g.start, g.end) }):
			// A whole keyframe later on: what comes before it is
			// never shown.
			p.frames = p.frames[1:]
			continue
		}
		return
	}
}

// show notes frame f shown at now. Call with mu held.
func (p *Pictures) show(f *picture, now time.Time) {
	if p.shown {
		st := Still{From: p.lastAt, Took: now.Sub(p.lastAt), Key: f.key}
		for s := p.lastEnd + 1; int16(f.start-s) > 0; s++ {
			if !p.got[s] {
				st.Missing++
			}
		}
		p.stills = append(p.stills, st)
	}
	p.shown, p.lastEnd, p.lastTS, p.lastAt, p.lastPID = true, f.end, f.ts, now, f.pid
	p.frames = p.frames[1:]
	// Forget packets well behind: the map stays small.
	for s := range p.got {
		if int16(p.lastEnd-s) > 1000 {
			delete(p.got, s)
		}
	}
}

// all says whether every packet from a to b came (none: b before a).
func (p *Pictures) all(a, b uint16) bool {
	for s := a; int16(b-s) >= 0; s++ {
		if !p.got[s] {
			return false
		}
	}
	return true
}

// StillsOver is every time since from that the picture stood still
// longer than d, the one going on now included.
func (p *Pictures) StillsOver(from time.Time, d time.Duration) []Still {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Still
	for _, s := range p.stills {
		if s.Took > d && !s.From.Add(s.Took).Before(from) {
			out = append(out, s)
		}
	}
	if p.shown && time.Since(p.lastAt) > d {
		out = append(out, Still{From: p.lastAt, Took: time.Since(p.lastAt)})
	}
	return out
}

// stuck is how long the picture has stood still at now with a frame
// waiting that can't be shown (a packet of it or before it missing): 0
// while none waits, and before the first frame shown.
func (p *Pictures) stuck(now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.shown || len(p.frames) == 0 {
		return 0
	}
	return now.Sub(p.lastAt)
}

// Shown says whether any frame was shown.
func (p *Pictures) Shown() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.shown
}

// Padding is how many padding-only packets came.
func (p *Pictures) Padding() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.padding
}

// follows says whether the frame's picture ID is the next after last (-1:
// none).
func (f *picture) follows(last int) bool {
	return f.pid >= 0 && last >= 0 && f.pid == (last+1)&f.pidMask
}

// vp8PictureID is the picture ID in a VP8 RTP payload's descriptor and its
// mask (0x7f or 0x7fff, by its M bit), or -1 (RFC 7741 §4.2).
func vp8PictureID(payload []byte) (id, mask int) {
	if len(payload) < 3 || payload[0]&0x80 == 0 || payload[1]&0x80 == 0 {
		return -1, 0
	}
	if payload[2]&0x80 == 0 {
		return int(payload[2]), 0x7f
	}
	if len(payload) < 4 {
		return -1, 0
	}
	return int(payload[2]&0x7f)<<8 | int(payload[3]), 0x7fff
}

// vp8Start says whether a VP8 RTP payload begins a frame: its descriptor's
// S bit on partition 0 (RFC 7741 §4.2).
func vp8Start(payload []byte) bool {
	return len(payload) > 0 && payload[0]&0x10 != 0 && payload[0]&0x07 == 0
}
