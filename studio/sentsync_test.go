//go:build unix

package studio_test

import (
	"image"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"greenroom/encode/compositor"
	"greenroom/encode/decode"
	"greenroom/encode/mediatest"
	"greenroom/studio"
)

// sentSync is the judge of what a guest itself sent: a Sink beside the
// program's (see teeSink) that decodes the guest's camera and mic on its
// own and notes when mediatest.FlashBeep's flashes and beeps were captured, by the
// guest's own sender reports (TrackInfo.Sender) and nothing of the
// program's placing, mixing, compositing, encoding or muxing. Chromium's
// fake devices do not keep their two files together: by its own reports
// its beeps were −64…+96 ms from its flashes at loads 10–17, and moved
// by up to 60 ms within a run as its fake camera fell behind, so a test
// of the program's lip sync judges what the program adds to that (issue
// #12 item 5).
//
// It also notes each change of the program's playout delay for the
// guest (TrackInfo.Playout), to tell a step in it from the browser's
// own offset when a test fails.
//
// mu guards everything: the studio calls a Sink from one goroutine per
// track, and Close from the test's.
type sentSync struct {
	studio atomic.Pointer[studio.Studio] // for keyframes, once it is made

	mu      sync.Mutex
	closed  bool
	guest   string                // the one participant judged, once known (only)
	tracks  map[string]*sentTrack // by TrackID
	flashes []time.Time           // capture instants, by the reports
	beeps   []time.Time
	delays  []delayChange
}

// delayChange is the program's playout delay for the guest becoming d at
// at.
type delayChange struct {
	at time.Time
	d  time.Duration
}

// sentTrack decodes one track; its fields but dec are the decode
// target's state, set by WriteRTP for the packet being decoded.
type sentTrack struct {
	s     *sentSync
	dec   *decode.Track
	info  studio.TrackInfo
	pkt   *rtp.Packet
	light bool      // the last picture was a flash's (white or grey)
	loud  time.Time // the last loud sample's capture instant
}

func newSentSync(t *testing.T) *sentSync {
	s := &sentSync{tracks: map[string]*sentTrack{}}
	t.Cleanup(s.Close)
	return s
}

func (s *sentSync) WriteRTP(info studio.TrackInfo, pkt *rtp.Packet) {
	if info.Sender == nil || info.Screen {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || (s.guest != "" && info.ParticipantID != s.guest) {
		return
	}
	if d := info.Playout.Delay(); len(s.delays) == 0 || s.delays[len(s.delays)-1].d != d {
		s.delays = append(s.delays, delayChange{time.Now(), d})
	}
	tr := s.tracks[info.TrackID]
	if tr == nil {
		tr = &sentTrack{s: s, info: info}
		dec, err := decode.New(decode.Config{MimeType: info.MimeType, ClockRate: info.ClockRate, Channels: int(info.Channels),
			Target: tr, OnKeyframeNeeded: func() {
				if st := s.studio.Load(); st != nil {
					go st.RequestKeyframe(info.ParticipantID)
				}
			}})
		if err != nil {
			return
		}
		tr.dec = dec
		s.tracks[info.TrackID] = tr
	}
	// A picture or a sound block is decoded from the packet that ends
	// it, in this call: it has that packet's RTP time.
	tr.pkt = pkt
	tr.dec.WriteRTP(pkt)
}

func (s *sentSync) EndTrack(info studio.TrackInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tr := s.tracks[info.TrackID]; tr != nil {
		tr.dec.Close()
		delete(s.tracks, info.TrackID)
	}
}

// only has s judge guest id alone from now on: the show's other guests,
// who may flash and beep too, are not what it notes (nor decoded).
func (s *sentSync) only(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.guest = id
}

// Close frees the decoders; the studio's packets after it are ignored.
func (s *sentSync) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for id, tr := range s.tracks {
		tr.dec.Close()
		delete(s.tracks, id)
	}
}

// captured is when the sample off samples (at rate) after the start of
// the frame being decoded was captured, by the guest's reports.
func (tr *sentTrack) captured(off, rate uint32) (time.Time, bool) {
	return tr.info.Sender.Wall(tr.pkt.SSRC, tr.pkt.Timestamp+off*(tr.info.ClockRate/rate), tr.info.ClockRate)
}

func (tr *sentTrack) NewFrame(w, h int) *compositor.Frame {
	return &compositor.Frame{YCbCr: *image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)}
}

// WriteVideo notes a flash's start: FlashBeep's white frame (Y 235), or its
// grey one (Y 150) a frame later where the white was lost.
func (tr *sentTrack) WriteVideo(f *compositor.Frame) {
	var sum, n int
	for i := 0; i < len(f.Y); i += 7 {
		sum += int(f.Y[i])
		n++
	}
	mean := sum / max(n, 1)
	light := mean > 100
	if light && !tr.light {
		if at, ok := tr.captured(0, tr.info.ClockRate); ok {
			if mean < 190 {
				at = at.Add(-time.Second / 30)
			}
			tr.s.flashes = append(tr.s.flashes, at)
		}
	}
	tr.light = light
}

// WriteAudio notes a beep's onset: the first sample over a tenth of full
// scale after half a second without one (mediatest.ToneOnsets' rule).
func (tr *sentTrack) WriteAudio(pcm []float32, rate, channels int) error {
	for i := 0; i < len(pcm); i += channels {
		if v := pcm[i]; v < 0.1 && v > -0.1 {
			continue
		}
		at, ok := tr.captured(uint32(i/channels), uint32(rate))
		if !ok {
			continue
		}
		if at.Sub(tr.loud) >= 500*time.Millisecond {
			tr.s.beeps = append(tr.s.beeps, at)
		}
		tr.loud = at
	}
	return nil
}

// offsets is the flashes captured within [from, to], by the guest's
// reports, in seconds from from, and how long after each its nearest
// beep was captured; and the program's playout delay for the guest at
// from and its changes up to to, for the log.
func (s *sentSync) offsets(from, to time.Time) (av mediatest.AVSync, delays []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var fl, bp []float64
	for _, f := range s.flashes {
		if !f.Before(from) && !f.After(to) {
			fl = append(fl, f.Sub(from).Seconds())
		}
	}
	for _, b := range s.beeps {
		bp = append(bp, b.Sub(from).Seconds())
	}
	for i, c := range s.delays {
		if c.at.Before(to) && (i+1 == len(s.delays) || s.delays[i+1].at.After(from)) {
			delays = append(delays, c.at.Sub(from).Round(time.Millisecond).String()+": "+c.d.Round(time.Millisecond).String())
		}
	}
	return mediatest.Pairs(fl, bp), delays
}

// teeSink hands every packet to the program and then to also; in all
// else it is the program (embedded, so that what the studio asks of its
// Sink beyond one — TileSizer, recording the host, the uploads — holds).
type teeSink struct {
	*studio.Program
	also studio.Sink
}

func (t teeSink) WriteRTP(info studio.TrackInfo, pkt *rtp.Packet) {
	t.Program.WriteRTP(info, pkt)
	t.also.WriteRTP(info, pkt)
}

func (t teeSink) EndTrack(info studio.TrackInfo) {
	t.Program.EndTrack(info)
	t.also.EndTrack(info)
}
