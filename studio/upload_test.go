package studio_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// postChunk sends chunk n of take id with key (query added as is) to
// handler h, and returns the status and the reply's next chunk.
func postChunk(t testing.TB, h http.Handler, id, key string, n int, query string, body []byte) (code, next int) {
	t.Helper()
	req := httptest.NewRequest("POST", fmt.Sprintf("/upload/%s/%d", id, n), bytes.NewReader(body))
	req.URL.RawQuery = query // as it came, however malformed
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out struct {
		Next int `json:"next"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out.Next
}

// otherKey is key with its first character changed.
func otherKey(key string) string {
	if key[0] == 'x' {
		return "y" + key[1:]
	}
	return "x" + key[1:]
}

// TestChunkUploadRefusals: a guest's local recording takes its chunks in
// order and each once; one out of order, a duplicate, an oversized one,
// and one with another guest's key, a made-up key or none are refused,
// and the file stored so far is untouched byte for byte. The last chunk
// completes it: the host sees it complete and show.json lists it.
func TestChunkUploadRefusals(t *testing.T) {
	s := newStudio(t, nil)
	h := s.Handler()
	dir := t.TempDir()
	ann, annKey, end := s.TestTake(dir, "g1", "Ann")
	defer end()
	bob, bobKey, endBob := s.TestTake(dir, "g2", "Bob")
	defer endBob()

	for n, chunk := range []string{"chunk 0;", "chunk 1;"} {
		if code, next := postChunk(t, h, ann, annKey, n, "of=3&since=1500", []byte(chunk)); code != http.StatusOK || next != n+1 {
			t.Fatalf("chunk %d: %d, next %d", n, code, next)
		}
	}
	file := filepath.Join(dir, "Ann local.webm")
	stored, err := os.ReadFile(file)
	if err != nil || string(stored) != "chunk 0;chunk 1;" {
		t.Fatalf("stored %q, %v", stored, err)
	}
	for _, c := range []struct {
		what      string
		id, key   string
		n         int
		body      []byte
		code      int
		checkNext bool
	}{
		{"out of order", ann, annKey, 3, []byte("chunk 3;"), http.StatusConflict, true},
		{"duplicate (acknowledged, not written)", ann, annKey, 1, []byte("CHUNK 1;"), http.StatusOK, true},
		{"oversized", ann, annKey, 2, make([]byte, 8<<20+1), http.StatusRequestEntityTooLarge, false},
		{"another guest's key", ann, bobKey, 2, []byte("chunk 2;"), http.StatusForbidden, false},
		{"another guest's take", bob, annKey, 0, []byte("chunk 2;"), http.StatusForbidden, false},
		{"unknown key", ann, otherKey(annKey), 2, []byte("chunk 2;"), http.StatusUnauthorized, false},
		{"no key", ann, "", 2, []byte("chunk 2;"), http.StatusUnauthorized, false},
		{"empty, not final", ann, annKey, 2, nil, http.StatusBadRequest, false},
	} {
		code, next := postChunk(t, h, c.id, c.key, c.n, "of=3", c.body)
		if code != c.code || (c.checkNext && next != 2) {
			t.Errorf("%s: %d next %d, want %d next 2", c.what, code, next, c.code)
		}
		if now, _ := os.ReadFile(file); !bytes.Equal(now, stored) {
			t.Fatalf("%s: the stored file changed to %q", c.what, now)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "Bob local.webm")); !os.IsNotExist(err) {
		t.Errorf("Bob's file exists (%v) though he sent nothing of his", err)
	}

	if code, next := postChunk(t, h, ann, annKey, 2, "of=3&final=1", []byte("chunk 2;")); code != http.StatusOK || next != 3 {
		t.Fatalf("last chunk: %d, next %d", code, next)
	}
	if now, _ := os.ReadFile(file); string(now) != "chunk 0;chunk 1;chunk 2;" {
		t.Fatalf("the complete file is %q", now)
	}
	req := httptest.NewRequest("GET", "/upload/"+ann, nil)
	req.Header.Set("Authorization", "Bearer "+annKey)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(`"done": true`)) {
		t.Errorf("GET: %d %s", rec.Code, rec.Body)
	}
	var up *studio.Upload
	for _, u := range s.State().Uploads {
		if u.Take == ann {
			up = &u
		}
	}
	if up == nil || up.State != studio.UploadComplete || up.Percent != 100 || up.Chunks != 3 || up.File != file {
		t.Errorf("the host sees %+v", up)
	}
	end()
	var meta struct {
		Files []struct {
			Role    string `json:"role"`
			File    string `json:"file"`
			StartMS int64  `json:"start_ms"`
		} `json:"files"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "show.json"))
	if err := json.Unmarshal(b, &meta); err != nil || len(meta.Files) != 1 || meta.Files[0].File != "Ann local.webm" || meta.Files[0].Role != "local" {
		t.Fatalf("show.json: %s (%v)", b, err)
	}
}

