package studio

import (
	"fmt"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"greenroom/studio/signal"
)

// Health is a guest's connection as the host needs to see it (issue #10,
// item 5): one level with the reason for it, and the numbers behind it.
// The studio measures it every qualityInterval from the guest's
// PeerConnection stats and from the video the SFU forwards. Losses are
// fractions (0.06 is 6 %).
type Health struct {
	Level   Level    `json:"level"`
	Reason  string   `json:"reason,omitempty"` // why the level is not green, in a few words
	Up      Uplink   `json:"up"`
	Down    Downlink `json:"down"`
	Freezes Freezes  `json:"freezes"`
	// ProgramFreezes are the same camera's freezes in the program, from
	// the pictures its decoder made of them: also the frames that came
	// but could not be decoded (a packet NACK did not bring in time, and
	// the wait for the keyframe after). Zero while the program decodes
	// none of theirs (no Program), or they did not freeze there.
	ProgramFreezes Freezes `json:"programFreezes,omitzero"`
	// ProgramAudio is how much of the guest's sound the program's
	// decoder filled in for lost packets; zero while none (or no
	// Program).
	ProgramAudio ProgramAudio `json:"programAudio,omitzero"`
}

// ProgramAudio is how much of a guest's sound the program's decoder made
// up for packets that never came, since their sound first reached it in
// this show, in milliseconds: in all, and how much of that the next
// packet's in-band FEC recovered (a coarser copy of the lost one, sent
// when the answer's useinbandfec=1 and the sender sees loss, on speech:
// libopus codes none on a steady tone it takes for music); the rest
// libopus concealed (a guess from the sound before, fading).
type ProgramAudio struct {
	ConcealedMs int `json:"concealedMs"`
	RecoveredMs int `json:"recoveredMs"`
	// UnrecoveredShare is the share of the last interval's time whose
	// sound libopus concealed, FEC's not counted (a fraction, as Loss):
	// what the level rates (soundMeter).
	UnrecoveredShare float64 `json:"unrecoveredShare,omitempty"`
}

// Uplink is what the guest sends the studio: the bit rate received of
// them, the loss on it over the last interval, the interarrival jitter of
// their worst stream, and the round trip between the two, with where
// that comes from ("" while not known; see roundtrip.go).
type Uplink struct {
	Kbps     int     `json:"kbps"`
	Loss     float64 `json:"loss"`
	JitterMs int     `json:"jitterMs"`
	RTTMs    int     `json:"rttMs"`
	RTTFrom  RTTFrom `json:"rttFrom,omitempty"`
}

// Downlink is what the studio sends the guest: its bit rate, the worst
// loss the guest reports on it (receiver reports' fraction lost), and the
// guest's downlink estimate the studio chooses the layers it sends them
// by, with where that comes from; 0 and "" while not known.
type Downlink struct {
	Kbps         int          `json:"kbps"`
	Loss         float64      `json:"loss"`
	EstimateKbps int          `json:"estimateKbps,omitempty"`
	EstimateFrom EstimateFrom `json:"estimateFrom,omitempty"`
}

// EstimateFrom names the estimate of a receiving guest's downlink that
// the simulcast switchers choose their layers by: the first the guest
// gives of these, in this order (binding.estimate).
type EstimateFrom string

const (
	// EstimateREMB: the guest's own (its REMB messages), summed over the
	// cameras in layers it receives.
	EstimateREMB EstimateFrom = "remb"
	// EstimateTransportCC: ours for its whole connection, Google
	// congestion control from its transport-cc feedback (downlink.go).
	// Chromium sends this and no REMB.
	EstimateTransportCC EstimateFrom = "transport-cc"
	// EstimateLoss: ours from the loss its receiver reports say, summed
	// over the cameras in layers it receives (lossBudget).
	EstimateLoss EstimateFrom = "loss"
)

