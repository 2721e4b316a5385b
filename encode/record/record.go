// Package record writes the program to a local file through FFmpeg's
// muxers (go-astiav). MP4 is written fragmented (a moof per keyframe and
// at least every second, the moov with the first) and Matroska is
// written as it goes, so a crash or a power cut still leaves a playable
// file.
//
// A Recorder is a stream.Output: it queues and drops on its own and never
// stalls the encoder. A disk error (full, removed, read-only) fails this
// output only, with the reason in Stats; the stream goes on, and Close
// cuts the file back to its last whole fragment (Whole) so it plays to
// its end.
package record

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/asticode/go-astiav"

	"greenroom/encode/clock"
	"greenroom/encode/stream"
)

// Config says where and what to record.
type Config struct {
	Path string // .mp4 (fragmented, default), .mov, .mkv or .flv
	Info stream.Info
	// QueueSize bounds the packets waiting for the disk; default 512
	// (several seconds: disks stall for longer than networks).
	QueueSize int
	Logger    *slog.Logger
}

// Recorder is one recording. Its muxer is owned by the run goroutine;
// state, err, first and seen are guarded by mu.
type Recorder struct {
	cfg   Config
	log   *slog.Logger
	q     *stream.Queue
	meter *stream.Meter

	fc       *astiav.FormatContext
	io       *astiav.IOContext
	pkt      *astiav.Packet
	vs, as   *astiav.Stream
	vtb, atb astiav.Rational
	whole    Whole // how far the file is whole, for a failed write

	mu    sync.Mutex
	state stream.State
	err   error
	// first is each stream's first DTS, by stream.Kind, once seen; both
	// seen closes started (see Start).
	first   [2]time.Duration
	seen    [2]bool
	started chan struct{}

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// New creates the file, writes the header and starts the writer. Errors
// here (no such folder, no permission) are the user's to see at once.
func New(cfg Config) (*Recorder, error) {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 512
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	format, opts := formatFor(cfg.Path)
	if dir := filepath.Dir(cfg.Path); dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("record: folder %s does not exist", dir)
		}
	}
	r := &Recorder{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "record", "file", cfg.Path),
		q:       stream.NewQueue(cfg.QueueSize),
		meter:   stream.NewMeter(0),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		started: make(chan struct{}),
		state:   stream.Live,
	}
	if err := r.open(format, opts); err != nil {
		r.free()
		return nil, err
	}
	go r.run()
	return r, nil
}

func formatFor(path string) (string, map[string]string) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".mkv":
		return "matroska", nil
	case ".flv":
		return "flv", nil
	case ".mov":
		return "mov", fragmented
	}
	return "mp4", fragmented
}

// fragmented writes MP4 and MOV as fragments: a moof at each keyframe, and
// at least every second between them (frag_duration), so a crash loses
// at most the last second, not the rest of a GOP (issue #11). The moov
// waits for the first fragment (delay_moov): written before any packet,
// it starts every track at 0, and the picture, whose first frame comes
// after the sound's first block by the encoder's backlog at go-live
// (72 ms on a quiet machine, 400 ms loaded), would be that much early
// against the sound and the show's other files.
var fragmented = map[string]string{"movflags": "frag_keyframe+empty_moov+delay_moov+default_base_moof", "frag_duration": "1000000"}

