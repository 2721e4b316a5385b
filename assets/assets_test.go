package assets

import (
	"io/fs"
	"testing"
)

func TestGuestFiles(t *testing.T) {
	for _, name := range []string{"index.html", "forbidden.html", "guest.js", "localrec.js", "guest.css"} {
		b, err := fs.ReadFile(Guest, name)
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %d bytes, %v", name, len(b), err)
		}
	}
}