// rank orders the sources as binding.estimate prefers them; 0 for none.
func (f EstimateFrom) rank() int {
	switch f {
	case EstimateREMB:
		return 3
	case EstimateTransportCC:
		return 2
	case EstimateLoss:
		return 1
	}
	return 0
}

// Freezes are the guest's camera freezes in the last minute: the times no
// complete video frame of theirs arrived (in the SFU; in the program:
// was decoded) for more than freezeGap while their camera was on, and
// their total length (a freeze going on counts).
type Freezes struct {
	Count        int `json:"count"`
	LastMinuteMs int `json:"lastMinuteMs"`
}

// Level is a guest's health at a glance; "" until measured (and for the
// host).
type Level string

const (
	LevelUnknown Level = ""
	LevelGreen   Level = signal.LevelGreen
	LevelAmber   Level = signal.LevelAmber
	LevelRed     Level = signal.LevelRed
)

func (l Level) rank() int {
	switch l {
	case LevelGreen:
		return 1
	case LevelAmber:
		return 2
	case LevelRed:
		return 3
	}
	return 0
}

// Thresholds of the level, beyond the loss and round-trip ones it shares
// with Quality (goodLoss, fairLoss, goodRTT, fairRTT), so that bars and
// level never disagree on the network. See the README's table.
const (
	// freezeGap: a video that shows no new frame for longer is frozen to
	// the eye (a frame every 33 ms at 30 fps; 500 ms is fifteen missed).
	freezeGap = 500 * time.Millisecond
	// freezeRecent: a freeze this recent keeps the level amber.
	freezeRecent = 30 * time.Second
	// frozenNow: a freeze going on this long is media failing: red.
	frozenNow = 2 * time.Second
	// frozenMinute: this much frozen in the last minute is red too.
	frozenMinute = 10 * time.Second
	// fairJitter: jitter past this makes receivers' jitter buffers grow
	// (delay) or drop late frames; amber.
	fairJitter = 50 * time.Millisecond
	// goodSound and fairSound: the share of an interval's sound that
	// libopus concealed (a guess from the sound before, fading) without
	// FEC, at or past which the level is amber and red. One 20 ms packet
	// guessed now and then goes unheard in speech; 5 % of a 2 s interval
	// is 100 ms, five guesses, or one gap as long as maxConceal nearly:
	// a listener hears the voice warble or clip. 15 % is 300 ms, longer
	// than a syllable: words go missing. FEC's recovered sound is a
	// coarser copy of the real one, near enough to go unheard, so it is
	// not counted.
	goodSound = 0.05
	fairSound = 0.15
	// healthCalm: a level comes down only after this long better, so the
	// card and the guest's banner don't flap; it goes up at once.
	healthCalm = 5 * time.Second
)

// healthSample is what one rating looks at.
type healthSample struct {
	known     bool // something was measured
	media     Media
	up        Uplink
	down      Downlink
	freezes   Freezes
	frozenFor time.Duration // the freeze going on now; 0 if none
	sinceLast time.Duration // since the last freeze ended (0: going on); < 0: none in the last minute
	// prog is the same as the program's decoder sees it; nil while it
	// decodes none of theirs.
	prog *freezeRead
	// sound is the share of the interval's sound the program's decoder
	// concealed, FEC's not counted (ProgramAudio.UnrecoveredShare).
	sound float64
}

// freezeRead is what freezeMeter.read says.
type freezeRead struct {
	f                    Freezes
	frozenFor, sinceLast time.Duration
}

