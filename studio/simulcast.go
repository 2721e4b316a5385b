package studio

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"greenroom/encode/keyframe"
)

// Simulcast (issue #10): a guest page sends its camera in three layers
// (rid "h", "m", "l": full, half and quarter size). The SFU reads every
// layer and sends each receiver one of them — each other guest the highest
// that fits its downlink, the program the smallest that fills the guest's
// tile — as one continuous stream: a switcher per receiver moves from
// layer to layer only at a keyframe and numbers packets and timestamps on
// from where the last layer left off, so the receiver never sees the
// switch but as a new keyframe of another size.

// layerLive is how long a layer may be silent before it counts as stopped:
// a browser stops its top layers when its uplink or CPU is short.
const layerLive = time.Second

// layerPaused is how long a layer may be silent while another layer of
// its track still flows before it counts as stopped: the browser paused
// it (its uplink estimate fell under what the layer needs; Chromium does
// so every few seconds on a lossy uplink), and a receiver left on it until
// layerLive saw its picture stand still for over a second, the longest
// freezes of TestLabGuestOnBadNetwork (issue #10). Every layer silent
// together (a still screen sends few frames) is no pause.
const layerPaused = 300 * time.Millisecond

// layerSteady is how long a layer that (re)started must flow before a
// receiver is moved onto it from a layer that still flows: a browser short
// of CPU pauses a layer now and then, and each move costs a keyframe.
const layerSteady = 2 * time.Second

// Back-off for a layer the browser pauses again and again: each pause
// that ends a run shorter than holdReset doubles how long it must then
// flow before a receiver is moved onto it (hold: layerSteady after the
// first, up to holdMax). Chromium on a lossy uplink sends its top layer
// in fits of a few seconds (TestLabGuestOnBadNetwork, issue #10); a
// fixed layerSteady moved the program onto it and off again at every fit
// that outlasted it, two keyframes and a risk of a still each time.
const (
	holdMax   = 16 * time.Second
	holdReset = 30 * time.Second
)

// switchEvery bounds how often a receiver's layer is chosen again.
const switchEvery = 500 * time.Millisecond

// layer is one encoding (rid) of a simulcast track. Its fields are set at
// creation; the atomics are written by the layer's forwarding goroutine and
// read by the switchers of every receiver.
type layer struct {
	rid    string
	remote *webrtc.TrackRemote
	pli    func() // asks the publisher for a keyframe of this layer
	// onDemand: the host's feed's, encoded only while a receiver gets it
	// or waits for it (simulcastLocal.wants), so it counts as live even
	// while it rests: wanted, it flows from the next picture on.
	onDemand bool

	// rest is the studio's pausing of a guest's layer nobody gets
	// (rest.go); wake tells the owner's actor a receiver chose the layer
	// while it rests. Both unset for the host's feed.
	rest layerRest
	wake func()

	size    atomic.Uint64 // of its latest keyframe (w<<32 | h); 0 until one came (VP8 only)
	rate    rateMeter
	lastAt  atomic.Int64 // unix nanoseconds of its latest packet
	since   atomic.Int64 // unix nanoseconds of its first packet after a silence
	hold    atomic.Int64 // nanoseconds it must flow after since before it is moved onto; 0: layerSteady
	lastPLI atomic.Int64 // unix nanoseconds
	holes   holes        // its forwarding goroutine's only: losses beyond NACK

	// recent is the layer's latest packets, recent[n%recentPackets] the
	// next to go; its forwarding goroutine's only, which is where every
	// switch to the layer happens (switcher.forward). On a path that
	// reorders packets (jitter), packets of a keyframe come before its
	// first, the only one that says it begins a keyframe: a receiver
	// switched to the layer at that first packet is sent those after it
	// (sendRecent). Dropped, they left it a keyframe with holes that no
	// NACK could fill (the studio had them), and its picture stood still
	// until the next keyframe: 0.5 s at a switch in the lab at 50 ± 20
	// ms (issue #10). ReadRTP allocates each packet, so keeping them is
	// safe.
	recent [recentPackets]*rtp.Packet
	n      uint
}

// recentPackets is how many of a layer's latest packets it keeps: more
// than a 720p keyframe has, and more than come in the 40 ms a jittery
// path reorders.
const recentPackets = 128

// keep adds pkt to the layer's recent packets. Its forwarding goroutine
// only.
func (l *layer) keep(pkt *rtp.Packet) {
	l.recent[l.n%recentPackets] = pkt
	l.n++
}

