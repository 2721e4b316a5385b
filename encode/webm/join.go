package webm

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// Part is a recording to join after the first: its clusters' times are
// moved by Gap, the time from the first's start to its own.
type Part struct {
	R   io.Reader
	Gap time.Duration
}

// Join writes first and then each next part's clusters to w as one
// recording: a browser's recording cut by reloads (each page started a
// new recorder, so a new file with a header of its own and its times
// from 0) made whole again, a gap staying a gap. The next parts' headers
// are left out; their tracks must be first's (the same codecs, numbered
// alike or renumbered: a browser numbers them as their first frames
// come) at the same time scale, else nothing is written. All must be
// live recordings as MediaRecorder writes them (a segment and clusters
// of unknown size, whole elements: see Whole). Each is read once, front
// to back.
func Join(w io.Writer, first io.Reader, next ...Part) error {
	fr := bufio.NewReaderSize(first, 64<<10)
	var head bytes.Buffer
	fh, err := readHeader(fr, &head)
	if err != nil {
		return fmt.Errorf("webm: join: the first part: %w", err)
	}
	rs := make([]*bufio.Reader, len(next))
	renumber := make([]map[uint64]uint64, len(next))
	for i, p := range next {
		rs[i] = bufio.NewReaderSize(p.R, 64<<10)
		nh, err := readHeader(rs[i], nil)
		if err != nil {
			return fmt.Errorf("webm: join: part %d: %w", i+2, err)
		}
		if fh.scale != nh.scale {
			return fmt.Errorf("webm: join: part %d: time scales %d and %d ns", i+2, fh.scale, nh.scale)
		}
		if renumber[i], err = matchTracks(fh.tracks, nh.tracks); err != nil {
			return fmt.Errorf("webm: join: part %d: %w", i+2, err)
		}
	}
	if _, err := w.Write(head.Bytes()); err != nil {
		return fmt.Errorf("webm: join: %w", err)
	}
	if _, err := io.Copy(w, fr); err != nil {
		return fmt.Errorf("webm: join: the first part: %w", err)
	}
	for i, p := range next {
		if err := moveClusters(w, rs[i], int64(p.Gap)/int64(fh.scale), renumber[i]); err != nil {
			return fmt.Errorf("webm: join: part %d: %w", i+2, err)
		}
	}
	return nil
}

// Element IDs Join reads.
const (
	idInfo          = 0x1549A966
	idTimecodeScale = 0x2AD7B1
	idTracks        = 0x1654AE6B
	idTrackEntry    = 0xAE
	idTrackNumber   = 0xD7
	idCodecID       = 0x86
	idTimecode      = 0xE7
	idSimpleBlock   = 0xA3
	idBlockGroup    = 0xA0
)

// maxElement bounds an element in a cluster: a browser's frame is far
// smaller (the studio takes chunks of 8 MB).
const maxElement = 64 << 20

// unknownSize is the size of an element that lasts until its parent's
// next child (Matroska §6.2), as 8 bytes.
var unknownSize = []byte{0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}

// header is what Join needs of a recording's header.
type header struct {
	scale  uint64            // ns per timecode unit
	tracks map[uint64]string // codec by track number
}

// element is one element's header as read.
type element struct {
	id      uint64
	size    uint64
	unknown bool
	raw     []byte // the ID and size as they were written
}

func readElement(r *bufio.Reader) (element, error) {
	b, err := r.Peek(12)
	if len(b) == 0 {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return element{}, err
	}
	id, il := vint(b, false)
	if il == 0 {
		return element{}, errors.New("not an element ID")
	}
	sz, sl := vint(b[il:], true)
	if sl == 0 {
		return element{}, errors.New("an element's size cut off")
	}
	e := element{id: id, size: sz, unknown: sz == 1<<(7*sl)-1, raw: slices.Clone(b[:il+sl])}
	_, err = r.Discard(il + sl)
	return e, err
}

// readHeader reads r up to its first cluster (left unread), copying what
// it read to keep (if not nil).
func readHeader(r *bufio.Reader, keep *bytes.Buffer) (header, error) {
	h := header{scale: 1000000, tracks: map[uint64]string{}}
	for {
		b, err := r.Peek(4)
		if err != nil {
			return h, fmt.Errorf("no cluster: %w", err)
		}
		if binary.BigEndian.Uint32(b) == idCluster {
			return h, nil
		}
		e, err := readElement(r)
		if err != nil {
			return h, err
		}
		if keep != nil {
			keep.Write(e.raw)
		}
		if e.id == idSegment {
			if !e.unknown {
				// Clusters joined after its end would be outside it.
				return h, errors.New("a segment of known size: not a live recording")
			}
			continue // its children follow
		}
		if e.unknown || e.size > 1<<20 {
			return h, fmt.Errorf("element %x of %d bytes before the first cluster", e.id, e.size)
		}
		body := make([]byte, e.size)
		if _, err := io.ReadFull(r, body); err != nil {
			return h, err
		}
		if keep != nil {
			keep.Write(body)
		}
		switch e.id {
		case idInfo:
			if v, ok := child(body, idTimecodeScale); ok {
				if h.scale = uintOf(v); h.scale == 0 {
					return h, errors.New("a time scale of 0")
				}
			}
		case idTracks:
			for _, t := range children(body, idTrackEntry) {
				n, _ := child(t, idTrackNumber)
				codec, _ := child(t, idCodecID)
				h.tracks[uintOf(n)] = string(codec)
			}
		}
	}
}

