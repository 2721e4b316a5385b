package studio

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/rtcp"
)

// A receiving guest's downlink, estimated on our side (issue #10): the
// studio stamps every packet it sends a guest with a transport-wide
// sequence number (transport-cc), the guest's browser says when each
// arrived (TWCC feedback, which Chromium sends instead of REMB), and
// Google congestion control's send-side estimator (pion/interceptor's
// gcc, draft-ietf-rmcat-gcc-02: delay gradient and loss) turns that into
// bits per second for the whole connection. The estimate is divided
// between the tracks the guest receives: audio and single-stream video
// first, at what they send, the rest fairly between the simulcast
// cameras, none getting more than its top layer needs; each camera's
// switcher then fits a layer into its share.
//
// GCC never lets its estimate run more than 1.5 times ahead of what was
// delivered (§5.5), and on a capped link it sits well below what the link
// carries (a burst's queue reads as over-use): a receiver moved down would
// never be moved up again by the estimate alone. So a receiver whose share
// has headroom over the layer it gets, or fits it on a link the estimator
// sees clear (no over-use, little loss: the estimate only trails what we
// sent), is tried one layer up once its hold is over (climber), and every
// try is a probe of its link first (probe.go): it climbs if the link
// carried the higher rate, and else stays, and waits longer before the
// next try. A link the estimator sees full is not probed: a probe there
// only adds to the queue.

// initialEstimate is where a send-side estimate starts, bits/s: it is not
// used before the receiver's first feedback, and falls within a second to
// what the link carries.
const initialEstimate = 10_000_000

// audioShare is what an audio track is assumed to take of a receiver's
// downlink before its own rate is measured: Opus at the bit rate browsers
// send speech, with headers.
const audioShare = 64_000

// upHeadroom is how far a receiver's share must exceed the rate of the
// layer it gets before it is tried one layer up: GCC holds its estimate
// near 1.5× what is delivered while it sees no congestion, and at or
// below it when it does.
const upHeadroom = 1.25

// climbHold bounds the wait before a receiver moved down by its estimate
// (or whose probe failed) is tried one layer up again: the first wait,
// doubled at each move down that follows within climbHoldMax of the last,
// up to climbHoldMax. 8 s, not the 16 s it was while a try was a move up
// that could stand the picture still: a failed probe costs a moment's
// queue, and the longest hold is how long a link that came back waits.
const (
	climbHold    = 2 * time.Second
	climbHoldMax = 8 * time.Second
)

// A receiver whose share of the estimate is a little short of the layer
// she gets (at least downDeep of its rate) is moved down only once it has
// stayed short for downAfter, on a link GCC sees congested (uncongested):
// GCC's estimate dips under a burst (a keyframe's queue) and climbs back,
// and on a clear link it only trails what we send (and grows); each move
// costs a keyframe for every receiver of the layer moved to. Well short,
// she is moved at once: her link really got thinner, and her picture
// waits on its queue.
const (
	downDeep  = 0.7
	downAfter = time.Second
)

// flipWithin: a fall this soon after a climb is a flip (climber.fell).
// The flips seen behind a cap came 0.5–1.6 s after the climb; a fall
// later than this is the link's, which a climb need not be punished for.
const flipWithin = 4 * time.Second

// climbGap is how long after one of a receiver's tracks went a layer up
// the next may: the estimate needs a few feedbacks to answer.
const climbGap = 500 * time.Millisecond

// keepMargin: a receiver keeps the layer it gets while its share is at
// least this part of the layer's rate — the estimate and the layer's
// rate are both measured and wander; under congestion GCC sets its
// estimate to 0.85 of what was delivered (§5.5), below this.
const keepMargin = 0.9

// estimator is the send-side bandwidth estimate of one guest's
// connection: pion's, and whether any transport-cc feedback came (a
// receiver that sends none, or not yet, has no estimate).
type estimator struct {
	cc.BandwidthEstimator
	fed atomic.Bool
	// ceiling, if not 0, caps the estimate (bits/s): a test's thin
	// downlink for a browser (ForceDownlink), whose own network can't be
	// made thin on loopback here.
	ceiling atomic.Uint64
	// probe tries the link before a receiver climbs (probe.go); floor,
	// if not 0, is what its last passed probe delivered (bits/s): the
	// estimate is at least that until GCC's own reaches it or sees heavy
	// loss, and each second GCC sees the link over-used it is cut as GCC
	// cuts its own (cutAt: when last, unix ns); either only once GCC
	// has seen the link full for floorPersist (full). fullAt: since when
	// GCC has seen it over-used or losing busyLoss, unix ns; 0: not at
	// the last feedback.
	probe  prober
	floor  atomic.Uint64
	cutAt  atomic.Int64
	fullAt atomic.Int64
}

