// Package mixer owns the program's audio: every source writes into its own
// Track, which converts it to 48 kHz stereo float (libswresample via shim)
// and buffers it in a bounded FIFO; at each tick the pipeline pulls exactly
// one encoder frame (1024 samples for AAC) from every track and sums them.
//
// A track is a small jitter buffer: it plays nothing until Prebuffer is
// queued, so a source that delivers in bursts does not click, and it drops
// its oldest samples beyond MaxQueue, so a source running fast cannot build
// up delay. Both are counted.
package mixer

import (
	"fmt"
	"math"
	"sync"
	"time"

	"greenroom/encode/shim"
)

// Rate and Channels are the mix format.
const (
	Rate     = 48000
	Channels = 2
)

// FIFO is a ring of interleaved stereo samples with a fixed capacity.
// It is not safe for concurrent use; Track guards it.
type FIFO struct {
	buf  []float32
	r, n int // read index and length, in samples (not frames)
}

// NewFIFO holds up to frames stereo frames.
func NewFIFO(frames int) *FIFO { return &FIFO{buf: make([]float32, frames*Channels)} }

// Len is the number of frames queued.
func (f *FIFO) Len() int { return f.n / Channels }

// Write appends interleaved samples, dropping the oldest when full, and
// returns how many frames were dropped.
func (f *FIFO) Write(s []float32) (dropped int) {
	if over := len(s) - len(f.buf); over > 0 { // more than fits at all
		dropped += over / Channels
		s = s[over:]
	}
	if over := f.n + len(s) - len(f.buf); over > 0 {
		f.r = (f.r + over) % len(f.buf)
		f.n -= over
		dropped += over / Channels
	}
	w := (f.r + f.n) % len(f.buf)
	k := copy(f.buf[w:], s)
	copy(f.buf, s[k:])
	f.n += len(s)
	return dropped
}

// Discard drops up to n frames from the head and returns how many it
// dropped.
func (f *FIFO) Discard(n int) int {
	m := min(n*Channels, f.n)
	f.r = (f.r + m) % len(f.buf)
	f.n -= m
	return m / Channels
}

// Peak is the largest magnitude among the first n frames (fewer if fewer
// are queued), without taking them.
func (f *FIFO) Peak(n int) float32 {
	var p float32
	m := min(n*Channels, f.n)
	for i := 0; i < m; i++ {
		v := f.buf[(f.r+i)%len(f.buf)]
		if v < 0 {
			v = -v
		}
		p = max(p, v)
	}
	return p
}

// Read moves up to len(dst) samples into dst and returns how many it moved.
func (f *FIFO) Read(dst []float32) int {
	m := min(len(dst), f.n)
	k := copy(dst[:m], f.buf[f.r:min(len(f.buf), f.r+m)])
	copy(dst[k:m], f.buf)
	f.r = (f.r + m) % len(f.buf)
	f.n -= m
	return m
}