// rateMeter measures a stream's bit rate over windows of a second: one
// goroutine counts, any may Load.
type rateMeter struct {
	rate     atomic.Uint64 // bits per second over the last window
	bits     uint64        // since winStart; the counting goroutine only
	winStart time.Time     // the counting goroutine only
}

// Load is the rate over the last window, bits per second; 0 before one.
func (m *rateMeter) Load() uint64 { return m.rate.Load() }

// restart begins a new window at now, keeping the last window's rate: a
// stream back after a silence is not measured over it. The counting
// goroutine only.
func (m *rateMeter) restart(now time.Time) { m.bits, m.winStart = 0, now }

// count notes n bytes sent or received at now.
func (m *rateMeter) count(n int, now time.Time) {
	m.bits += uint64(n) * 8
	if m.winStart.IsZero() {
		m.winStart = now
	} else if d := now.Sub(m.winStart); d >= time.Second {
		m.rate.Store(uint64(float64(m.bits) / d.Seconds()))
		m.bits, m.winStart = 0, now
	}
}

// height of the layer's pictures, 0 if unknown.
func (l *layer) height() int { return int(uint32(l.size.Load())) }
func (l *layer) width() int  { return int(l.size.Load() >> 32) }

// count notes a packet of the layer: its time, its share of the rate, and
// the picture size of a keyframe. A packet after a silence (layerLive, or
// a pause while others of layers flowed: layerPaused) restarts the layer,
// which must then flow for layerSteady (after the browser's pauses, its
// hold) before a receiver is moved back onto it: a browser short of
// uplink or CPU sends its top layer in fits, and each move costs a
// keyframe.
func (l *layer) count(pkt *rtp.Packet, mime string, now time.Time, layers []*layer) bool {
	t := now.UnixNano()
	gap := t - l.lastAt.Swap(t)
	switch {
	case l.rest.ours(t):
		// A silence the studio asked for (rest.go) is no browser's
		// pause: the layer stays steady, and its rate is measured
		// afresh from here rather than over the silence.
		if gap >= int64(layerLive) {
			l.rate.restart(now)
		}
	case gap >= int64(layerPaused) && othersFlow(layers, l, t):
		if prev := t - gap; prev != 0 { // not its first packet
			l.backOff(prev - l.since.Load())
		}
		l.since.Store(t)
	case gap >= int64(layerLive):
		// Every layer silent together (a still picture, the camera
		// stopped) is no pause of the browser's: no back-off.
		l.since.Store(t)
	}
	l.rate.count(len(pkt.Payload), now)
	key, w, h := keyframe.Start(mime, pkt.Payload)
	if key && h > 0 {
		l.size.Store(uint64(w)<<32 | uint64(h))
	}
	return key
}

// backOff lengthens the layer's hold after the browser paused it, its
// run before the pause having lasted run nanoseconds: layerSteady after
// a first pause or a long run (holdReset), else twice the last, up to
// holdMax. The layer's forwarding goroutine only.
func (l *layer) backOff(run int64) {
	h := l.hold.Load()
	if h == 0 || run >= int64(holdReset) {
		l.hold.Store(int64(layerSteady))
		return
	}
	l.hold.Store(min(2*h, int64(holdMax)))
}

// steady says whether at t (unix nanoseconds) the layer has flowed since
// its latest (re)start for its hold: a receiver on another flowing layer
// may be moved onto it.
func (l *layer) steady(t int64) bool {
	hold := max(l.hold.Load(), int64(layerSteady))
	return t-l.since.Load() >= hold
}

// othersFlow says whether a layer other than l sent within layerPaused
// of t (unix nanoseconds).
func othersFlow(layers []*layer, l *layer, t int64) bool {
	for _, o := range layers {
		if o != l && t-o.lastAt.Load() < int64(layerPaused) {
			return true
		}
	}
	return false
}

// requestKeyframe asks for a keyframe of this layer, at most once per
// pliInterval.
func (l *layer) requestKeyframe() {
	now := time.Now().UnixNano()
	last := l.lastPLI.Load()
	if now-last < int64(pliInterval) || !l.lastPLI.CompareAndSwap(last, now) {
		return
	}
	l.pli()
}

