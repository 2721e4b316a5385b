package studio

import (
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// Probing before a climb (issue #10). A receiver the send-side estimate
// moved down is tried one layer up again when its link seems to have room
// (downlink.go), but the estimate only trails what we send: GCC stays
// within 1.5 times what was delivered (draft-ietf-rmcat-gcc-02 §5.5), so
// it can't say whether the higher layer fits. Moving the receiver up on a
// link that can't carry it cost a stand-still: the new layer's keyframe
// (a burst) overflowed the link's queue and the picture waited 1.2–1.6 s.
//
// So before a receiver is moved up, the link is made to carry that rate
// first, with RTP padding: packets with no payload, on the SSRC the
// receiver gets the track on (we negotiate no RTX), sent after the last
// packet of a frame (so no frame is split), numbered on in the stream's
// sequence. libwebrtc sends padding on the media SSRC the same way when
// it has no RTX. The padding fills what the connection's media leaves of
// the probe's rate, as libwebrtc's prober does (its probe clusters): a
// padding of a fixed rate on top of the media fell short whenever the
// media ran under its average over the window (between keyframes), and
// failed probes of a link that lost nothing and built no queue (14 of
// 41 probes in three runs of the capped-downlink lab, before its cap;
// 9 of 43 since, most of them the host's feed, at 15 frames a second). The receiver's transport-cc feedback says when each
// packet of the probe window arrived, and the probe passes only if the
// link delivered the rate the higher layer needs, lost almost nothing and
// built no queue (its one-way delay did not grow). The padding ramps up
// over the window's first third (probeRamp) and the rate is measured over
// the rest: on a link that can't carry it the queue then grows slowly
// enough for the feedback to show it before the router drops much (a
// probe at full rate at once lost 25-40 % of the window behind a tbf cap,
// the receiver's media with it). A probe that shows loss or a growing
// queue is abandoned at once, without switching. A pass lifts
// the estimate to what the probe delivered (the floor) until GCC's own
// estimate reaches it or sees congestion: pion's GCC takes no probe
// results, and would otherwise move the receiver back down at once.
//
// pion's GCC counts a packet's header and payload, not its padding, so
// the padding adds packets to its delay and loss view but nothing to its
// rate: the probe's rate is measured here.

const (
	// probeFor is how long padding is sent: long enough for a rate
	// measured over a few feedback intervals (Chromium's ~50–100 ms,
	// pion's 100 ms), short enough that a link that can't carry it
	// loses little.
	probeFor = 700 * time.Millisecond
	// probeWait is how long after probeFor the feedback on the window's
	// last packets may take.
	probeWait = 500 * time.Millisecond
	// probeOver: the probe pads until the connection sends this much
	// more than the climb needs of the higher layer's measured rate: a
	// layer's rate wanders, and its keyframes come in bursts.
	probeOver = 1.2
	// probeValid is how long a passed probe lets the receiver climb.
	probeValid = 2 * time.Second
	// probeMaxLoss: more of the window lost than this fails the probe.
	probeMaxLoss = 0.05
	// probeRamp is how long the padding takes to reach its rate.
	probeRamp = probeFor / 3
	// probeMaxGrowth: a one-way delay grown by this much over the window
	// is a queue building: the link does not carry the rate.
	probeMaxGrowth = 30 * time.Millisecond
	// probeMinReported is how many of the window's packets must have
	// been reported on before the probe is judged early.
	probeMinReported = 20
	// probeAfterPass: after a probe passed, no other probe starts on the
	// connection for this long. The climb it allowed puts the higher
	// layer's keyframe and rate on the link, which GCC has not answered
	// yet; a probe then pads on top of them. Behind the lab's 700 kbit
	// cap the host's feed's probe (its climb needing 1 Mb/s) started
	// 0.2 s after a guest's layer climbed, lost 15–47 % of the link for
	// a second, and that loss dropped the guest's floor: she fell back
	// (a flip) in 2 of 4 runs of TestLabReceiverProbesBeforeClimbing.
	probeAfterPass = 2 * time.Second
	// probeAfterFail: after a probe failed, none that needs more than it
	// delivered starts on the connection for this long: the link just
	// said it carries no more (there, a guest's climb failed at 603 kb/s
	// delivered, and the host's feed's, needing 1170, was tried half a
	// second later).
	probeAfterFail = 4 * time.Second
)

// padSize is the padding of one probe packet, bytes: RTP padding's most.
const padSize = 255

// padBits is what one probe packet counts for as the probe measures
// (header, its extensions, padding; as GCC counts, without IP and SRTP).
const padBits = (12 + 8 + padSize) * 8

// maxPadBurst bounds the padding packets sent after one frame: a source
// that stalled must not be made up for in one burst.
const maxPadBurst = 40

// probeVerdict is what a probe says of a climb.
type probeVerdict int

const (
	probeRunning probeVerdict = iota // padding, or waiting for its feedback; or another track's probe runs
	probePassed                      // the link carried the rate: climb
	probeFailed                      // it did not: stay, and wait longer before the next try
)

// prober runs one connection's probes, one at a time (for one binding and
// the layer it would climb to), and measures them from the connection's
// transport-cc feedback. mu guards the fields below it; recording lets
// the send path skip the lock between probes.
type prober struct {
	recording atomic.Bool

	mu    sync.Mutex
	owner *binding // whose stream pads; nil: no probe
	to    int      // the layer (index in its track's layers) it would climb to
	// base is what the connection sent before the probe, goal what it
	// sends once the padding has ramped up (bits/s); sentBits is what
	// it sent in the window so far, media and padding.
	base, goal uint64
	sentBits   float64
	need       uint64 // bits/s the link must deliver for the climb
	start      time.Time
	end        time.Time // padding stops
	passed     time.Time // zero: not passed
	failed     bool
	// failedAt is when the connection's last probe failed (zero: none
	// did), failedGot what it delivered (probeAfterFail).
	failedAt  time.Time
	failedGot uint64
	last      probeMeasure // what the probe measured, once judged
	pkts      map[uint16]*probePkt
}

// probePkt is one packet sent in a probe window, and what the feedback
// said of it.
type probePkt struct {
	sent     time.Time
	size     int
	reported bool
	received bool
	arrived  time.Duration // on the receiver's clock
}

// tryUp is the verdict on moving binding b up to layer to, whose rate is
// toRate, from the layer it gets, at curRate, while the connection sends
// sending bits/s in all: it starts a probe if none runs, and says how the
// probe went, and once judged what it measured (on a pass, delivered is
// what the link carried). ceiling, if not 0, caps what a probe counts as
// delivered.
func (p *prober) tryUp(b *binding, to int, curRate, toRate, sending, ceiling uint64, now time.Time) (probeVerdict, probeMeasure) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.owner == b && p.to == to {
		switch {
		case !p.passed.IsZero() && now.Sub(p.passed) < probeValid:
			return probePassed, p.last
		case p.failed:
			p.stop()
			return probeFailed, p.last
		case p.passed.IsZero() && !now.After(p.end):
			return probeRunning, probeMeasure{}
		case p.passed.IsZero():
			return p.judge(now, ceiling), p.last
		}
		// A pass gone stale: probe again.
	} else if p.owner != nil && !p.failed && p.passed.IsZero() && now.Before(p.end.Add(probeWait)) {
		return probeRunning, probeMeasure{} // another track's probe: one at a time
	}
	others := sending - min(sending, curRate) // what the climb keeps sending
	switch {
	case !p.passed.IsZero() && now.Sub(p.passed) < probeAfterPass,
		!p.failedAt.IsZero() && now.Sub(p.failedAt) < probeAfterFail && others+toRate > p.failedGot:
		return probeRunning, probeMeasure{} // the link answers a climb, or said it carries no more
	}
	p.owner, p.to = b, to
	p.base, p.goal, p.sentBits = sending, others+uint64(probeOver*float64(toRate)), 0
	p.need = others + toRate
	p.start, p.end = now, now.Add(probeFor)
	p.passed, p.failed, p.last = time.Time{}, false, probeMeasure{}
	p.pkts = map[uint16]*probePkt{}
	p.recording.Store(true)
	return probeRunning, probeMeasure{}
}