// Track is one source's audio. Write is called by the source's goroutine,
// pull by the mixer's; all fields are guarded by mu.
type Track struct {
	Name string

	mu         sync.Mutex
	fifo       *FIFO
	prebuffer  int // frames needed before playing (again)
	playing    bool
	res        *shim.Resampler
	resFormat  [2]int // rate, channels the resampler was built for
	gain       float32
	muted      bool
	peak       float32 // of the last pulled block, 0..1
	underruns  int64
	overflowed int64 // frames dropped
	// The level meter: the loudest sample of the window under way and of
	// the one before it, each LevelWindow long, so Level always covers
	// between one and two windows of the latest sound.
	loud, loudBefore float32
	loudFrames       int   // frames in the window under way
	voice            voice // whether the source speaks (speaking.go)
	// A timed track (WriteAt) knows where its head sample belongs on the
	// program's sample clock, and is played there — not whenever it
	// happens to arrive. This is what keeps a source in sync with the
	// picture across slow starts and scheduling hiccups.
	timed bool
	head  int64 // program sample index of the FIFO's first frame
	// A slipping track (SetSlip) moves to where its writes say they
	// belong without a jump; next is the program sample index of the
	// next pull (-1: not pulled on a clock yet), where an untimed track's
	// queue goes on playing when it turns timed.
	slip bool
	next int64
	pace pace // the slipping track's source against the program
	// late is how many samples later than the last write belongs the
	// queue ends after it (negative: earlier), and lateEnd where that
	// write ends on the program's samples (Late).
	late, lateEnd int64
	// Draining an untimed track: a burst leaves more queued than the
	// prebuffer, and with source and mix at one rate it would stay queued
	// (late) for the rest of the show. depthMin is the least queued at a
	// pull in the window under way (pulls of it so far: depthPulls);
	// excess is what the last window showed was never needed, taken out
	// in quiet moments, where skipping sound cannot be heard.
	depthMin, depthPulls int
	excess               int
	drained              int64
	// A concealing track (SetConceal) that runs dry plays its last
	// block again, fading, rather than silence: last is that block,
	// concealing how many blocks it has filled (some of) since, and
	// concealRun how many frames.
	conceal    bool
	last       []float32
	concealing int
	concealRun int
	concealed  int64 // frames filled so
	// Scratch of a slipping track's writes.
	looped, stretched []float32
}

// concealFor is how many frames (about 85 ms) a concealing track fills
// after it ran dry, each block at half the level of the one before; then
// it is silent until it has its sound again. Counted in frames, not
// blocks: a slipping track's holes are parts of blocks (the end of the
// one that ran dry, the start of the one its sound comes back in).
const concealFor = 4 * 1024

// Draining: a window of drainWindow pulls (about a second of 1024-frame
// blocks) whose queue never fell below prebuffer+drainSlack frames marks
// the difference as excess; it is skipped where the next block is quieter
// than drainQuiet (−40 dBFS).
const (
	drainWindow = 48
	drainSlack  = Rate / 50 // 20 ms
	drainQuiet  = 0.01
)

// DefaultPrebuffer is how much a track queues before it plays.
const DefaultPrebuffer = 60 * time.Millisecond

// TrackConfig tunes a track's jitter buffer.
type TrackConfig struct {
	Prebuffer time.Duration // default 60 ms
	MaxQueue  time.Duration // default 500 ms
}

// NewTrack returns an empty track.
func NewTrack(name string, cfg TrackConfig) *Track {
	if cfg.Prebuffer <= 0 {
		cfg.Prebuffer = DefaultPrebuffer
	}
	if cfg.MaxQueue <= cfg.Prebuffer {
		cfg.MaxQueue = max(500*time.Millisecond, 2*cfg.Prebuffer)
	}
	return &Track{
		Name:      name,
		fifo:      NewFIFO(frames(cfg.MaxQueue)),
		prebuffer: frames(cfg.Prebuffer),
		gain:      1,
		next:      -1,
	}
}

func frames(d time.Duration) int { return int(d * Rate / time.Second) }

// SetConceal makes the track, when it runs dry, play its last block again
// at a falling level for about 85 ms (concealFor) instead of silence:
// for a source over a network (a guest), whose sound comes late now and
// then, where a hole of silence is heard as a break and a faded repeat
// hardly at all, as a browser's own jitter buffer does (issue #10).
func (t *Track) SetConceal(on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.conceal = on
}

// Write queues interleaved float samples of the given rate and channel
// count, converting them to the mix format. They play as soon as the
// track's prebuffer allows: for sources without timestamps.
func (t *Track) Write(pcm []float32, rate, channels int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	pcm, err := t.convert(pcm, rate, channels)
	if err != nil {
		return err
	}
	if t.timed { // the source changed to one without timestamps
		t.timed, t.playing = false, false
	}
	t.overflowed += int64(t.fifo.Write(pcm))
	return nil
}

// Slop is how far a timed write may land from where the previous one
// ended and still be taken as continuous; further off, the track starts
// again at the new time (a source that restarted, or jumped).
const Slop = 20 * time.Millisecond

