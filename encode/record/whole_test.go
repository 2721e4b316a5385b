package record_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/asticode/go-astiav"

	"greenroom/encode/mediatest"
	"greenroom/encode/record"
)

// TestFinishOnAFullDisk: a file's end (a muxer's trailer: more at the
// end, its start rewritten in place) that the full disk takes only in
// part, a short write FFmpeg does not see as an error, is undone: the
// file is put back as it was at its last whole length, its start too, and
// Finish says the disk was full. With room, the end goes in whole.
func TestFinishOnAFullDisk(t *testing.T) {
	mnt := mediatest.SmallDisk(t, "1m")
	body := bytes.Repeat([]byte("a whole cluster;"), 1000) // 16 kB
	// trailer writes 16 kB more, more than the slack of a file's last
	// page, and a new start, as Matroska's sizes and duration.
	trailer := func(io *astiav.IOContext) func() error {
		return func() error {
			io.Write(make([]byte, 16<<10))
			end, _ := io.Seek(0, 1)
			io.Seek(0, 0)
			io.Write([]byte("THE END"))
			io.Seek(end, 0)
			return nil
		}
	}
	for _, full := range []bool{true, false} {
		path := filepath.Join(mnt, "f.mkv")
		io, err := astiav.OpenIOContext(path, astiav.NewIOContextFlags(astiav.IOContextFlagWrite))
		if err != nil {
			t.Fatal(err)
		}
		io.Write(body)
		w := record.Whole{Path: path}
		w.Mark(io)
		if full {
			mediatest.FillDisk(t, mnt)
		}
		err = w.Finish(io, trailer(io))
		if cerr := io.Close(); cerr != nil && !full {
			t.Fatal(cerr)
		}
		io.Free()
		got, _ := os.ReadFile(path)
		switch {
		case full && (err == nil || !strings.Contains(err.Error(), "no space left")):
			t.Errorf("Finish on a full disk: %v, want the full disk said", err)
		case full && !bytes.Equal(got, body):
			t.Errorf("on a full disk the file is %d bytes (%q…), want as it was before its end: %d bytes", len(got), got[:min(len(got), 16)], len(body))
		case !full && (err != nil || len(got) != len(body)+16<<10 || !bytes.HasPrefix(got, []byte("THE END"))):
			t.Errorf("with room: %v, %d bytes (%q…)", err, len(got), got[:min(len(got), 16)])
		}
		t.Logf("full disk %v: %v", full, err)
		// The next round on an empty disk.
		fillers, _ := filepath.Glob(filepath.Join(mnt, "*"))
		for _, f := range fillers {
			os.Remove(f)
		}
	}
}