// layerStat is what the choice of a layer looks at.
type layerStat struct {
	height int    // of its pictures, 0 if not known
	rate   uint64 // bits per second, 0 if not known
	live   bool   // packets came within layerLive, and it is not paused (layerPaused)
	cur    bool   // the receiver gets it now
}

// better says whether layer a is higher than b: taller pictures, or for
// layers of unknown size (H.264) a higher rate.
func better(a, b layerStat) bool {
	if a.height != b.height {
		return a.height > b.height
	}
	return a.rate > b.rate
}

// ranked returns the indices of the live layers, highest first.
func ranked(ls []layerStat) []int {
	var idx []int
	for i, l := range ls {
		if l.live {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case better(ls[a], ls[b]):
			return -1
		case better(ls[b], ls[a]):
			return 1
		}
		return 0
	})
	return idx
}

// fitRate picks the layer for a receiver whose downlink is budget bits per
// second (0: not known): the highest live layer whose rate fits, the lowest
// live one if none does, -1 if none is live. A layer whose rate is not
// measured yet is taken to fit.
func fitRate(ls []layerStat, budget uint64) int {
	idx := ranked(ls)
	if len(idx) == 0 {
		return -1
	}
	if budget == 0 {
		return idx[0]
	}
	for _, i := range idx {
		if ls[i].rate <= budget {
			return i
		}
	}
	return idx[len(idx)-1]
}

// fitHeight picks the layer for a tile height px tall: the smallest live
// layer at least that tall, the highest if none is; the lowest for a tile
// of 0 (not in the layout: a thumbnail is enough). Layers of unknown size
// count as tall enough only if no layer's size is known, so the choice
// falls back to the highest. -1 if none is live.
func fitHeight(ls []layerStat, px int) int {
	idx := ranked(ls)
	if len(idx) == 0 {
		return -1
	}
	if px <= 0 {
		return idx[len(idx)-1]
	}
	pick := idx[0]
	for _, i := range idx {
		if ls[i].height >= px {
			pick = i
		}
	}
	return pick
}

// minBudget is the least a loss-based estimate falls to, bits/s.
const minBudget = 10_000

// lossBudget is the downlink estimate from a receiver's loss reports when
// it sends no estimate of its own (REMB), after the loss-based controller
// of Google congestion control (draft-ietf-rmcat-gcc-02 §6): above 10%
// loss the estimate drops by half the loss, below 2% it grows by 5%, in
// between it holds. 0 means no limit: a receiver that never lost much
// gets the top layer. The first heavy loss starts the estimate from
// current, the rate of the layer the receiver gets; once it has grown
// past ceiling (well above the top layer) the limit is lifted again.
func lossBudget(prev, current, ceiling uint64, loss float64) uint64 {
	if loss > 0.10 {
		if prev == 0 {
			prev = current
		}
		// Never down to 0, which would mean no limit: below every
		// layer's rate is as low as it needs to go.
		return max(minBudget, uint64(float64(prev)*(1-0.5*loss)))
	}
	if prev == 0 || loss >= 0.02 {
		return prev
	}
	next := uint64(float64(max(prev, current)) * 1.05)
	if next >= ceiling {
		return 0
	}
	return next
}

// switcher makes one continuous stream of a simulcast track's layers for one
// receiver (a guest, or the program): it forwards one layer's packets, moves
// to another only at a keyframe of it, and numbers packets and timestamps
// on from where the last layer left off. mu guards it: each layer is
// forwarded from a goroutine of its own.
type switcher struct {
	choose func(ls []layerStat) int // the layer the receiver should get
	log    *slog.Logger             // says when the layer changes; may be nil
	budget func() uint64            // the receiver's downlink estimate, for the log; may be nil
	// renumbered, if set, is told each layer's timestamp offset as the
	// receiver starts on it: the program maps the layer's RTP times
	// through the layer's own sender reports (clock.Sender.Renumbered).
	renumbered func(ssrc, tsOff uint32)
	// pad, if set, is how many padding packets to send now after the
	// last packet of a frame: a probe of the receiver's link before a
	// climb (probe.go).
	pad func(now time.Time) int

	// cur is written under mu and read without it (State reads it while
	// the program's lock is held, which choose may take).
	cur      atomic.Pointer[layer] // nil until the first keyframe
	chosenAt atomic.Int64          // unix nanoseconds of the last choice

	mu      sync.Mutex
	want    *layer
	started bool
	seqOff  uint16
	tsOff   uint32
	lastSeq uint16 // the last sent, rewritten
	lastTS  uint32
	lastAt  time.Time
}