// stop ends the probe. Call with mu held.
func (p *prober) stop() {
	p.owner, p.pkts = nil, nil
	p.recording.Store(false)
}

// judge says how the probe went once its padding stopped: passed if the
// link delivered what the climb needs (and, under a ceiling, within it),
// lost little and built no queue; running while feedback is still due.
// Call with mu held.
func (p *prober) judge(now time.Time, ceiling uint64) probeVerdict {
	m := p.measure()
	if m.reported < len(p.pkts) && now.Before(p.end.Add(probeWait)) {
		return probeRunning
	}
	p.recording.Store(false)
	if ceiling > 0 {
		m.delivered = min(m.delivered, ceiling)
	}
	m.need = p.need
	p.last = m
	if m.reported == 0 || m.loss > probeMaxLoss || m.growth > probeMaxGrowth || m.delivered < p.need {
		p.failedAt, p.failedGot = now, m.delivered
		p.stop()
		return probeFailed
	}
	p.passed, p.pkts = now, nil
	return probePassed
}

// padding is how many padding packets binding b is to send now, after
// the last packet of a frame: what the connection's rate, ramped from
// base to goal over probeRamp, asks for since the window opened, less
// what it sent in it (sentBits: its media, and the padding sent so far).
func (p *prober) padding(b *binding, now time.Time) int {
	if !p.recording.Load() {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.owner != b || p.failed || !p.passed.IsZero() || now.After(p.end) {
		return 0
	}
	due := float64(p.base)*now.Sub(p.start).Seconds() + (float64(p.goal)-float64(p.base))*ramped(now.Sub(p.start))
	return max(0, min(maxPadBurst, int((due-p.sentBits)/padBits)))
}

// ramped is how long, in seconds, the padding's ramp (0 to 1 over
// probeRamp, then 1) has run d into the window: its integral.
func ramped(d time.Duration) float64 {
	if d <= probeRamp {
		return d.Seconds() * d.Seconds() / (2 * probeRamp.Seconds())
	}
	return (d - probeRamp/2).Seconds()
}

// sent notes a packet the connection sends (its transport-wide sequence
// number seq, size bytes as GCC counts them, and its padding) if a probe
// window is open.
func (p *prober) sent(seq uint16, size int, now time.Time) {
	if !p.recording.Load() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pkts == nil || now.Before(p.start) || now.After(p.end) {
		return
	}
	p.pkts[seq] = &probePkt{sent: now, size: size}
	p.sentBits += float64(size * 8)
}

// feedback takes the receiver's transport-cc feedback on the probe's
// packets, and fails the probe at once when it shows loss or a queue.
func (p *prober) feedback(fb *rtcp.TransportLayerCC) {
	if !p.recording.Load() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pkts == nil {
		return
	}
	eachArrival(fb, func(seq uint16, received bool, at time.Duration) {
		if pk := p.pkts[seq]; pk != nil && !pk.received {
			pk.reported, pk.received, pk.arrived = true, received, at
		}
	})
	if m := p.measure(); m.reported >= probeMinReported && (m.loss > 2*probeMaxLoss || m.growth > probeMaxGrowth) {
		// The link can't take it: stop now rather than at the window's
		// end, which would lose more of the receiver's media.
		m.need = p.need
		p.failed, p.last = true, m
		p.failedAt, p.failedGot = time.Now(), m.delivered
		p.recording.Store(false)
	}
}

// probeMeasure is what the feedback said of a probe window.
type probeMeasure struct {
	reported  int
	loss      float64       // of those reported
	delivered uint64        // bits/s, by arrival, of what was sent after the ramp
	growth    time.Duration // of the one-way delay, from the window's first half to its last quarter
	need      uint64        // bits/s the climb needs delivered
}

// LogValue implements slog.LogValuer.
func (m probeMeasure) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("reported", m.reported), slog.Float64("loss", m.loss),
		slog.Uint64("deliveredKbps", m.delivered/1000), slog.Uint64("needKbps", m.need/1000),
		slog.Duration("delayGrowth", m.growth))
}

