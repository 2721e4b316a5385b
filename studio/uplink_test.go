package studio_test

import (
	"testing"

	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// A guest sending its camera in three layers, about 1.3 Mb/s, into a
// studio that caps guests at 1 Mb/s is told so: REMBs at the cap for its
// streams, never more, about one a second; a lower cap set while it sends
// reaches it within a couple of seconds.
func TestGuestUploadCapped(t *testing.T) {
	parallelWithLeakCheck(t)
	s := newStudio(t, func(c *studio.Config) { c.GuestKbps = 1000 })
	ann := join(t, s, "Ann", studiotest.Options{Simulcast: simulcastLayers})
	eventually(t, "a REMB to Ann", func() bool { n, _, _ := ann.UplinkREMB(); return n > 0 })
	n, last, most := ann.UplinkREMB()
	t.Logf("%d REMBs, the last %.0f b/s, the highest %.0f b/s", n, last, most)
	if most > 1_000_000 || last != 1_000_000 {
		t.Errorf("REMB last %.0f, highest %.0f b/s; want 1,000,000 b/s, never more", last, most)
	}
	if err := s.SetGuestKbps(800); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the lower cap", func() bool { _, last, _ := ann.UplinkREMB(); return last == 800_000 })
	if err := s.SetGuestKbps(500); err == nil {
		t.Error("a cap of 500 kb/s, under what the guest page sends at least, was taken")
	}

	// A guest sharing its screen gets as much again, for the screen; once
	// it stops, the camera's cap.
	bob := join(t, s, "Bob", studiotest.Options{VideoIVF: videoIVF, ScreenIVF: screenIVF})
	eventually(t, "Bob's cap with his screen", func() bool { _, last, _ := bob.UplinkREMB(); return last == 1_600_000 })
	if err := bob.StopScreen(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Bob's cap without", func() bool { _, last, _ := bob.UplinkREMB(); return last == 800_000 })
}