// WriteAt queues samples whose first one belongs at program sample index
// at (48 kHz): the mixer plays them exactly then. Samples that arrive after
// their time are dropped; a gap plays as silence.
func (t *Track) WriteAt(pcm []float32, rate, channels int, at int64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	pcm, err := t.convert(pcm, rate, channels)
	if err != nil {
		return err
	}
	if t.slip {
		t.slipTo(pcm, at)
		return nil
	}
	end := t.head + int64(t.fifo.Len())
	if d := at - end; !t.timed || t.fifo.Len() == 0 || d > int64(frames(Slop)) || -d > int64(frames(Slop)) {
		t.fifo.Discard(t.fifo.Len())
		t.head, t.timed = at, true
	}
	dropped := t.fifo.Write(pcm)
	t.head += int64(dropped)
	t.overflowed += int64(dropped)
	return nil
}

// SetSlip makes a timed track move to where its writes say they belong
// gently, rather than by restarting there (WriteAt beyond Slop): the
// sound of a guest placed by their sender's clock (clock.Playout), whose
// playout delay changes now and then, and which hands over from its
// arrival (an untimed track, before the sender's first report) to its
// time. A change of place is made at once where the sound is quiet
// (silence inserted, or quiet sound skipped, between two words), else by
// playing the sound up to slipRate faster or slower: never a jump back
// in time or a cut in a word (issue #12).
func (t *Track) SetSlip(on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.slip = on
}

const (
	// slipTolerance is how far a write may land from where the queue
	// ends and be taken as continuous (RTP times mapped through a sender
	// report are good to about that).
	slipTolerance = Rate / 1000 // 1 ms
	// slipRate is the most a slipping track's sound is sped up or slowed
	// down (5 ms a second: a pitch change of 0.5 %, a twelfth of a
	// semitone), when there is no quiet moment to move in.
	slipRate = 200
	// slipRestart is a move too far to slip: the source restarted (a
	// new session), and the track starts over at the new time.
	slipRestart = Rate // 1 s
)

// slipTo queues pcm (mix format) whose first frame belongs at program
// sample at, on a slipping track. Call with mu held.
func (t *Track) slipTo(pcm []float32, at int64) {
	if !t.timed && t.fifo.Len() > 0 && t.next >= 0 {
		// From arrival to time: the queue goes on playing where it
		// would have, and the writes move the track from there.
		t.head = t.next + int64(max(0, t.prebuffer-t.fifo.Len()))
		if t.playing {
			t.head = t.next
		}
		t.timed = true
	}
	end := t.head + int64(t.fifo.Len())
	d := at - end // > 0: the write belongs later than the queue ends
	n := int64(len(pcm) / Channels)
	if !t.timed || t.fifo.Len() == 0 || d > slipRestart || -d > slipRestart {
		t.fifo.Discard(t.fifo.Len())
		t.head, t.timed, d = at, true, 0
		t.pace = pace{}
	}
	drift := t.pace.note(at, n)
	switch {
	case d >= -slipTolerance && d <= slipTolerance:
	case quiet(pcm):
		if d > 0 { // a pause made longer, by its own sound
			t.writeLooped(pcm, int(min(d, slipRestart)))
		} else { // quiet sound skipped: the pause made shorter
			pcm = pcm[min(-d, n)*Channels:]
		}
	default:
		// Around the source's own pace: a fast sender's sound is played
		// that much faster all along, and the slip moves it either way
		// on top (else a sender 0.4 % fast left 0.1 % to move earlier
		// by, and its sound took minutes to follow a shorter delay).
		base := int64(math.Round(float64(n) * drift))
		k := min(max(d, base-n/slipRate-1), base+n/slipRate+1)
		pcm = t.stretch(pcm, int(n+k))
	}
	dropped := t.fifo.Write(pcm)
	t.head += int64(dropped)
	t.overflowed += int64(dropped)
	t.lateEnd = at + n
	t.late = t.head + int64(t.fifo.Len()) - t.lateEnd
}

