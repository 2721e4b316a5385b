// Package iso writes one person's own media — their camera and mic, or a
// shared screen — to a file of its own, exactly as it was encoded (no
// decoding, no re-encoding): VP8 or H.264 video and Opus audio, into
// Matroska through FFmpeg's muxer (go-astiav). VP8 and Opus go into WebM
// (.webm), anything with H.264 into .mkv.
//
// Timestamps are show time (time since the show started, on the studio's
// one clock): the first frame of a person who joined late is written at
// the time they joined, so the file's start_time is that offset and the
// files line up on an editor's timeline with the program and each other.
// Gaps stay gaps.
//
// The file is written as it goes, a cluster at least every second and
// flushed, so a crash leaves a file that plays up to its last second or
// so. A Writer queues and drops on its own (stream.Queue): the media path
// never waits on the disk. A disk error stops this file only, with the
// reason in Stats, and Close cuts it back to its last whole cluster
// (record.Whole) so it plays to its end.
//
// It owns the file and its muxer, not who is recorded or what the file is
// called: the studio decides that.
package iso

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"

	"greenroom/encode/keyframe"
	"greenroom/encode/record"
	"greenroom/encode/stream"
)

// Config says where the file goes.
type Config struct {
	// Dir and Stem name the file: Dir/Stem.webm or .mkv, or Stem (2)…
	// when that name is taken (see Unique). It is made with the first
	// frames, so a person whose media never came gets no file.
	Dir, Stem string
	// QueueSize bounds the frames waiting for the disk; default 512
	// (several seconds: disks stall for longer than networks).
	QueueSize int
	// HeaderWait is how much show time of audio waits for the first video
	// keyframe before the file is made with sound only (or video without
	// sound, for a screen); default 5 s. A person with a camera seldom
	// waits long (the studio asks for a keyframe when recording starts),
	// but on a lossy link the ask may take a few tries, and a file made
	// without video leaves their picture out for the rest of the show.
	HeaderWait time.Duration
	// VideoOnly is for a shared screen: the file is made at its first
	// keyframe, no sound waited for.
	VideoOnly bool
	Logger    *slog.Logger
}

// Codecs a Writer takes, as the studio's tracks name them.
const (
	VP8  = "video/vp8"
	H264 = "video/h264"
	Opus = "audio/opus"
)

// Stats is where a file stands.
type Stats struct {
	File  string // its name in Dir; "" until it is made
	Start time.Duration
	End   time.Duration // show time of the last frame written
	// Written frames; Dropped ones (the disk too slow, or a kind of media
	// the file was not made for: a camera turned on after a file was
	// made with sound only).
	Written, Dropped int64
	Err              error
}

// Writer is one person's file. The muxer and pending are owned by the
// run goroutine; mu guards the stats.
type Writer struct {
	cfg    Config
	log    *slog.Logger
	q      *stream.Queue
	vcodec atomic.Value // string: the video codec of the first video frame
	odd    atomic.Int64 // frames of another video codec than the first's

	fc      *astiav.FormatContext
	io      *astiav.IOContext
	pkt     *astiav.Packet
	vs, as  *astiav.Stream
	pending []*stream.Packet // until the file is made
	last    [2]time.Duration // per kind: timestamps never go back
	whole   record.Whole     // how far the file is whole, for a failed write

	mu       sync.Mutex
	st       Stats
	failed   bool
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
	closeErr error
}

