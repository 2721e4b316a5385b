package studio_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"greenroom/studio"
)

// TestGuestLinkKeptAcrossRestart: the guest link survives a restart on the
// same config folder (its file 0600), "New link" replaces it for the next starts too — the old
// one refused by the restarted studio — and a damaged file gets a new
// link rather than a studio that won't start. Two studios on separate
// folders get different links.
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
	s.Close()
	file := filepath.Join(conf, "guest-link.json")
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v, want 0600", file, st.Mode().Perm())
	}

	s = newStudio(t, sameConfig)
	if got := token(s); got != first {
		t.Fatal("the guest link changed across a restart")
	}
	if other := newStudio(t, nil); token(other) == first {
		t.Error("a studio on another config folder has the same guest link")
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

	if err := os.WriteFile(file, []byte(`{"token":"short"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s = newStudio(t, sameConfig)
	if got := token(s); got == "short" || got == second || len(got) != 32 {
		t.Errorf("a damaged file gave the link token %q", got)
	}
}
