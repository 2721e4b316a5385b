package webm

import (
	"bytes"
	"testing"
)

// A live recording's shape: EBML header, a segment and a cluster of
// unknown size, two blocks. Cut anywhere, Whole keeps whole elements.
func TestWhole(t *testing.T) {
	header := []byte{0x1A, 0x45, 0xDF, 0xA3, 0x84, 1, 2, 3, 4}
	segment := []byte{0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	cluster := []byte{0x1F, 0x43, 0xB6, 0x75, 0xFF}
	block := []byte{0xA3, 0x85, 0x81, 0, 0, 0x80, 9}
	file := bytes.Join([][]byte{header, segment, cluster, block, block}, nil)
	ends := []int{len(header), len(header) + len(segment), len(header) + len(segment) + len(cluster)}
	ends = append(ends, ends[2]+len(block), ends[2]+2*len(block))
	for cut := 0; cut <= len(file); cut++ {
		want := 0
		for _, e := range ends {
			if e <= cut {
				want = e
			}
		}
		if cut < 4 {
			want = cut // no EBML header to tell WebM by
		}
		if got, err := Whole(bytes.NewReader(file), int64(cut)); got != int64(want) || err != nil {
			t.Errorf("cut at %d: whole up to %d (%v), want %d", cut, got, err, want)
		}
	}
	if got, _ := Whole(bytes.NewReader([]byte("not webm")), 8); got != 8 {
		t.Errorf("a file that is not WebM: whole up to %d, want all 8 bytes", got)
	}
}
