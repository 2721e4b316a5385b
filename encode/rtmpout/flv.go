package rtmpout

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/yutopp/go-amf0"

	"greenroom/encode/stream"
)

// RTMP carries FLV tag bodies (Adobe FLV spec v10.1, E.4.2/E.4.3): a one-byte
// header with the codec and frame type, then a codec-specific header.
// go-flv is not in our module graph, and these are a handful of bytes.

const (
	flvCodecAVC   = 7
	flvCodecAAC   = 10
	flvKeyFrame   = 1 << 4
	flvInterFrame = 2 << 4
	// The AAC audio tag header is always 0xAF: AAC, "44 kHz", 16 bit,
	// stereo; the real parameters are in the AudioSpecificConfig (E.4.2.1).
	flvAACHeader = flvCodecAAC<<4 | 3<<2 | 1<<1 | 1

	avcSequenceHeader = 0
	avcNALU           = 1
	aacSequenceHeader = 0
	aacRaw            = 1
)

// H.264 NAL unit types (ITU-T H.264 table 7-1) we look at.
const (
	nalIDR = 5
	nalSPS = 7
	nalPPS = 8
	nalAUD = 9
)

// splitAnnexB returns the NAL units of an Annex-B byte stream, without
// their start codes.
func splitAnnexB(b []byte) [][]byte {
	var nalus [][]byte
	start := -1
	for i := 0; i+2 < len(b); {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				nalus = appendNALU(nalus, b[start:i])
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 {
		nalus = appendNALU(nalus, b[start:])
	}
	return nalus
}

// appendNALU appends n without the trailing zero bytes that belong to the
// next start code (00 00 00 01) or are trailing_zero_8bits.
func appendNALU(nalus [][]byte, n []byte) [][]byte {
	for len(n) > 0 && n[len(n)-1] == 0 {
		n = n[:len(n)-1]
	}
	if len(n) == 0 {
		return nalus
	}
	return append(nalus, n)
}

// appendAVCC appends the NAL units of an Annex-B access unit to dst with
// 4-byte big-endian length prefixes (the avcC lengthSizeMinusOne is 3).
// Access unit delimiters are dropped. Parameter sets stay in-band: the
// sequence header announces them too, but FFmpeg's FLV reader (and with
// it many servers' recorders and transcoders) follows a mid-stream change
// of encoder only through in-band SPS/PPS.
func appendAVCC(dst, annexB []byte) []byte {
	for _, n := range splitAnnexB(annexB) {
		switch n[0] & 0x1f {
		case nalAUD:
			continue
		}
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(n)))
		dst = append(dst, n...)
	}
	return dst
}

// parameterSets returns the SPS and PPS NAL units found in an Annex-B
// buffer (the encoder's extradata, or an IDR access unit with in-band
// parameter sets).
func parameterSets(annexB []byte) (sps, pps [][]byte) {
	for _, n := range splitAnnexB(annexB) {
		switch n[0] & 0x1f {
		case nalSPS:
			sps = append(sps, n)
		case nalPPS:
			pps = append(pps, n)
		}
	}
	return sps, pps
}

// avcDecoderConfig builds the AVCDecoderConfigurationRecord (ISO/IEC
// 14496-15 5.3.3.1) from Annex-B SPS and PPS. Extradata that is already a
// record (first byte 1, as some encoders emit) is returned as is.
func avcDecoderConfig(extradata []byte) ([]byte, error) {
	if len(extradata) >= 7 && extradata[0] == 1 {
		return extradata, nil
	}
	spss, ppss := parameterSets(extradata)
	if len(spss) == 0 || len(ppss) == 0 {
		return nil, errors.New("H.264 extradata has no SPS/PPS")
	}
	sps := spss[0]
	if len(sps) < 4 {
		return nil, errors.New("H.264 SPS is truncated")
	}
	rec := []byte{1, sps[1], sps[2], sps[3], 0xfc | 3, 0xe0 | byte(len(spss))}
	for _, s := range spss {
		rec = binary.BigEndian.AppendUint16(rec, uint16(len(s)))
		rec = append(rec, s...)
	}
	rec = append(rec, byte(len(ppss)))
	for _, p := range ppss {
		rec = binary.BigEndian.AppendUint16(rec, uint16(len(p)))
		rec = append(rec, p...)
	}
	// Profiles other than Baseline, Main and Extended carry the chroma
	// format and bit depths too (14496-15 5.3.3.1.1); FFmpeg and Chrome
	// read them.
	switch sps[1] {
	case 66, 77, 88:
	default:
		chroma, lumaDepth, chromaDepth, err := spsFormat(sps)
		if err != nil {
			return nil, err
		}
		rec = append(rec, 0xfc|byte(chroma), 0xf8|byte(lumaDepth-8), 0xf8|byte(chromaDepth-8), 0)
	}
	return rec, nil
}

// spsFormat reads chroma_format_idc and the bit depths from an SPS NAL
// unit of a High-family profile (H.264 7.3.2.1.1).
func spsFormat(sps []byte) (chroma, lumaDepth, chromaDepth int, err error) {
	r := bitReader{b: unescapeRBSP(sps[4:])} // after header, profile, constraints, level
	if _, err = r.ue(); err != nil {         // seq_parameter_set_id
		return 0, 0, 0, fmt.Errorf("H.264 SPS: %w", err)
	}
	c, err := r.ue()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("H.264 SPS: %w", err)
	}
	if c == 3 {
		r.bit() // separate_colour_plane_flag
	}
	l, err := r.ue()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("H.264 SPS: %w", err)
	}
	cd, err := r.ue()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("H.264 SPS: %w", err)
	}
	if c > 3 || l > 6 || cd > 6 {
		return 0, 0, 0, errors.New("H.264 SPS: invalid chroma format or bit depth")
	}
	return int(c), int(l) + 8, int(cd) + 8, nil
}

