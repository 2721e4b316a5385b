package studio_test

import (
	"testing"

	"greenroom/studio/studiotest"
)

// The studio's receiver reports echo each guest's sender reports (LSR,
// DLSR), for a single stream and for every simulcast layer: that is how a
// guest's browser learns the round trip of what it sends us, which times
// its retransmissions of what the studio NACKs (issue #10). Chromium
// showed no RTT before the studio read its receivers' RTCP.
func TestGuestsLearnTheirRoundTrip(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, nil)
	ann := join(t, s, "Ann", studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg})
	eve := join(t, s, "Eve", studiotest.Options{Simulcast: simulcastLayers})
	eventually(t, "Ann to measure a round trip from the studio's reports", func() bool { return ann.EchoedReports() > 0 })
	eventually(t, "Eve to measure a round trip from the studio's reports", func() bool { return eve.EchoedReports() > 0 })
}