// Late is how much later than its writes say a slipping track's sound
// plays now (negative: earlier): the part of a move (a changed playout
// delay, the hand-over from arrival) that it has yet to slip. A picture
// of the same source placed that much later plays with its sound all
// through the move (encode.Input.WriteVideoAt), where it would jump to
// its new place at once and leave the sound out of sync for a second per
// 5 ms moved. 0 for a track not slipping, or whose sound stopped coming
// half a second ago.
func (t *Track) Late() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.slip || !t.timed || t.next > t.lateEnd+Rate/2 {
		return 0
	}
	return time.Duration(t.late) * time.Second / Rate
}

// pace measures a slipping track's source clock against the program's,
// as the program samples its writes span per sample of theirs, less one:
// −0.001 for a sender whose clock runs 0.1 % fast. A sender-report
// mapping moves its writes in steps (each new report corrects the
// sender's offset by what its clock gained since the last), so the pace
// is taken over many seconds; a step of paceJump or more is the playout
// delay changing, not the clock, and is left out.
type pace struct {
	prev      int64 // the last write's place
	prevN     int64 // and its length; 0 before the first
	span, src int64 // program and source samples measured
}

const (
	paceJump  = Rate / 125     // 8 ms: playout steps are 10 ms or more
	paceLeast = 5 * Rate       // measured before it is used
	paceMost  = 30 * Rate      // after which the oldest half is forgotten
	paceBound = 1.0 / slipRate // beyond ±0.5 %: not a clock, left to the slip
)

// note takes a write of n samples placed at at and returns the pace so far
// (0 until paceLeast).
func (r *pace) note(at, n int64) float64 {
	if r.prevN > 0 {
		if step := at - r.prev; step-r.prevN < paceJump && r.prevN-step < paceJump {
			r.span += step
			r.src += r.prevN
		}
	}
	r.prev, r.prevN = at, n
	if r.src > paceMost {
		r.span, r.src = r.span/2, r.src/2
	}
	if r.src < paceLeast {
		return 0
	}
	return min(max(float64(r.span)/float64(r.src)-1, -paceBound), paceBound)
}

// quiet is whether pcm is quieter than drainQuiet: a pause, where sound
// can be inserted before it or skipped unheard.
func quiet(pcm []float32) bool {
	for _, v := range pcm {
		if v > drainQuiet || v < -drainQuiet {
			return false
		}
	}
	return true
}

// writeLooped queues n frames of pcm played again and again: a pause
// made longer with its own quiet sound, not zeros, which would be a hole
// of digital silence in the program, heard as the line cut (issue #10:
// the quiet write is as often a lost packet's concealment, fading, as a
// pause between words). Call with mu held.
func (t *Track) writeLooped(pcm []float32, n int) {
	t.looped = t.looped[:0]
	for len(pcm) > 0 && len(t.looped) < n*Channels {
		t.looped = append(t.looped, pcm[:min(len(pcm), n*Channels-len(t.looped))]...)
	}
	dropped := t.fifo.Write(t.looped)
	t.head += int64(dropped)
	t.overflowed += int64(dropped)
}

// stretch resamples pcm (interleaved stereo) to n frames by linear
// interpolation: a slip of a few frames in a block, unheard.
func (t *Track) stretch(pcm []float32, n int) []float32 {
	m := len(pcm) / Channels
	if n <= 0 || m < 2 || n == m {
		return pcm
	}
	t.stretched = append(t.stretched[:0], make([]float32, n*Channels)...)
	step := float64(m-1) / float64(max(n-1, 1))
	for i := range n {
		x := float64(i) * step
		j := min(int(x), m-2)
		f := float32(x - float64(j))
		for c := range Channels {
			a, b := pcm[j*Channels+c], pcm[(j+1)*Channels+c]
			t.stretched[i*Channels+c] = a + (b-a)*f
		}
	}
	return t.stretched
}