// AddStream implements cc.BandwidthEstimator: the prober sees each
// packet's transport-wide sequence number.
func (e *estimator) AddStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	return probeWriter(&e.probe, info, e.BandwidthEstimator.AddStream(info, w))
}

// WriteRTCP implements cc.BandwidthEstimator.
func (e *estimator) WriteRTCP(pkts []rtcp.Packet, a interceptor.Attributes) error {
	var fed bool
	for _, p := range pkts {
		if fb, ok := p.(*rtcp.TransportLayerCC); ok {
			fed = true
			e.probe.feedback(fb)
		}
	}
	if !fed {
		return e.BandwidthEstimator.WriteRTCP(pkts, a)
	}
	e.fed.Store(true)
	err := e.BandwidthEstimator.WriteRTCP(pkts, a)
	usage, loss := e.signals()
	now := time.Now().UnixNano()
	switch since := e.fullAt.Load(); {
	case usage != "overuse" && loss < busyLoss:
		e.fullAt.Store(0)
	case since == 0:
		e.fullAt.Store(now)
	}
	if f := e.floor.Load(); f > 0 {
		// GCC's own estimate takes over once it has grown past the
		// floor, or sees heavy loss. A queue (over-use) cuts the floor
		// as GCC cuts its estimate, to beta times what was delivered,
		// at most once a second. Neither before the link has looked
		// full for floorPersist: see there.
		full, cut := e.full(now), e.cutAt.Load()
		switch {
		case uint64(max(0, e.GetTargetBitrate())) >= f || full && loss >= floorLoss:
			e.floor.CompareAndSwap(f, 0)
		case full && usage == "overuse" && now-cut >= int64(time.Second) && e.cutAt.CompareAndSwap(cut, now):
			e.floor.CompareAndSwap(f, uint64(floorBeta*float64(f)))
		}
	}
	return err
}

// full says whether GCC has seen the link full (over-use, or busyLoss
// lost) at every feedback for floorPersist up to now (unix ns).
func (e *estimator) full(now int64) bool {
	since := e.fullAt.Load()
	return since != 0 && now-since >= int64(floorPersist)
}

// busyLoss is the loss (GCC's average) at which a link counts as full:
// where GCC's loss controller stops growing its estimate (§6).
const busyLoss = 0.02

// floorLoss is the loss that drops a probe's floor: where GCC's loss
// controller starts cutting its estimate (§6); floorBeta is GCC's cut
// under over-use (§5.5).
const (
	floorLoss = 0.10
	floorBeta = 0.85
)

// floorPersist is how long GCC must see a receiver's link full (loss, or
// over-use) before the floor of her last passed probe is cut or dropped.
// The climb a probe allowed starts with the higher layer's keyframe, a
// burst that a capped link which carries the layer still queues, and
// tail-drops a few packets of, for a moment; the layer's later keyframes
// too. GCC reads each as loss and over-use (its loss average jumped to
// 20 % behind a 330 kb/s cap), and a floor dropped at once moved the
// receiver back down within half a second: she flipped between two
// layers, each flip a keyframe for every receiver of the layer (issue
// #10). GCC's loss average forgets a burst in a few hundred milliseconds
// (its time constant is 200 ms); a link that really got thinner stays
// full, and drops the floor this much later.
const floorPersist = 500 * time.Millisecond

// tryUp is the probe's verdict on moving binding b up to layer to (see
// prober.tryUp); a pass lifts the estimate to what the probe delivered.
func (e *estimator) tryUp(b *binding, to int, curRate, toRate, sending uint64, now time.Time) (probeVerdict, probeMeasure) {
	v, m := e.probe.tryUp(b, to, curRate, toRate, sending, e.ceiling.Load(), now)
	if v == probePassed && m.delivered > e.floor.Load() {
		e.floor.Store(m.delivered)
	}
	return v, m
}

// estimate is the connection's estimate, bits/s, and whether there is one.
func (e *estimator) estimate() (uint64, bool) {
	if e == nil || !e.fed.Load() {
		return 0, false
	}
	est := max(uint64(max(0, e.GetTargetBitrate())), e.floor.Load())
	if c := e.ceiling.Load(); c > 0 {
		est = min(est, c)
	}
	return est, true
}