func (r *Recorder) open(format string, opts map[string]string) error {
	fc, err := astiav.AllocOutputFormatContext(nil, format, r.cfg.Path)
	if err != nil {
		return fmt.Errorf("record: %s: %w", r.cfg.Path, err)
	}
	r.fc = fc
	if r.vs, r.as, err = AddStreams(fc, r.cfg.Info); err != nil {
		return fmt.Errorf("record: %w", err)
	}

	if !fc.OutputFormat().Flags().Has(astiav.IOFormatFlagNofile) {
		io, err := astiav.OpenIOContext(r.cfg.Path, astiav.NewIOContextFlags(astiav.IOContextFlagWrite))
		if err != nil {
			return fmt.Errorf("record: create %s: %w", r.cfg.Path, err)
		}
		r.io = io
		fc.SetPb(io)
	}
	d := astiav.NewDictionary()
	defer d.Free()
	// Every format starts the file at its first packet, not at the
	// program's start: Start says which program time that is, for the
	// show's other files to share the zero (issue #11). MP4 fragmented
	// does so already; Matroska and FLV would keep the program clock.
	if err := d.Set("avoid_negative_ts", "make_zero", 0); err != nil {
		return fmt.Errorf("record: option avoid_negative_ts: %w", err)
	}
	for k, val := range opts {
		if err := d.Set(k, val, 0); err != nil {
			return fmt.Errorf("record: option %s: %w", k, err)
		}
	}
	if err := fc.WriteHeader(d); err != nil {
		return fmt.Errorf("record: write header to %s: %w", r.cfg.Path, err)
	}
	// The muxer may pick its own time bases (MP4: the track timescale).
	r.vtb, r.atb = r.vs.TimeBase(), r.as.TimeBase()
	r.pkt = astiav.AllocPacket()
	r.whole.Path = r.cfg.Path
	if r.io != nil {
		r.whole.Mark(r.io)
	}
	return nil
}

// AddStreams adds the program's H.264 video and AAC audio, as info
// describes them, to fc (an output format context not yet opened): the
// streams every muxer of the program's — files here, MPEG-TS over SRT in
// srtout — writes.
func AddStreams(fc *astiav.FormatContext, info stream.Info) (vs, as *astiav.Stream, err error) {
	v, a := info.Video, info.Audio
	vs = fc.NewStream(nil)
	cp := vs.CodecParameters()
	cp.SetMediaType(astiav.MediaTypeVideo)
	cp.SetCodecID(astiav.CodecIDH264)
	cp.SetWidth(v.Width)
	cp.SetHeight(v.Height)
	cp.SetPixelFormat(astiav.PixelFormatYuv420P)
	cp.SetSampleAspectRatio(astiav.NewRational(1, 1))
	if err := cp.SetExtraData(v.Extradata); err != nil {
		return nil, nil, fmt.Errorf("video header: %w", err)
	}
	vs.SetTimeBase(astiav.NewRational(1, 90000))
	vs.SetAvgFrameRate(astiav.NewRational(v.FPS, 1))
	vs.SetRFrameRate(astiav.NewRational(v.FPS, 1))

	as = fc.NewStream(nil)
	cp = as.CodecParameters()
	cp.SetMediaType(astiav.MediaTypeAudio)
	cp.SetCodecID(astiav.CodecIDAac)
	cp.SetSampleRate(a.SampleRate)
	cp.SetChannelLayout(astiav.ChannelLayoutStereo)
	cp.SetChannels(a.Channels)
	cp.SetFrameSize(1024)
	if err := cp.SetExtraData(a.Extradata); err != nil {
		return nil, nil, fmt.Errorf("audio header: %w", err)
	}
	as.SetTimeBase(astiav.NewRational(1, a.SampleRate))
	return vs, as, nil
}

// Name is the file's path.
func (r *Recorder) Name() string { return r.cfg.Path }

// Write queues p; it never blocks.
func (r *Recorder) Write(p *stream.Packet) {
	r.noteFirst(p)
	r.q.Push(p)
}

// noteFirst keeps p's DTS if it is the first of its stream.
func (r *Recorder) noteFirst(p *stream.Packet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if int(p.Kind) >= len(r.seen) || r.seen[p.Kind] {
		return
	}
	r.first[p.Kind], r.seen[p.Kind] = p.DTS, true
	if r.seen[stream.Video] && r.seen[stream.Audio] {
		close(r.started)
	}
}