// measure the probe's packets reported on so far. Call with mu held.
func (p *prober) measure() probeMeasure {
	var m probeMeasure
	var got []*probePkt
	for _, pk := range p.pkts {
		if !pk.reported {
			continue
		}
		m.reported++
		if pk.received {
			got = append(got, pk)
		}
	}
	if m.reported == 0 {
		return m
	}
	m.loss = 1 - float64(len(got))/float64(m.reported)
	if len(got) < 2 {
		return m
	}
	slices.SortFunc(got, func(a, b *probePkt) int { return a.sent.Compare(b.sent) })
	// The one-way delay on two unsynchronised clocks: only its change
	// counts. The least of each part, so that jitter does not read as a
	// queue.
	owd := func(pk *probePkt) time.Duration { return pk.arrived - pk.sent.Sub(p.start) }
	first, last := owd(got[0]), owd(got[len(got)-1])
	for i, pk := range got {
		switch {
		case i < len(got)/2:
			first = min(first, owd(pk))
		case i >= len(got)*3/4:
			last = min(last, owd(pk))
		}
	}
	m.growth = last - first
	full := slices.DeleteFunc(got, func(pk *probePkt) bool { return pk.sent.Before(p.start.Add(probeRamp)) })
	if len(full) < 2 {
		return m
	}
	slices.SortFunc(full, func(a, b *probePkt) int { return int(a.arrived - b.arrived) })
	if span := full[len(full)-1].arrived - full[0].arrived; span > 0 {
		var bits int
		for _, pk := range full[1:] {
			bits += pk.size * 8
		}
		m.delivered = uint64(float64(bits) / span.Seconds())
	}
	return m
}