// wanted is the layer the receiver is to be moved to, or gets; nil before
// the first choice.
func (s *switcher) wanted() *layer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.want
}

// uses says whether the receiver gets layer l or waits for it; false
// for no switcher.
func (s *switcher) uses(l *layer) bool {
	if s == nil {
		return false
	}
	return s.current() == l || s.wanted() == l
}

// current is the layer forwarded now; nil before the first, and for no
// switcher (the host's feed has none for the program).
func (s *switcher) current() *layer {
	if s == nil {
		return nil
	}
	return s.cur.Load()
}

// forward decides what becomes of packet pkt of layer l (key: it begins a
// keyframe) for this receiver: it calls send with the header to send it
// with and its payload, or leaves it out; after the last packet of a
// frame, send may be called again for padding (pad). send is called with
// mu held, so that packets of two layers forwarded at once reach the
// receiver in the order they were numbered (else the old layer's last
// packet could land after the new layer's first). The choice of layer is made without mu: choose may
// call into the receiver (the program's TileHeight takes its lock, under
// which the program reads the studio's State, which reads cur).
func (s *switcher) forward(layers []*layer, l *layer, pkt *rtp.Packet, key bool, clock uint32, now time.Time, send func(h rtp.Header, payload []byte)) {
	s.rechoose(layers, now)
	s.mu.Lock()
	switching := s.cur.Load() != l
	h, ok, ask := s.renumber(l, pkt, key, clock, now)
	if ok {
		send(h, pkt.Payload)
		reordered := switching && s.sendRecent(l, pkt, clock, now, send)
		// No padding after packets that came out of order: it would
		// take a number one of them needs.
		if pkt.Marker && s.pad != nil && !reordered {
			for range s.pad(now) {
				send(s.padding(h), nil)
			}
		}
	}
	s.mu.Unlock()
	if ask != nil {
		// Ask until the keyframe comes (at most every pliInterval): a
		// browser sends none of its own for minutes, the one asked for
		// may have gone by before this receiver was bound, and a
		// receiver that was never sent a packet asks for nothing.
		ask.requestKeyframe()
	}
}

// rechoose chooses the layer the receiver should get, at most every
// switchEvery, or at once when its current layer went quiet.
func (s *switcher) rechoose(layers []*layer, now time.Time) {
	last := s.chosenAt.Load()
	// A current layer gone quiet is chosen away from at once: its
	// receiver's picture stands still meanwhile.
	cur := s.cur.Load()
	quiet := cur != nil && now.UnixNano()-cur.lastAt.Load() >= int64(layerPaused)
	if (!quiet && last != 0 && now.UnixNano()-last < int64(switchEvery)) || !s.chosenAt.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	if i := s.choose(statsOf(layers, s.cur.Load(), now)); i >= 0 {
		s.mu.Lock()
		s.want = layers[i]
		s.mu.Unlock()
		if l := layers[i]; l.wake != nil && l.rest.resting() {
			l.wake() // the page is to send it again now
		}
	}
}

// renumber is forward's decision: the header to send pkt with, or false;
// and the layer to ask a keyframe of, if the receiver waits for one. Call
// with mu held.
func (s *switcher) renumber(l *layer, pkt *rtp.Packet, key bool, clock uint32, now time.Time) (rtp.Header, bool, *layer) {
	cur := s.cur.Load()
	var ask *layer
	if s.want != nil && s.want != cur {
		ask = s.want
	}
	if l != cur {
		if l != s.want || !key {
			return rtp.Header{}, false, ask
		}
		if s.log != nil {
			var budget uint64
			if s.budget != nil {
				budget = s.budget()
			}
			s.log.Debug("simulcast layer switch", "rid", l.rid, "height", l.height(), "from", ridOf(cur), "estimate", budget)
		}
		s.cur.Store(l)
		ask = nil
		if s.started {
			// The new layer's numbers go on from the last packet sent;
			// its first picture comes as long after the last one as it
			// really did (at least one tick of the clock).
			s.seqOff = s.lastSeq + 1 - pkt.SequenceNumber
			gap := max(1, uint32(now.Sub(s.lastAt).Seconds()*float64(clock)))
			s.tsOff = s.lastTS + gap - pkt.Timestamp
		}
		if s.renumbered != nil {
			s.renumbered(pkt.SSRC, s.tsOff)
		}
	}
	h := pkt.Header
	h.SequenceNumber += s.seqOff
	h.Timestamp += s.tsOff
	if !s.started || int16(h.SequenceNumber-s.lastSeq) > 0 {
		s.lastSeq = h.SequenceNumber
	}
	if !s.started || int32(h.Timestamp-s.lastTS) > 0 {
		s.lastTS, s.lastAt = h.Timestamp, now
	}
	s.started = true
	return h, true, ask
}

