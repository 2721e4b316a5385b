package studio

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeConn struct {
	mu      sync.Mutex
	changes int
	kicked  string
}

func (f *fakeConn) changed() { f.mu.Lock(); f.changes++; f.mu.Unlock() }
func (f *fakeConn) kick(r string) {
	f.mu.Lock()
	f.kicked = r
	f.mu.Unlock()
}

func TestSecret(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	raw, err := base64.RawURLEncoding.DecodeString(a.Reveal())
	if err != nil || len(raw)*8 < 128 {
		t.Fatalf("token %d bits, err %v; want >= 128 bits of base64url", len(raw)*8, err)
	}
	if a.Reveal() == b.Reveal() {
		t.Fatal("two tokens are equal")
	}
	for _, tc := range []struct {
		candidate string
		want      bool
	}{
		{a.Reveal(), true},
		{b.Reveal(), false},
		{"", false},
		{a.Reveal()[:10], false},
		{a.Reveal() + "x", false},
	} {
		if got := a.Matches(tc.candidate); got != tc.want {
			t.Errorf("Matches(%q) = %v, want %v", tc.candidate, got, tc.want)
		}
	}
	if (Secret{}).Matches("") {
		t.Error("the empty secret matches the empty string")
	}
	var sb strings.Builder
	slog.New(slog.NewTextHandler(&sb, nil)).Info("x", "token", a)
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%v %+v %#v %s", a, a, a, a), sb.String()} {
		if strings.Contains(s, a.Reveal()) || !strings.Contains(s, "[redacted]") {
			t.Errorf("secret leaks: %q", s)
		}
	}
}