// classify rates one sample: the level and, when not green, the reason,
// the first cause found at that level in the order the host can act on:
// media, uplink, downlink, round trip, freezes, sound, jitter. Pure, for
// the table test.
func classify(s healthSample) (Level, string) {
	switch s.media {
	case MediaFailed:
		return LevelRed, "media failing: can't connect"
	case MediaReconnecting:
		return LevelRed, "media failing: reconnecting"
	case MediaLost:
		return LevelRed, "connection lost"
	case MediaConnecting:
		return LevelUnknown, ""
	}
	if !s.known {
		return LevelUnknown, ""
	}
	rtt := time.Duration(s.up.RTTMs) * time.Millisecond
	loss := func(way string, l float64) func() string {
		return func() string { return "weak " + way + ": " + percent(l) + " loss" }
	}
	prog := freezeRead{sinceLast: -1}
	if s.prog != nil {
		prog = *s.prog
	}
	// Each cause: whether it makes the level red, whether amber, and its
	// words.
	causes := []healthCause{
		{s.up.Loss >= fairLoss, s.up.Loss >= goodLoss, loss("uplink", s.up.Loss)},
		{s.down.Loss >= fairLoss, s.down.Loss >= goodLoss, loss("downlink", s.down.Loss)},
		{rtt >= fairRTT, rtt >= goodRTT, func() string { return fmt.Sprintf("slow connection: %d ms round trip", s.up.RTTMs) }},
		freezeCause(freezeRead{s.freezes, s.frozenFor, s.sinceLast}, ""),
		// The program's, after the SFU's: a freeze in both is the
		// sender's or the network's, one in the program alone is loss
		// the program could not repair.
		freezeCause(prog, " in the program"),
		// After the uplink's loss: sound lost on the way is concealed
		// about as much as it was lost (less FEC's), and the loss
		// names it at its level. The sound raises a level of its own
		// where no loss counts it: packets that came too late for the
		// decoder (a path's jitter past rtpframe.AudioReorder). Before
		// the jitter, which says why, not what the host hears.
		{s.sound >= fairSound, s.sound >= goodSound, func() string {
			return "sound breaking up: " + percent(s.sound) + " filled in"
		}},
		{false, time.Duration(s.up.JitterMs)*time.Millisecond >= fairJitter, func() string {
			return fmt.Sprintf("unsteady uplink: %d ms jitter", s.up.JitterMs)
		}},
	}
	for _, c := range causes {
		if c.red {
			return LevelRed, c.reason()
		}
	}
	for _, c := range causes {
		if c.amber {
			return LevelAmber, c.reason()
		}
	}
	return LevelGreen, ""
}

// healthCause is one cause classify weighs: whether it makes the level
// red, whether amber, and its words.
type healthCause struct {
	red, amber bool
	reason     func() string
}

// freezeCause is the cause of freezes r, seen where (" in the program",
// or "" for the SFU).
func freezeCause(r freezeRead, where string) healthCause {
	return healthCause{
		red:   r.frozenFor >= frozenNow || time.Duration(r.f.LastMinuteMs)*time.Millisecond >= frozenMinute,
		amber: r.frozenFor > 0 || (r.f.Count > 0 && r.sinceLast >= 0 && r.sinceLast < freezeRecent),
		reason: func() string {
			if r.frozenFor > 0 {
				return fmt.Sprintf("video frozen%s for %.1f s", where, r.frozenFor.Seconds())
			}
			return fmt.Sprintf("video froze%s %s in the last minute (%.1f s)", where, times(r.f.Count), float64(r.f.LastMinuteMs)/1000)
		},
	}
}

func percent(f float64) string { return fmt.Sprintf("%.0f %%", f*100) }

func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

// levelHold is the hysteresis on a guest's level: worse at once, better
// only after healthCalm of better samples (unknown passes at once: the
// media is connecting again, there is nothing to hold on to).
type levelHold struct {
	level  Level
	reason string
	better time.Time // since when samples are better than level; zero if not
}

// next takes a sample's rating and returns the level and reason to show.
func (h *levelHold) next(l Level, reason string, now time.Time) (Level, string) {
	switch {
	case l == LevelUnknown || l.rank() > h.level.rank() || l == h.level:
		h.level, h.reason, h.better = l, reason, time.Time{}
	case h.better.IsZero():
		h.better = now
	case now.Sub(h.better) >= healthCalm:
		h.level, h.reason, h.better = l, reason, time.Time{}
	}
	return h.level, h.reason
}