// sendRecent sends, after key, the first packet of layer l's keyframe
// that the receiver is switched at, the packets of l that came before it
// but follow it, in order (see layer.recent). It says whether any were
// sent. Call with mu held, from l's forwarding goroutine.
func (s *switcher) sendRecent(l *layer, key *rtp.Packet, clock uint32, now time.Time, send func(h rtp.Header, payload []byte)) bool {
	since := func(q *rtp.Packet) int { return int(uint16(q.SequenceNumber - key.SequenceNumber)) }
	var after []*rtp.Packet
	for _, q := range l.recent {
		// Within 2×recentPackets after it: not a packet of the
		// layer's from long ago, its numbers since wrapped.
		if q != nil && q.SSRC == key.SSRC {
			if d := since(q); d > 0 && d < 2*recentPackets {
				after = append(after, q)
			}
		}
	}
	slices.SortFunc(after, func(a, b *rtp.Packet) int { return since(a) - since(b) })
	for _, q := range after {
		if h, ok, _ := s.renumber(l, q, false, clock, now); ok {
			send(h, q.Payload)
		}
	}
	return len(after) > 0
}

// padding is the header of a padding-only packet to send after the one
// sent with header h, the last of a frame: numbered on, at that frame's
// time, and the packets that follow numbered after it. Call with mu held.
func (s *switcher) padding(h rtp.Header) rtp.Header {
	s.seqOff++
	s.lastSeq++
	h.SequenceNumber = s.lastSeq
	h.Marker = false
	h.Padding, h.PaddingSize = true, padSize
	return h
}

// ridOf is l's rid, "" for none.
func ridOf(l *layer) string {
	if l == nil {
		return ""
	}
	return l.rid
}

// statsOf is what the choice looks at of each layer now, for a receiver
// that gets cur: while cur flows, a layer counts as live only once it is
// steady (layerSteady, or its hold after the browser's pauses).
func statsOf(layers []*layer, cur *layer, now time.Time) []layerStat {
	t := now.UnixNano()
	var newest int64 // the latest packet of any layer
	for _, l := range layers {
		newest = max(newest, l.lastAt.Load())
	}
	flows := func(l *layer) bool {
		silent := t - l.lastAt.Load()
		return silent < int64(layerLive) && (silent < int64(layerPaused) || t-newest >= int64(layerPaused))
	}
	curFlows := cur != nil && flows(cur)
	stats := make([]layerStat, len(layers))
	for i, l := range layers {
		// A layer resting (rest.go) is live as the host's on-demand
		// ones are, to a receiver whose layer flows: chosen, it flows
		// again from its next picture. One whose picture stands still
		// (or who has none yet) is moved to a layer that flows now,
		// not kept waiting for a page to resume one.
		live := l.onDemand || l.rest.asleep(t) && curFlows || flows(l) && (l == cur || !curFlows || l.steady(t))
		stats[i] = layerStat{height: l.height(), rate: l.rate.Load(), live: live, cur: l == cur}
	}
	return stats
}

// simulcastLocal is what guests are sent of a simulcast track: a TrackLocal
// that pion binds once per receiving guest (as it does a
// TrackLocalStaticRTP), each binding with its own switcher. mu guards
// bindings, owners and downs.
type simulcastLocal struct {
	log      *slog.Logger
	codec    webrtc.RTPCodecCapability
	id       string
	streamID string
	track    *pubTrack // the track it sends, for its share of a downlink

	mu       sync.RWMutex
	bindings []*binding
	owners   map[webrtc.SSRC]string   // sender SSRC → the receiving guest's ID
	recvs    map[webrtc.SSRC]receiver // sender SSRC → what the receiving guest gives its bindings
}

// receiver is what a receiving guest gives the bindings of the tracks it
// is sent: its downlink, and the tile sizes its page shows.
type receiver struct {
	down *downlink
	view *tileView
}

