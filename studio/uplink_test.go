package studio_test

import (
	"testing"

	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// A guest sending its camera in three layers, about 1.3 Mb/s, into a
// studio that caps guests at 500 kb/s is told so: REMBs at the cap for
// its streams, never more, about one a second; a lower cap set while it
// sends reaches it within a couple of seconds.
func TestGuestUploadCapped(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, func(c *studio.Config) { c.GuestKbps = 500 })
	ann := join(t, s, "Ann", studiotest.Options{Simulcast: simulcastLayers})
	eventually(t, "a REMB to Ann", func() bool { n, _, _ := ann.UplinkREMB(); return n > 0 })
	n, last, most := ann.UplinkREMB()
	t.Logf("%d REMBs, the last %.0f b/s, the highest %.0f b/s", n, last, most)
	if most > 500_000 || last != 500_000 {
		t.Errorf("REMB last %.0f, highest %.0f b/s; want 500,000 b/s, never more", last, most)
	}
	if err := s.SetGuestKbps(300); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the lower cap", func() bool { _, last, _ := ann.UplinkREMB(); return last == 300_000 })
	if err := s.SetGuestKbps(50); err == nil {
		t.Error("a cap of 50 kb/s was taken")
	}
}