// freezeMeter finds a guest's camera freezes from the frames the SFU
// forwards: the ends of frames (RTP marker bits) of any of its layers. A
// frame whose last packet arrived is counted whole: NACK mends most
// losses, and a decoder that still misses a packet asks for a keyframe,
// which is a gap here too. mu guards every field: the SFU's forwarding
// goroutines write it, the session's loop reads it.
type freezeMeter struct {
	mu   sync.Mutex
	last time.Time // the last frame's end; zero before one, and after the camera comes back on
	off  bool      // the guest's camera is off: gaps are no freezes
	done []freeze  // ended in the last minute, oldest first
}

type freeze struct {
	end time.Time
	d   time.Duration
}

// frame notes the end of a frame at now.
func (m *freezeMeter) frame(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.off && !m.last.IsZero() {
		if gap := now.Sub(m.last); gap > freezeGap {
			m.done = append(m.done, freeze{now, gap})
		}
	}
	m.last = now
}

// camera notes the guest turned its camera on or off: a browser sends a
// disabled camera's black frames once a second or so, not a freeze.
func (m *freezeMeter) camera(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.off, m.last = !on, time.Time{}
}

// readAt is read as a freezeRead.
func (m *freezeMeter) readAt(now time.Time) freezeRead {
	f, frozenFor, sinceLast := m.read(now)
	return freezeRead{f, frozenFor, sinceLast}
}

// read returns the freezes of the last minute as of now, the length of
// the one going on (0 if none), and how long since the last one ended (0
// while one goes on, -1 if there was none).
func (m *freezeMeter) read(now time.Time) (f Freezes, frozenFor, sinceLast time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.done) > 0 && now.Sub(m.done[0].end) > time.Minute {
		m.done = m.done[1:]
	}
	var total time.Duration
	for _, z := range m.done {
		total += z.d
	}
	sinceLast = -1
	if n := len(m.done); n > 0 {
		sinceLast = now.Sub(m.done[n-1].end)
	}
	f.Count = len(m.done)
	if !m.off && !m.last.IsZero() && now.Sub(m.last) > freezeGap {
		frozenFor, sinceLast = now.Sub(m.last), 0
		f.Count++
		total += frozenFor
	}
	f.LastMinuteMs = int(min(total, time.Minute) / time.Millisecond)
	return f, frozenFor, sinceLast
}

// links reads a guest's PeerConnection stats into its uplink: over the
// interval since the last call the bit rate and the loss on what it sends,
// as of now the jitter and ICE's round trip (which roundTrips.into
// replaces with the media's when it can). known is false until
// something was measured. (Pion's stats have nothing on what we send, so
// the downlink comes from the guest's receiver reports: downMeter.)
func (m *lossMeter) links(report webrtc.StatsReport, now time.Time) (up Uplink, known bool) {
	var received, lost int64
	var in uint64
	for _, s := range report {
		switch s := s.(type) {
		case webrtc.InboundRTPStreamStats:
			received += int64(s.PacketsReceived)
			lost += int64(s.PacketsLost)
			in += s.BytesReceived
			up.JitterMs = max(up.JitterMs, int(s.Jitter*1000))
		case webrtc.ICECandidatePairStats:
			if s.Nominated && s.CurrentRoundTripTime > 0 {
				up.RTTMs, up.RTTFrom = int(s.CurrentRoundTripTime*1000+0.5), RTTFromICE
				known = true
			}
		}
	}
	dr, dl := received-m.received, lost-m.lost
	m.received, m.lost = received, lost
	if dr+dl > 0 {
		up.Loss = float64(max(dl, 0)) / float64(dr+dl)
		known = true
	}
	if !m.at.IsZero() {
		if secs := now.Sub(m.at).Seconds(); secs > 0 {
			up.Kbps = int(float64(in-min(in, m.in)) * 8 / 1000 / secs)
		}
	}
	m.in, m.at = in, now
	return up, known
}