// eachArrival calls f for each packet a transport-cc feedback reports on:
// its transport-wide sequence number, whether it arrived, and when, on the
// receiver's clock (the feedback's reference time and the deltas after
// it).
func eachArrival(fb *rtcp.TransportLayerCC, f func(seq uint16, received bool, at time.Duration)) {
	at := time.Duration(fb.ReferenceTime) * 64 * time.Millisecond
	seq, left, deltas := fb.BaseSequenceNumber, int(fb.PacketStatusCount), fb.RecvDeltas
	status := func(s uint16) {
		if left == 0 {
			return
		}
		left--
		received := s == rtcp.TypeTCCPacketReceivedSmallDelta || s == rtcp.TypeTCCPacketReceivedLargeDelta
		if received && len(deltas) > 0 {
			at += time.Duration(deltas[0].Delta) * time.Microsecond
			deltas = deltas[1:]
		}
		f(seq, received, at)
		seq++
	}
	for _, c := range fb.PacketChunks {
		switch c := c.(type) {
		case *rtcp.RunLengthChunk:
			for range c.RunLength {
				status(c.PacketStatusSymbol)
			}
		case *rtcp.StatusVectorChunk:
			for _, s := range c.SymbolList {
				status(s)
			}
		}
	}
}

// probeWriter wraps the writer of one of a connection's outgoing streams
// so that the prober sees each packet's transport-wide sequence number.
func probeWriter(p *prober, info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	var id uint8
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI {
			id = uint8(e.ID)
		}
	}
	if id == 0 {
		return w
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if p.recording.Load() {
			var ext rtp.TransportCCExtension
			if err := ext.Unmarshal(h.GetExtension(id)); err == nil {
				p.sent(ext.TransportSequence, h.MarshalSize()+len(payload)+int(h.PaddingSize), time.Now())
			}
		}
		return w.Write(h, payload, a)
	})
}
