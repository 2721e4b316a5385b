package mixer

import (
	"math"
	"testing"
	"time"
)

func seq(from, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(from + i)
	}
	return s
}

func TestFIFO(t *testing.T) {
	f := NewFIFO(4) // 8 samples
	if d := f.Write(seq(0, 6)); d != 0 || f.Len() != 3 {
		t.Fatalf("dropped %d len %d", d, f.Len())
	}
	out := make([]float32, 4)
	if n := f.Read(out); n != 4 || out[0] != 0 || out[3] != 3 {
		t.Fatalf("read %d %v", n, out)
	}
	// Wraps around the end of the ring.
	if d := f.Write(seq(6, 6)); d != 0 || f.Len() != 4 {
		t.Fatalf("dropped %d len %d", d, f.Len())
	}
	// Overflow drops the oldest frames.
	if d := f.Write(seq(12, 4)); d != 2 {
		t.Fatalf("dropped %d frames, want 2", d)
	}
	all := make([]float32, 16)
	n := f.Read(all)
	if n != 8 {
		t.Fatalf("read %d samples, want 8", n)
	}
	for i := range 8 {
		if all[i] != float32(8+i) {
			t.Fatalf("after overflow got %v, want 8..15", all[:n])
		}
	}
	// A write larger than the whole ring keeps its newest part.
	if d := f.Write(seq(100, 12)); d != 2 || f.Len() != 4 {
		t.Fatalf("huge write: dropped %d len %d", d, f.Len())
	}
	f.Read(all)
	if all[0] != 104 {
		t.Fatalf("huge write kept %v, want from 104", all[:8])
	}
}

func TestTrackPrebufferAndUnderrun(t *testing.T) {
	tr := NewTrack("t", TrackConfig{Prebuffer: 40 * time.Millisecond})
	var m Mixer
	l, r := make([]float32, 1024), make([]float32, 1024)
	block := func(v float32, frames int) []float32 {
		s := make([]float32, frames*2)
		for i := range s {
			s[i] = v
		}
		return s
	}
	tr.Write(block(0.5, 1000), Rate, Channels) // < 40 ms and < one block
	m.Mix([]*Track{tr}, l, r)
	if l[0] != 0 {
		t.Fatal("played before the prebuffer filled")
	}
	tr.Write(block(0.5, 2000), Rate, Channels)
	m.Mix([]*Track{tr}, l, r)
	if l[0] != 0.5 || r[1023] != 0.5 {
		t.Fatalf("mixed %v %v, want 0.5", l[0], r[1023])
	}
	if p := tr.Stats().Peak; p != 0.5 {
		t.Fatalf("peak %v, want 0.5", p)
	}
	m.Mix([]*Track{tr}, l, r) // 1976 frames left: one more whole block
	m.Mix([]*Track{tr}, l, r) // 952 left: runs dry part way
	if l[951] != 0.5 || l[952] != 0 {
		t.Fatalf("underrun block: %v %v", l[951], l[952])
	}
	if s := tr.Stats(); s.Underruns != 1 {
		t.Fatalf("underruns %d, want 1", s.Underruns)
	}
}

// TestTrackConceal: a concealing track that runs dry plays its last block
// again at half the level, then a quarter, for concealFor frames, then
// silence until its prebuffer is back; one that does not conceal is
// silent at once (TestTrackPrebufferAndUnderrun).
func TestTrackConceal(t *testing.T) {
	tr := NewTrack("t", TrackConfig{Prebuffer: 40 * time.Millisecond})
	tr.SetConceal(true)
	var m Mixer
	l, r := make([]float32, 1024), make([]float32, 1024)
	s := make([]float32, 3000*2)
	for i := range s {
		s[i] = 0.5
	}
	tr.Write(s, Rate, Channels)
	m.Mix([]*Track{tr}, l, r)
	m.Mix([]*Track{tr}, l, r) // 952 left
	m.Mix([]*Track{tr}, l, r) // runs dry part way: the rest concealed at half
	if l[951] != 0.5 || l[952] != 0.25 {
		t.Fatalf("the block that ran dry: %v %v, want 0.5 then 0.25", l[951], l[952])
	}
	want := []float32{0.125, 0.0625, 0.03125}
	for i, w := range want {
		m.Mix([]*Track{tr}, l, r)
		if l[0] != w || r[1023] != w {
			t.Fatalf("block %d after running dry: %v, want %v", i+1, l[0], w)
		}
	}
	// 4096 frames (85 ms) concealed in all: the fourth block after
	// running dry has the last 952 of them.
	m.Mix([]*Track{tr}, l, r)
	if l[951] != 0.015625 || l[952] != 0 {
		t.Fatalf("block 4 after running dry: %v then %v, want 0.015625 then 0", l[951], l[952])
	}
	if st := tr.Stats(); st.Underruns != 1 || st.Concealed != concealFor {
		t.Errorf("stats %+v: want 1 underrun, %d frames concealed", st, concealFor)
	}
	tr.Write(s, Rate, Channels) // back: plays at once, no fading
	m.Mix([]*Track{tr}, l, r)
	if l[0] != 0.5 {
		t.Errorf("after coming back: %v, want 0.5", l[0])
	}
}