// convert resamples pcm to the mix format; the result may be reused by the
// next call.
func (t *Track) convert(pcm []float32, rate, channels int) ([]float32, error) {
	if channels <= 0 || len(pcm)%channels != 0 {
		return nil, fmt.Errorf("mixer: %s: %d samples is not a whole number of %d-channel frames", t.Name, len(pcm), channels)
	}
	if rate == Rate && channels == Channels {
		return pcm, nil
	}
	if t.res == nil || t.resFormat != [2]int{rate, channels} {
		if t.res != nil {
			t.res.Close()
		}
		r, err := shim.NewResampler(rate, channels, Rate, Channels)
		if err != nil {
			return nil, fmt.Errorf("mixer: %s: %w", t.Name, err)
		}
		t.res, t.resFormat = r, [2]int{rate, channels}
	}
	out, err := t.res.Convert(pcm)
	if err != nil {
		return nil, fmt.Errorf("mixer: %s: %w", t.Name, err)
	}
	return out, nil
}

// SetGain sets the track's linear gain (1 = unchanged).
func (t *Track) SetGain(g float32) {
	t.mu.Lock()
	t.gain = g
	t.mu.Unlock()
}

// Gain is the track's linear gain, as SetGain set it.
func (t *Track) Gain() float32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.gain
}

// Gain is the linear gain of a level in dB: 0 dB is 1, −6 dB about a
// half, −Inf (off) 0.
func Gain(dB float64) float32 {
	if math.IsInf(dB, -1) {
		return 0
	}
	return float32(math.Pow(10, dB/20))
}

// SetMuted silences the track in the mix; its level still shows.
func (t *Track) SetMuted(m bool) {
	t.mu.Lock()
	t.muted = m
	t.mu.Unlock()
}

// LevelWindow is the level meter's window: TrackStats.Level is the peak
// of the last one to two of them (100–200 ms), long enough that a meter
// polled a few times a second misses no syllable, short enough to follow
// speech.
const LevelWindow = 100 * time.Millisecond

// TrackStats is what a level meter and a health display need.
type TrackStats struct {
	Peak float32 // 0..1, of the last mixed block (1024 samples, 21 ms)
	// Level is the loudest sample of the last 100–200 ms (see
	// LevelWindow), 0..1: what a level meter shows. Muted tracks are
	// metered too.
	Level float32
	// Speaking is whether the source speaks now, by its sound as it
	// arrives (before its gain, muted too), with hysteresis (speaking.go).
	Speaking  bool
	Queued    time.Duration
	Underruns int64
	Dropped   int64 // frames dropped because the source ran ahead
	// Drained is how many frames of silence were skipped to bring the
	// delay of a track that had queued up back to its prebuffer.
	Drained int64
	// Concealed is how many frames a concealing track (SetConceal)
	// filled with its last block, fading, after running dry.
	Concealed int64
}

// Stats returns the track's level and buffer health.
func (t *Track) Stats() TrackStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return TrackStats{
		Peak:      t.peak,
		Level:     max(t.loud, t.loudBefore),
		Speaking:  t.voice.speaking,
		Queued:    time.Duration(t.fifo.Len()) * time.Second / Rate,
		Underruns: t.underruns,
		Dropped:   t.overflowed,
		Drained:   t.drained,
		Concealed: t.concealed,
	}
}