// unescapeRBSP removes emulation prevention bytes (00 00 03 → 00 00).
func unescapeRBSP(b []byte) []byte {
	if !bytes.Contains(b, []byte{0, 0, 3}) {
		return b
	}
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

type bitReader struct {
	b   []byte
	pos int // in bits
}

var errShortSPS = errors.New("truncated")

func (r *bitReader) bit() (uint32, error) {
	if r.pos >= len(r.b)*8 {
		return 0, errShortSPS
	}
	v := r.b[r.pos/8] >> (7 - r.pos%8) & 1
	r.pos++
	return uint32(v), nil
}

// ue reads an unsigned Exp-Golomb code (H.264 9.1).
func (r *bitReader) ue() (uint32, error) {
	zeros := 0
	for {
		b, err := r.bit()
		if err != nil {
			return 0, err
		}
		if b == 1 {
			break
		}
		if zeros++; zeros > 31 {
			return 0, errors.New("invalid Exp-Golomb code")
		}
	}
	v := uint32(1)
	for range zeros {
		b, err := r.bit()
		if err != nil {
			return 0, err
		}
		v = v<<1 | b
	}
	return v - 1, nil
}

// videoSequenceHeader is the FLV video tag body carrying the avcC record.
func videoSequenceHeader(record []byte) []byte {
	return append([]byte{flvKeyFrame | flvCodecAVC, avcSequenceHeader, 0, 0, 0}, record...)
}

// appendVideoTag appends the FLV video tag body of one access unit to dst.
// The composition time (PTS−DTS) is a signed 24-bit count of milliseconds.
func appendVideoTag(dst []byte, p *stream.Packet) []byte {
	ft := byte(flvInterFrame)
	if p.Key {
		ft = flvKeyFrame
	}
	cts := int32((p.PTS - p.DTS) / time.Millisecond)
	dst = append(dst, ft|flvCodecAVC, avcNALU, byte(cts>>16), byte(cts>>8), byte(cts))
	return appendAVCC(dst, p.Data)
}

// audioSequenceHeader is the FLV audio tag body carrying the
// AudioSpecificConfig.
func audioSequenceHeader(asc []byte) []byte {
	return append([]byte{flvAACHeader, aacSequenceHeader}, asc...)
}

func appendAudioTag(dst []byte, p *stream.Packet) []byte {
	dst = append(dst, flvAACHeader, aacRaw)
	return append(dst, p.Data...)
}

// metadata is the onMetaData object sent with @setDataFrame; servers copy
// it into recordings and players show it.
func metadata(info stream.Info) amf0.ECMAArray {
	m := amf0.ECMAArray{"encoder": "Greenroom"}
	if v := info.Video; v.Width > 0 {
		m["width"] = float64(v.Width)
		m["height"] = float64(v.Height)
		m["framerate"] = float64(v.FPS)
		m["videocodecid"] = float64(flvCodecAVC)
		m["videodatarate"] = float64(v.BitRate) / 1000
	}
	if a := info.Audio; a.SampleRate > 0 {
		m["audiocodecid"] = float64(flvCodecAAC)
		m["audiosamplerate"] = float64(a.SampleRate)
		m["audiosamplesize"] = float64(16)
		m["audiochannels"] = float64(a.Channels)
		m["stereo"] = a.Channels == 2
		m["audiodatarate"] = float64(a.BitRate) / 1000
	}
	return m
}

// clock maps packet DTS to FLV timestamps: milliseconds since the first
// packet sent on the connection, never going back within one kind (FLV
// and most servers require monotonic timestamps per stream).
//
// lead is the audio encoder's priming (stream.AudioInfo.Priming): the time
// line starts that much before the first packet, so the first audio packet,
// which starts before zero, keeps its place.
//
// Audio from before the time line's start is not sent (ok is false), never
// clamped to its start: FLV has no edit lists, so a player (and ffmpeg
// reading nginx's recording) decodes AAC as one unbroken run of samples
// from the first audio tag's time, and one packet stamped later than it
// is puts every sample after it late by as much. Audio leaves the
// pipeline later than the video of the same instant (the AAC encoder holds
// a frame, the master bus its look-ahead and a frame), so a connection
// whose first packet is a keyframe sees some: clamped, they made the
// sound lag 43 ms (before lead) and then 33 ms (with the master bus, issue
// #12). Video before the start is clamped as before: frames are shown at
// their own times, and a keyframe must not be lost.
type clock struct {
	lead    time.Duration
	base    time.Duration
	started bool
	last    [2]uint32 // per stream.Kind
}

func (c *clock) timestamp(kind stream.Kind, dts time.Duration) (ts uint32, ok bool) {
	if !c.started {
		c.base, c.started = dts-c.lead, true
	}
	d := dts - c.base
	if d < 0 && kind == stream.Audio {
		return 0, false
	}
	if d > 0 {
		ts = uint32(d / time.Millisecond)
	}
	if ts < c.last[kind] {
		ts = c.last[kind]
	}
	c.last[kind] = ts
	return ts, true
}