func TestMixSumsAndLimits(t *testing.T) {
	a, b := NewTrack("a", TrackConfig{}), NewTrack("b", TrackConfig{})
	mk := func(l, r float32) []float32 {
		s := make([]float32, 4096*2)
		for i := 0; i < len(s); i += 2 {
			s[i], s[i+1] = l, r
		}
		return s
	}
	a.Write(mk(0.25, 0.75), Rate, Channels)
	b.Write(mk(0.25, 0.75), Rate, Channels)
	var m Mixer
	l, r := make([]float32, 1024), make([]float32, 1024)
	m.Mix([]*Track{a, b}, l, r)
	if l[10] != 0.5 || r[10] != 1 {
		t.Fatalf("mix %v %v, want 0.5 and clipped 1", l[10], r[10])
	}
	b.SetMuted(true)
	m.Mix([]*Track{a, b}, l, r)
	if l[10] != 0.25 {
		t.Fatalf("muted mix %v, want 0.25", l[10])
	}
	if lv := b.Stats().Level; lv != 0.75 {
		t.Fatalf("muted track's level %v, want 0.75: muted is still metered", lv)
	}
}

// Level holds a track's loudest sample for 100–200 ms, then lets go.
func TestLevelHoldsThenFalls(t *testing.T) {
	tr := NewTrack("a", TrackConfig{})
	blk := make([]float32, 1024*2)
	for i := range blk {
		blk[i] = 0.8
	}
	tr.Write(blk, Rate, Channels)
	tr.Write(make([]float32, 48000*2/5), Rate, Channels) // 200 ms of silence
	var m Mixer
	l, r := make([]float32, 1024), make([]float32, 1024)
	m.Mix([]*Track{tr}, l, r)
	for i := 0; i < 4; i++ { // 85 ms more: still held
		m.Mix([]*Track{tr}, l, r)
		if lv := tr.Stats().Level; lv != 0.8 {
			t.Fatalf("level %v after %d silent blocks, want 0.8 held", lv, i+1)
		}
	}
	for i := 0; i < 6; i++ { // 213 ms after the loud block
		m.Mix([]*Track{tr}, l, r)
	}
	if lv := tr.Stats().Level; lv != 0 {
		t.Fatalf("level %v more than 200 ms after the sound, want 0", lv)
	}
}

func TestTrackResamples(t *testing.T) {
	tr := NewTrack("mic", TrackConfig{Prebuffer: 10 * time.Millisecond, MaxQueue: time.Second})
	defer tr.Close()
	// 200 ms of a 1 kHz mono sine at 44.1 kHz.
	in := make([]float32, 44100/5)
	for i := range in {
		in[i] = 0.5 * float32(math.Sin(2*math.Pi*1000*float64(i)/44100))
	}
	if err := tr.Write(in, 44100, 1); err != nil {
		t.Fatal(err)
	}
	q := tr.Stats().Queued
	if q < 180*time.Millisecond || q > 201*time.Millisecond {
		t.Fatalf("queued %v after resampling 200 ms", q)
	}
	var m Mixer
	l, r := make([]float32, 1024), make([]float32, 1024)
	m.Mix([]*Track{tr}, l, r)
	m.Mix([]*Track{tr}, l, r)
	var peak float32
	for i := range l {
		if l[i] != r[i] {
			t.Fatalf("mono source not on both channels at %d: %v %v", i, l[i], r[i])
		}
		peak = max(peak, l[i])
	}
	if peak < 0.3 || peak > 0.6 {
		t.Fatalf("resampled sine peak %v, want about 0.5 (mono upmixed keeps level within -3 dB)", peak)
	}
	if err := tr.Write(make([]float32, 3), 44100, 2); err == nil {
		t.Fatal("odd sample count for stereo accepted")
	}
}