// uncongested says whether the estimator sees the link carry what we
// send without congestion now: GCC's delay detector not over-using, and
// under busyLoss lost. False with no estimate, and under a test's ceiling
// (a thin link). Not judged over floorPersist, as the floor is: behind the
// lab's 700 kbit tbf cap that let a receiver be tried up through two
// layers, and in two runs of five her link then lost some 45 % for 15 s
// (not understood yet).
func (e *estimator) uncongested() bool {
	if e == nil || !e.fed.Load() || e.ceiling.Load() > 0 {
		return false
	}
	usage, loss := e.signals()
	return usage != "overuse" && loss < busyLoss
}

// signals are GCC's latest view of the link: its delay detector's usage
// ("overuse", "normal", "underuse") and its loss average.
func (e *estimator) signals() (usage string, loss float64) {
	st := e.GetStats()
	usage, _ = st["usage"].(string)
	loss, _ = st["averageLoss"].(float64)
	return usage, loss
}

// uncongested: see estimator.uncongested; false without d.
func (d *downlink) uncongested() bool { return d != nil && d.est.uncongested() }

// downlink is one receiving guest's estimate and the tracks it divides it
// between. mu guards tracks and uses, which the guest's actor and the
// tracks' bindings set; the switchers of the tracks read them.
type downlink struct {
	est *estimator // nil: no send-side estimate for this guest
	// climbed is when a track last went one layer up (unix ns): one at a
	// time, so that the estimate can answer before the next.
	climbed atomic.Int64

	mu     sync.Mutex
	tracks []*pubTrack
	uses   map[*pubTrack]func() uint64 // what a track sends this guest now, bits/s
}

// estimator is d's send-side estimator, nil without one (or without d).
func (d *downlink) estimator() *estimator {
	if d == nil {
		return nil
	}
	return d.est
}

// set says which tracks the guest receives now.
func (d *downlink) set(ts []*pubTrack) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tracks = ts
	// What tracks gone from the guest sent it is of no more use (and
	// would keep them alive for the guest's whole session).
	maps.DeleteFunc(d.uses, func(t *pubTrack, _ func() uint64) bool { return !slices.Contains(ts, t) })
}

// use says how to tell what track t sends this guest now.
func (d *downlink) use(t *pubTrack, rate func() uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.uses == nil {
		d.uses = map[*pubTrack]func() uint64{}
	}
	d.uses[t] = rate
}

// mayClimb says whether a track may go one layer up at now, and if so
// counts it as gone.
func (d *downlink) mayClimb(now time.Time) bool {
	last := d.climbed.Load()
	return now.UnixNano()-last >= int64(climbGap) && d.climbed.CompareAndSwap(last, now.UnixNano())
}

// share is track t's part of the receiver's estimate, bits/s, and whether
// there is an estimate at all. t is a simulcast track: a guest's camera or
// the host's feed.
func (d *downlink) share(t *pubTrack) (uint64, bool) {
	if d == nil {
		return 0, false
	}
	total, ok := d.est.estimate()
	if !ok {
		return 0, false
	}
	fixed, uses, mine := d.parts(t)
	if mine < 0 {
		// Not listed yet (the guest's actor lists a track after it binds):
		// as one more camera.
		mine = len(uses)
		uses = append(uses, 0)
	}
	return splitBudget(total, fixed, uses)[mine], true
}

// parts is what the receiver's tracks send it now: fixed, the audio and
// single-stream video; uses, each simulcast track's; and mine, t's index
// in uses (-1: not listed).
func (d *downlink) parts(t *pubTrack) (fixed uint64, uses []uint64, mine int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	mine = -1
	for _, o := range d.tracks {
		switch {
		case o.simul != nil:
			if o == t {
				mine = len(uses)
			}
			var use uint64
			if f := d.uses[o]; f != nil {
				use = f()
			}
			uses = append(uses, use)
		case o.rate.Load() > 0:
			fixed += o.rate.Load()
		case o.info.Kind == "audio":
			fixed += audioShare
		}
	}
	return fixed, uses, mine
}

// roomAbove says whether the receiver's estimate runs well ahead of what
// we send it (upHeadroom): GCC's estimate, free to grow, climbs toward
// 1.5 times what was delivered; held by a thin link, it stays at or below
// it. So a link with room is told from one that is full before anything
// more is sent down it (towardTile).
func (d *downlink) roomAbove() bool {
	if d == nil {
		return false
	}
	total, ok := d.est.estimate()
	if !ok {
		return false
	}
	return float64(total) >= upHeadroom*float64(d.sending())
}

// sending is what the receiver's tracks send it now in all, bits/s.
func (d *downlink) sending() uint64 {
	sent, uses, _ := d.parts(nil)
	for _, u := range uses {
		sent += u
	}
	return sent
}

