package studio

import (
	"slices"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// ownHeaders is the last interceptor in the studio's registry, so the
// first a packet meets on its way to a guest: it gives each guest's
// connection its own copy of the packet's header.
//
// pion's TrackLocalStaticRTP (and TrackLocalStaticSample, the host's
// tracks) writes one packet to every guest bound to the track in turn,
// handing each connection the same *rtp.Header, and the transport-cc
// interceptor sets its sequence-number extension in it. So every guest
// after the first got the earlier guests' extensions too, under IDs their
// own sessions gave other extensions: a Chromium guest who joined after a
// pion guest dropped every packet of the host's video and sound, and of
// any guest's sound others received too (TestChromiumGuestHearsTheHost).
type ownHeaders struct{ interceptor.NoOp }

type ownHeadersFactory struct{}

func (ownHeadersFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &ownHeaders{}, nil
}

// BindLocalStream passes on a copy of each header, its extensions in a
// slice of their own (SetExtension writes into the slice).
func (*ownHeaders) BindLocalStream(_ *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		own := *h
		own.Extensions = slices.Clone(h.Extensions)
		return w.Write(&own, payload, a)
	})
}