// children returns the bodies of the children of master body with ID id.
func children(body []byte, id uint64) [][]byte {
	var out [][]byte
	for len(body) > 0 {
		cid, il := vint(body, false)
		sz, sl := vint(body[min(il, len(body)):], true)
		if il == 0 || sl == 0 || sz > uint64(len(body)-il-sl) {
			break
		}
		if cid == id {
			out = append(out, body[il+sl:il+sl+int(sz)])
		}
		body = body[il+sl+int(sz):]
	}
	return out
}

func child(body []byte, id uint64) ([]byte, bool) {
	c := children(body, id)
	if len(c) == 0 {
		return nil, false
	}
	return c[0], true
}

func uintOf(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// matchTracks maps next's track numbers to first's by codec: nil if they
// are the same.
func matchTracks(first, next map[uint64]string) (map[uint64]uint64, error) {
	if len(first) != len(next) {
		return nil, fmt.Errorf("%d tracks and %d", len(first), len(next))
	}
	byCodec := map[string]uint64{}
	for n, c := range first {
		if _, dup := byCodec[c]; dup {
			return nil, fmt.Errorf("two tracks of %s", c)
		}
		byCodec[c] = n
	}
	m, same := map[uint64]uint64{}, true
	for n, c := range next {
		to, ok := byCodec[c]
		if !ok {
			return nil, fmt.Errorf("a track of %s the first part has not", c)
		}
		m[n] = to
		same = same && n == to
	}
	if same {
		return nil, nil
	}
	for _, to := range m {
		if to > 126 {
			return nil, errors.New("track numbers above 126")
		}
	}
	return m, nil
}

// moveClusters copies r's clusters to w, each of unknown size, their
// times moved by shift and their blocks' tracks renumbered (if not nil).
// Elements that are not clusters (cues, tags) are left out: their
// positions would be wrong in the joined file.
func moveClusters(w io.Writer, r *bufio.Reader, shift int64, renumber map[uint64]uint64) error {
	inCluster := false
	for {
		e, err := readElement(r)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if e.size > maxElement && !e.unknown {
			// A guest's upload: its sizes are not to be trusted.
			return fmt.Errorf("element %x of %d bytes", e.id, e.size)
		}
		switch {
		case e.id == idCluster:
			// Of unknown size whatever it was: its children are copied
			// as they are but for the time, which may grow.
			inCluster = true
			_, err = w.Write(append([]byte{0x1F, 0x43, 0xB6, 0x75}, unknownSize...))
		case e.unknown:
			return fmt.Errorf("element %x of unknown size", e.id)
		case !inCluster || isTopLevel(e.id):
			inCluster = false
			_, err = io.CopyN(io.Discard, r, int64(e.size))
		case e.id == idTimecode:
			if e.size > 8 {
				return fmt.Errorf("a cluster time of %d bytes", e.size)
			}
			b := make([]byte, e.size)
			if _, err := io.ReadFull(r, b); err != nil {
				return err
			}
			t := int64(uintOf(b)) + shift
			if t < 0 {
				return errors.New("a cluster before the first part's start")
			}
			out := []byte{idTimecode, 0x88, 0, 0, 0, 0, 0, 0, 0, 0}
			binary.BigEndian.PutUint64(out[2:], uint64(t))
			_, err = w.Write(out)
		case e.id == idSimpleBlock && renumber != nil:
			b := make([]byte, e.size)
			if _, err := io.ReadFull(r, b); err != nil {
				return err
			}
			if n, l := vint(b, true); l == 1 {
				if to, ok := renumber[n]; ok {
					b[0] = 0x80 | byte(to)
				}
			}
			_, err = w.Write(append(e.raw, b...))
		case e.id == idBlockGroup && renumber != nil:
			return errors.New("block groups with tracks renumbered")
		default:
			if _, err := w.Write(e.raw); err != nil {
				return err
			}
			_, err = io.CopyN(w, r, int64(e.size))
		}
		if err != nil {
			return err
		}
	}
}

// isTopLevel is whether id is a segment's child (Matroska §5.1), which
// ends a cluster of unknown size.
func isTopLevel(id uint64) bool {
	switch id {
	case 0x114D9B74, idInfo, idTracks, 0x1C53BB6B, 0x1941A469, 0x1043A770, 0x1254C367:
		return true
	}
	return false
}