// splitBudget divides a receiver's estimate total between the tracks
// whose rate we choose (the simulcast cameras and the host's feed) after
// fixed (what its other tracks take) is set aside. uses are what each
// sends it now. With room to spare, each gets what it uses and an equal
// part of the rest (which lets one of them go a layer up); short, each is
// cut by the same fraction (so the biggest give most back). Never 0,
// which would mean no limit: at least minBudget each.
func splitBudget(total, fixed uint64, uses []uint64) []uint64 {
	shares := make([]uint64, len(uses))
	if len(uses) == 0 {
		return shares
	}
	var avail, sum uint64
	if total > fixed {
		avail = total - fixed
	}
	for _, u := range uses {
		sum += u
	}
	for i, u := range uses {
		switch {
		case avail >= sum:
			shares[i] = u + (avail-sum)/uint64(len(uses))
		default:
			shares[i] = uint64(float64(u) * float64(avail) / float64(sum))
		}
		shares[i] = max(minBudget, shares[i])
	}
	return shares
}

// fitEstimate picks the layer for a receiver whose share of its send-side
// estimate is share bits/s: fitRate's choice, or, if climb, one layer
// above the one it gets (cur) when the share has headroom over that
// layer's rate (upHeadroom), or fits it and the link is clear — a try,
// which a probe judges (binding.choose); see the note at the top of the
// file.
func fitEstimate(ls []layerStat, share uint64, climb, clear bool) int {
	i := fitRate(ls, share)
	idx := ranked(ls)
	c := slices.IndexFunc(idx, func(j int) bool { return ls[j].cur })
	if i < 0 || c < 0 {
		return i
	}
	if slices.Index(idx, i) > c && float64(share) >= keepMargin*float64(ls[idx[c]].rate) {
		return idx[c] // within the margin: stays
	}
	if !climb || c == 0 || slices.Index(idx, i) < c {
		return i // held back, at the top, or going up anyway
	}
	if r := ls[idx[c]].rate; r > 0 && (float64(share) >= upHeadroom*float64(r) || clear && slices.Index(idx, i) == c) {
		return idx[c-1]
	}
	return i
}

// climber holds back a receiver's tries one layer up (fitEstimate) after
// its estimate moved it down. Only the switcher's choice uses it (one at
// a time, see rechoose); mu for the race detector's peace.
type climber struct {
	mu      sync.Mutex
	hold    time.Duration
	downAt  time.Time
	climbAt time.Time // no try up before
	roseAt  time.Time // the last climb a probe allowed
	// shortSince: since when the estimate has been a little short of
	// the layer the receiver gets (zero: it is not), see shortFor.
	shortSince time.Time
	// congestedRun: choices in a row that saw the link congested while
	// a tile needed more than the estimate (towardTile, tileClimb).
	congestedRun int
}

// congested counts the choices in a row that saw the receiver's link
// congested (yes), and returns the count: 0 after one that did not.
func (c *climber) congested(yes bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if yes {
		c.congestedRun++
	} else {
		c.congestedRun = 0
	}
	return c.congestedRun
}

// may says whether the receiver may be tried one layer up at now.
func (c *climber) may(now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !now.Before(c.climbAt)
}

// fell notes that the receiver was moved down at now. A fall within
// flipWithin of a climb a probe allowed is a flip (the link did not carry
// the layer after all, or its estimate dipped): it doubles the hold
// however long ago the last fall was, which the climb would otherwise
// reset; so a receiver that flips again and again does so at most once in
// climbHoldMax (each flip a keyframe for every receiver of the layer).
func (c *climber) fell(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	flip := !c.roseAt.IsZero() && now.Sub(c.roseAt) < flipWithin
	if c.hold == 0 || !flip && now.Sub(c.downAt) > climbHoldMax {
		c.hold = climbHold
	} else {
		c.hold = min(2*c.hold, climbHoldMax)
	}
	c.downAt, c.climbAt, c.roseAt = now, now.Add(c.hold), time.Time{}
	c.shortSince = time.Time{}
}

// rose notes that a probe let the receiver climb at now.
func (c *climber) rose(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.roseAt = now
}

// shortFor says how long, up to now, the receiver's estimate has been a
// little short of its layer (short, at each choice in a row): 0 when it
// is not now.
func (c *climber) shortFor(short bool, now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case !short:
		c.shortSince = time.Time{}
	case c.shortSince.IsZero():
		c.shortSince = now
	}
	if c.shortSince.IsZero() {
		return 0
	}
	return now.Sub(c.shortSince)
}