// New starts a Writer; nothing is on disk until frames come.
func New(cfg Config) *Writer {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 512
	}
	if cfg.HeaderWait <= 0 {
		cfg.HeaderWait = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	w := &Writer{
		cfg:  cfg,
		log:  cfg.Logger.With("component", "iso", "stem", cfg.Stem),
		q:    stream.NewQueue(cfg.QueueSize),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go w.run()
	return w
}

// Write queues one frame of codec (VP8, H264 or Opus, any case) at show
// time p.PTS; it never blocks. Video starts at a keyframe, and after the
// queue overflowed, waits for the next one.
func (w *Writer) Write(codec string, p *stream.Packet) {
	if p.Kind == stream.Video {
		codec = strings.ToLower(codec)
		if !w.vcodec.CompareAndSwap(nil, codec) && w.vcodec.Load() != codec {
			w.odd.Add(1) // a file has one video stream
			return
		}
	}
	w.q.Push(p)
}

func (w *Writer) run() {
	defer close(w.done)
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	for {
		select {
		case <-w.q.Ready():
			for p := w.q.Pop(); p != nil; p = w.q.Pop() {
				w.take(p)
			}
		case <-tick.C:
			w.flush()
		case <-w.stop:
			for _, p := range w.q.Close() {
				w.take(p)
			}
			if w.fc == nil && len(w.pending) > 0 {
				w.open() // what came is better than nothing
			}
			return
		}
	}
}

// take writes p, or holds it until the file can be made: with a video
// keyframe and sound (VideoOnly: the keyframe), or HeaderWait of show
// time without one of them.
func (w *Writer) take(p *stream.Packet) {
	if w.isFailed() {
		return
	}
	if w.fc != nil {
		w.write(p)
		return
	}
	w.pending = append(w.pending, p)
	var key, audio bool
	for _, q := range w.pending {
		key = key || q.Kind == stream.Video
		audio = audio || q.Kind == stream.Audio
	}
	if (key && (audio || w.cfg.VideoOnly)) || p.PTS-w.pending[0].PTS >= w.cfg.HeaderWait {
		w.open()
	}
}

// open makes the file for what is pending and writes it.
func (w *Writer) open() {
	pending := w.pending
	w.pending = nil
	var key *stream.Packet
	audio := false
	for _, q := range pending {
		if q.Kind == stream.Video && key == nil {
			key = q
		}
		audio = audio || q.Kind == stream.Audio
	}
	vcodec, _ := w.vcodec.Load().(string)
	if key == nil {
		vcodec = ""
	}
	if err := w.create(vcodec, key, audio); err != nil {
		w.fail(err)
		return
	}
	for _, q := range pending {
		w.write(q)
	}
	w.flush()
}

// create opens the muxer for the streams there are.
func (w *Writer) create(vcodec string, key *stream.Packet, audio bool) error {
	format, ext := "webm", ".webm"
	if vcodec == H264 {
		format, ext = "matroska", ".mkv"
	}
	path, err := Unique(filepath.Join(w.cfg.Dir, w.cfg.Stem), ext, func(p string) error {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			err = f.Close()
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("iso: %w", err)
	}
	w.mu.Lock()
	w.st.File = filepath.Base(path)
	w.mu.Unlock()
	w.log = w.log.With("file", w.st.File)
	if w.fc, err = astiav.AllocOutputFormatContext(nil, format, path); err != nil {
		return fmt.Errorf("iso: %s: %w", path, err)
	}
	if key != nil {
		w.vs = w.fc.NewStream(nil)
		cp := w.vs.CodecParameters()
		cp.SetMediaType(astiav.MediaTypeVideo)
		if vcodec == H264 {
			cp.SetCodecID(astiav.CodecIDH264)
			// The muxer makes the avcC it needs from Annex-B SPS/PPS.
			if err := cp.SetExtraData(h264Params(key.Data)); err != nil {
				return fmt.Errorf("iso: video header: %w", err)
			}
			width, height, err := h264Size(key.Data)
			if err != nil {
				return fmt.Errorf("iso: H.264 picture size: %w", err)
			}
			cp.SetWidth(width)
			cp.SetHeight(height)
		} else {
			cp.SetCodecID(astiav.CodecIDVp8)
			_, width, height := keyframe.VP8Frame(key.Data)
			cp.SetWidth(width)
			cp.SetHeight(height)
		}
		cp.SetPixelFormat(astiav.PixelFormatYuv420P)
		w.vs.SetTimeBase(astiav.NewRational(1, 1000))
	}
	if audio {
		w.as = w.fc.NewStream(nil)
		cp := w.as.CodecParameters()
		cp.SetMediaType(astiav.MediaTypeAudio)
		cp.SetCodecID(astiav.CodecIDOpus)
		cp.SetSampleRate(48000)
		cp.SetChannelLayout(astiav.ChannelLayoutStereo)
		cp.SetChannels(2)
		if err := cp.SetExtraData(opusHead); err != nil {
			return fmt.Errorf("iso: audio header: %w", err)
		}
		w.as.SetTimeBase(astiav.NewRational(1, 1000))
	}
	if w.io, err = astiav.OpenIOContext(path, astiav.NewIOContextFlags(astiav.IOContextFlagWrite)); err != nil {
		return fmt.Errorf("iso: create %s: %w", path, err)
	}
	w.fc.SetPb(w.io)
	d := astiav.NewDictionary()
	defer d.Free()
	// A cluster at least every second: the muxer keeps the cluster it
	// writes in memory until it ends, and a crash loses only that.
	if err := d.Set("cluster_time_limit", "1000", 0); err != nil {
		return fmt.Errorf("iso: option: %w", err)
	}
	if err := w.fc.WriteHeader(d); err != nil {
		return fmt.Errorf("iso: write header to %s: %w", path, err)
	}
	w.pkt = astiav.AllocPacket()
	w.whole.Path = path
	w.whole.Mark(w.io)
	return nil
}

// write muxes p, if the file has a stream for it.
func (w *Writer) write(p *stream.Packet) {
	s := w.vs
	if p.Kind == stream.Audio {
		s = w.as
	}
	if s == nil {
		w.mu.Lock()
		w.st.Dropped++
		w.mu.Unlock()
		return
	}
	// Two frames never go back in time on one stream (the muxer refuses
	// it): a sender's clock stepping back, or two tracks of one person
	// after a reconnect, overlapping by a few milliseconds.
	at := max(p.PTS, w.last[p.Kind])
	w.last[p.Kind] = at
	q := *p
	q.PTS, q.DTS = at, at
	// Not interleaved by FFmpeg: it would hold the sound back while the
	// camera stalls (up to 10 s); one person's frames come in time order
	// already, near enough for Matroska's relative block times.
	if err := record.Mux(w.fc, w.pkt, &q, s.Index(), s.TimeBase(), false); err != nil {
		w.fail(fmt.Errorf("iso: write %s: %w", w.st.File, err))
		return
	}
	w.whole.Mark(w.io)
	w.mu.Lock()
	// The earliest of the streams: one person's sound and picture are
	// placed by their sender's clock, not written in time order.
	if w.st.Written == 0 || at < w.st.Start {
		w.st.Start = at
	}
	w.st.Written++
	w.st.End = max(w.st.End, at)
	w.mu.Unlock()
}

// flushEvery is how often what the muxer wrote is handed to the OS: a
// crash of the process loses at most that (and the open cluster).
const flushEvery = 500 * time.Millisecond

// flush hands what the muxer wrote to the OS.
func (w *Writer) flush() {
	if w.io != nil && !w.isFailed() {
		w.io.Flush()
	}
}

func (w *Writer) isFailed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed
}

func (w *Writer) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.failed {
		w.failed, w.st.Err = true, err
		w.log.Warn("recording of this person stopped", "err", err)
	}
}

