package webm

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// el is an element of known size.
func el(id []byte, body ...[]byte) []byte {
	b := bytes.Join(body, nil)
	return append(append(append([]byte(nil), id...), 0x80|byte(len(b))), b...)
}

// recording is a live recording's bytes as MediaRecorder writes them:
// its tracks (number → codec) and clusters of unknown size, each a time
// and blocks of one byte of payload for the tracks given.
func recording(tracks [][2]any, clusters ...[]any) []byte {
	var entries [][]byte
	for _, t := range tracks {
		entries = append(entries, el([]byte{0xAE}, el([]byte{0xD7}, []byte{byte(t[0].(int))}), el([]byte{0x86}, []byte(t[1].(string)))))
	}
	out := bytes.Join([][]byte{
		el([]byte{0x1A, 0x45, 0xDF, 0xA3}, el([]byte{0x42, 0x82}, []byte("webm"))),
		{0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},
		el([]byte{0x15, 0x49, 0xA9, 0x66}, el([]byte{0x2A, 0xD7, 0xB1}, []byte{0x0F, 0x42, 0x40})),
		el([]byte{0x16, 0x54, 0xAE, 0x6B}, entries...),
	}, nil)
	for _, c := range clusters {
		out = append(out, 0x1F, 0x43, 0xB6, 0x75, 0xFF)
		t := c[0].(int)
		out = append(out, el([]byte{0xE7}, []byte{byte(t >> 8), byte(t)})...)
		for _, tr := range c[1:] {
			out = append(out, el([]byte{0xA3}, []byte{0x80 | byte(tr.(int)), 0, 0, 0x80, 7})...)
		}
	}
	return out
}

// Join keeps the first part whole and appends the next's clusters, each
// moved by the gap, its tracks numbered as the first's (swapped here),
// its header left out.
func TestJoin(t *testing.T) {
	first := recording([][2]any{{1, "V_VP9"}, {2, "A_OPUS"}}, []any{0, 1, 2}, []any{1000, 1})
	next := recording([][2]any{{1, "A_OPUS"}, {2, "V_VP9"}}, []any{0, 1, 2}, []any{300, 2})
	var w bytes.Buffer
	if err := Join(&w, bytes.NewReader(first), Part{bytes.NewReader(next), 2500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	cluster := func(ms int, tracks ...byte) []byte {
		b := []byte{0x1F, 0x43, 0xB6, 0x75, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xE7, 0x88, 0, 0, 0, 0, 0, 0, byte(ms >> 8), byte(ms)}
		for _, tr := range tracks {
			b = append(b, el([]byte{0xA3}, []byte{0x80 | tr, 0, 0, 0x80, 7})...)
		}
		return b
	}
	want := bytes.Join([][]byte{first, cluster(2500, 2, 1), cluster(2800, 1)}, nil)
	if !bytes.Equal(w.Bytes(), want) {
		t.Errorf("joined:\n% x\nwant:\n% x", w.Bytes(), want)
	}
	if got, _ := Whole(bytes.NewReader(w.Bytes()), int64(w.Len())); got != int64(w.Len()) {
		t.Errorf("the joined file is whole up to %d of %d bytes", got, w.Len())
	}
	// A part whose tracks differ: refused, nothing written.
	other := recording([][2]any{{1, "V_VP8"}, {2, "A_OPUS"}}, []any{0, 1})
	w.Reset()
	if err := Join(&w, bytes.NewReader(first), Part{bytes.NewReader(next), 2500 * time.Millisecond}, Part{bytes.NewReader(other), 3 * time.Second}); err == nil || w.Len() != 0 {
		t.Errorf("VP9, VP9 and VP8: %v, %d bytes written; want an error and nothing", err, w.Len())
	}
}

// Join never panics nor allocates without bound on what a guest uploads:
// it joins or says why not.
func FuzzJoin(f *testing.F) {
	first := recording([][2]any{{1, "V_VP9"}, {2, "A_OPUS"}}, []any{0, 1, 2})
	f.Add(first, recording([][2]any{{1, "A_OPUS"}, {2, "V_VP9"}}, []any{0, 1, 2}, []any{300, 2}))
	f.Add(first, []byte{0x1A, 0x45, 0xDF, 0xA3, 0x80, 0x18, 0x53, 0x80, 0x67, 0xFF, 0x1F, 0x43, 0xB6, 0x75, 0xFF, 0xA3, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		_ = Join(io.Discard, bytes.NewReader(a), Part{bytes.NewReader(b), time.Second})
	})
}