// binding is one receiving guest of a simulcast track: pion's
// TrackLocalStaticRTP writes for it (SSRC, payload type), after the
// switcher has chosen and renumbered.
type binding struct {
	id   string
	ssrc webrtc.SSRC
	out  *webrtc.TrackLocalStaticRTP
	sw   switcher
	// The receiver's estimate of its downlink for this track (REMB),
	// bits/s, 0 if it sends none; the estimate from its loss reports
	// (lossBudget). Written by the receiver's RTCP reader.
	byREMB atomic.Uint64
	byLoss atomic.Uint64
	// down is the receiver's send-side estimate (downlink.go), set once
	// the receiving guest owns the binding (own); climb holds back its
	// tries up. An atomic, not s.mu: the switcher's choice reads it
	// while write holds s.mu for reading, and a second RLock behind a
	// waiting Lock (own) would deadlock.
	down  atomic.Pointer[downlink]
	climb climber
	// tileClimb holds back climbs toward the tile its page shows the
	// track in after the link could not carry one (towardTile).
	tileClimb climber
	// view is how big the receiver's page draws each participant, set
	// with down.
	view atomic.Pointer[tileView]
}

func newSimulcastLocal(codec webrtc.RTPCodecCapability, id, streamID string, log *slog.Logger) *simulcastLocal {
	return &simulcastLocal{codec: codec, id: id, streamID: streamID, owners: map[webrtc.SSRC]string{}, recvs: map[webrtc.SSRC]receiver{}, log: log}
}

// Bind implements webrtc.TrackLocal.
func (s *simulcastLocal) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	out, err := webrtc.NewTrackLocalStaticRTP(s.codec, s.id, s.streamID)
	if err != nil {
		return webrtc.RTPCodecParameters{}, err
	}
	codec, err := out.Bind(ctx)
	if err != nil {
		return codec, err
	}
	b := &binding{id: ctx.ID(), ssrc: ctx.SSRC(), out: out}
	b.sw.choose = func(ls []layerStat) int { return b.choose(ls, s.track, time.Now()) }
	b.sw.log = s.log.With("ssrc", b.ssrc)
	b.sw.budget = func() uint64 {
		budget, _ := b.estimate(s.track)
		return budget
	}
	b.sw.pad = func(now time.Time) int {
		if e := b.down.Load().estimator(); e != nil {
			return e.probe.padding(b, now)
		}
		return 0
	}
	s.mu.Lock()
	b.setReceiver(s.recvs[b.ssrc], s.track)
	s.bindings = append(s.bindings, b)
	s.mu.Unlock()
	return codec, nil
}

// Unbind implements webrtc.TrackLocal.
func (s *simulcastLocal) Unbind(ctx webrtc.TrackLocalContext) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, b := range s.bindings {
		if b.id == ctx.ID() {
			s.bindings = slices.Delete(s.bindings, i, i+1)
			delete(s.owners, b.ssrc)
			delete(s.recvs, b.ssrc)
			return b.out.Unbind(ctx)
		}
	}
	return webrtc.ErrUnbindFailed
}

func (s *simulcastLocal) ID() string                { return s.id }
func (s *simulcastLocal) RID() string               { return "" }
func (s *simulcastLocal) StreamID() string          { return s.streamID }
func (s *simulcastLocal) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeVideo }

// estimate is the receiver's downlink share for track t, bits/s, and
// where it comes from: its own estimate (REMB) if it sends one, else its
// share of our send-side estimate from its transport-cc feedback
// (downlink.go), else the one from its loss reports; 0 and "" while none
// is known.
func (b *binding) estimate(t *pubTrack) (uint64, EstimateFrom) {
	if r := b.byREMB.Load(); r > 0 {
		return r, EstimateREMB
	}
	if d := b.down.Load(); d != nil {
		if share, ok := d.share(t); ok {
			return share, EstimateTransportCC
		}
	}
	if r := b.byLoss.Load(); r > 0 {
		return r, EstimateLoss
	}
	return 0, ""
}