// downMeter keeps the worst loss a guest reported, in its receiver
// reports, on the streams we send it since the last take. mu guards it:
// the RTCP readers of every track it receives write, the session reads.
type downMeter struct {
	mu       sync.Mutex
	worst    float64
	reported bool
}

// report takes the reports that concern ssrc, the stream of one sender.
func (d *downMeter) report(rs []rtcp.ReceptionReport, ssrc uint32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range rs {
		if r.SSRC == ssrc {
			d.worst = max(d.worst, float64(r.FractionLost)/256)
			d.reported = true
		}
	}
}

// take returns the worst loss reported since the last take, and whether
// anything was.
func (d *downMeter) take() (loss float64, reported bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	loss, reported = d.worst, d.reported
	d.worst, d.reported = 0, false
	return loss, reported
}

// sawPacket notes a packet of a guest's track sent as it comes (not
// simulcast): its share of the bit rate, and a frame's end.
func (t *pubTrack) sawPacket(pkt *rtp.Packet, now time.Time) {
	t.rate.count(len(pkt.Payload), now)
	t.frameEnd(pkt.Marker, now)
}

// downlink is what we send the guest now: the bit rate of what it
// receives (of a simulcast camera the layer it gets), the worst loss it
// reported since the last call, and its estimate. Called on the session's
// loop, which owns senders.
func (g *guest) downlink() (d Downlink, reported bool) {
	var bits uint64
	for t, tr := range g.senders {
		if t.simul == nil {
			if t.info.Kind != "audio" || !t.muted.Load() {
				bits += t.rate.Load()
			}
			continue
		}
		sender := tr.Sender()
		if sender == nil {
			continue
		}
		if enc := sender.GetParameters().Encodings; len(enc) > 0 {
			if l := t.simul.bindingOf(uint32(enc[0].SSRC)).current(); l != nil {
				bits += l.rate.Load()
			}
		}
	}
	d.Kbps = int(bits / 1000)
	d.Loss, reported = g.reported.take()
	e, from := g.st.sfu.estimateFor(g.id, g.down.estimator())
	d.EstimateKbps, d.EstimateFrom = int(e/1000), from
	return d, reported
}

// estimateFor is guest id's downlink estimate, bits/s, and where it comes
// from: what the switchers of the simulcast cameras it receives go by
// (binding.estimate). Where they go by the send-side estimate (est, the
// guest's, nil if none), the whole connection's, which they divide
// between them; where by REMB or loss, the sum of theirs. A guest who
// receives no camera in layers: the connection's send-side estimate if
// there is one. 0 and "" while there is none.
func (f *sfu) estimateFor(id string, est *estimator) (uint64, EstimateFrom) {
	f.mu.Lock()
	var ts []*pubTrack
	for _, pts := range f.tracks {
		for _, t := range pts {
			if t.simul != nil {
				ts = append(ts, t)
			}
		}
	}
	f.mu.Unlock()
	// The estimates are read outside the simulcast locks: a binding's
	// share takes its downlink's lock, which is never held around them.
	type own struct {
		b *binding
		t *pubTrack
	}
	var owns []own
	for _, t := range ts {
		s := t.simul
		s.mu.RLock()
		for _, b := range s.bindings {
			if s.owners[b.ssrc] == id {
				owns = append(owns, own{b, t})
			}
		}
		s.mu.RUnlock()
	}
	var sum uint64
	var from EstimateFrom
	for _, o := range owns {
		e, src := o.b.estimate(o.t)
		sum += e
		if src.rank() > from.rank() {
			from = src
		}
	}
	if from == EstimateTransportCC || len(owns) == 0 {
		if e, ok := est.estimate(); ok {
			return e, EstimateTransportCC
		}
	}
	return sum, from
}

