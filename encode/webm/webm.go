// Package webm reads just enough of a WebM (Matroska) file to find where
// its last whole element ends: a recording cut off mid-element (a
// browser's MediaRecorder stream whose page went away between two of its
// chunks) is trimmed there, so it plays to its end without an error; and
// to join such recordings into one (Join: a page reloaded mid-recording
// starts a new one). It knows nothing of codecs or of who made the file.
package webm

import "io"

// The masters a live recording leaves open: MediaRecorder writes the
// segment and its clusters with an unknown size (Matroska §6.2), their
// children following until the next cluster or the end.
const (
	idEBML    = 0x1A45DFA3
	idSegment = 0x18538067
	idCluster = 0x1F43B675
)

// Whole returns the length of r's first size bytes that holds whole
// elements only: the end of the last element (or open master's header)
// that fits. A file that is whole returns size, and so does one that does
// not start with an EBML header: not WebM, nothing to say about it.
func Whole(r io.ReaderAt, size int64) (int64, error) {
	var good, pos int64
	var hdr [12]byte // the longest ID (4) and size (8)
	for pos < size {
		n, err := r.ReadAt(hdr[:min(int64(len(hdr)), size-pos)], pos)
		if err != nil && err != io.EOF {
			return size, err
		}
		id, il := vint(hdr[:n], false)
		if pos == 0 && id != idEBML {
			return size, nil
		}
		if il == 0 {
			break
		}
		sz, sl := vint(hdr[il:n], true)
		if sl == 0 {
			break
		}
		unknown := sz == 1<<(7*sl)-1
		body := pos + int64(il+sl)
		if unknown && (id == idSegment || id == idCluster) {
			pos, good = body, body // its children follow
			continue
		}
		if unknown || sz > uint64(size-body) {
			break
		}
		pos = body + int64(sz)
		good = pos
	}
	return good, nil
}

// vint reads an EBML variable-length integer at the start of b: an
// element ID (marker kept) or a size (marker masked). n is 0 if b holds
// no whole one.
func vint(b []byte, size bool) (v uint64, n int) {
	if len(b) == 0 || b[0] == 0 {
		return 0, 0
	}
	for n = 1; b[0]&(0x80>>(n-1)) == 0; n++ {
	}
	if n > len(b) || (!size && n > 4) {
		return 0, 0
	}
	v = uint64(b[0])
	if size {
		v &= 0xff >> n
	}
	for _, c := range b[1:n] {
		v = v<<8 | uint64(c)
	}
	return v, n
}