// FuzzChunkUpload: a guest's chunk requests in any order, numbering,
// query and size (with the take's key, or another). The studio never
// panics or errs (500), and its file is always exactly the chunks it
// acknowledged, in order (less, for WebM, a tail cut off mid-element).
func FuzzChunkUpload(f *testing.F) {
	f.Add(uint16(0), "of=1&since=10", []byte("a"), false)
	f.Add(uint16(1), "final=1", []byte{}, false)
	f.Add(uint16(0), "of=-5&since=-99999999999", []byte("b"), true)
	f.Add(uint16(7), "final=1&of=x", []byte("c"), false)
	s := quietStudio(f)
	h := s.Handler()
	dir := f.TempDir()
	id, key, end := s.TestTake(dir, "g1", "Fuzz")
	f.Cleanup(end)
	var want []byte // what was acknowledged, in order
	next := 0
	f.Fuzz(func(t *testing.T, n uint16, query string, body []byte, wrongKey bool) {
		k := key
		if wrongKey {
			k = "wrong"
		}
		code, got := postChunk(t, h, id, k, int(n), query, body)
		switch code {
		case http.StatusOK:
			if int(n) == next && len(body) > 0 {
				want = append(want, body...)
			}
			next = got
		case http.StatusConflict, http.StatusBadRequest, http.StatusUnauthorized, http.StatusTooManyRequests:
		default:
			t.Fatalf("chunk %d %q (%d bytes): %d", n, query, len(body), code)
		}
		matches, _ := filepath.Glob(filepath.Join(dir, "*.webm"))
		var stored []byte
		if len(matches) == 1 {
			stored, _ = os.ReadFile(matches[0])
		}
		// A take's end may trim a WebM tail cut off mid-element.
		if !bytes.HasPrefix(want, stored) || (len(stored) != len(want) && !bytes.HasPrefix(stored, []byte{0x1A, 0x45, 0xDF, 0xA3})) {
			t.Fatalf("stored %d bytes, acknowledged %d", len(stored), len(want))
		}
	})
}