// pullAdd adds the track's next len(scratch)/2 frames into mix (both
// interleaved stereo), and into mon if it is not nil, or nothing while it
// is prebuffering. A timed track gives the frames that belong at program
// sample at (at < 0: the mixer has no clock, play in order).
func (t *Track) pullAdd(mix, mon, scratch []float32, at int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	need := len(scratch) / Channels
	if at >= 0 {
		t.next = at + int64(need)
	}
	if t.timed && at >= 0 {
		t.pullTimed(mix, mon, scratch, at)
		return
	}
	if !t.playing {
		if t.fifo.Len() < max(t.prebuffer, need) {
			if t.concealFrom(scratch, 0) {
				t.addPeak(mix, mon, scratch)
				return
			}
			t.peak = 0
			t.meter(0, need)
			return
		}
		t.playing = true
		t.depthMin, t.depthPulls, t.excess = math.MaxInt, 0, 0
	}
	t.drain(need)
	got := t.fifo.Read(scratch)
	if got < len(scratch) {
		// Ran dry: play what there is, then wait for a full prebuffer again
		// rather than stuttering block by block.
		t.underruns++
		t.playing = false
		if !t.concealFrom(scratch, got) {
			clear(scratch[got:])
		}
	} else if t.conceal {
		t.last = append(t.last[:0], scratch...)
		t.concealing, t.concealRun = 0, 0
	}
	t.addPeak(mix, mon, scratch)
}

// concealFrom fills scratch from sample from on with the track's last
// whole block, at half the level of what it filled before, if the track
// conceals and has not yet filled concealFor frames since it ran dry.
func (t *Track) concealFrom(scratch []float32, from int) bool {
	return t.concealHoles(scratch, [2]int{from, len(scratch)})
}

// concealHoles is concealFrom for the holes of one block, each the
// samples from its first index to its second.
func (t *Track) concealHoles(scratch []float32, holes ...[2]int) bool {
	if !t.conceal || len(t.last) == 0 || t.concealRun >= concealFor {
		return false
	}
	t.concealing++
	gain := float32(math.Pow(0.5, float64(t.concealing)))
	for _, h := range holes {
		end := min(h[1], h[0]+(concealFor-t.concealRun)*Channels)
		for i := h[0]; i < end; i++ {
			scratch[i] = t.last[i%len(t.last)] * gain
		}
		clear(scratch[end:h[1]]) // past concealFor
		t.concealRun += (end - h[0]) / Channels
		t.concealed += int64((end - h[0]) / Channels)
	}
	return true
}

// drain watches how much a playing untimed track has queued before each
// pull of need frames and, once a window showed more than the prebuffer
// was never needed, skips that much where the track is quiet.
func (t *Track) drain(need int) {
	t.depthMin = min(t.depthMin, t.fifo.Len())
	if t.depthPulls++; t.depthPulls >= drainWindow {
		t.excess = 0
		if extra := t.depthMin - t.prebuffer - need; extra > drainSlack {
			t.excess = extra
		}
		t.depthMin, t.depthPulls = math.MaxInt, 0
	}
	if t.excess <= 0 || t.fifo.Len()-need < t.prebuffer {
		return
	}
	// Skip at most a block at a time, and only a quiet one: the pause
	// between two words.
	if n := min(t.excess, need); t.fifo.Peak(n+need) < drainQuiet {
		n = t.fifo.Discard(n)
		t.excess -= n
		t.drained += int64(n)
	}
}

// pullTimed is pullAdd for a timed track: late samples are dropped, a
// head still in the future leaves silence before it.
func (t *Track) pullTimed(mix, mon, scratch []float32, at int64) {
	need := int64(len(scratch) / Channels)
	if late := at - t.head; late > 0 {
		t.head += int64(t.fifo.Discard(int(late)))
		if t.fifo.Len() == 0 {
			t.head = at // all gone: the next write sets its own time
		}
	}
	clear(scratch)
	offset := min(max(t.head-at, 0), need)
	got := int64(t.fifo.Read(scratch[offset*Channels:]) / Channels)
	t.head += got
	dry := got < need-offset && t.fifo.Len() == 0
	if dry {
		t.underruns++
	}
	switch {
	case t.slip && (dry || offset > 0):
		// A slipping track's sound came late, or comes back later in
		// the block than where it ran dry (its playout delay grew
		// meanwhile): conceal as an untimed track does (SetConceal),
		// before it and after it, rather than holes of silence (issue
		// #10).
		after := [2]int{len(scratch), len(scratch)}
		if dry {
			after[0] = int(offset+got) * Channels
		}
		t.concealHoles(scratch, [2]int{0, int(offset) * Channels}, after)
	case t.conceal && !dry && offset == 0:
		t.last = append(t.last[:0], scratch...)
		t.concealing, t.concealRun = 0, 0
	}
	t.addPeak(mix, mon, scratch)
}

