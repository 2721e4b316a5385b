// Package studio is the show: who is in it (the host and the guests), where
// they are (green room or stage), whether it is live, and the guests' side
// of it — the guest web page, WebSocket signaling and WebRTC forwarding
// between guests (an SFU: packets are forwarded, never transcoded).
//
// It owns no GUI and no codecs. Decoding guests into the program is the
// media side's job; it gets their RTP through a Sink (the Program), which
// shows those on stage and meters and thumbnails everyone.
//
// # Using it
//
//	s, err := studio.New(studio.Config{
//		Listen:    ":8443",                    // HTTPS; self-signed cert unless CertFile/KeyFile
//		PublicURL: "https://studio.lan:8443", // optional: what guests are told
//		GoLive:    func(on bool) error { ... }, // optional: start/stop the live output
//		Sink:      mySink,                      // optional: every guest's RTP
//	})
//	if err != nil { ... }
//	defer s.Close()
//	fmt.Println("guest link:", s.GuestURL())
//	fmt.Println("control:", s.ControlURL())
//
// New binds the web port (and the ICE UDP port, by default the same number
// over UDP) and serves until Close. Close throws every guest out, waits for
// every goroutine, and is safe to call twice.
//
// Commands: Stage(id, on), SetMuted(id, on), SetMusicMode(id, on), SetSolo(id, on), SetVolume(id, dB), SetDelay(id, ms), Kick(id), SetLive(on), RotateGuestToken() (the
// old link stops working for newcomers; connected guests stay and may still
// come back through it after a blip; the link is kept in ConfigDir, so it
// is the same after a restart until rotated, and who is on stage with it, so
// a guest whose page rejoins a restarted studio within minutes is put back
// there), SetICEServers(servers) (the STUN/TURN
// servers for guests who join from then on). For the media side:
// RequestKeyframe(id), and AddHostTrack to send the host's camera and mic to
// the guests. State() is a snapshot; Subscribe() streams Events.
//
// # Control API
//
// At ControlURL's host, with the control token as "Authorization: Bearer
// TOKEN" or "?token=TOKEN" (401 otherwise); JSON in, JSON out, errors as
// {"error": "..."}:
//
//	GET  /api/state                          → State, with "certificate": CertStatus and,
//	                 with a Program attached, "recording": RecordingStatus (disk.go) and
//	                 "loudness": the program's EBU R128 meters (Loudness)
//	GET  /api/events                         → Server-Sent Events: "state", then one per Event
//	POST /api/stage  {"id": "g1", "on": true} → State (404 unknown id)
//	POST /api/mute   {"id": "g1", "on": true} → State (404 unknown id); the host mutes or unmutes
//	                 a participant: out of the program's mix, not forwarded to the guests
//	POST /api/musicmode {"id": "g1", "on": true} → State (404 unknown id, or the host); the
//	                 guest's page sends their sound as music: no voice processing, stereo Opus at 128 kb/s
//	POST /api/volume {"id": "g1", "db": -6}   → State; the participant's level in the program's
//	                 mix, -60 to +12 dB or "-inf" (off); 400 out of range, 404 unknown id
//	POST /api/delay  {"id": "g1", "ms": 120}  → State; the participant's sync offset in the
//	                 program, -200 to +500 ms: positive plays their sound later (a camera
//	                 that lags), negative their picture; 400 out of range, 404 unknown id
//	POST /api/loudness {"target": -14}        → State; the program's loudness target: -14, -16,
//	                 -23 LUFS or "off" (as a show starts); a slow gain, no delay; 400 otherwise
//	POST /api/music  {"play": "/path/song.mp3", "loop": true, "volume": -6, "fadeInMs": 2000,
//	                 "fadeOutMs": 2000, "duck": {"db": 12, "attackMs": 100, "releaseMs": 800}}
//	                 → State; every field optional ("stop": true fades out; "jingle": a file
//	                 played once over it); the program's music, which the guests and the host
//	                 hear too (State's "music"); 400 a file that can't be played or a setting out of range
//	POST /api/kick   {"id": "g1"}             → State
//	POST /api/live   {"on": true}             → State (502 if GoLive fails)
//	POST /api/live   {"dryRun": true}         → {"ok": bool, "destinations": [DestinationCheck]}:
//	                 each destination dialled and the publish tried, nothing goes live; each
//	                 check's warnings are what its platform would refuse in the program's format
//	                 (the vertical program's for a destination with "vertical": true)
//	                 A vertical destination (Destination.Vertical) or recording
//	                 (ProgramConfig.RecordVertical) turns the vertical (9:16) program on while live
//	POST /api/rotate                          → {"guest_url": "..."}
//	GET  /api/scene                           → Scene (503 without a Program attached)
//	POST /api/scene  {"layout": "pip"}        → Scene; changes only the fields sent
//	                 (layout, main, fit, banner, ticker); 400 bad layout, 404 unknown main
//
// # Guests
//
// The guest link is https://HOST:PORT/join/TOKEN (192-bit token, compared
// in constant time; a wrong one gets a friendly 403 page). The page
// (package assets) signals over /join/TOKEN/ws; the protocol and its
// no-glare negotiation scheme are in package signal.
//
// # Certificates
//
// Browsers give camera and mic only to secure contexts, so guests come over
// HTTPS: the user's certificate (Config.CertFile), or one from an ACME CA
// (Let's Encrypt) for Config.Domain, or else a self-signed one the studio
// makes once. The ACME certificate (acme.go, golang.org/x/crypto's
// autocert) is got in the background, validated by TLS-ALPN-01 on the
// studio's own port, cached in ConfigDir/acme and renewed by autocert;
// until it is there, and whenever the CA refuses, guests get the
// self-signed one and Certificate() says why.
//
// # Guests' connections
//
// A guest who joined is not Connected until its media flows: its
// Participant.Media is MediaConnecting until the PeerConnection connects
// and its first packet comes, MediaConnected then, and MediaFailed (with
// a MediaProblem in words: the port to open, or the TURN server a network
// needs) when ICE fails or nothing connected within 10 s of the studio's
// answer; the page hears the same in a "media" message, and EventMedia
// tells subscribers (issue #16).
//
// A guest whose media path breaks after it worked (Wi-Fi drops, the
// guest moves to a hotspot) while its signaling holds asks for an ICE
// restart ("restart"); the studio offers one and the session goes on, the
// same tracks in the same place, Media back from MediaReconnecting to
// MediaConnected (issue #9). If the signaling socket broke too, a session
// whose media had flowed waits for the page, marked MediaLost (and not
// Connected), for Config.ReconnectGrace: a page that comes back over a new
// socket with its RTCPeerConnection ("join" with keep) carries the same
// session on after an ICE restart. A guest whose router takes a new public
// address keeps its path in the browser's eyes: the studio follows its
// checks to the new address at once (move.go), and the page, seeing its
// own address change, tests its socket, which went with the old one.
//
// A guest whose connection breaks otherwise (or whose page comes back
// without its RTCPeerConnection) keeps its place (stage or green room)
// for Config.ReconnectGrace, marked MediaLost; the page reconnects with
// the resume key it got in "welcome" and takes the place back.
//
// Either way the grace runs once, from when the studio noticed (a killed
// tab's socket closes at once; a page that answers no ping for 6 s is
// taken for gone, its socket kept for it to answer again over), and the
// host sees it count down (Participant.LeavingAt, LeavingIn); a guest not
// back by then leaves the show. The studio says "alive" every 2 s, so a
// page whose socket died on the way notices too, and comes back over a
// new one. The program
// shows the placeholder in a guest's tile from half a second after their
// media stopped, whatever the cause, and their picture again when it
// comes back (Program).
//
// Forwarding rule: everyone receives every other on-stage participant's
// audio and video (not the audio of one the host muted). Green-room guests
// watch the stage too, but no guest receives them. The Sink gets every
// guest's camera and mic, on stage or not (and screens while shared): the
// Program hides those not on stage from the picture and the mix, and
// meters and thumbnails them for the host's backstage cards.
//
// # Ownership
//
// The state of the show has one owner, an unexported show struct guarded by
// a single mutex; events go out through non-blocking sends (a slow
// subscriber loses its oldest events and sees a gap in Event.Seq). Each
// guest session is an actor (one run loop owns its PeerConnection and
// negotiation state). The SFU's table of published tracks has its own mutex;
// each published track has one goroutine reading it and writing to all its
// subscribers.
package studio