// A timed track plays its samples at the program sample they belong at:
// early ones wait (silence before them), late ones are dropped, and a
// block that starts mid-way gets them at the right offset.
func TestTimedTrack(t *testing.T) {
	tr := NewTrack("t", TrackConfig{})
	var m Mixer
	l, r := make([]float32, 1024), make([]float32, 1024)
	ramp := func(from, n int) []float32 { // sample value = its program index
		s := make([]float32, 2*n)
		for i := range n {
			s[2*i], s[2*i+1] = float32(from+i), float32(from+i)
		}
		return s
	}
	// Samples for 1500..3499 arrive before the mixer gets there.
	if err := tr.WriteAt(ramp(1500, 2000), Rate, Channels, 1500); err != nil {
		t.Fatal(err)
	}
	m.MixAt([]*Track{tr}, l, r, 0)
	if l[1023] != 0 {
		t.Fatal("played before their time")
	}
	m.MixAt([]*Track{tr}, l, r, 1024)
	if l[1500-1024-1] != 0 || l[1500-1024] != 1 { // clamped to ±1: check where sound starts
		t.Fatalf("block at 1024: sound should start at offset 476: %v %v", l[475], l[476])
	}
	// Skip a block: 2048..3071 are late and dropped; 3072.. play at 3072.
	tr.mu.Lock()
	head := tr.head
	tr.mu.Unlock()
	if head != 2048 {
		t.Fatalf("head %d after two blocks, want 2048", head)
	}
	mix, scratch := make([]float32, 2048), make([]float32, 2048)
	tr.pullAdd(mix, nil, scratch, 3072)
	if mix[0] != 3072 || mix[2*427] != 3499 || mix[2*428] != 0 {
		t.Fatalf("late samples not dropped: got %v %v %v", mix[0], mix[2*427], mix[2*428])
	}
	// A write far from where the last ended starts the track over there.
	tr.WriteAt(ramp(10000, 100), Rate, Channels, 10000)
	clear(mix)
	tr.pullAdd(mix, nil, scratch, 10000)
	if mix[0] != 10000 {
		t.Fatalf("after a jump: %v", mix[0])
	}
	// An untimed write makes it an ordinary track again.
	tr.Write(ramp(0, 4096), Rate, Channels)
	if tr.timed {
		t.Fatal("still timed after an untimed write")
	}
}

// A network hiccup (300 ms of packets held back, then delivered at once)
// leaves a track 300 ms late for good unless it drains: the delay comes
// back to the prebuffer within a few seconds, by skipping only quiet
// moments; a track that never pauses keeps every sample, late as it is.
func TestTrackDrainsABurstInPauses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		speech func(i int) float32 // the level of the ith 20 ms packet
		drains bool
	}{
		{"speech with pauses", func(i int) float32 {
			if i%25 < 15 { // 300 ms of sound, 200 ms of pause
				return 0.5
			}
			return 0
		}, true},
		{"a tone that never stops", func(int) float32 { return 0.5 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTrack("t", TrackConfig{})
			var m Mixer
			l, r := make([]float32, 1024), make([]float32, 1024)
			packet := func(v float32) []float32 {
				s := make([]float32, 960*2)
				for i := range s {
					s[i] = v
				}
				return s
			}
			// 20 ms packets against 1024-frame pulls, both at 48000 frames a
			// second; the packets of 1.0–1.3 s arrive together at 1.3 s.
			pkt := 0
			arrival := func(k int) float64 {
				if at := float64(k) * 0.02; at < 1 || at >= 1.3 {
					return at
				}
				return 1.3
			}
			for pull := range 6 * Rate / 1024 {
				for arrival(pkt) <= float64(pull*1024)/Rate {
					tr.Write(packet(tc.speech(pkt)), Rate, Channels)
					pkt++
				}
				m.Mix([]*Track{tr}, l, r)
			}
			s := tr.Stats()
			if tc.drains && (s.Queued > DefaultPrebuffer+50*time.Millisecond || s.Drained == 0) {
				t.Errorf("after 6 s: %v queued, %d frames drained; want back near the %v prebuffer", s.Queued, s.Drained, DefaultPrebuffer)
			}
			if !tc.drains && (s.Drained != 0 || s.Queued < 250*time.Millisecond) {
				t.Errorf("after 6 s: %v queued, %d frames drained; want nothing of the tone skipped", s.Queued, s.Drained)
			}
			if s.Underruns > 2 { // the start, and the stall
				t.Errorf("%d underruns", s.Underruns)
			}
			t.Logf("queued %v, drained %d frames", s.Queued, s.Drained)
		})
	}
}