// Start is the program time at the file's time 0: the muxer shifts every
// stream by the first packet it writes (avoid_negative_ts make_zero), and
// interleaving writes the earlier of the two streams' first packets
// first. At go-live that is before the moment the output was added, by
// the frames and sound blocks made but not yet encoded then — a backlog
// that grows with the machine's load. Start waits for a packet of each
// stream, or until ctx ends.
func (r *Recorder) Start(ctx context.Context) (time.Duration, error) {
	select {
	case <-r.started:
	case <-ctx.Done():
		return 0, fmt.Errorf("record: %s: no packet of each stream yet: %w", r.cfg.Path, ctx.Err())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return min(r.first[stream.Video], r.first[stream.Audio]), nil
}

func (r *Recorder) run() {
	defer close(r.done)
	for {
		select {
		case <-r.q.Ready():
			for p := r.q.Pop(); p != nil; p = r.q.Pop() {
				r.writePacket(p)
			}
		case <-r.stop:
			for _, p := range r.q.Close() {
				r.writePacket(p)
			}
			return
		}
	}
}

func (r *Recorder) writePacket(p *stream.Packet) {
	if r.failed() {
		return
	}
	tb, idx := r.vtb, r.vs.Index()
	if p.Kind == stream.Audio {
		tb, idx = r.atb, r.as.Index()
	}
	if err := Mux(r.fc, r.pkt, p, idx, tb, true); err != nil {
		r.fail(fmt.Errorf("record: write %s: %w", r.cfg.Path, err))
		return
	}
	if r.io != nil {
		r.whole.Mark(r.io)
	}
	r.meter.Add(p)
}

// Mux writes encoded frame p to fc as its stream index, its times in the
// stream's time base tb, through pkt (reused: unreferenced after). With
// interleave FFmpeg orders the streams by time, holding packets back for
// it; without, they go to the file as they come.
func Mux(fc *astiav.FormatContext, pkt *astiav.Packet, p *stream.Packet, index int, tb astiav.Rational, interleave bool) error {
	if err := pkt.FromData(p.Data); err != nil {
		return err
	}
	defer pkt.Unref()
	pkt.SetStreamIndex(index)
	clock.Stamp(pkt, p.PTS, p.DTS, tb)
	if p.Key {
		pkt.SetFlags(pkt.Flags().Add(astiav.PacketFlagKey))
	}
	if interleave {
		return fc.WriteInterleavedFrame(pkt)
	}
	return fc.WriteFrame(pkt)
}

func (r *Recorder) failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state == stream.Failed
}

func (r *Recorder) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != stream.Failed {
		r.state, r.err = stream.Failed, err
		r.log.Warn("recording stopped", "err", err)
	}
}

// Stats reports the recording's health.
func (r *Recorder) Stats() stream.Stats {
	bps, fps, written := r.meter.Rates()
	r.mu.Lock()
	defer r.mu.Unlock()
	return stream.Stats{
		Name: r.cfg.Path, State: r.state, Err: r.err,
		BitRate: bps, FPS: fps, Written: written,
		Dropped: r.q.Dropped(), Queue: r.q.Len(),
	}
}

// Close writes what is queued, finalizes the file and releases it. Safe to
// call twice; returns the first error the recording met, if any.
func (r *Recorder) Close() error {
	r.closeOnce.Do(func() {
		close(r.stop)
		<-r.done
		var errs []error
		if !r.failed() {
			if err := r.whole.Finish(r.io, r.fc.WriteTrailer); err != nil {
				errs = append(errs, fmt.Errorf("record: finalize %s: %w", r.cfg.Path, err))
			}
		}
		errs = append(errs, r.free())
		if r.failed() {
			// A failed write may have left half a fragment: the file ends
			// at the last whole one instead (issue #11: a full disk).
			errs = append(errs, r.whole.Cut())
		}
		r.mu.Lock()
		if r.err != nil {
			errs = append([]error{r.err}, errs...)
		}
		if r.state != stream.Failed {
			r.state = stream.Closed
		}
		r.mu.Unlock()
		r.closeErr = errors.Join(errs...)
	})
	return r.closeErr
}

func (r *Recorder) free() error {
	var err error
	if r.pkt != nil {
		r.pkt.Free()
		r.pkt = nil
	}
	if r.io != nil {
		if e := r.io.Close(); e != nil {
			err = fmt.Errorf("record: close %s: %w", r.cfg.Path, e)
		}
		r.io = nil
	}
	if r.fc != nil {
		r.fc.Free()
		r.fc = nil
	}
	return err
}