// frameEnd tells the owner's freeze meter of a frame's end: for a guest's
// camera, at a packet with the marker bit.
func (t *pubTrack) frameEnd(marker bool, now time.Time) {
	if marker && t.session != nil && t.info.Kind == "video" && !t.info.Screen {
		t.session.freezes.frame(now)
	}
}

// rateHealth rates the guest's health from this interval's measurement,
// records it in the show and, when its level changed, tells the page.
// Called on the session's loop.
func (g *guest) rateHealth(up Uplink, down Downlink, known bool, now time.Time) {
	f, frozenFor, sinceLast := g.freezes.read(now)
	s := healthSample{known: known, media: g.media, up: up, down: down, freezes: f, frozenFor: frozenFor, sinceLast: sinceLast}
	h := Health{Up: up, Down: down, Freezes: f}
	if fc, ok := g.st.sfu.sink.(freezeCounter); ok {
		if r, ok := fc.freezesOf(g.id, now); ok {
			s.prog, h.ProgramFreezes = &r, r.f
		}
	}
	if ac, ok := g.st.sfu.sink.(concealCounter); ok {
		h.ProgramAudio = ac.audioOf(g.id)
	}
	h.ProgramAudio.UnrecoveredShare = g.sound.share(h.ProgramAudio, now)
	s.sound = h.ProgramAudio.UnrecoveredShare
	level, reason := classify(s)
	if g.forced != nil {
		level, reason = g.forced.Level, g.forced.Reason
	}
	h.Level, h.Reason = g.hold.next(level, reason, now)
	g.tellHealth(h, now)
}

// soundMeter keeps a guest's ProgramAudio as of the last interval, to
// rate the sound concealed since. Used on the session's loop alone.
type soundMeter struct {
	last ProgramAudio
	at   time.Time // zero before the first interval
}

// share is the part of the time since the last call whose sound the
// program concealed without FEC, by a as of now: 0 at the first call
// (the counts are the show's, and this session may be a guest's page come
// back to a running show), and when the counts went back (their program
// input made anew).
func (m *soundMeter) share(a ProgramAudio, now time.Time) float64 {
	last, at := m.last, m.at
	m.last, m.at = a, now
	if at.IsZero() || a.ConcealedMs < last.ConcealedMs || a.RecoveredMs < last.RecoveredMs {
		return 0
	}
	d := now.Sub(at)
	if d <= 0 {
		return 0
	}
	guessed := time.Duration((a.ConcealedMs-last.ConcealedMs)-(a.RecoveredMs-last.RecoveredMs)) * time.Millisecond
	return min(max(float64(guessed)/float64(d), 0), 1)
}

// freezeCounter is a Sink that meters the freezes of a participant's
// camera as it shows it. Program is one: from the pictures its decoder
// makes (program.go).
type freezeCounter interface {
	// freezesOf reads participant id's camera freezes as of now; false
	// while it shows none of their pictures.
	freezesOf(id string, now time.Time) (freezeRead, bool)
}

// concealCounter is a Sink that counts what of a participant's sound it
// filled in for lost packets. Program is one: from its decoders' counts
// (program.go).
type concealCounter interface {
	// audioOf is participant id's, zero while it plays none of theirs.
	audioOf(id string) ProgramAudio
}

// tellHealth records h in the show and tells the page when its level or
// reason changed.
func (g *guest) tellHealth(h Health, now time.Time) {
	if g.st.show.setHealth(g.id, h, now) {
		g.sendHealth(h)
	}
}

// sendHealth tells the page its own health (signal.TypeHealth).
func (g *guest) sendHealth(h Health) {
	if h.Level == LevelUnknown {
		return
	}
	m := signal.Message{Type: signal.TypeHealth, Level: string(h.Level), Reason: h.Reason}
	if err := signal.CheckHealth(m); err != nil {
		g.log.Warn("health not sent", "err", err)
		return
	}
	g.send(m)
}