// Stats says where the file stands.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.st
	st.Dropped += w.q.Dropped() + w.odd.Load()
	return st
}

// Close writes what is queued, finishes the file (its duration and
// index) and releases it. Safe to call twice; returns the error the file
// met, if any.
func (w *Writer) Close() error {
	w.once.Do(func() {
		close(w.stop)
		<-w.done
		var errs []error
		if w.fc != nil && !w.isFailed() {
			if err := w.whole.Finish(w.io, w.fc.WriteTrailer); err != nil {
				errs = append(errs, fmt.Errorf("iso: finish %s: %w", w.st.File, err))
			}
		}
		if w.pkt != nil {
			w.pkt.Free()
		}
		if w.io != nil {
			if err := w.io.Close(); err != nil {
				errs = append(errs, fmt.Errorf("iso: close %s: %w", w.st.File, err))
			}
		}
		if w.fc != nil {
			w.fc.Free()
		}
		if w.isFailed() && w.io != nil {
			// A failed write may have left half a cluster: the file ends
			// at the last whole one instead (issue #11: a full disk).
			errs = append(errs, w.whole.Cut())
		}
		w.mu.Lock()
		errs = append([]error{w.st.Err}, errs...)
		w.mu.Unlock()
		w.closeErr = errors.Join(errs...)
	})
	return w.closeErr
}