// Whole keeps how much of a file written through an IOContext is whole:
// its length at the last flush that reached the file in full. FFmpeg's
// MP4 (fragmented) and Matroska muxers hand the file a fragment or a
// cluster at once, so after a write that failed part way (a full disk)
// the file cut back to that length ends at a whole one and plays to its
// end, instead of ending in half a fragment that players call damaged.
// Used by the writing goroutine only.
type Whole struct {
	Path string
	n    int64
}

// Mark flushes io and, if all it has written is now in the file, notes
// that length as whole. Cheap after most frames: the muxer's buffer is
// empty until a fragment ends, and then the file is looked at once.
func (w *Whole) Mark(io *astiav.IOContext) {
	io.Flush()
	pos, err := io.Seek(0, 1) // SEEK_CUR: where the muxer has written to
	if err != nil || pos == w.n {
		return
	}
	if st, err := os.Stat(w.Path); err == nil && st.Size() == pos {
		w.n = pos
	}
}

// Cut cuts the file back to its whole length, once writing has failed
// and the file is closed.
func (w *Whole) Cut() error {
	st, err := os.Stat(w.Path)
	if err != nil || w.n == 0 || st.Size() <= w.n {
		return err
	}
	if err := os.Truncate(w.Path, w.n); err != nil {
		return fmt.Errorf("record: cut %s back to its last whole part: %w", w.Path, err)
	}
	return nil
}

// maxHead bounds the start of a file Finish keeps to put back: what a
// muxer's end rewrites in place (Matroska: the segment's size, the seek
// head, the duration) lies before the first cluster, a few hundred bytes.
const maxHead = 64 << 10

// Finish ends the file through trailer (the muxer's WriteTrailer) and
// checks that the file took all of it. FFmpeg takes a short write (a
// disk that fills up part way through one) for a whole one, so a file
// finished on a full disk could end in half a cluster or index, with
// Matroska's header rewritten to sizes past its end. When the file did
// not take it all (or lost a write before), it is put back as it was at
// its last whole length, its start as it was before the end rewrote it,
// so it plays to its end as a file a crash left does, and Finish says
// why (issue #11: a full disk never loses what was already written).
// Call it instead of WriteTrailer, with everything queued written; io
// nil, or a file that is not a regular one (a pipe), just runs trailer.
func (w *Whole) Finish(io *astiav.IOContext, trailer func() error) error {
	if st, err := os.Stat(w.Path); io == nil || err != nil || !st.Mode().IsRegular() {
		return trailer()
	}
	w.Mark(io)
	if pos, err := io.Seek(0, 1); err != nil || pos != w.n {
		// A write the file did not take in full: nothing past w.n is sure.
		return errors.Join(fmt.Errorf("record: finish %s: a write was cut short: %w", w.Path, syscall.ENOSPC), w.Cut())
	}
	head, herr := readHead(w.Path, min(w.n, maxHead))
	terr := trailer()
	io.Flush()
	end, serr := io.Seek(0, 1)
	st, err := os.Stat(w.Path)
	// Matroska and MP4 end where they wrote last; FLV's end leaves the
	// muxer at its start (its duration), so where its file should end is
	// not known here: taken as whole, as before.
	if terr == nil && serr == nil && err == nil && (st.Size() == end || end < w.n) {
		return nil
	}
	errs := []error{terr}
	if terr == nil {
		errs = append(errs, fmt.Errorf("record: finish %s: its end was cut short: %w", w.Path, syscall.ENOSPC))
	}
	if herr == nil {
		herr = putHead(w.Path, head)
	}
	if herr != nil {
		errs = append(errs, fmt.Errorf("record: put back the start of %s: %w", w.Path, herr))
	}
	if err := os.Truncate(w.Path, w.n); err != nil {
		errs = append(errs, fmt.Errorf("record: cut %s back to its last whole part: %w", w.Path, err))
	}
	return errors.Join(errs...)
}

// readHead reads the first n bytes of the file at path.
func readHead(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, err
	}
	return b, nil
}

// putHead writes b over the start of the file at path: in place, in
// blocks the file has, so a full disk takes it.
func putHead(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(b, 0)
	return errors.Join(err, f.Close())
}