func TestCleanName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Ann", "Ann"},
		{"  Ann   Lee \n", "Ann Lee"},
		{"A\x00n\x1bn", "Ann"},
		{"", ""},
		{" \t ", ""},
		{strings.Repeat("é", 64), strings.Repeat("é", 64)},
		{strings.Repeat("é", 65), ""},
	} {
		got, err := cleanName(tc.in)
		if got != tc.want || (tc.want == "") != errors.Is(err, ErrBadName) {
			t.Errorf("cleanName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestShowTransitions(t *testing.T) {
	sh := newShow("Hal", time.Minute)
	events, cancel := sh.subscribe()
	defer cancel()

	c := &fakeConn{}
	ann, _, err := sh.addGuest("Ann", c)
	if err != nil {
		t.Fatal(err)
	}
	if ann.Place != PlaceGreenRoom || ann.Role != RoleGuest {
		t.Fatalf("new guest %+v, want a guest in the green room", ann)
	}
	if p, err := sh.setPlace(ann.ID, true); err != nil || p.Place != PlaceStage {
		t.Fatalf("stage: %+v %v", p, err)
	}
	if _, err := sh.setPlace(ann.ID, true); err != nil { // again: no event
		t.Fatal(err)
	}
	if _, err := sh.setPlace("nobody", true); !errors.Is(err, ErrNoParticipant) {
		t.Fatalf("stage nobody: %v", err)
	}
	sh.setLive(true)
	st := sh.state()
	if !st.Live || len(st.Participants) != 2 || st.Participants[0].ID != HostID || st.Participants[1].Place != PlaceStage {
		t.Fatalf("state %+v", st)
	}
	conn, err := sh.remove(ann.ID, true)
	if err != nil || conn != c {
		t.Fatalf("kick: %v %v", conn, err)
	}
	if _, err := sh.remove(ann.ID, false); !errors.Is(err, ErrNoParticipant) {
		t.Fatalf("second remove: %v", err)
	}
	if _, err := sh.remove(HostID, true); !errors.Is(err, ErrNoParticipant) {
		t.Fatalf("removing the host: %v", err)
	}

	want := []EventKind{EventJoined, EventStaged, EventLive, EventKicked}
	for i, k := range want {
		ev := <-events
		if ev.Kind != k || ev.Seq != uint64(i+1) {
			t.Fatalf("event %d = %+v, want %s seq %d", i, ev, k, i+1)
		}
	}
	select {
	case ev := <-events:
		t.Fatalf("unexpected event %+v", ev)
	default:
	}
}

// A guest whose connection drops keeps its place for a while and can take
// it back with its resume key; only its current connection can take it out.
func TestShowResume(t *testing.T) {
	sh := newShow("", time.Minute)
	c1, c2 := &fakeConn{}, &fakeConn{}
	p, key, _ := sh.addGuest("Ann", c1)
	sh.setPlace(p.ID, true)

	if _, _, ok := sh.resume(p.ID, "wrong", c2); ok {
		t.Fatal("resumed with a wrong key")
	}
	if _, _, ok := sh.resume("g99", key.Reveal(), c2); ok {
		t.Fatal("resumed an unknown guest")
	}
	// Resume before the studio noticed the old connection died: back in
	// the place, connecting until the new session's media flows.
	sh.setMedia(p.ID, c1, MediaConnected, "")
	got, old, ok := sh.resume(p.ID, key.Reveal(), c2)
	if !ok || old != c1 || got.Place != PlaceStage || got.Connected || got.Media != MediaConnecting {
		t.Fatalf("resume: %+v %v %v", got, old, ok)
	}
	if _, detached := sh.detach(p.ID, c1); sh.leave(p.ID, c1) || detached {
		t.Fatal("the replaced connection took the guest out")
	}
	if sh.setMedia(p.ID, c1, MediaConnected, ""); find(sh, p.ID).Connected {
		t.Fatal("the replaced connection set the media state")
	}
	if sh.expire(p.ID) {
		t.Fatal("expired a connected guest")
	}
	if _, ok := sh.detach(p.ID, c2); !ok {
		t.Fatal("detach")
	}
	if q, _ := sh.participant(p.ID); q.Connected || q.Media != MediaLost || q.Place != PlaceStage {
		t.Fatalf("detached: %+v", q)
	}
	if !sh.expire(p.ID) {
		t.Fatal("expire")
	}
	if _, _, ok := sh.resume(p.ID, key.Reveal(), c1); ok {
		t.Fatal("resumed after expiry")
	}
}

// find is participant id, zero if absent.
func find(sh *show, id string) Participant {
	p, _ := sh.participant(id)
	return p
}

// Media and Connected move together (issue #16): a guest is connected only
// once its media flows; one whose media failed stays failed, with the
// problem, across the page's attempts (detach and resume), until an
// attempt connects; a lost place says lost.
func TestShowMedia(t *testing.T) {
	sh := newShow("", time.Minute)
	events, cancel := sh.subscribe()
	defer cancel()
	c1, c2, c3, c4 := &fakeConn{}, &fakeConn{}, &fakeConn{}, &fakeConn{}
	if h := find(sh, HostID); !h.Connected || h.Media != MediaConnected {
		t.Fatalf("host: %+v", h)
	}
	p, key, _ := sh.addGuest("Ann", c1)
	if p.Connected || p.Media != MediaConnecting {
		t.Fatalf("joined: %+v", p)
	}
	<-events // joined
	const problem = "port 8443/udp isn't reachable"
	steps := []struct {
		do        func()
		media     Media
		problem   string
		connected bool
		event     EventKind // "" for none
	}{
		{func() { sh.setMedia(p.ID, c1, MediaFailed, problem) }, MediaFailed, problem, false, EventMedia},
		{func() { sh.setMedia(p.ID, c1, MediaFailed, problem) }, MediaFailed, problem, false, ""},
		{func() { sh.detach(p.ID, c1) }, MediaFailed, problem, false, EventLost},
		{func() { sh.resume(p.ID, key.Reveal(), c2) }, MediaFailed, problem, false, EventBack},
		{func() { sh.setMedia(p.ID, c2, MediaConnected, "") }, MediaConnected, "", true, EventMedia},
		{func() { sh.detach(p.ID, c2) }, MediaLost, "", false, EventLost},
		{func() { sh.resume(p.ID, key.Reveal(), c3) }, MediaConnecting, "", false, EventBack},
		{func() { sh.setMedia(p.ID, c2, MediaConnected, "") }, MediaConnecting, "", false, ""},
		// A session away (its socket broke; issue #9), then replaced by a
		// page that comes back without it.
		{func() { sh.setMedia(p.ID, c3, MediaConnected, "") }, MediaConnected, "", true, EventMedia},
		{func() { sh.away(p.ID, c3) }, MediaLost, "", false, EventLost},
		{func() { sh.detach(p.ID, c3) }, MediaLost, "", false, ""},
		{func() { sh.resume(p.ID, key.Reveal(), c4) }, MediaConnecting, "", false, EventBack},
	}
	for i, s := range steps {
		s.do()
		got := find(sh, p.ID)
		if got.Media != s.media || got.MediaProblem != s.problem || got.Connected != s.connected {
			t.Errorf("step %d: media %q problem %q connected %v", i, got.Media, got.MediaProblem, got.Connected)
		}
		select {
		case ev := <-events:
			if ev.Kind != s.event || ev.Participant.Media != s.media {
				t.Errorf("step %d: event %s with media %q, want %q", i, ev.Kind, ev.Participant.Media, s.event)
			}
		default:
			if s.event != "" {
				t.Errorf("step %d: no %s event", i, s.event)
			}
		}
	}
}

// The green room takes limits.GreenRoom guests; the stage limits.Stage of
// them, and one more is refused there while the others stay put. Taking
// a guest off the stage needs no room in the green room.
func TestShowFull(t *testing.T) {
	sh := newShow("", time.Minute)
	sh.setLimits(Limits{Stage: 1, GreenRoom: 2})
	var ids []string
	for i := range 2 {
		p, _, err := sh.addGuest(fmt.Sprint("g", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	if _, _, err := sh.addGuest("one too many", nil); !errors.Is(err, ErrStudioFull) {
		t.Fatalf("got %v, want ErrStudioFull", err)
	}
	if _, err := sh.setPlace(ids[0], true); err != nil {
		t.Fatal(err)
	}
	if _, err := sh.setPlace(HostID, true); err != nil { // the host counts in neither
		t.Fatal(err)
	}
	p, _, err := sh.addGuest("room again", nil) // one left the green room
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sh.setPlace(ids[1], true); !errors.Is(err, ErrStageFull) || find(sh, ids[1]).Place != PlaceGreenRoom {
		t.Fatalf("onto a full stage: %v, place %s; want ErrStageFull, green room", err, find(sh, ids[1]).Place)
	}
	if _, err := sh.setPlace(ids[0], true); err != nil { // already there: no error
		t.Fatal(err)
	}
	if _, err := sh.setPlace(ids[0], false); err != nil || find(sh, ids[0]).Place != PlaceGreenRoom {
		t.Fatalf("off the stage into a full green room: %v", err)
	}
	if _, err := sh.setPlace(p.ID, true); err != nil {
		t.Fatalf("onto a stage with room again: %v", err)
	}
}

// A subscriber that never reads must not slow the show down, and when it
// reads again it gets the newest events, with a gap in Seq.
func TestSubscriptionNeverBlocks(t *testing.T) {
	sh := newShow("", time.Minute)
	slow, cancelSlow := sh.subscribe()
	defer cancelSlow()
	p, _, _ := sh.addGuest("Ann", nil)

	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 10 * subscriberBuffer {
			sh.setPlace(p.ID, i%2 == 0)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the show blocked on a slow subscriber")
	}
	var last Event
	n := 0
	for len(slow) > 0 {
		last = <-slow
		n++
	}
	if n != subscriberBuffer || last.Seq != uint64(1+10*subscriberBuffer) {
		t.Fatalf("got %d events ending with seq %d; want the newest %d", n, last.Seq, subscriberBuffer)
	}

	cancelSlow()
	cancelSlow() // twice is fine
	if _, ok := <-slow; ok {
		t.Fatal("channel still open after cancel")
	}
	other, cancelOther := sh.subscribe()
	defer cancelOther()
	sh.close()
	if _, ok := <-other; ok {
		t.Fatal("channel still open after close")
	}
	if _, _, err := sh.addGuest("late", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("join after close: %v", err)
	}
	if ch, _ := sh.subscribe(); ch != nil {
		if _, ok := <-ch; ok {
			t.Fatal("subscription after close is open")
		}
	}
}

// A gone guest's countdown (issue #10): DefaultReconnectGrace from when
// the studio noticed, in whole seconds rounded up; it runs once across a
// session that waited for its page and then ended, and stops when the
// page is back, over the same session or a new one.
func TestShowCountdown(t *testing.T) {
	sh := newShow("", DefaultReconnectGrace)
	now := time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)
	sh.now = func() time.Time { return now }
	events, cancel := sh.subscribe()
	defer cancel()
	c1, c2 := &fakeConn{}, &fakeConn{}
	p, key, _ := sh.addGuest("Ann", c1)
	sh.setMedia(p.ID, c1, MediaConnected, "")
	if q := find(sh, p.ID); !q.LeavingAt.IsZero() || q.LeavingIn != 0 {
		t.Fatalf("connected guest counts down: %+v", q)
	}
	for len(events) > 0 {
		<-events
	}

	leaving, ok := sh.away(p.ID, c1)
	if want := now.Add(10 * time.Second); !ok || !leaving.Equal(want) {
		t.Fatalf("away: leaving at %v (%v), want %v", leaving, ok, want)
	}
	if ev := <-events; ev.Kind != EventLost || ev.Participant.LeavingIn != 10 {
		t.Errorf("event %s with %d s left, want lost with 10", ev.Kind, ev.Participant.LeavingIn)
	}
	now = now.Add(3500 * time.Millisecond)
	if q := sh.state().Participants[1]; q.LeavingIn != 7 || !q.LeavingAt.Equal(leaving) {
		t.Errorf("3.5 s later: %d s left (at %v), want 7", q.LeavingIn, q.LeavingAt)
	}
	// Its media failed too: the session ends, the place is held, the
	// countdown goes on from where it was.
	now = now.Add(time.Second)
	if again, ok := sh.detach(p.ID, c1); !ok || !again.Equal(leaving) {
		t.Errorf("detach: leaving at %v (%v), want %v still", again, ok, leaving)
	}
	now = leaving
	if q := find(sh, p.ID); q.LeavingIn != 0 || q.LeavingAt.IsZero() {
		t.Errorf("at the deadline: %+v", q)
	}
	// Back (a new session) before expire ran: the countdown stops.
	if _, _, ok := sh.resume(p.ID, key.Reveal(), c2); !ok {
		t.Fatal("resume")
	}
	if q := find(sh, p.ID); !q.LeavingAt.IsZero() {
		t.Errorf("resumed: still leaving at %v", q.LeavingAt)
	}
	// Away again, and back over another socket (the same session).
	sh.setMedia(p.ID, c2, MediaConnected, "")
	if leaving, _ = sh.away(p.ID, c2); !leaving.Equal(now.Add(10 * time.Second)) {
		t.Errorf("away again: leaving at %v, want 10 s from now", leaving)
	}
	sh.setMedia(p.ID, c2, MediaConnected, "")
	if q := find(sh, p.ID); !q.LeavingAt.IsZero() || q.Media != MediaConnected {
		t.Errorf("back over another socket: %+v", q)
	}
}