// Unique makes base+ext with create, or "base (2)"+ext, "base (3)"… when
// create says the name exists (an error wrapping fs.ErrExist): a name
// that exists is never overwritten. It returns the path made.
func Unique(base, ext string, create func(path string) error) (string, error) {
	for n := 1; n < 1000; n++ {
		path := base + ext
		if n > 1 {
			path = fmt.Sprintf("%s (%d)%s", base, n, ext)
		}
		err := create(path)
		if err == nil {
			return path, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("%s: too many files of that name", base+ext)
}

// opusHead is the Opus header Matroska keeps as the track's codec private
// data (RFC 7845 5.1): version 1, two channels (WebRTC always negotiates
// opus/48000/2; a mono sender's packets decode to both), no pre-skip
// known (the frames are the sender's, as they came), 48 kHz, no gain,
// channel mapping family 0.
var opusHead = func() []byte {
	b := []byte("OpusHead\x01\x02\x00\x00\x80\xbb\x00\x00\x00\x00\x00")
	binary.LittleEndian.PutUint32(b[12:], 48000)
	return b
}()

// h264Size is the picture size of H.264 keyframe b, which Matroska's
// header must say. Its SPS has it, behind exp-Golomb codes, cropping and
// a dozen profile-dependent fields: FFmpeg's decoder, once per file, reads
// it more surely than a parser of our own would.
func h264Size(b []byte) (width, height int, err error) {
	c := astiav.FindDecoder(astiav.CodecIDH264)
	if c == nil {
		return 0, 0, errors.New("FFmpeg has no H.264 decoder")
	}
	cc := astiav.AllocCodecContext(c)
	if cc == nil {
		return 0, 0, errors.New("cannot allocate a decoder")
	}
	defer cc.Free()
	if err := cc.Open(c, nil); err != nil {
		return 0, 0, err
	}
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	frame := astiav.AllocFrame()
	defer frame.Free()
	if err := pkt.FromData(b); err != nil {
		return 0, 0, err
	}
	if err := cc.SendPacket(pkt); err != nil {
		return 0, 0, err
	}
	if err := cc.SendPacket(nil); err != nil { // drain: the one picture now
		return 0, 0, err
	}
	if err := cc.ReceiveFrame(frame); err != nil {
		return 0, 0, err
	}
	return frame.Width(), frame.Height(), nil
}

// h264Params is the SPS and PPS NAL units of an Annex-B keyframe, with
// their start codes.
func h264Params(b []byte) []byte {
	var out []byte
	for _, nal := range splitAnnexB(b) {
		if t := nal[0] & 0x1f; t == 7 || t == 8 {
			out = append(append(out, 0, 0, 0, 1), nal...)
		}
	}
	return out
}

// splitAnnexB splits an Annex-B access unit into its NAL units.
func splitAnnexB(b []byte) [][]byte {
	var nals [][]byte
	start := -1
	for i := 0; i+2 < len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				nals = append(nals, trimZeros(b[start:i]))
			}
			start = i + 3
			i += 2
		}
	}
	if start >= 0 && start < len(b) {
		nals = append(nals, b[start:])
	}
	return slicesNonEmpty(nals)
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

func slicesNonEmpty(nals [][]byte) [][]byte {
	out := nals[:0]
	for _, n := range nals {
		if len(n) > 0 {
			out = append(out, n)
		}
	}
	return out
}