// The monitor sums the tracks it is told to, muted in the program or not,
// each at its gain; the program's mix is the same as without it.
func TestMixMonitor(t *testing.T) {
	const n = 1024
	constant := func(v float32) []float32 {
		s := make([]float32, n*Channels)
		for i := range s {
			s[i] = v
		}
		return s
	}
	host, ann, bob := NewTrack("host", TrackConfig{}), NewTrack("ann", TrackConfig{}), NewTrack("bob", TrackConfig{})
	bob.SetMuted(true) // in the green room: not in the program, heard on the monitor
	ann.SetGain(0.5)
	tracks := []*Track{host, ann, bob}
	for i, tr := range tracks {
		for range 3 { // past the prebuffer
			if err := tr.Write(constant(0.1*float32(i+1)), Rate, Channels); err != nil {
				t.Fatal(err)
			}
		}
	}
	var m Mixer
	l, r, mon := make([]float32, n), make([]float32, n), make([]float32, n*Channels)
	m.SumMonitorAt(tracks, []bool{false, true, true}, l, r, mon, -1)
	// The program: the host (0.1) and Ann at half (0.1); Bob muted.
	if math.Abs(float64(l[0])-0.2) > 1e-6 || math.Abs(float64(r[n-1])-0.2) > 1e-6 {
		t.Errorf("program %v %v, want 0.2", l[0], r[n-1])
	}
	// The monitor: Ann at half (0.1) and Bob (0.3); not the host.
	if math.Abs(float64(mon[0])-0.4) > 1e-6 || math.Abs(float64(mon[2*n-1])-0.4) > 1e-6 {
		t.Errorf("monitor %v %v, want 0.4", mon[0], mon[2*n-1])
	}
	// Heard by no one: silence, however loud the program.
	m.SumMonitorAt(tracks, []bool{false, false, false}, l, r, mon, -1)
	for _, v := range mon {
		if v != 0 {
			t.Fatalf("monitor with no one heard has %v", v)
		}
	}
}

// TestSlipTrack: a slipping track (a guest placed by their sender's
// clock) hands over from arrival to time without a jump, moves at once
// in a pause (silence inserted, or quiet sound skipped), and in sound
// only by slipRate, never back in time.
func TestSlipTrack(t *testing.T) {
	tone := func(n int, v float32) []float32 {
		s := make([]float32, 2*n)
		for i := range s {
			s[i] = v
		}
		return s
	}
	tr := NewTrack("t", TrackConfig{})
	tr.SetSlip(true)
	var m Mixer
	l, r := make([]float32, 1024), make([]float32, 1024)
	// Untimed: 100 ms queued, two blocks played from program sample 0.
	tr.Write(tone(4800, 0.5), Rate, Channels)
	m.MixAt([]*Track{tr}, l, r, 0)
	m.MixAt([]*Track{tr}, l, r, 1024)
	end := func() int64 {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return tr.head + int64(tr.fifo.Len())
	}
	// The first timed write belongs 10 ms later than the queue ends: the
	// queue plays on where it was (4800, from 2048), and the track moves
	// by a few samples, not 480.
	tr.WriteAt(tone(960, 0.5), Rate, Channels, 4800+480)
	if got := end(); got < 4800+960 || got > 4800+960+10 {
		t.Fatalf("after the hand-over in sound the queue ends at %d, want 5760…5770 (slipped, not jumped)", got)
	}
	tr.mu.Lock()
	if tr.head != 2048 || !tr.timed {
		t.Fatalf("head %d (timed %v), want 2048: the queue kept playing", tr.head, tr.timed)
	}
	tr.mu.Unlock()
	// The sound plays (almost) 10 ms earlier than the write says: a
	// picture placed with it goes as early (encode.Input.WriteVideoAt).
	if got := tr.Late(); got < -10*time.Millisecond || got > -9*time.Millisecond {
		t.Errorf("after the hand-over the track says its sound plays %v late, want -10…-9 ms", got)
	}
	// Sound goes on at 20 ms a packet: each write slips by at most
	// 0.5 % (5 samples in 960) towards its place.
	next := int64(4800 + 480 + 960)
	for i := 0; i < 20; i++ {
		before := end()
		tr.WriteAt(tone(960, 0.5), Rate, Channels, next)
		if grew := end() - before; grew < 960 || grew > 960+5 {
			t.Fatalf("write %d grew the queue by %d, want 960…965", i, grew)
		}
		next += 960
		m.MixAt([]*Track{tr}, l, r, 2048+int64(i)*1024)
	}
	// A pause: the rest of the move at once, as silence.
	tr.WriteAt(tone(960, 0), Rate, Channels, next)
	if got := end(); got != next+960 {
		t.Fatalf("after a quiet write the queue ends at %d, want %d", got, next+960)
	}
	if got := tr.Late(); got != 0 {
		t.Errorf("after a quiet write the track says its sound plays %v late, want 0", got)
	}
	// A quiet write 10 ms earlier than the queue ends: skipped sound, not
	// a jump back.
	next += 960 - 480
	tr.WriteAt(tone(960, 0), Rate, Channels, next)
	if got := end(); got != next+960 {
		t.Fatalf("after an earlier quiet write the queue ends at %d, want %d", got, next+960)
	}
}

