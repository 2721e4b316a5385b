package studio_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/encode/webm"
	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// TestGuestLocalRecordingChromium: a Chromium guest in a live show with
// the guests' local recording on records itself with MediaRecorder, its
// camera at 1080p (sent to the call in the layers a 720p one has), and
// uploads it. Its page is reloaded mid-show (navigated to the link
// again): the guest keeps her place on stage, as the same participant;
// the old take's chunks left in IndexedDB are uploaded by the new page,
// which records a second take; then its network drops for 3 s
// (DevTools' offline), its uploads fail and resume. Once the show ended, both files are
// complete (every chunk the page recorded stored once, in order: the
// studio's count of chunks equals the page's), VP8 or VP9 and Opus by
// ffprobe, decode to their end without an error, and show.json lists
// them, 1920x1080; the second, stopped by the show's end, lasts as long
// as it was on the show's timeline, within 10 %.
func TestGuestLocalRecordingChromium(t *testing.T) {
	dir := t.TempDir()
	s, _, _ := startShow(t, studio.ProgramConfig{RecordDir: dir, ShowTitle: "Local"})
	link := s.GuestURL() + "?name=Ann&join=1"
	page, id := liveRecordingLocally(t, s, link)
	recording := func(n int) func() bool {
		return func() bool {
			var take string
			_ = page.Eval(`window.greenroomLocal ? greenroomLocal.status.take : ""`, &take)
			return take != "" && len(s.State().Uploads) == n
		}
	}
	eventually(t, "Ann's page recording", recording(1))
	var mime string
	_ = page.Eval(`greenroomLocal.status.mime`, &mime)
	t.Logf("the page records %s", mime)
	time.Sleep(3 * time.Second)
	// A reload mid-take needs a take with chunks: on a busy machine the
	// 1080p encoder may not have given its first slices by now (it then left
	// an empty take, or with the recorder's own slicing a 1-byte one:
	// TestLocalRecordingFirstChunkWhole).
	eventually(t, "Ann's first take two chunks long", func() bool {
		var n int
		return page.Eval(`(t => t ? t.total : 0)(greenroomLocal.status.takes[greenroomLocal.status.take])`, &n) == nil && n >= 2
	})
	// When, by the page's clock, its first take began and the reload came.
	var first struct {
		Take            string
		Reload, Started float64
	}
	if err := page.Eval(`(s => ({take: s.take, reload: Date.now(), started: s.takes[s.take].startWall}))(greenroomLocal.status)`, &first); err != nil {
		t.Fatal(err)
	}
	// The reload's request a round trip away, as a guest's is (on
	// loopback the last chunk's store came 40 ms too late: 0.36-0.38 s
	// lost); back to loopback once the page is back.
	if err := page.EmulateNetworkLatency(false, -1, reloadRTT); err != nil {
		t.Fatal(err)
	}
	if err := page.Call("Page.navigate", map[string]any{"url": link}, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Ann's reloaded page recording a second take", recording(2))
	if err := page.EmulateNetwork(false, -1); err != nil {
		t.Fatal(err)
	}
	var back string
	if err := page.Eval(`greenroom.id`, &back); err != nil || back != id {
		t.Errorf("the reloaded page is participant %q (%v), want Ann's %q", back, err, id)
	}
	eventually(t, "Ann back on stage", func() bool { return place(s, id) == studio.PlaceStage && connected(s, id) })
	if n := len(s.State().Participants); n != 2 {
		t.Errorf("%d participants after the reload, want the host and Ann", n)
	}
	time.Sleep(time.Second)
	// The page's network drops for 5 s (the issue's): its uploads fail
	// and resume.
	offline := func(on bool) {
		if err := page.EmulateNetwork(on, -1); err != nil {
			t.Fatal(err)
		}
	}
	offline(true)
	time.Sleep(5 * time.Second)
	offline(false)
	var errs []string
	_ = page.Eval(`greenroomLocal.status.errors`, &errs)
	t.Logf("the page's errors while offline: %q", errs)
	if len(errs) == 0 {
		t.Error("no upload failed while the page was offline")
	}
	var note string
	_ = page.Eval(`(n => n.hidden ? "" : n.textContent)(document.getElementById("upload-note"))`, &note)
	t.Logf("the page says: %q", note)
	if !strings.HasPrefix(note, "Uploading your recording: ") && !strings.HasPrefix(note, "Recording you locally") {
		t.Errorf("the page says %q while recording and uploading", note)
	}
	time.Sleep(time.Second)
	// The camera, opened at 1080p for the recorder, goes out to the call
	// in layers of the sizes a 720p one has.
	layers := find(s, id).Layers
	t.Logf("Ann's layers in the call: %v", layers)
	for _, l := range layers {
		if l.Height > 720 {
			t.Errorf("Ann sends the call layer %v, above 720p", l)
		}
	}
	if len(layers) == 0 || layers[0].Height == 0 {
		t.Errorf("Ann's layers %v: no size known", layers)
	}
	if err := s.SetLive(false); err != nil {
		t.Fatal(err)
	}
	ups := uploadsComplete(t, s, page, 2)

	folders, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(folders) != 1 {
		t.Fatalf("folders %v", folders)
	}
	// The two takes joined into one file, once both are complete.
	eventually(t, "Ann's takes joined", func() bool {
		var sh showJSON
		b, _ := os.ReadFile(filepath.Join(folders[0], "show.json"))
		return json.Unmarshal(b, &sh) == nil && slices.ContainsFunc(sh.Files, func(f showFile) bool { return f.Role == "joined" })
	})
	show, _ := readShow(t, folders[0])
	starts := map[string]int64{}
	var whole showFile
	for _, f := range show.Files {
		switch f.Role {
		case "local":
			starts[f.File] = f.StartMS
		case "joined":
			whole = f
		}
	}
	var firstStart, ran, lastStart, lastLength float64
	var firstFrames, lastFrames int
	for _, u := range ups {
		name := filepath.Base(u.File)
		start, ok := starts[name]
		if !ok {
			t.Errorf("%s not in show.json", name)
		}
		frames := judgeUpload(t, u, 1920, 1080)
		if len(frames) == 0 {
			continue
		}
		length := frames[len(frames)-1] - frames[0]
		t.Logf("%s: starts at %d ms of the show, %d frames over %.2f s", name, start, len(frames), length)
		if u.Take == first.Take {
			// Cut by the reload: it covers the take up to it, but for
			// what the recorder had not handed over yet (at most a
			// slice; the file starts at the recorder's start, its
			// pictures' times from there).
			ran = (first.Reload - first.Started) / 1000
			firstStart, firstFrames = float64(start)/1000, len(frames)
			hole := ran - frames[len(frames)-1]
			t.Logf("%s: the reload came %.2f s into it; it covers all but the last %.2f s", name, ran, hole)
			if hole > sliceSeconds || hole < -0.1 {
				t.Errorf("%s, cut by the reload %.2f s into it, plays to %.2f s: a hole of %.2f s, more than a slice (%g s)", name, ran, frames[len(frames)-1], hole, sliceSeconds)
			}
		} else {
			// Stopped by the show's end: as long as it was on.
			on := float64(show.EndMS-start) / 1000
			if length < on*0.9 || length > on*1.1 {
				t.Errorf("%s plays %.2f s; it was on for %.2f s of the show", name, length, on)
			}
			lastStart, lastLength, lastFrames = float64(start)/1000, frames[len(frames)-1], len(frames)
		}
	}

	// The joined file: every picture of both takes, in order, playing to
	// its end, the second take where it began on the show's timeline: a
	// hole only from the reload (a slice at most before it) to then.
	path := filepath.Join(folders[0], whole.File)
	frames := judgeLocalRecording(t, path, 1920, 1080)
	if len(frames) == 0 {
		return
	}
	if float64(whole.StartMS)/1000 != firstStart {
		t.Errorf("%s starts at %d ms of the show, the first take at %.3f s", whole.File, whole.StartMS, firstStart)
	}
	if len(frames) != firstFrames+lastFrames || firstFrames == 0 {
		t.Fatalf("%s: %d pictures, the takes %d and %d", whole.File, len(frames), firstFrames, lastFrames)
	}
	// The hole where the takes meet (a loaded recorder leaves holes of
	// its own inside a take, up to 3.4 s at load 13: not judged here).
	split := lastStart - firstStart
	hole, at := frames[firstFrames]-frames[firstFrames-1], frames[firstFrames-1]
	end, wantEnd := frames[len(frames)-1], split+lastLength
	reloading := split - ran
	t.Logf("%s: %d pictures to %.2f s (the takes: %.2f s); the hole where they meet %.2f s from %.2f s: the reload (%.2f s from it to the new take) and what the page lost before it", whole.File, len(frames), end, wantEnd, hole, at, reloading)
	if end < wantEnd-0.1 || end > wantEnd+0.1 {
		t.Errorf("%s plays to %.2f s, want the second take's end at %.2f s", whole.File, end, wantEnd)
	}
	if hole > reloading+sliceSeconds {
		t.Errorf("%s: a hole of %.2f s at %.2f s, more than the reload's %.2f s and a slice", whole.File, hole, at, reloading)
	}
}

// judgeUpload checks a guest's own recording, uploaded: complete (every
// chunk the page recorded stored once: the studio's count equals the
// page's; the file on disk as long as what was stored) and as
// judgeLocalRecording sees it. It returns the pictures' times.
func judgeUpload(t *testing.T, u studio.Upload, w, h int) []float64 {
	t.Helper()
	name := filepath.Base(u.File)
	t.Logf("%s: %d chunks of %d recorded, %d bytes", name, u.Chunks, u.Recorded, u.Bytes)
	if u.Chunks != u.Recorded || u.Chunks < 2 {
		t.Errorf("%s: %d chunks stored, the page recorded %d", name, u.Chunks, u.Recorded)
	}
	if st, _ := os.Stat(u.File); st == nil || st.Size() != u.Bytes {
		t.Errorf("%s: %v on disk, %d bytes stored", name, st, u.Bytes)
	}
	return judgeLocalRecording(t, u.File, w, h)
}

// judgeLocalRecording checks a guest's own recording as ffprobe and
// ffmpeg see it: VP8 or VP9 and Opus, w×h (the camera's: Chromium's fake
// camera gives 1920x1080 when asked for it, a file camera its file's
// size), decoding to its end with its pictures in order. It returns the
// pictures' times (none after an error).
func judgeLocalRecording(t *testing.T, path string, w, h int) []float64 {
	t.Helper()
	keepRecording(path, filepath.Base(path))
	p := mediatest.ProbeFile(t, path)
	if p.Video == nil || (p.Video.Codec != "vp8" && p.Video.Codec != "vp9") || p.Audio == nil || p.Audio.Codec != "opus" {
		t.Errorf("%s: %+v %+v, want VP8 or VP9 and Opus", path, p.Video, p.Audio)
		return nil
	}
	if p.Video.Width != w || p.Video.Height != h {
		t.Errorf("%s: %dx%d, want the camera's %dx%d", path, p.Video.Width, p.Video.Height, w, h)
	}
	frames := mediatest.PlaysThrough(t, path)
	if len(frames) == 0 {
		t.Errorf("%s: no video frames", path)
	}
	return frames
}

// reloadRTT is the round trip, in ms, of a reloading page's request:
// a guest's to a studio over the internet (DevTools' emulated latency).
const reloadRTT = 40

// sliceSeconds is how often the page hands its recorder's output over
// as a chunk (localrec.js's SLICE_MS): what a reload may lose at most.
const sliceSeconds = 1.0

// uploadsComplete waits up to 30 s for the show's n local recordings, of
// page's guest, to be uploaded whole, and returns them.
func uploadsComplete(t *testing.T, s *studio.Studio, page *studiotest.Page, n int) []studio.Upload {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ups := s.State().Uploads
		done := len(ups) == n
		for _, u := range ups {
			done = done && u.State == studio.UploadComplete
		}
		if done {
			return ups
		}
		if time.Now().After(deadline) {
			var errs []string
			_ = page.Eval(`greenroomLocal.status.errors`, &errs)
			t.Fatalf("uploads not complete 30 s after the show: %+v; page errors %v", ups, errs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestLocalRecordingFirstChunkWhole: a recorder whose first frame comes
// later than a chunk's slice (a 1080p encoder starting slowly on a busy
// machine; here a canvas first painted at 2.5 s) still stores a chunk 0
// that is a file by itself: the WebM header whole and then a picture, a
// keyframe at 0 s, so a take cut right after it (a reload) plays. Sliced
// by MediaRecorder's timeslice, Chromium handed over the header's first
// byte alone as chunk 0, the rest a slice later: a page reloaded
// meanwhile left a 1-byte take (TestGuestLocalRecordingChromium failed
// so under load). Its size says nothing: the canvas's first frame, blank,
// is a keyframe of ~500 bytes, so a busy machine's chunk 0 holding just
// it is 662 bytes where an idle one's holds more frames.
func TestLocalRecordingFirstChunkWhole(t *testing.T) {
	_, page := recordCanvas(t, "late", 2500)
	var chunks [][]byte
	eventually(t, "chunk 0 stored", func() bool {
		chunks = stored(t, page, "late")
		return len(chunks) > 0
	})
	_ = page.Eval(`greenroomLocal.stop()`, nil)
	first := chunks[0]
	t.Logf("chunk 0: %d bytes, starting % x", len(first), first[:min(4, len(first))])
	whole, _ := webm.Whole(bytes.NewReader(first), int64(len(first)))
	if !bytes.HasPrefix(first, []byte{0x1a, 0x45, 0xdf, 0xa3}) || whole != int64(len(first)) {
		t.Fatalf("chunk 0 is %d bytes starting % x, whole elements to %d: not a WebM header and whole frames", len(first), first[:min(4, len(first))], whole)
	}
	// A file whose first picture is not a keyframe does not decode
	// without an error (VP8 and VP9 alike).
	path := filepath.Join(t.TempDir(), "chunk0.webm")
	if err := os.WriteFile(path, first, 0o644); err != nil {
		t.Fatal(err)
	}
	frames := mediatest.PlaysThrough(t, path)
	t.Logf("chunk 0 alone: pictures at %v s", frames)
	if len(frames) == 0 || frames[0] > 0.001 {
		t.Errorf("chunk 0 alone: pictures at %v s; want a keyframe at 0 s first", frames)
	}
}

// TestLocalRecordingReloadKeepsItsLastSlice: a page reloaded mid-slice
// keeps what its recorder had encoded since the last slice (it asks for
// it as it goes, and stores it at once): the chunks it left, played in
// order, cover its take up to the reload but for the recorder's own lag
// (0.3 s at most; the slice's 0.7 s were lost before). Its chunks are
// small (a canvas of two colours): a real camera's may commit too late
// on loopback (see TestGuestLocalRecordingChromium).
func TestLocalRecordingReloadKeepsItsLastSlice(t *testing.T) {
	s, page := recordCanvas(t, "reload", 0)
	eventually(t, "the first slice", func() bool {
		var n int
		return page.Eval(`greenroomLocal.status.takes.reload.total`, &n) == nil && n > 0
	})
	// Late in the next slice: most of a slice to lose.
	time.Sleep(time.Duration(sliceSeconds*700) * time.Millisecond)
	var ran float64
	if err := page.Eval(`(Date.now() - greenroomLocal.status.takes.reload.startWall) / 1000`, &ran); err != nil {
		t.Fatal(err)
	}
	// A guest is never on loopback: her reload's request takes a round
	// trip to the studio (reloadRTT), time for the last chunk to land.
	if err := page.EmulateNetworkLatency(false, -1, reloadRTT); err != nil {
		t.Fatal(err)
	}
	if err := page.Call("Page.navigate", map[string]any{"url": s.GuestURL()}, nil); err != nil {
		t.Fatal(err)
	}
	var chunks [][]byte
	eventually(t, "the reloaded page's record of the take", func() bool {
		var total int
		if page.Eval(`(t => t ? t.total : -1)(window.greenroomLocal && greenroomLocal.status.takes.reload)`, &total) != nil || total < 0 {
			return false
		}
		chunks = stored(t, page, "reload")
		return len(chunks) == total
	})
	path := filepath.Join(t.TempDir(), "reload.webm")
	if err := os.WriteFile(path, bytes.Join(chunks, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	frames := mediatest.PlaysThrough(t, path)
	if len(frames) == 0 {
		t.Fatalf("%d chunks left by the reload: no pictures", len(chunks))
	}
	lost := ran - frames[len(frames)-1]
	t.Logf("the reload came %.2f s into the take; its %d chunks play to %.2f s: %.2f s lost", ran, len(chunks), frames[len(frames)-1], lost)
	if len(chunks) < 2 || lost > 0.3 {
		t.Errorf("the reload %.2f s into the take left %d chunks playing to %.2f s: its last part slice was not kept", ran, len(chunks), frames[len(frames)-1])
	}
}

// recordCanvas opens a studio's guest page in Chromium (not joining) and
// has it record, as take (with no key: nothing is uploaded), a 640x360
// canvas whose colour changes 30 times a second from paintAfterMS on.
func recordCanvas(t *testing.T, take string, paintAfterMS int) (*studio.Studio, *studiotest.Page) {
	t.Helper()
	s := newStudio(t, nil)
	page := chromiumPages(t, s.GuestURL())[0]
	recordCanvasIn(t, page, take, "no-key", paintAfterMS)
	return s, page
}

// recordCanvasIn is recordCanvas on a guest page already open, for a
// take of key (one the studio made, uploaded as the page goes).
func recordCanvasIn(t *testing.T, page *studiotest.Page, take, key string, paintAfterMS int) {
	t.Helper()
	recorderLoaded(t, page)
	err := page.Eval(`((take, key, after) => {
		const c = document.createElement("canvas");
		c.width = 640; c.height = 360;
		const stream = c.captureStream(30);
		let f = 0;
		setTimeout(() => setInterval(() => {
			const x = c.getContext("2d");
			x.fillStyle = f++ % 2 ? "red" : "blue";
			x.fillRect(0, 0, 640, 360);
		}, 33), after);
		greenroomLocal.record(take, key, stream);
	})(`+strconv.Quote(take)+`, `+strconv.Quote(key)+`, `+strconv.Itoa(paintAfterMS)+`)`, nil)
	if err != nil {
		t.Fatal(err)
	}
}

// recorderLoaded waits for page's local recording code (localrec.js).
func recorderLoaded(t *testing.T, page *studiotest.Page) {
	t.Helper()
	eventually(t, "the page's recorder code", func() bool {
		var ok bool
		return page.Eval(`!!window.greenroomLocal`, &ok) == nil && ok
	})
}

// TestGuestPageAsksToStayWhileUploading: the guest page says how far its
// local recording's upload is and asks the guest not to close the tab
// while chunks wait (issue #11), and only then. Before recording its note
// is hidden and its beforeunload handler asks nothing. Recording (a
// canvas, into a take the studio made) with the page offline, its chunks
// held in IndexedDB, and after the recorder stopped: the note says
// "Uploading your recording: 0 % — please keep this tab open…" and a
// beforeunload event is cancelled with a returnValue (a BeforeUnloadEvent
// dispatched in the page), and a reload after a click brings Chromium's
// "Leave site?" dialog (dismissed: the page stays). Online again, the
// upload slowed to take about two seconds (DevTools), the percent climbs
// through values between 0 and 100, never back; once the studio has the
// take whole, the page says it is done, asks nothing (the reload after a
// click goes through with no dialog), and the studio's count of chunks is
// the page's.
func TestGuestPageAsksToStayWhileUploading(t *testing.T) {
	s := newStudio(t, nil)
	take, key, end := s.TestTake(t.TempDir(), "g1", "Ann")
	t.Cleanup(end)
	page := chromiumPages(t, s.GuestURL())[0]
	leave := func() leaving { t.Helper(); return tryLeaving(t, page) }
	network := func(offline bool, bytesPerSecond int) {
		t.Helper()
		if err := page.EmulateNetwork(offline, bytesPerSecond); err != nil {
			t.Fatal(err)
		}
	}
	holding := func(when string) {
		t.Helper()
		l := leave()
		t.Logf("%s: %+v", when, l)
		if !l.Asks || l.Says == "" || !strings.HasPrefix(l.Note, "Uploading your recording: 0 %") || !strings.Contains(l.Note, "keep this tab open") {
			t.Errorf("%s, chunks held: the page says %q and its beforeunload asks %v (%q)", when, l.Note, l.Asks, l.Says)
		}
	}
	recorderLoaded(t, page)
	if l := leave(); l != (leaving{}) {
		t.Errorf("before any recording: %+v, want no note and nothing asked", l)
	}

	network(true, -1)
	recordCanvasIn(t, page, take, key, 0)
	recorded := func() int { return recordedOf(page, take) }
	eventually(t, "two chunks recorded", func() bool { return recorded() >= 2 })
	holding("recording offline")
	if err := page.Eval(`greenroomLocal.stop()`, nil); err != nil {
		t.Fatal(err)
	}
	chunks := finalStored(t, page, take, recorded)
	holding("stopped, offline")
	if !reloadAsks(t, page) {
		t.Fatal("stopped, offline, chunks held: the page reloaded after a click with no \"Leave site?\" dialog")
	}

	size := 0
	for _, c := range chunks {
		size += len(c)
	}
	network(false, max(size/2, 1000))
	var percents []int
	for deadline := time.Now().Add(20 * time.Second); ; {
		l := leave()
		var p int
		if _, err := fmt.Sscanf(l.Note, "Uploading your recording: %d %%", &p); err == nil {
			if len(percents) == 0 || percents[len(percents)-1] != p {
				percents = append(percents, p)
			}
			if !l.Asks {
				t.Errorf("at %d %% the page's beforeunload asks nothing", p)
			}
		} else {
			t.Logf("the page at the end: %+v", l)
			if l.Note != "Your recording is uploaded: all done." || l.Asks || l.Says != "" {
				t.Errorf("once uploaded the page says %q and its beforeunload asks %v (%q); want done, nothing asked", l.Note, l.Asks, l.Says)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the upload of %d chunks (%d bytes) not done in 20 s: percents %v", len(chunks), size, percents)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d chunks, %d bytes, uploaded at %d B/s: the page said %v %%", len(chunks), size, max(size/2, 1000), percents)
	if !slices.IsSorted(percents) || !slices.ContainsFunc(percents, func(p int) bool { return p > 0 && p < 100 }) {
		t.Errorf("the page said %v %% on the way: want a climb through values between 0 and 100", percents)
	}
	ups := s.State().Uploads
	if len(ups) != 1 || ups[0].State != studio.UploadComplete || ups[0].Chunks != len(chunks) {
		t.Errorf("the studio holds %+v, want the take complete in %d chunks", ups, len(chunks))
	}
	if reloadAsks(t, page) {
		t.Error("uploaded: the page's reload after a click asked \"Leave site?\"")
	}
}

// TestGuestPageSavesARefusedRecording: a take the studio refuses for
// good is the guest's to keep (issue #11). A guest page records a canvas
// into a take the studio made, which has its first chunks. Then every
// upload request gets a 503 (the page's fetch stands in for a studio in
// trouble): the page keeps each chunk and retries, says it uploads and
// asks before the tab closes. Its recorder stopped, and the take's key
// one the studio does not know (as after a restart that lost it, or the
// take's 7 days), the studio's own 401: the page says the studio no
// longer takes the recording, offers "Save the recording" and still
// asks. Clicked, it downloads one .webm (DevTools' downloads, into a
// folder) that is the chunks it kept, in order: chunk 0 (the header,
// kept till the take is whole) and those the studio lacks; ffprobe reads
// it as WebM with VP8 or VP9, and it decodes to its end from its first
// picture, the studio's part a hole. Then the page says where it went,
// asks nothing as the tab closes, and holds none of the chunks.
func TestGuestPageSavesARefusedRecording(t *testing.T) {
	s := newStudio(t, nil)
	take, key, end := s.TestTake(t.TempDir(), "g1", "Ann")
	t.Cleanup(end)
	page := chromiumPages(t, s.GuestURL())[0]
	recorderLoaded(t, page)
	err := page.Eval(`(() => {
		const f = window.fetch;
		window.unavailable = -1; // requests answered 503 so far; -1 lets them through
		window.fetch = (url, opts) => {
			if (!String(url).startsWith("/upload/") || window.unavailable < 0) return f(url, opts);
			window.unavailable++;
			return Promise.resolve(new Response('{"error":"busy"}', { status: 503 }));
		};
	})()`, nil)
	if err != nil {
		t.Fatal(err)
	}
	recordCanvasIn(t, page, take, key, 0)
	atStudio := func() int {
		ups := s.State().Uploads
		if len(ups) != 1 {
			return 0
		}
		return ups[0].Chunks
	}
	eventually(t, "two chunks at the studio", func() bool { return atStudio() >= 2 })
	if err := page.Eval(`window.unavailable = 0`, nil); err != nil {
		t.Fatal(err)
	}
	refused := func() (note string) {
		_ = page.Eval(`(n => n.hidden ? "" : n.textContent)(document.getElementById("refused-note"))`, &note)
		return note
	}
	eventually(t, "two chunks more recorded, their uploads failing", func() bool {
		var failed int
		return recordedOf(page, take) >= atStudio()+2 && page.Eval(`window.unavailable`, &failed) == nil && failed >= 2
	})
	if l := tryLeaving(t, page); !l.Asks || !strings.HasPrefix(l.Note, "Uploading your recording") || refused() != "" {
		t.Errorf("uploads answered 503: the page says %q and %q, its beforeunload asks %v; want it uploading, asking", l.Note, refused(), l.Asks)
	}
	if err := page.Eval(`greenroomLocal.stop()`, nil); err != nil {
		t.Fatal(err)
	}
	chunks := finalStored(t, page, take, func() int { return recordedOf(page, take) - atStudio() + 1 })
	err = page.Eval(`new Promise((resolve, reject) => {
		const r = indexedDB.open("greenroom-recording", 1);
		r.onsuccess = () => {
			const tx = r.result.transaction("takes", "readwrite"), st = tx.objectStore("takes");
			const g = st.get(`+strconv.Quote(take)+`);
			g.onsuccess = () => { g.result.key = "a key the studio never made"; st.put(g.result); };
			tx.oncomplete = resolve;
			tx.onerror = () => reject(tx.error);
		};
	}).then(() => { window.unavailable = -1; })`, nil)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the page telling of the refusal", func() bool {
		var ok bool
		return page.Eval(`!!document.querySelector("#refused-note:not([hidden]) button.primary")`, &ok) == nil && ok
	})
	note := refused()
	t.Logf("refused, the page says %q", note)
	if !strings.Contains(note, "no longer takes your recording") || !strings.Contains(note, "Save the recording") {
		t.Errorf("refused, the page says %q", note)
	}
	if l := tryLeaving(t, page); !l.Asks {
		t.Errorf("refused, not saved: the page's beforeunload asks nothing (%+v)", l)
	}

	dir := t.TempDir()
	if err := page.Call("Browser.setDownloadBehavior", map[string]any{"behavior": "allow", "downloadPath": dir}, nil); err != nil {
		t.Fatal(err)
	}
	if err := page.EvalAsUser(`document.querySelector("#refused-note button.primary").click()`, nil); err != nil {
		t.Fatal(err)
	}
	want := bytes.Join(chunks, nil)
	var got []byte
	var path string
	eventually(t, "the recording downloaded", func() bool {
		files, _ := filepath.Glob(filepath.Join(dir, "*.webm"))
		if len(files) != 1 {
			return false
		}
		path = files[0]
		got, _ = os.ReadFile(path)
		return len(got) >= len(want)
	})
	t.Logf("downloaded %s: %d bytes, the %d chunks stored %d", filepath.Base(path), len(got), len(chunks), len(want))
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not the stored chunks in order", filepath.Base(path))
	}
	if p := mediatest.ProbeFile(t, path); !strings.Contains(p.Format, "webm") || p.Video == nil || (p.Video.Codec != "vp8" && p.Video.Codec != "vp9") {
		t.Errorf("%s: %s, %+v; want WebM with VP8 or VP9", path, p.Format, p.Video)
	}
	// The pictures after the hole (the chunks the studio confirmed,
	// and so no longer kept by the page) may not decode until the
	// recorder's next keyframe: they refer to pictures in the hole. So
	// the file is judged as a container read to its end, its pictures
	// in order from 0 s, not as one that decodes without an error.
	frames := mediatest.VideoFrameTimes(t, path)
	for i := 1; i < len(frames); i++ {
		if frames[i] < frames[i-1] {
			t.Errorf("%s: picture %d at %.3f s after one at %.3f s", path, i, frames[i], frames[i-1])
			break
		}
	}
	if errs := mediatest.DecodeErrors(t, path); errs != "" {
		t.Logf("%s: decode errors after the hole (expected until a keyframe): %.200s", filepath.Base(path), strings.TrimSpace(errs))
	}
	if last := mediatest.LastPacketTime(t, path); len(frames) > 0 && last < frames[len(frames)-1] {
		t.Errorf("%s: its last packet at %.2f s, before its last picture at %.2f s", filepath.Base(path), last, frames[len(frames)-1])
	}
	hole := 0.0
	for i := 1; i < len(frames); i++ {
		hole = max(hole, frames[i]-frames[i-1])
	}
	t.Logf("%s: %d pictures to %.2f s, a hole of %.2f s where the studio's %d chunks were", filepath.Base(path), len(frames), frames[len(frames)-1], hole, atStudio())
	if len(frames) == 0 || frames[0] > 0.001 {
		t.Errorf("%s: pictures at %v s; want them from 0 s", filepath.Base(path), frames)
	}
	eventually(t, "the page saying it saved the recording", func() bool {
		return strings.Contains(refused(), "Saved to your downloads: "+filepath.Base(path))
	})
	if l := tryLeaving(t, page); l.Asks {
		t.Errorf("saved: the page's beforeunload still asks (%+v)", l)
	}
	if left := stored(t, page, take); len(left) != 0 {
		t.Errorf("saved: %d chunks still in the page's IndexedDB", len(left))
	}
}

// recordedOf is how many chunks of take page has recorded, as it says.
func recordedOf(page *studiotest.Page, take string) int {
	var seen struct{ Total int }
	_ = page.Eval(`greenroomLocal.status.takes[`+strconv.Quote(take)+`] || {}`, &seen)
	return seen.Total
}

// leaving is what a guest page says and does as its tab would close.
type leaving struct {
	Note string // the upload note's text; "" while hidden
	Asks bool   // the beforeunload event cancelled
	Says string // its returnValue
}

// tryLeaving dispatches a beforeunload event in page (a BeforeUnloadEvent,
// as a closing tab's) and returns what the page did with it.
func tryLeaving(t *testing.T, page *studiotest.Page) (l leaving) {
	t.Helper()
	err := page.Eval(`(() => {
		const e = document.createEvent("BeforeUnloadEvent");
		e.initEvent("beforeunload", false, true);
		window.dispatchEvent(e);
		const n = document.getElementById("upload-note");
		return { note: n.hidden ? "" : n.textContent, asks: e.defaultPrevented, says: e.returnValue };
	})()`, &l)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// finalStored waits for take's recorder, stopped, to have stored its
// last chunk in page's IndexedDB, all recorded() of them there, and
// returns them in order.
func finalStored(t *testing.T, page *studiotest.Page, take string, recorded func() int) [][]byte {
	t.Helper()
	var chunks [][]byte
	eventually(t, "the take's last chunk stored", func() bool {
		var final bool
		_ = page.Eval(`new Promise((resolve) => {
			const r = indexedDB.open("greenroom-recording", 1);
			r.onsuccess = () => {
				const g = r.result.transaction("takes").objectStore("takes").get(`+strconv.Quote(take)+`);
				g.onsuccess = () => resolve(!!(g.result && g.result.final));
			};
		})`, &final)
		if !final {
			return false
		}
		chunks = stored(t, page, take)
		return len(chunks) == recorded()
	})
	return chunks
}

// reloadAsks has page reload itself just after a click (DevTools' user
// gesture: the sticky activation without which Chromium shows no "Leave
// site?" dialog) and says whether that dialog came. One that came is
// dismissed, the page staying as it was; without one the page reloads.
// Nothing is evaluated in the page meanwhile: a dialog blocks its script.
func reloadAsks(t *testing.T, page *studiotest.Page) bool {
	t.Helper()
	if err := page.Call("Page.enable", map[string]any{}, nil); err != nil {
		t.Fatal(err)
	}
	opened, loaded := page.Events("Page.javascriptDialogOpening"), page.Events("Page.loadEventFired")
	// Once the evaluation has answered.
	if err := page.EvalAsUser(`setTimeout(() => location.reload(), 0)`, nil); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		// Answered in the browser, dialog or not; the events come meanwhile.
		if page.Call("Page.handleJavaScriptDialog", map[string]any{"accept": false}, nil) == nil {
			return true
		}
		if page.Events("Page.javascriptDialogOpening") == opened && page.Events("Page.loadEventFired") > loaded {
			return false
		}
		if time.Now().After(deadline) {
			t.Fatal("the page neither reloaded nor asked in 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stored returns take's chunks in page's IndexedDB, in order.
func stored(t *testing.T, page *studiotest.Page, take string) [][]byte {
	t.Helper()
	var b64 []string
	err := page.Eval(`new Promise((resolve, reject) => {
		const r = indexedDB.open("greenroom-recording", 1);
		r.onerror = () => reject(r.error);
		r.onsuccess = () => {
			const take = `+strconv.Quote(take)+`;
			const g = r.result.transaction("chunks").objectStore("chunks").getAll(IDBKeyRange.bound([take, 0], [take, Infinity]));
			g.onerror = () => reject(g.error);
			g.onsuccess = async () => {
				const out = [];
				for (const c of g.result) {
					const b = new Uint8Array(await c.blob.arrayBuffer());
					let s = "";
					for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
					out.push(btoa(s));
				}
				resolve(out);
			};
		};
	})`, &b64)
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]byte, len(b64))
	for i, s := range b64 {
		if out[i], err = base64.StdEncoding.DecodeString(s); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestGuestLocalRecordingAcrossRestartChromium: a Chromium guest records
// itself in a live show, its uploads slowed to 30 kB/s so chunks wait
// in its IndexedDB; the studio is closed mid-upload (the page is told
// the studio closed: its recorder stops, its last chunks wait) and a new
// one started on the same config folder and address, without the show.
// The page, told the studio may come back, waits for it: it joins the
// new studio by itself (the link is kept), its media flowing, and its
// retries go on with the take there: the file is complete (the studio's count of chunks is the page's, the
// size the bytes it stored), 1920x1080, its pictures in order, decoding
// to its end without an error, and /api/recordings lists it complete
// under its show.
func TestGuestLocalRecordingAcrossRestartChromium(t *testing.T) {
	dir, conf := t.TempDir(), t.TempDir()
	sameConfig := func(c *studio.Config) { c.ConfigDir = conf }
	s, prog, pipe := startShow(t, studio.ProgramConfig{RecordDir: dir, ShowTitle: "Restart"}, sameConfig)
	addr := s.Addr().String()
	page, _ := liveRecordingLocally(t, s, s.GuestURL()+"?name=Ann&join=1")
	eventually(t, "Ann's first chunk stored", func() bool {
		ups := s.State().Uploads
		return len(ups) == 1 && ups[0].Chunks >= 1
	})
	throttle := func(bytesPerSecond int) {
		if err := page.EmulateNetwork(false, bytesPerSecond); err != nil {
			t.Fatal(err)
		}
	}
	throttle(30_000)
	time.Sleep(4 * time.Second)
	before := s.State().Uploads[0]
	s.Close()
	prog.Close()
	pipe.Close()
	var recorded struct{ Total, Acked int }
	eventually(t, "Ann's recorder stopped", func() bool {
		var take string
		return page.Eval(`greenroomLocal.status.take`, &take) == nil && take == ""
	})
	_ = page.Eval(`greenroomLocal.status.takes[`+strconv.Quote(before.Take)+`]`, &recorded)
	t.Logf("the studio closed with %d chunks stored; the page has recorded %d", before.Chunks, recorded.Total)
	if recorded.Total <= before.Chunks+1 {
		t.Fatalf("%d chunks recorded, %d stored when the studio closed: no upload left to resume", recorded.Total, before.Chunks)
	}

	var status string
	_ = page.Eval(`document.getElementById("status").textContent`, &status)
	if !strings.Contains(status, "waiting for it to come back") {
		t.Errorf("while the studio is away the page says %q", status)
	}

	s = newStudio(t, func(c *studio.Config) { c.Listen = addr; sameConfig(c) })
	s.TestRecordingsIn(dir)
	throttle(-1)
	eventually(t, "Ann back in the call", func() bool {
		for _, p := range s.State().Participants {
			if p.Name == "Ann" && p.Connected {
				return true
			}
		}
		return false
	})
	ups := uploadsComplete(t, s, page, 1)
	u := ups[0]
	t.Logf("after the restart: %+v", u)
	recs := s.Recordings(context.Background())
	if len(recs.Shows) != 1 || len(recs.Shows[0].Uploads) != 1 || recs.Shows[0].Uploads[0].State != studio.UploadComplete {
		t.Errorf("/api/recordings after the restart: %+v, want the show with Ann's upload complete", recs.Shows)
	}
	if u.Take != before.Take || u.Chunks != recorded.Total || u.Chunks != u.Recorded {
		t.Errorf("take %s: %d chunks stored of %d; the page recorded %d of take %s", u.Take, u.Chunks, u.Recorded, recorded.Total, before.Take)
	}
	if st, _ := os.Stat(u.File); st == nil || st.Size() != u.Bytes {
		t.Errorf("%s: %v on disk, %d bytes stored", u.File, st, u.Bytes)
	}
	keepRecording(u.File, "restart.webm")
	p := mediatest.ProbeFile(t, u.File)
	if p.Video == nil || p.Video.Width != 1920 || p.Video.Height != 1080 {
		t.Errorf("%s: %+v, want 1920x1080", u.File, p.Video)
	}
	frames := mediatest.PlaysThrough(t, u.File)
	if len(frames) == 0 || frames[len(frames)-1]-frames[0] < float64(recorded.Total-1)*sliceSeconds*0.8 {
		t.Errorf("%s: %d pictures, want %d chunks of %g s", u.File, len(frames), recorded.Total, sliceSeconds)
	} else {
		t.Logf("%s: %d pictures over %.2f s", filepath.Base(u.File), len(frames), frames[len(frames)-1]-frames[0])
	}
}

// liveRecordingLocally turns the guests' local recording on, opens link
// (a guest's) in Chromium, puts its guest on stage and goes live; it
// returns the page and the guest's ID.
func liveRecordingLocally(t testing.TB, s *studio.Studio, link string) (*studiotest.Page, string) {
	t.Helper()
	if code, body := api(t, s, "POST", "/api/localrec", "", `{"on":true}`); code != 200 || body["local_recording"] != true {
		t.Fatalf("localrec: %d %v", code, body)
	}
	page := chromiumPages(t, link)[0]
	var id string
	eventually(t, "the guest in the show", func() bool { return page.Eval(`greenroom.id`, &id) == nil && id != "" })
	if err := s.Stage(id, true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLive(true); err != nil {
		t.Fatal(err)
	}
	return page, id
}

// TestLocalRecordingPacedByTheCall: while a Chromium guest records
// itself in a live show, its upload's pace follows what the call's own
// sender says of the path (a stand-in for its RTCPeerConnection, whose
// getStats the test sets): held down for bandwidth, the pace falls below
// the old fixed 1 Mb/s; with room again it climbs; the round trip grown
// by a queue's 60 ms (twice in a row) brings it down again.
func TestLocalRecordingPacedByTheCall(t *testing.T) {
	s, _, _ := startShow(t, studio.ProgramConfig{RecordDir: t.TempDir(), ShowTitle: "Pace"})
	page, _ := liveRecordingLocally(t, s, s.GuestURL()+"?name=Ann&join=1")
	eventually(t, "Ann's first chunk stored", func() bool {
		ups := s.State().Uploads
		return len(ups) == 1 && ups[0].Chunks >= 1
	})
	// record() with the take it records already only takes the call.
	err := page.Eval(`(() => {
		window.path = { limited: true, rtt: 0.005, samples: 0 };
		const call = {
			connectionState: "connected",
			getStats: async () => new Map([
				["v", { type: "outbound-rtp", kind: "video", qualityLimitationReason: path.limited ? "bandwidth" : "none" }],
				["t", { type: "transport", selectedCandidatePairId: "p" }],
				["p", { type: "candidate-pair", currentRoundTripTime: path.rtt, responsesReceived: ++path.samples }],
			]),
		};
		greenroomLocal.record(greenroomLocal.status.take, "", null, () => call);
	})()`, nil)
	if err != nil {
		t.Fatal(err)
	}
	type paced struct{ Pace, Tight float64 }
	var now paced
	pace := func() paced {
		_ = page.Eval(`({ pace: greenroomLocal.status.pace, tight: greenroomLocal.status.tight })`, &now)
		return now
	}
	eventually(t, "the pace down for a call held for bandwidth", func() bool { p := pace(); return p.Tight >= 1 && p.Pace < 1e6 })
	low := now
	if err := page.Eval(`path.limited = false`, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pace up with room", func() bool { return pace().Pace > low.Pace })
	high := now
	if err := page.Eval(`path.rtt = 0.1`, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pace down for a queue", func() bool { p := pace(); return p.Tight > high.Tight && p.Pace < high.Pace })
	t.Logf("pace: %.2f Mb/s held for bandwidth, %.2f with room, %.2f with a queue", low.Pace/1e6, high.Pace/1e6, now.Pace/1e6)
}

// BenchmarkUploadAgainstTheCall: a Chromium guest on stage in a live show
// records itself locally; its uploads are slowed (DevTools: 30 kB/s) for
// 16 s, so a backlog of chunks waits in its IndexedDB, then let go while
// the call and the recording go on. Reported: the backlog's upload
// throughput (upload-Mb/s; the fixed pace before was 1 Mb/s, which it
// could not beat: it waited for each chunk's bytes at 1 Mb/s), the
// call's sent frame rate (its top layer's framesPerSecond by getStats)
// in the 3 s before the backlog was let go and while it went up
// (fps-before, fps-during, fps-during-min), the upload's pace at the end
// (pace-Mb/s) and how often it found the call's path tight.
func BenchmarkUploadAgainstTheCall(b *testing.B) {
	for range b.N {
		s, _, _ := startShow(b, studio.ProgramConfig{RecordDir: b.TempDir(), ShowTitle: "Upload"})
		page, _ := liveRecordingLocally(b, s, s.GuestURL()+"?name=Ann&join=1")
		eventually(b, "Ann's first chunk stored", func() bool {
			ups := s.State().Uploads
			return len(ups) == 1 && ups[0].Chunks >= 1
		})
		// The call's frame rate: that of the highest layer the page
		// sends. Not a layer the studio rested (no one got it for 10 s:
		// the page set it inactive), whose rate is 0 and says nothing
		// of the call: on the quiet box the top layer rested during the
		// run, 0 fps before and during with m at 20.
		fps := func() float64 {
			var v float64
			_ = page.Eval(`(async () => {
				const st = await greenroom.pc.getStats();
				let top = null;
				st.forEach((s) => {
					if (s.type === "outbound-rtp" && s.kind === "video" && s.active !== false && (!top || (s.frameHeight || 0) > (top.frameHeight || 0))) top = s;
				});
				return top ? top.framesPerSecond || 0 : 0;
			})()`, &v)
			return v
		}
		throttle := func(bytesPerSecond int) {
			if err := page.EmulateNetwork(false, bytesPerSecond); err != nil {
				b.Fatal(err)
			}
		}
		throttle(30_000)
		time.Sleep(13 * time.Second)
		// The call before: its last 3 s with the upload held back.
		var before []float64
		for range 6 {
			before = append(before, fps())
			time.Sleep(500 * time.Millisecond)
		}
		var rec struct{ Total int }
		_ = page.Eval(`greenroomLocal.status.takes[greenroomLocal.status.take]`, &rec)
		from := s.State().Uploads[0]
		throttle(-1)
		released := time.Now()
		var during []float64
		var to studio.Upload
		for {
			to = s.State().Uploads[0]
			if to.Chunks >= rec.Total {
				break
			}
			if time.Since(released) > 60*time.Second {
				b.Fatalf("the backlog (chunks %d to %d) not stored in 60 s: %+v", from.Chunks, rec.Total, to)
			}
			during = append(during, fps())
			time.Sleep(250 * time.Millisecond)
		}
		took := time.Since(released)
		var pace struct {
			Pace, Tight float64
			Why         string
		}
		_ = page.Eval(`greenroomLocal.status`, &pace)
		bits := float64(to.Bytes-from.Bytes) * 8
		mean := func(v []float64) float64 {
			sum := 0.0
			for _, x := range v {
				sum += x
			}
			return sum / float64(max(len(v), 1))
		}
		b.Logf("backlog: chunks %d→%d, %.0f kB in %.2f s (at 1 Mb/s: %.2f s); fps before %v, during %v; pace %.2f Mb/s, tight %v times (last: %s)",
			from.Chunks, to.Chunks, bits/8000, took.Seconds(), bits/1e6, before, during, pace.Pace/1e6, pace.Tight, pace.Why)
		b.ReportMetric(bits/took.Seconds()/1e6, "upload-Mb/s")
		b.ReportMetric(mean(before), "fps-before")
		b.ReportMetric(mean(during), "fps-during")
		if len(during) > 0 {
			b.ReportMetric(slices.Min(during), "fps-during-min")
		}
		b.ReportMetric(pace.Pace/1e6, "pace-Mb/s")
		b.ReportMetric(pace.Tight, "tight")
	}
}
