package studio

import (
	"fmt"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// A guest's upload is capped (issue #14): the studio forwards what each
// guest sends to every other guest, so one browser sending 8 Mb/s of
// camera costs every guest's download that much, and the studio's upload
// that much times the guests. The cap is a REMB (draft-alvestrand-rmcat-
// remb) sent to the guest every uplinkEvery: the receiver's estimate of
// what it can take. A browser's congestion control never sends more than
// the receiver's estimate, transport-cc or not (libwebrtc keeps it as the
// upper bound of its send-side estimate), and splits it between its
// simulcast layers, dropping the top ones when it is short.
const (
	DefaultGuestKbps = 2500 // a 720p camera in three layers, with room
	// The guest page asks its browser never to send less than 800 kb/s
	// (x-google-min-bitrate, issue #4), which Chromium holds to whatever
	// the REMB says: a lower cap would be a number the page ignores.
	MinGuestKbps = 800
	MaxGuestKbps = 20000
	// uplinkEvery: the estimate stands until the next one; one a second,
	// as libwebrtc's receivers send theirs, and a new guest's browser is
	// capped within a second of its first packet.
	uplinkEvery = time.Second
)

// CheckGuestKbps refuses a cap outside [MinGuestKbps, MaxGuestKbps], in
// words for the user.
func CheckGuestKbps(kbps int) error {
	if kbps < MinGuestKbps || kbps > MaxGuestKbps {
		return fmt.Errorf("the most a guest may send must be %d to %d kb/s, not %d", MinGuestKbps, MaxGuestKbps, kbps)
	}
	return nil
}

// SetGuestKbps changes Config.GuestKbps, for every guest within
// uplinkEvery. A cap out of CheckGuestKbps's range is refused and changes
// nothing.
func (s *Studio) SetGuestKbps(kbps int) error {
	if err := CheckGuestKbps(kbps); err != nil {
		return fmt.Errorf("studio: %w", err)
	}
	s.guestKbps.Store(int32(kbps))
	s.log.Info("guest upload cap", "kbps", kbps)
	return nil
}

// capUplink tells the guest's browser, every uplinkEvery until the session
// ends, the most it may send: the cap for its camera and, while it says
// it shares its screen, as much again for the screen, so a shared slide
// deck does not starve the camera. (Not whether a screen transceiver has
// a stream: the guest page's always has one, named in its offer, shared
// or not.) The REMB names the video streams the guest's offer or packets
// made known; none yet, none sent.
func (g *guest) capUplink(pc *webrtc.PeerConnection) {
	t := time.NewTicker(uplinkEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-g.ctx.Done():
			return
		}
		var ssrcs []uint32
		for _, r := range pc.GetReceivers() {
			for _, track := range r.Tracks() {
				if track.Kind() == webrtc.RTPCodecTypeVideo && track.SSRC() != 0 {
					ssrcs = append(ssrcs, uint32(track.SSRC()))
				}
			}
		}
		if len(ssrcs) == 0 {
			continue
		}
		bps := float32(g.st.guestKbps.Load()) * 1000
		if g.st.sfu.isSharing(g) {
			bps *= 2
		}
		if err := pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: bps, SSRCs: ssrcs}}); err != nil {
			g.log.Debug("upload cap", "err", err)
		}
	}
}
