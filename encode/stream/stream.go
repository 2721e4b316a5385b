// Package stream owns the description of the encoded program — the H.264
// and AAC elementary streams — and the vocabulary every output speaks:
// packets, stream parameters, output state and statistics, and the bounded
// per-output queue that keeps a slow output from stalling the encoder.
//
// It knows nothing of FFmpeg, RTMP or files; encoders produce Packets and
// outputs (rtmpout, record) consume them.
package stream

import (
	"fmt"
	"time"
)

// Kind tells a video packet from an audio packet.
type Kind uint8

const (
	Video Kind = iota
	Audio
)

func (k Kind) String() string {
	if k == Video {
		return "video"
	}
	return "audio"
}

// Packet is one encoded access unit. It is shared read-only between all
// outputs once published: nobody may modify Data after Fanout.Write.
type Packet struct {
	Kind Kind
	// Data is H.264 in Annex-B (start codes) for video, raw AAC for audio.
	Data []byte
	// PTS and DTS are on the studio media clock (time since the program
	// started). Outputs rescale them to their own time base.
	PTS, DTS time.Duration
	// Key is true for IDR frames; audio packets are always Key.
	Key bool
}

// VideoInfo describes the encoded H.264 stream.
type VideoInfo struct {
	Width, Height int
	FPS           int
	BitRate       int // bits per second
	// Extradata is the encoder's global header: SPS and PPS in Annex-B.
	Extradata []byte
}

// AudioInfo describes the encoded AAC stream.
type AudioInfo struct {
	SampleRate int
	Channels   int
	BitRate    int // bits per second
	// Extradata is the AudioSpecificConfig (ISO 14496-3 1.6.2.1).
	Extradata []byte
	// Priming is the encoder delay: the first packet starts this long
	// before zero and decodes to silence. Containers with edit lists (MP4)
	// hide it; FLV cannot, so its time line must start this much earlier
	// for the picture and the sound to stay in sync.
	Priming time.Duration
}

// Info is everything an output needs before the first packet.
type Info struct {
	Video VideoInfo
	Audio AudioInfo
}

// State is where an output is in its life.
type State int

const (
	Connecting State = iota
	Live
	Reconnecting
	Failed
	Closed
)

func (s State) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Live:
		return "live"
	case Reconnecting:
		return "reconnecting"
	case Failed:
		return "failed"
	case Closed:
		return "closed"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// Stats is a snapshot of one output's health.
type Stats struct {
	Name  string
	State State
	// Err is why the output is Reconnecting or Failed; nil otherwise.
	// Its text never contains a stream key.
	Err        error
	BitRate    float64 // bits per second written, over the last few seconds
	FPS        float64 // video packets per second written, same window
	Written    int64   // packets written since start
	Dropped    int64   // packets dropped because the output was too slow
	Queue      int     // packets waiting
	Reconnects int
}

// Output takes encoded packets. Write never blocks: an output queues and
// drops on its own (see Queue). Close flushes what it can, releases
// everything and waits for the output's goroutines; it is safe to call twice.
type Output interface {
	Name() string
	Write(p *Packet)
	Stats() Stats
	Close() error
}