// TestSlipTrackConcealsUntilItsSoundIsBack is a guest's sound on a bad
// network (issue #10): a slipping, concealing track runs dry (its
// packets late), and its sound comes back placed later than where it ran
// dry (the guest's playout delay grew meanwhile, or the first packets
// back were given up on). Until the sound is back the track plays its
// concealment, fading, never digital silence (judged as the lab judges
// the recording: a run of zeros).
func TestSlipTrackConcealsUntilItsSoundIsBack(t *testing.T) {
	for _, back := range []int64{300, 1500, 2400} { // how far into the next block
		tr := NewTrack("t", TrackConfig{})
		tr.SetConceal(true)
		tr.SetSlip(true)
		var m Mixer
		l, r := make([]float32, 1024), make([]float32, 1024)
		tone := make([]float32, 960*Channels)
		for i := range tone {
			tone[i] = 0.5
		}
		// 100 ms of sound placed from program sample 0, two blocks
		// played, then it stops: the third block runs dry part way.
		for at := int64(0); at < 4800; at += 960 {
			tr.WriteAt(tone, Rate, Channels, at)
		}
		var out []float32
		at := int64(0)
		pull := func() {
			m.MixAt([]*Track{tr}, l, r, at)
			out = append(out, l...)
			at += 1024
		}
		for range 5 {
			pull()
		}
		// Back, back samples into the block after the next pull.
		from := at + 1024 + back
		for w := from; w < from+4800; w += 960 {
			tr.WriteAt(tone, Rate, Channels, w)
		}
		for range 4 {
			pull()
		}
		zeros, longest := 0, 0
		for _, v := range out[1024:] {
			if v == 0 {
				zeros++
				longest = max(longest, zeros)
			} else {
				zeros = 0
			}
		}
		if longest > 0 {
			t.Errorf("back %d samples into a block: %d samples of silence in a row, want none (concealed)", back, longest)
		}
	}
}

// TestSlipTrackLengthensAPauseWithItsOwnSound: a quiet write that lands
// later than the queue ends (the playout delay grew) moves the track at
// once, by playing that quiet sound longer, not by zeros: on a bad
// network the quiet write is as often a lost packet's concealment
// (fading) in a steady sound as a pause, and zeros there are a hole of
// digital silence in the program (issue #10).
func TestSlipTrackLengthensAPauseWithItsOwnSound(t *testing.T) {
	tr := NewTrack("t", TrackConfig{})
	tr.SetSlip(true)
	quietly := make([]float32, 960*Channels)
	for i := range quietly {
		quietly[i] = 0.005 // −46 dBFS
	}
	tr.WriteAt(quietly, Rate, Channels, 0)
	tr.WriteAt(quietly, Rate, Channels, 960+1900) // 40 ms later than the queue ends
	var m Mixer
	l, r := make([]float32, 1024), make([]float32, 1024)
	for at := int64(0); at < 960*2+1900; at += 1024 {
		m.MixAt([]*Track{tr}, l, r, at)
		for i, v := range l {
			if v == 0 && at+int64(i) < 960*2+1900 {
				t.Fatalf("sample %d is silent: the pause was made longer with zeros", at+int64(i))
			}
		}
	}
}
