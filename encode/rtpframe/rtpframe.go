// Package rtpframe puts the RTP packets of one remote track back together
// into the frames they carry: a small jitter buffer (jitter.go) restores
// their order, waiting a bounded time for retransmissions, and the
// payloads are depacketized (pion's codecs: RFC 7741 for VP8, RFC 6184
// for H.264, RFC 7587 for Opus) into whole frames, each with its RTP time.
// A video frame missing a packet is handed on as broken, without data.
//
// It owns only that: decode turns the frames into pictures and samples
// for the program, iso writes them to a person's own file as they came.
// An Assembler is used by one goroutine, the one that feeds it RTP.
package rtpframe

import (
	"fmt"
	"strings"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"greenroom/encode/keyframe"
)

// Frame is one frame of the track: a picture, or an Opus packet.
type Frame struct {
	// Data is the frame as its encoder made it (VP8, Annex-B H.264, Opus),
	// the caller's to keep but not to modify (an Opus frame is its
	// packet's payload, which the studio shares).
	Data      []byte
	Timestamp uint32 // RTP time
	// Key: a video keyframe, decodable on its own (audio frames are
	// always Key).
	Key bool
	// Broken: a packet of this video frame never came; Data is empty.
	Broken bool
	// Lost is how many packets were given up on just before this frame's
	// (or in it): video after a loss needs a keyframe, audio conceals.
	Lost int
}

// Assembler turns one track's RTP into frames.
type Assembler struct {
	mime  string
	video bool
	h264  bool
	dep   rtp.Depacketizer
	jb    jitter
	rel   []released // reused by Push
	lost  int64
	// The video frame being put together from its packets.
	inFrame bool
	frame   Frame
}

// Waits: how long a video track waits for a missing packet (long enough
// for a NACK and its retransmission to cross a slow path twice, round
// trips of 100–150 ms with 50 ± 20 ms each way; short enough that, if it
// never comes, the keyframe asked for then still leaves the picture
// frozen under a second: issue #10), and how long an audio track waits
// for a packet a jittery path reordered (audio is never retransmitted,
// and late audio is useless).
const (
	VideoWait    = 400 * time.Millisecond
	AudioReorder = 40 * time.Millisecond
)

// New returns an Assembler for a track of mimeType ("video/VP8",
// "video/H264" or "audio/opus", case-insensitive) whose RTP clock runs at
// clockRate; a missing packet is waited for up to wait (VideoWait or
// AudioReorder, as suits the user).
func New(mimeType string, clockRate uint32, wait time.Duration) (*Assembler, error) {
	a := &Assembler{mime: mimeType}
	switch strings.ToLower(mimeType) {
	case "video/vp8":
		a.dep, a.video = &codecs.VP8Packet{}, true
	case "video/h264":
		a.dep, a.video, a.h264 = &codecs.H264Packet{}, true, true
	case "audio/opus":
		a.dep = &codecs.OpusPacket{}
	default:
		return nil, fmt.Errorf("rtpframe: unsupported codec %q", mimeType)
	}
	if clockRate == 0 {
		return nil, fmt.Errorf("rtpframe: %s: no RTP clock rate", mimeType)
	}
	a.jb = newJitter(wait)
	return a, nil
}

// WaitedFor says how long, at now, the oldest missing packet has been
// waited for (0 if none is).
func (a *Assembler) WaitedFor(now time.Time) time.Duration { return a.jb.waitedFor(now) }

// Video says whether the track is video.
func (a *Assembler) Video() bool { return a.video }

// Lost is how many packets were given up on so far; Late how many came
// after their place was passed (played, or given up on).
func (a *Assembler) Lost() int64 { return a.lost }
func (a *Assembler) Late() int64 { return a.jb.late }

// Push takes the track's next RTP packet (in arrival order), come now, and
// appends to out the frames it completes.
func (a *Assembler) Push(p *rtp.Packet, out []Frame) []Frame {
	return a.PushAt(p, time.Now(), out)
}

// PushAt is Push for a packet that came at at: a missing packet is waited
// for from when the first packet held behind it arrived, not by RTP time
// (a sender short of CPU sends late and in bursts: issue #10). A test
// replays packets at their own pace.
func (a *Assembler) PushAt(p *rtp.Packet, at time.Time, out []Frame) []Frame {
	a.rel = a.jb.push(p, at, a.rel[:0])
	if a.video {
		a.rel = a.jb.jump(a.keyStart, a.rel)
	}
	for _, r := range a.rel {
		a.lost += int64(r.lost)
		out = a.assemble(r.pkt, r.lost, out)
	}
	return out
}

// keyStart says whether p is the first packet of a keyframe.
func (a *Assembler) keyStart(p *rtp.Packet) bool {
	key, _, _ := keyframe.Start(a.mime, p.Payload)
	return key
}

// assemble adds packet p, in order (after lost packets given up on), to
// the frame being put together. A video frame is whole at its marker bit
// (RFC 7741 for VP8, RFC 6184 for H.264) and broken if a packet of it is
// missing. An Opus packet is a frame of its own (RFC 7587).
func (a *Assembler) assemble(p *rtp.Packet, lost int, out []Frame) []Frame {
	if !a.video {
		data, err := a.dep.Unmarshal(p.Payload)
		if err != nil || len(data) == 0 {
			return out
		}
		return append(out, Frame{Data: data, Timestamp: p.Timestamp, Key: true, Lost: lost})
	}
	if len(p.Payload) == 0 {
		return out // padding (the sender probing the bandwidth), no frame's
	}
	if !a.inFrame || p.Timestamp != a.frame.Timestamp {
		// A new frame. One left without its marker lost its end.
		if a.inFrame {
			a.frame.Broken = true
			out = a.done(out)
		}
		a.inFrame = true
		a.frame = Frame{Timestamp: p.Timestamp, Lost: lost}
		if a.h264 {
			// pion's H.264 depacketizer keeps a fragmented NAL unit's
			// start until its end comes: one whose end was lost would
			// be glued to the next frame's.
			a.dep = &codecs.H264Packet{}
		}
		if !a.dep.IsPartitionHead(p.Payload) {
			a.frame.Broken = true // its start was lost
		}
	} else if lost > 0 {
		a.frame.Broken = true // a packet in its middle was lost
		a.frame.Lost += lost
	}
	if !a.frame.Broken {
		data, err := a.dep.Unmarshal(p.Payload)
		if err != nil {
			a.frame.Broken = true
		}
		a.frame.Data = append(a.frame.Data, data...)
	}
	if p.Marker {
		out = a.done(out)
	}
	return out
}

// done hands on the frame put together.
func (a *Assembler) done(out []Frame) []Frame {
	a.inFrame = false
	f := a.frame
	if f.Broken {
		f.Data = nil
	} else {
		f.Key = keyframe.Frame(a.mime, f.Data)
	}
	return append(out, f)
}
