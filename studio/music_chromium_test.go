//go:build unix

package studio_test

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/studio"
)

// A Chromium guest hears the music (issue #12's test): with the host
// muted (their test pattern's beeps out of the guests' sound), the audio
// energy Ann's page measures of the host's track (getStats'
// totalAudioEnergy over totalSamplesDuration, its square root: a mean of
// Chromium's audio level, the peak of each 10 ms) is nothing, and with
// the music playing the tone's peak.
func TestChromiumGuestHearsTheMusic(t *testing.T) {
	needChromium(t)
	s, _, _ := startShowAt(t, smallShow, studio.ProgramConfig{})
	song := filepath.Join(t.TempDir(), "song.wav")
	mediatest.WriteTone(t, song, 440, 2*time.Second)
	if err := s.SetMuted(studio.HostID, true); err != nil {
		t.Fatal(err)
	}
	page := chromiumPages(t, s.GuestURL()+"?name=Ann&join=1")[0]
	type energy struct{ Energy, Duration float64 }
	read := func() energy {
		var e energy
		_ = page.Eval(`(async () => {
  const pc = window.greenroom.pc, who = {}, out = {Energy: 0, Duration: 0};
  if (!pc || !pc.remoteDescription) return out;
  for (const sec of pc.remoteDescription.sdp.split("\r\nm=").slice(1)) {
    const mid = (sec.match(/a=mid:(\S+)/) || [])[1], msid = (sec.match(/a=msid:(\S+)/) || [])[1];
    if (mid && msid) who[mid] = msid;
  }
  (await pc.getStats()).forEach(r => {
    if (r.type === "inbound-rtp" && r.kind === "audio" && who[r.mid] === "host") {
      out.Energy = r.totalAudioEnergy || 0;
      out.Duration = r.totalSamplesDuration || 0;
    }
  });
  return out;
})()`, &e)
		return e
	}
	// level is the sound's level over d, from the page's own counters.
	level := func(d time.Duration) float64 {
		a := read()
		time.Sleep(d)
		b := read()
		if b.Duration <= a.Duration {
			t.Fatalf("Ann's page played none of the host's sound in %v: %+v then %+v", d, a, b)
		}
		return math.Sqrt((b.Energy - a.Energy) / (b.Duration - a.Duration))
	}
	eventually(t, "Ann to play the host's sound", func() bool { return read().Duration > 1 })
	quiet := level(time.Second)
	if code, body := api(t, s, "POST", "/api/music", "", fmt.Sprintf(`{"play": %q, "loop": true, "volume": -3}`, song)); code != 200 {
		t.Fatalf("play: %d %v", code, body)
	}
	time.Sleep(500 * time.Millisecond) // on its way, through Chromium's jitter buffer
	loud := level(1500 * time.Millisecond)
	// The tone peaks at 0.125, mono spread to stereo at −3 dB and played
	// at −3 dB: 0.0625, which the page measures (0.061–0.062); on a box
	// loaded past 15, 0.040 in some runs, the page's own playout starved
	// (a pion guest's recording of the same packets keeps the level:
	// TestGuestsHearTheMusic).
	t.Logf("the host's sound at Ann's page: level %.4f muted, %.4f with the music", quiet, loud)
	if quiet > 0.005 || loud < 0.03 || loud > 0.08 {
		t.Errorf("Ann's page measures the host's sound at %.4f muted and %.4f with the music, want ≈ 0 and ≈ 0.0625", quiet, loud)
	}
}
