package studio_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// TestGuestLinkKeptAcrossRestart: the guest link survives a restart on the
// same config folder (its file 0600), "New link" replaces it for the next starts too — the old
// one refused by the restarted studio — and a damaged file gets a new
// link rather than a studio that won't start. Two studios on separate
// folders get different links. The control token likewise: the same
// after a restart (its file 0600, the API taking it), a new one for a
// damaged file (the old then refused).
func TestGuestLinkKeptAcrossRestart(t *testing.T) {
	conf := t.TempDir()
	sameConfig := func(c *studio.Config) { c.ConfigDir = conf }
	token := func(s *studio.Studio) string {
		t.Helper()
		u, err := url.Parse(s.GuestURL())
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(u.Path, "/join/")
	}
	status := func(s *studio.Studio, tok string) int {
		t.Helper()
		resp, err := http.Get("http://" + s.Addr().String() + "/join/" + tok)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	s := newStudio(t, sameConfig)
	first := token(s)
	control := s.ControlToken().Reveal()
	s.Close()
	file, controlFile := filepath.Join(conf, "guest-link.json"), filepath.Join(conf, "control-token.json")
	for _, f := range []string{file, controlFile} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, st.Mode().Perm())
		}
	}

	s = newStudio(t, sameConfig)
	if got := token(s); got != first {
		t.Fatal("the guest link changed across a restart")
	}
	if s.ControlToken().Reveal() != control {
		t.Error("the control token changed across a restart")
	}
	if code, _ := api(t, s, "GET", "/api/state", control, ""); code != http.StatusOK {
		t.Errorf("the control API after a restart, with the token from before: %d, want 200", code)
	}
	if other := newStudio(t, nil); token(other) == first || other.ControlToken().Reveal() == control {
		t.Error("a studio on another config folder has the same guest link or control token")
	}
	s.RotateGuestToken()
	second := token(s)
	s.Close()

	s = newStudio(t, sameConfig)
	if got := token(s); got != second {
		t.Fatal("the new link did not survive a restart")
	}
	if code := status(s, first); code != http.StatusForbidden {
		t.Errorf("the replaced link after a restart: %d, want 403", code)
	}
	if code := status(s, second); code != http.StatusOK {
		t.Errorf("the link after a restart: %d, want 200", code)
	}
	s.Close()

	for _, f := range []string{file, controlFile} {
		if err := os.WriteFile(f, []byte(`{"token":"short"}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s = newStudio(t, sameConfig)
	if got := token(s); got == "short" || got == second || len(got) != 32 {
		t.Errorf("a damaged file gave the link token %q", got)
	}
	if got := s.ControlToken().Reveal(); got == "short" || got == control || len(got) != 32 {
		t.Errorf("a damaged file gave the control token %q", got)
	}
	if code, _ := api(t, s, "GET", "/api/state", control, ""); code != http.StatusUnauthorized {
		t.Errorf("the control API with the token a damaged file lost: %d, want 401", code)
	}
}

// TestStageKeptAcrossRestart (issue #11): after a restart a guest's page
// rejoins with the resume key the last studio gave it (the guest link is
// kept); one who was on stage comes back onto the stage, one who was in
// the green room into the green room — also after a second restart
// before she came back. The file keeps no resume key (0600 anyway), a key
// puts its guest back once, and a guest seen on stage more than 10
// minutes ago is not put back. A stage that is full takes her into the
// green room.
func TestStageKeptAcrossRestart(t *testing.T) {
	checkLeaks(t)
	conf := t.TempDir()
	file := filepath.Join(conf, "stage.json")
	sameConfig := func(c *studio.Config) { c.ConfigDir = conf }
	// rejoin is c's page back at s with the key it was last given.
	rejoin := func(s *studio.Studio, name string, c *studiotest.Client) *studiotest.Client {
		t.Helper()
		return join(t, s, name, studiotest.Options{ResumeID: c.ID, ResumeKey: c.ResumeKey})
	}
	// kept waits for the file to name who, written anew (not was).
	kept := func(who string, was []byte) []byte {
		t.Helper()
		var b []byte
		eventually(t, who+" kept on stage", func() bool {
			b, _ = os.ReadFile(file)
			return strings.Contains(string(b), who) && string(b) != string(was)
		})
		return b
	}

	s := newStudio(t, sameConfig)
	ann := join(t, s, "Ann", studiotest.Options{})
	bob := join(t, s, "Bob", studiotest.Options{})
	if err := s.Stage(ann.ID, true); err != nil {
		t.Fatal(err)
	}
	b := kept("Ann", nil)
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v, want mode 0600", file, err)
	}
	if strings.Contains(string(b), ann.ResumeKey) || strings.Contains(string(b), "Bob") {
		t.Errorf("%s holds %s: want Ann alone, and not her resume key", file, b)
	}
	s.Close()

	// Bob back first, and the studio restarted again before Ann is.
	s = newStudio(t, sameConfig)
	if bob2 := rejoin(s, "Bob", bob); find(s, bob2.ID).Place != studio.PlaceGreenRoom {
		t.Errorf("after a restart: Bob %q, want the green room", find(s, bob2.ID).Place)
	}
	time.Sleep(300 * time.Millisecond) // the show changed: the file written
	s.Close()
	s = newStudio(t, sameConfig)
	ann2 := rejoin(s, "Ann", ann)
	if p := find(s, ann2.ID); p.Place != studio.PlaceStage {
		t.Errorf("after two restarts: Ann %q, want the stage", p.Place)
	}
	if again := rejoin(s, "Ann", ann); find(s, again.ID).Place != studio.PlaceGreenRoom {
		t.Errorf("Ann's old key twice: %q, want the green room", find(s, again.ID).Place)
	}
	kept("Ann", b)
	s.Close()

	// The same, 11 minutes later: the green room.
	var rec struct {
		Guests []map[string]any `json:"guests"`
	}
	if b, err := os.ReadFile(file); err != nil || json.Unmarshal(b, &rec) != nil || len(rec.Guests) != 1 {
		t.Fatalf("%s: %v %+v", file, err, rec)
	}
	rec.Guests[0]["seen"] = time.Now().Add(-11 * time.Minute)
	b, _ = json.Marshal(rec)
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s = newStudio(t, sameConfig)
	if late := rejoin(s, "Ann", ann2); find(s, late.ID).Place != studio.PlaceGreenRoom {
		t.Errorf("back 11 minutes after: %q, want the green room", find(s, late.ID).Place)
	}
	s.Close()

	// A full stage: the green room, and the host decides.
	if err := os.WriteFile(file, []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s = newStudio(t, sameConfig)
	carl := join(t, s, "Carl", studiotest.Options{})
	if err := s.Stage(carl.ID, true); err != nil {
		t.Fatal(err)
	}
	kept("Carl", nil)
	s.Close()
	s = newStudio(t, func(c *studio.Config) { c.ConfigDir = conf; c.Limits = studio.Limits{Stage: 1, GreenRoom: 5} })
	dan := join(t, s, "Dan", studiotest.Options{})
	if err := s.Stage(dan.ID, true); err != nil {
		t.Fatal(err)
	}
	if back := rejoin(s, "Carl", carl); find(s, back.ID).Place != studio.PlaceGreenRoom {
		t.Errorf("back to a full stage: %q, want the green room", find(s, back.ID).Place)
	}
}

// TestStageOrderKeptAcrossRestart: guests on stage come back after a
// restart in the stage's order of before, whatever order their pages
// rejoin in; a guest staged meanwhile stays after them.
func TestStageOrderKeptAcrossRestart(t *testing.T) {
	conf := t.TempDir()
	sameConfig := func(c *studio.Config) { c.ConfigDir = conf }
	onStage := func(s *studio.Studio) []string {
		var names []string
		for _, p := range s.State().Participants {
			if p.Role == studio.RoleGuest && p.Place == studio.PlaceStage {
				names = append(names, p.Name)
			}
		}
		return names
	}
	s := newStudio(t, sameConfig)
	names := []string{"Ann", "Bob", "Carl"}
	pages := map[string]*studiotest.Client{}
	for _, n := range names {
		pages[n] = join(t, s, n, studiotest.Options{})
		if err := s.Stage(pages[n].ID, true); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the three kept on stage", func() bool {
		b, _ := os.ReadFile(filepath.Join(conf, "stage.json"))
		return strings.Count(string(b), `"key"`) == 3
	})
	s.Close()

	s = newStudio(t, sameConfig)
	for _, n := range []string{"Carl", "Ann"} {
		join(t, s, n, studiotest.Options{ResumeID: pages[n].ID, ResumeKey: pages[n].ResumeKey})
	}
	dan := join(t, s, "Dan", studiotest.Options{})
	if err := s.Stage(dan.ID, true); err != nil {
		t.Fatal(err)
	}
	join(t, s, "Bob", studiotest.Options{ResumeID: pages["Bob"].ID, ResumeKey: pages["Bob"].ResumeKey})
	if got, want := onStage(s), []string{"Ann", "Bob", "Carl", "Dan"}; !slices.Equal(got, want) {
		t.Errorf("back on stage in the order %v (Carl, Ann, Dan new, then Bob), want %v", got, want)
	}
}
