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
	MinGuestKbps     = 200  // a 180p camera still moves
	MaxGuestKbps     = 20000
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
// ends, the most it may send: the cap for its camera and, once it shares
// a screen, as much again for the screen, so a shared slide deck does not
// starve the camera. The REMB names the video streams it has sent; none
// yet, none sent.
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
		screen := false
		for _, tr := range pc.GetTransceivers() {
			for _, track := range tr.Receiver().Tracks() {
				if track.Kind() != webrtc.RTPCodecTypeVideo || track.SSRC() == 0 {
					continue
				}
				ssrcs = append(ssrcs, uint32(track.SSRC()))
				screen = screen || g.screenMids[tr.Mid()]
			}
		}
		if len(ssrcs) == 0 {
			continue
		}
		bps := float32(g.st.guestKbps.Load()) * 1000
		if screen {
			bps *= 2
		}
		if err := pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: bps, SSRCs: ssrcs}}); err != nil {
			g.log.Debug("upload cap", "err", err)
		}
	}
}