// TestChunkUploadAcrossRestart: a guest's take goes on after the studio
// is closed and started again on the same config folder. Kept on disk
// with its key's hash only (0600); its page asks where to resume and
// gets the next chunk, a chunk written but never confirmed (the crash
// between the two) is cut off and taken again, and the file ends with
// every chunk once, in order. A take last changed over a week before the
// restart is forgotten.
func TestChunkUploadAcrossRestart(t *testing.T) {
	conf, recordings := t.TempDir(), t.TempDir()
	dir := filepath.Join(recordings, "show")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sameConfig := func(c *studio.Config) { c.ConfigDir = conf }
	s := newStudio(t, sameConfig)
	ann, annKey, end := s.TestTake(dir, "g1", "Ann")
	bob, bobKey, endBob := s.TestTake(dir, "g2", "Bob")
	for n, chunk := range []string{"chunk 0;", "chunk 1;"} {
		if code, next := postChunk(t, s.Handler(), ann, annKey, n, "of=2&since=100", []byte(chunk)); code != http.StatusOK || next != n+1 {
			t.Fatalf("chunk %d: %d, next %d", n, code, next)
		}
	}
	end()
	endBob()
	s.Close()
	record := filepath.Join(conf, "uploads", ann+".json")
	b, err := os.ReadFile(record)
	if st, _ := os.Stat(record); err != nil || st.Mode().Perm() != 0o600 || bytes.Contains(b, []byte(annKey)) {
		t.Fatalf("the take kept as %v (%v), the key in it: %v", st, err, bytes.Contains(b, []byte(annKey)))
	}
	// Chunk 2 written, the studio gone before it said so.
	file := filepath.Join(dir, "Ann local.webm")
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("chunk 2 cut")
	f.Close()
	// Bob's take was last heard of eight days ago.
	bobRecord := filepath.Join(conf, "uploads", bob+".json")
	b, _ = os.ReadFile(bobRecord)
	var r map[string]any
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	r["updated"] = time.Now().Add(-8 * 24 * time.Hour)
	b, _ = json.Marshal(r)
	os.WriteFile(bobRecord, b, 0o600)

	s = newStudio(t, sameConfig)
	h := s.Handler()
	where := func(id, key string) (int, string) {
		req := httptest.NewRequest("GET", "/upload/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	if code, body := where(ann, annKey); code != http.StatusOK || !strings.Contains(body, `"next": 2`) {
		t.Fatalf("where Ann's take stands after the restart: %d %s", code, body)
	}
	if code, _ := where(ann, bobKey); code != http.StatusUnauthorized {
		t.Errorf("Bob's expired key after the restart: %d, want 401", code)
	}
	if _, err := os.Stat(bobRecord); !os.IsNotExist(err) {
		t.Errorf("Bob's expired take still kept (%v)", err)
	}
	if code, next := postChunk(t, h, ann, annKey, 2, "of=3&final=1", []byte("chunk 2;")); code != http.StatusOK || next != 3 {
		t.Fatalf("last chunk after the restart: %d, next %d", code, next)
	}
	if now, _ := os.ReadFile(file); string(now) != "chunk 0;chunk 1;chunk 2;" {
		t.Fatalf("the file after the restart is %q", now)
	}
	ups := s.State().Uploads
	if len(ups) != 1 || ups[0].Take != ann || ups[0].State != studio.UploadComplete || ups[0].Chunks != 3 || ups[0].File != file || ups[0].Show != dir {
		t.Errorf("the host sees %+v after the restart", ups)
	}
	s.TestRecordingsIn(recordings)
	recs := s.Recordings(context.Background())
	if len(recs.Shows) != 1 || len(recs.Shows[0].Uploads) != 1 || recs.Shows[0].Uploads[0].Name != "Ann" || recs.Shows[0].Uploads[0].State != studio.UploadComplete {
		t.Errorf("/api/recordings after the restart: %+v, want Ann's upload complete", recs.Shows)
	}
}

// TestChunkNotConfirmedUntilKept: a chunk is confirmed only once the take
// kept for a restart says so; where that can't be written, the chunk is
// refused and the file left as it was, so a page never forgets a chunk a
// restarted studio would ask for again. A take that could not be kept
// at all goes on in memory.
func TestChunkNotConfirmedUntilKept(t *testing.T) {
	conf, dir := t.TempDir(), t.TempDir()
	s := newStudio(t, func(c *studio.Config) { c.ConfigDir = conf })
	h := s.Handler()
	ann, annKey, end := s.TestTake(dir, "g1", "Ann")
	defer end()
	if code, _ := postChunk(t, h, ann, annKey, 0, "of=1", []byte("chunk 0;")); code != http.StatusOK {
		t.Fatalf("chunk 0: %d", code)
	}
	// The takes' folder can't be written (a file in its way).
	kept := filepath.Join(conf, "uploads")
	if err := os.Rename(kept, kept+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kept, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _ := postChunk(t, h, ann, annKey, 1, "of=2", []byte("chunk 1;")); code != http.StatusInternalServerError {
		t.Errorf("chunk 1, not kept: %d, want 500", code)
	}
	file := filepath.Join(dir, "Ann local.webm")
	if now, _ := os.ReadFile(file); string(now) != "chunk 0;" {
		t.Fatalf("the file after a chunk not kept: %q", now)
	}
	// A take made meanwhile goes on in memory, as without a config folder.
	bob, bobKey, endBob := s.TestTake(dir, "g2", "Bob")
	defer endBob()
	if code, _ := postChunk(t, h, bob, bobKey, 0, "of=1", []byte("chunk 0;")); code != http.StatusOK {
		t.Errorf("a take not kept: chunk 0 %d, want 200", code)
	}
	os.Remove(kept)
	if err := os.Rename(kept+".away", kept); err != nil {
		t.Fatal(err)
	}
	if code, next := postChunk(t, h, ann, annKey, 1, "of=2", []byte("chunk 1;")); code != http.StatusOK || next != 2 {
		t.Errorf("chunk 1 again: %d, next %d", code, next)
	}
	if now, _ := os.ReadFile(file); string(now) != "chunk 0;chunk 1;" {
		t.Errorf("the file: %q", now)
	}
}

// TestShowEndStopsLocalRecordingsFirst: when the host ends the show, a
// guest's page is told to stop its local recording at once, before the
// program's files are finished (issue #11): finishing them (the program
// file, everyone's own, the streams) takes a while on a busy machine,
// and a page told only then recorded on past the program's end (1.5 s at
// a load of 23). Here the program's end (GoLive(false)) waits, up to 5 s,
// for the pion guest to have been told: the slow finishing the page must
// not wait for.
func TestShowEndStopsLocalRecordingsFirst(t *testing.T) {
	var (
		prog  *studio.Program
		ann   *studiotest.Client
		ended time.Time // when the host ended the show
		// told is how long after it the page was told to stop, as the
		// program's files began to be finished; -1 if it was not by 5 s.
		told = time.Duration(-1)
		// finished is how long finishing them took.
		finished time.Duration
	)
	s, p, _ := startShowAt(t, smallShow, studio.ProgramConfig{RecordDir: t.TempDir()}, func(c *studio.Config) {
		c.GoLive = func(on bool) error {
			if !on {
				for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
					if take, at := ann.Take(); take == "" && at.After(ended) {
						told = at.Sub(ended)
						break
					}
				}
				defer func(begun time.Time) { finished = time.Since(begun) }(time.Now())
			}
			return prog.SetLive(on)
		}
	})
	prog = p
	ann = join(t, s, "Ann", studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg})
	s.SetLocalRecording(true)
	if err := s.SetLive(true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Ann's page told to record", func() bool { take, _ := ann.Take(); return take != "" })
	time.Sleep(time.Second)
	ended = time.Now()
	if err := s.SetLive(false); err != nil {
		t.Fatal(err)
	}
	took := time.Since(ended)
	take, at := ann.Take()
	t.Logf("the show's end took %v, finishing its files %v; the page told to stop %v after the end (%v as the files began to be finished)",
		took, finished, at.Sub(ended), told)
	switch {
	case take != "":
		t.Fatalf("Ann's page still records take %s after the show's end", take)
	case told < 0:
		t.Errorf("Ann's page was told to stop %v after the show's end, once its files were finished (%v): not before they began to be", at.Sub(ended), finished)
	}
	for _, u := range s.State().Uploads {
		if u.State == studio.UploadRecording {
			t.Errorf("after the show, the host sees %s's take %s still recording", u.Name, u.Take)
		}
	}
}
