// Package studio is the show: who is in it (the host and the guests), where
// they are (green room or stage), whether it is live, and the guests' side of
// it — the guest web page, WebSocket signaling and the WebRTC forwarding
// between guests (an SFU: packets are forwarded, never transcoded).
//
// It owns no GUI and no codecs: decoding on-stage guests into the program is
// the media side's job; it gets their RTP through a Sink (see Config.Sink).
//
// The state of the show has one owner, an unexported show struct guarded by a
// single mutex; every change is published as an Event to subscribers without
// ever blocking the studio (a slow subscriber loses its oldest events and
// sees a gap in Event.Seq).
package studio