// choose is the layer the receiver of track t should get now: none above
// what the tile its page shows t in needs, if the page said (tileView), and
// of the rest the one its downlink carries. A move up on the send-side
// estimate waits for a probe of the receiver's link (probe.go): the
// receiver stays on its layer while the probe runs, and after one that
// failed, waiting longer before the next try.
func (b *binding) choose(ls []layerStat, t *pubTrack, now time.Time) int {
	j := b.pick(ls, t, now)
	c := slices.IndexFunc(ls, func(l layerStat) bool { return l.cur && l.live })
	if c < 0 || j < 0 || !better(ls[j], ls[c]) || ls[j].rate == 0 {
		return j
	}
	if _, from := b.estimate(t); from != EstimateTransportCC {
		return j
	}
	d := b.down.Load()
	v, m := d.estimator().tryUp(b, j, ls[c].rate, ls[j].rate, d.sending(), now)
	switch v {
	case probePassed:
		if b.sw.wanted() == b.sw.current() && b.sw.log != nil {
			b.sw.log.Debug("simulcast probe passed", "probe", m)
		}
		b.climb.rose(now)
		return j
	case probeFailed:
		if b.sw.log != nil {
			b.sw.log.Debug("simulcast probe failed", "probe", m)
		}
		b.climb.fell(now)
		b.tileClimb.fell(now)
	}
	return c
}

// pick is choose's layer before any probe: the one the estimate and the
// tile ask for.
func (b *binding) pick(ls []layerStat, t *pubTrack, now time.Time) int {
	need := -1
	if px, ok := b.view.Load().height(t.info.ParticipantID); ok {
		ls = capToTile(ls, px)
		need = fitHeight(ls, px)
	}
	budget, from := b.estimate(t)
	if from != EstimateTransportCC {
		return fitRate(ls, budget)
	}
	d := b.down.Load()
	clear := d.uncongested()
	i := fitEstimate(ls, budget, b.climb.may(now), clear)
	c := slices.IndexFunc(ls, func(l layerStat) bool { return l.cur && l.live })
	if need >= 0 {
		if j, ok := b.towardTile(ls, need, c, i, clear, d.roomAbove(), now); ok {
			return j
		}
	}
	mild := c >= 0 && i >= 0 && better(ls[c], ls[i]) && float64(budget) >= downDeep*float64(ls[c].rate)
	short := b.climb.shortFor(mild, now)
	if c >= 0 && i >= 0 {
		switch {
		case mild && (short < downAfter || clear):
			return c // a dip, or an estimate that trails a clear link: see downAfter
		case better(ls[c], ls[i]):
			b.climb.fell(now)
		case better(ls[i], ls[c]) && !d.mayClimb(now):
			// Another of the receiver's tracks just went up: this one
			// waits its turn.
			return c
		}
	}
	return i
}

// setReceiver gives the binding of track t its receiver's downlink and
// view, and tells the downlink what t sends it.
func (b *binding) setReceiver(r receiver, t *pubTrack) {
	if r.view != nil {
		b.view.Store(r.view)
	}
	d := r.down
	if d == nil {
		return
	}
	b.down.Store(d)
	d.use(t, func() uint64 {
		if l := b.current(); l != nil {
			return l.rate.Load()
		}
		return 0
	})
}

// current is the layer the receiver gets now; nil before the first, and
// for no binding.
func (b *binding) current() *layer {
	if b == nil {
		return nil
	}
	return b.sw.current()
}

// remb takes the receiver's estimate of its downlink: this track's share,
// if the estimate covers ssrc, the stream we send it on (a browser's REMB
// covers every stream it receives of us).
func (b *binding) remb(p *rtcp.ReceiverEstimatedMaximumBitrate, ssrc uint32) {
	if b == nil || (len(p.SSRCs) > 0 && !slices.Contains(p.SSRCs, ssrc)) {
		return
	}
	b.byREMB.Store(uint64(p.Bitrate) / uint64(max(1, len(p.SSRCs))))
}

// reports takes the receiver's loss on ssrc, the stream we send it on, into
// the estimate from loss (lossBudget), held between the rate of the layer
// it gets now and twice the top layer's.
func (b *binding) reports(rs []rtcp.ReceptionReport, ssrc uint32, layers []*layer) {
	cur := b.current()
	if cur == nil {
		return
	}
	var top uint64
	for _, l := range layers {
		top = max(top, l.rate.Load())
	}
	for _, r := range rs {
		if r.SSRC == ssrc {
			b.byLoss.Store(lossBudget(b.byLoss.Load(), cur.rate.Load(), 2*top, float64(r.FractionLost)/256))
		}
	}
}

// write sends packet pkt of layer l to every receiver whose switcher takes
// it.
func (s *simulcastLocal) write(layers []*layer, l *layer, pkt *rtp.Packet, key bool, clock uint32, now time.Time) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, b := range s.bindings {
		b.sw.forward(layers, l, pkt, key, clock, now, func(h rtp.Header, payload []byte) {
			fw := rtp.Packet{Header: h, Payload: payload}
			_ = b.out.WriteRTP(&fw)
		})
	}
}