// addPeak measures the block's peak and adds it to the mix, unless the
// track is muted, and to mon (if not nil) whether muted or not: who is
// heard on the monitor is the caller's choice (Mixer.SumMonitorAt).
func (t *Track) addPeak(mix, mon, scratch []float32) {
	var peak float32
	for _, s := range scratch {
		peak = max(peak, float32(math.Abs(float64(s))))
	}
	t.peak = min(peak, 1)
	t.meter(t.peak, len(scratch)/Channels)
	if mon != nil {
		for i, s := range scratch {
			mon[i] += s * t.gain
		}
	}
	if t.muted {
		return
	}
	for i, s := range scratch {
		mix[i] += s * t.gain
	}
}

// meter adds a block of n frames whose peak was peak to the level meter.
func (t *Track) meter(peak float32, n int) {
	t.voice.add(peak, n)
	t.loud = max(t.loud, peak)
	if t.loudFrames += n; t.loudFrames >= frames(LevelWindow) {
		t.loudBefore, t.loud, t.loudFrames = t.loud, 0, 0
	}
}

// Close frees the track's resampler.
func (t *Track) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.res != nil {
		t.res.Close()
		t.res = nil
	}
}

// Mixer sums tracks block by block. It is used by one goroutine.
type Mixer struct {
	mix, scratch []float32
}

// SumMonitorAt is SumAt that also sums, into monitor (interleaved stereo,
// len(left)*2 samples, clamped to ±1), the tracks that heard marks (heard
// is as long as tracks): a mix for someone listening live — the host's
// speakers — which may leave out some of the program's sources (the
// host's own mic) and keep some it leaves out (a guest in the green
// room). A track's gain applies to both.
func (m *Mixer) SumMonitorAt(tracks []*Track, heard []bool, left, right, monitor []float32, at int64) {
	clear(monitor)
	m.sumAt(tracks, heard, left, right, monitor, at)
	for i, v := range monitor {
		monitor[i] = clamp(v)
	}
}

// Mix fills left and right (each n samples, the encoder's planar layout)
// with the sum of the tracks' next n frames, hard-limited to ±1.
func (m *Mixer) Mix(tracks []*Track, left, right []float32) { m.MixAt(tracks, left, right, -1) }

// MixAt is Mix for the block that starts at program sample at: timed
// tracks give the samples that belong there.
func (m *Mixer) MixAt(tracks []*Track, left, right []float32, at int64) {
	m.SumAt(tracks, left, right, at)
	for i := range left {
		left[i], right[i] = clamp(left[i]), clamp(right[i])
	}
}

// SumAt is MixAt without the hard limit: the plain sum, which may go past
// ±1, for a master bus that limits it more gently (package master).
func (m *Mixer) SumAt(tracks []*Track, left, right []float32, at int64) {
	m.sumAt(tracks, nil, left, right, nil, at)
}

func (m *Mixer) sumAt(tracks []*Track, heard []bool, left, right, monitor []float32, at int64) {
	n := len(left)
	if cap(m.mix) < n*Channels {
		m.mix = make([]float32, n*Channels)
		m.scratch = make([]float32, n*Channels)
	}
	mix, scratch := m.mix[:n*Channels], m.scratch[:n*Channels]
	clear(mix)
	for i, t := range tracks {
		var mon []float32
		if monitor != nil && heard[i] {
			mon = monitor
		}
		t.pullAdd(mix, mon, scratch, at)
	}
	for i := 0; i < n; i++ {
		left[i], right[i] = mix[2*i], mix[2*i+1]
	}
}

func clamp(v float32) float32 { return max(-1, min(1, v)) }
