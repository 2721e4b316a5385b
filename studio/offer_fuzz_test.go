package studio

import (
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/pion/webrtc/v4"

	"greenroom/studio/signal"
)

// chromeOffer is the shape of a Chromium guest's first offer (trimmed): a
// mic, a camera and the transceiver kept for a screen, bundled, with the
// extensions and feedback the studio negotiates.
const chromeOffer = "v=0\r\n" +
	"o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n" +
	"s=-\r\nt=0 0\r\n" +
	"a=group:BUNDLE 0 1 2\r\n" +
	"a=extmap-allow-mixed\r\n" +
	"a=msid-semantic: WMS stream\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\n" +
	"c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n" +
	"a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\na=ice-options:trickle\r\n" +
	"a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F\r\n" +
	"a=setup:actpass\r\na=mid:0\r\n" +
	"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n" +
	"a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n" +
	"a=sendonly\r\na=msid:stream audio\r\na=rtcp-mux\r\n" +
	"a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=ssrc:1001 cname:guest\r\na=ssrc:1001 msid:stream audio\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96 97 102\r\n" +
	"c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n" +
	"a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\na=ice-options:trickle\r\n" +
	"a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F\r\n" +
	"a=setup:actpass\r\na=mid:1\r\n" +
	"a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n" +
	"a=sendonly\r\na=msid:stream video\r\na=rtcp-mux\r\na=rtcp-rsize\r\n" +
	"a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 goog-remb\r\na=rtcp-fb:96 transport-cc\r\na=rtcp-fb:96 ccm fir\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n" +
	"a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n" +
	"a=rtpmap:102 H264/90000\r\na=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n" +
	"a=ssrc-group:FID 2001 2002\r\na=ssrc:2001 cname:guest\r\na=ssrc:2002 cname:guest\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n" +
	"a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F\r\n" +
	"a=setup:actpass\r\na=mid:2\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n"

// FuzzOffer: a guest's first offer as the studio applies it — signal.Parse
// (the only check before pion), then pion's SessionDescription parsing, and
// the studio's own PeerConnection setting it and answering (acceptOffer,
// with the studio's codecs, interceptors and ICE port). Nothing a page
// sends may panic the studio; a refusal is an error the session ends with.
func FuzzOffer(f *testing.F) {
	f.Add(chromeOffer, "2")
	f.Add("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", "")
	f.Add("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=rtpmap:96 VP8/90000\r\n", "0")
	f.Add("v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\na=sctp-port:5000\r\n", "0")
	cfg := &Config{ICEUDPListen: "127.0.0.1:0"}
	sfu, err := newSFU(cfg, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(sfu.close)
	api := sfu.api.Load()
	f.Fuzz(func(t *testing.T, sdp, screenMid string) {
		raw, _ := json.Marshal(signal.Message{Type: signal.TypeOffer, SDP: sdp, Sources: map[string]string{screenMid: signal.SourceScreen}})
		m, err := signal.Parse(raw)
		if err != nil {
			return
		}
		desc := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}
		if _, err := desc.Unmarshal(); err != nil {
			return // SetRemoteDescription refuses it the same way
		}
		pc, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		if err := pc.SetRemoteDescription(desc); err != nil {
			return
		}
		answer, err := pc.CreateAnswer(nil)
		if err != nil {
			return
		}
		_ = pc.SetLocalDescription(answer)
	})
}