// own records which guest receives the track through the sender of ssrc,
// and its downlink and view.
func (s *simulcastLocal) own(ssrc webrtc.SSRC, guest string, r receiver) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.owners[ssrc] = guest
	s.recvs[ssrc] = r
	for _, b := range s.bindings {
		if b.ssrc == ssrc {
			b.setReceiver(r, s.track)
		}
	}
}

// bindingOf is the binding sending on ssrc, or nil.
func (s *simulcastLocal) bindingOf(ssrc uint32) *binding {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, b := range s.bindings {
		if uint32(b.ssrc) == ssrc {
			return b
		}
	}
	return nil
}

// inUse are the layers some receiving guest gets now.
func (s *simulcastLocal) inUse() []*layer {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var used []*layer
	for _, b := range s.bindings {
		if l := b.sw.current(); l != nil && !slices.Contains(used, l) {
			used = append(used, l)
		}
	}
	return used
}

// wants says whether a receiving guest gets layer l or waits for it, or
// none gets or waits for any yet: the first packets of every layer let the
// switchers choose.
func (s *simulcastLocal) wants(l *layer) bool {
	used, some := s.uses(l)
	return used || !some
}

// uses says whether a receiving guest gets layer l or waits for it, and
// whether any gets or waits for some layer.
func (s *simulcastLocal) uses(l *layer) (used, some bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, b := range s.bindings {
		if b.sw.uses(l) {
			return true, true
		}
		some = some || b.sw.current() != nil || b.sw.wanted() != nil
	}
	return false, some
}

// forwarded says which layer (rid) each receiving guest gets now.
func (s *simulcastLocal) forwarded() map[string]string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := map[string]string{}
	for _, b := range s.bindings {
		if l := b.sw.current(); l != nil && s.owners[b.ssrc] != "" {
			m[s.owners[b.ssrc]] = l.rid
		}
	}
	return m
}

// Layer is one layer of a guest's simulcast camera, for /api/state.
type Layer struct {
	RID    string `json:"rid"`
	Width  int    `json:"width,omitempty"` // of its latest keyframe; 0 until one came (or not VP8)
	Height int    `json:"height,omitempty"`
	Kbps   int    `json:"kbps"`
	// Resting: nobody gets it, and its page was told to stop sending it
	// (rest.go); Kbps is then what it sent before.
	Resting bool `json:"resting,omitempty"`
}

// String is "h 1280x720 1500 kb/s", and "resting" after it when it rests.
func (l Layer) String() string {
	s := strings.TrimSpace(fmt.Sprintf("%s %dx%d %d kb/s", l.RID, l.Width, l.Height, l.Kbps))
	if l.Resting {
		s += " resting"
	}
	return s
}

// simulcastState fills in the participants' Layers, ProgramLayer and
// Forwarded.
func (f *sfu) simulcastState(st *State) {
	f.mu.Lock()
	var ts []*pubTrack
	for _, pts := range f.tracks {
		for _, t := range pts {
			if t.simul != nil && !t.info.Screen {
				ts = append(ts, t)
			}
		}
	}
	f.mu.Unlock()
	byID := map[string]*Participant{}
	for i := range st.Participants {
		byID[st.Participants[i].ID] = &st.Participants[i]
	}
	for _, t := range ts {
		p := byID[t.info.ParticipantID]
		if p == nil {
			continue
		}
		ls := t.layerList()
		p.Layers = p.Layers[:0]
		for _, l := range ls {
			p.Layers = append(p.Layers, Layer{RID: l.rid, Width: l.width(), Height: l.height(), Kbps: int(l.rate.Load() / 1000), Resting: l.rest.resting()})
		}
		slices.SortStableFunc(p.Layers, func(a, b Layer) int {
			if a.Height != b.Height {
				return b.Height - a.Height
			}
			return b.Kbps - a.Kbps
		})
		if l := t.prog.current(); l != nil {
			p.ProgramLayer = l.rid
		}
		for to, rid := range t.simul.forwarded() {
			if r := byID[to]; r != nil {
				if r.Forwarded == nil {
					r.Forwarded = map[string]string{}
				}
				r.Forwarded[t.info.ParticipantID] = rid
			}
		}
	}
}
