package studio

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"greenroom/studio/signal"
)

// Role says who a participant is in the show.
type Role string

const (
	RoleHost  Role = "host"
	RoleGuest Role = "guest"
)

// Place is where a participant is: the green room (backstage: sees and hears
// the stage, is not seen by anyone) or the stage (seen and heard by everyone,
// and in the live program).
type Place string

const (
	PlaceGreenRoom Place = "greenroom"
	PlaceStage     Place = "stage"
)

// Quality rates a guest's connection from its loss and round-trip time, as
// the studio measures them every few seconds (see quality.go).
type Quality string

const (
	QualityUnknown Quality = "unknown" // not measured yet (or the host)
	QualityGood    Quality = "good"
	QualityFair    Quality = "fair"
	QualityPoor    Quality = "poor"
)

// Media says whether a participant's audio and video reach the studio: the
// state of a guest's WebRTC connection as the host needs to know it. The
// host's own is always MediaConnected.
type Media string

const (
	// MediaConnecting: the guest's page is in the show but no media flows
	// yet (the first seconds of a session; ICE is checking).
	MediaConnecting Media = signal.MediaConnecting
	// MediaReconnecting: the media flowed in this session and stopped:
	// the path broke (ICE disconnected) and an ICE restart is getting it
	// back (issue #9); pion fails the session if it doesn't.
	MediaReconnecting Media = signal.MediaReconnecting
	// MediaConnected: media flows: the PeerConnection is connected (ICE
	// and DTLS) and a packet from the guest has arrived.
	MediaConnected Media = signal.MediaConnected
	// MediaFailed: the media can't connect: ICE failed, or nothing
	// connected within Config.MediaTimeout of the studio's answer.
	// Participant.MediaProblem says the likely cause and the fix. The page
	// keeps trying (and may still connect, e.g. through a slow TURN
	// server); a guest stays failed between its attempts, so the host
	// sees one steady explanation rather than a flicker every retry.
	MediaFailed Media = signal.MediaFailed
	// MediaLost: the guest's page is gone altogether (its signaling
	// connection broke) and the studio holds its place for
	// Config.ReconnectGrace, until Participant.LeavingAt.
	MediaLost Media = "lost"
)

// HostID is the fixed ID of the host participant.
const HostID = "host"

// Participant is one person in the show, as seen from outside: a value, safe
// to keep and to marshal.
type Participant struct {
	ID      string  `json:"id"`
	Name    string  `json:"name"`
	Role    Role    `json:"role"`
	Place   Place   `json:"place"`
	Quality Quality `json:"quality"`
	// Connected is true while media flows between the participant and the
	// studio: always Media == MediaConnected (the host is always
	// connected). A guest who joined is not connected until its audio and
	// video arrive (issue #16: a guest whose media never connects showed
	// as connected, and the host staged a black tile).
	Connected bool `json:"connected"`
	// Media says where a guest's connection stands (see Media);
	// MediaProblem, with MediaFailed, is the likely cause and its fix in a
	// sentence for the host ("port 8443/udp isn't reachable: …").
	Media        Media  `json:"media"`
	MediaProblem string `json:"mediaProblem,omitempty"`
	// Path is how a guest's media reaches the studio, once it flows (see
	// Path); "" before, and for the host.
	Path Path `json:"path,omitempty"`
	// Muted is true while the host has muted this participant: their
	// sound is out of the program and the other guests don't hear them.
	Muted bool `json:"muted"`
	// Solo is true while the host listens to this participant alone (with
	// any others on solo): it changes what the host hears on their
	// speakers, never the program nor what the guests hear.
	Solo bool `json:"solo"`
	// Volume is the participant's level in the program's mix (the host
	// sets it: SetVolume), 0 dB unless changed; it does not change what
	// the other guests hear of them.
	Volume Volume `json:"volume"`
	// Delay is the participant's own sync offset in the program, in ms
	// (the host sets it for a camera that lags: SetDelay), 0 unless
	// changed.
	Delay Delay `json:"delay"`
	// MicOff and CameraOff are true while the guest has turned their own
	// mic or camera off on their page: their mic sends silence, and the
	// program shows their initials instead of their (black) picture.
	MicOff    bool `json:"micOff"`
	CameraOff bool `json:"cameraOff"`
	// MusicMode is true while a guest's page sends their sound for an
	// instrument rather than a voice: the browser's echo cancellation,
	// noise suppression and auto gain off, Opus at 128 kb/s in stereo
	// (issue #12). The guest switches it on their page, or the host for
	// them (Studio.SetMusicMode).
	MusicMode bool `json:"musicMode"`
	// Speaking is true while the participant's sound is a voice
	// (speaking.go), muted or not: the host sees a muted guest trying to
	// talk.
	Speaking bool      `json:"speaking"`
	Joined   time.Time `json:"joined"`
	// LeavingAt is when a guest who is gone (their page's connection
	// broke: a tab closed or killed, a laptop shut, a network gone) leaves
	// the show, their place and their tile with them, unless their page is
	// back before: Config.ReconnectGrace after the studio noticed. Zero
	// for everyone else. LeavingIn is the countdown the host sees: the
	// whole seconds left when the snapshot was taken, rounded up.
	LeavingAt time.Time `json:"leavingAt,omitzero"`
	LeavingIn int       `json:"leavingIn,omitempty"`
	// Layers are the layers a guest sends its camera in (simulcast),
	// highest first; none for a guest who sends one. ProgramLayer is the
	// rid the program decodes of them (the smallest that fills their
	// tile). Forwarded is, by the ID of each guest who sends layers, the
	// rid this guest receives of them (the highest its downlink takes).
	// Studio.State fills them in.
	Layers       []Layer           `json:"layers,omitempty"`
	ProgramLayer string            `json:"programLayer,omitempty"`
	Forwarded    map[string]string `json:"forwarded,omitempty"`
	// Health is a guest's connection at a glance and the numbers behind
	// it (health.go); nil until measured, and for the host. Its level
	// and reason are as of the last measurement; its numbers as of the
	// last EventHealth (every healthNews at most) in events, and of the
	// last measurement in State.
	Health *Health `json:"health,omitempty"`
}

// countdown fills in p.LeavingIn as of now.
func countdown(p Participant, now time.Time) Participant {
	p.LeavingIn = 0
	if !p.LeavingAt.IsZero() {
		if left := p.LeavingAt.Sub(now); left > 0 {
			p.LeavingIn = int((left + time.Second - 1) / time.Second)
		}
	}
	return p
}

// State is a snapshot of the show for the control API and the GUI.
type State struct {
	Live bool `json:"live"`
	// Participants in the order they joined, the host first.
	Participants []Participant `json:"participants"`
	// Certificate is the certificate guests are served (Studio.State
	// fills it in).
	Certificate *CertStatus `json:"certificate,omitempty"`
	// Reach is how guests outside this network reach the studio
	// (Studio.State fills it in).
	Reach *Reach `json:"reach,omitempty"`
	// Loudness is the program's sound, EBU R128 (Studio.State fills it
	// in once a Program attaches).
	Loudness *Loudness `json:"loudness,omitempty"`
	// Music is the program's music and jingles (Studio.State fills it in
	// once a Program attaches; music.go).
	Music *Music `json:"music,omitempty"`
	// Recording is what the studio has to say about the recordings: disk
	// warnings, recordings stopped, the last show cut short (Studio.State
	// fills it in once a Program attaches; disk.go).
	Recording *RecordingStatus `json:"recording,omitempty"`
	// LocalRecording: the host switched the guests' local recording on
	// (Studio.SetLocalRecording); Uploads are its takes, per guest
	// (Studio.State fills both in).
	LocalRecording bool     `json:"local_recording"`
	Uploads        []Upload `json:"uploads,omitempty"`
	// AutoSpotlight: the main tile goes to whoever speaks
	// (Studio.SetAutoSpotlight; Studio.State fills it in).
	AutoSpotlight bool `json:"autoSpotlight"`
}

// EventKind names what happened.
type EventKind string

const (
	EventJoined  EventKind = "joined"
	EventLeft    EventKind = "left"
	EventKicked  EventKind = "kicked"
	EventLost    EventKind = "disconnected" // connection lost; place held
	EventBack    EventKind = "reconnected"
	EventStaged  EventKind = "staged"   // moved to the stage
	EventUnstage EventKind = "unstaged" // moved back to the green room
	EventLive    EventKind = "live"     // Live changed
	EventQuality EventKind = "quality"  // a guest's connection quality changed
	EventMuted   EventKind = "muted"    // the host muted a participant
	EventUnmuted EventKind = "unmuted"  // the host unmuted them
	EventSolo    EventKind = "solo"     // the host put a participant on solo, or took them off
	EventDevices EventKind = "devices"  // a guest turned their mic or camera off or on
	EventMedia   EventKind = "media"    // a guest's Media, MediaProblem or Path changed
	EventHealth  EventKind = "health"   // a guest's Health changed: its level or reason, or its numbers (at most every healthNews)
	EventMusic   EventKind = "music"    // a guest's MusicMode changed (their page, or the host)
)

// Event is one change of the show. Seq increases by one per event of the
// studio; a subscriber that sees a gap lost events (it was too slow) and
// should call State to resynchronise.
type Event struct {
	Seq         uint64      `json:"seq"`
	Kind        EventKind   `json:"kind"`
	Participant Participant `json:"participant"` // zero for EventLive
	Live        bool        `json:"live"`
}

// Errors callers act on.
var (
	ErrNoParticipant = errors.New("no such participant")
	ErrStudioFull    = errors.New("the studio is full")
	ErrStageFull     = errors.New("the stage is full")
	ErrClosed        = errors.New("studio closed")
	ErrBadName       = errors.New("a name is 1 to 64 letters")
)

// subscriberBuffer is how many events a subscriber may fall behind before the
// oldest are dropped.
const subscriberBuffer = 64

// guestConn is what the show needs from a connected guest: to be told that
// the show changed, and to be thrown out. Both must not block.
type guestConn interface {
	changed()
	kick(reason string)
}

type entry struct {
	p      Participant
	conn   guestConn // nil for the host, and while a guest is disconnected
	resume Secret    // lets the guest's page take its place back after a blip
	news   time.Time // when the last EventHealth went out
	// back is 1 + the guest's place in the last studio's stage order,
	// for one put back on stage after a restart (putBack); 0 for others.
	back int
}

// show owns the state of the show. It is a plain struct guarded by one mutex
// (mu guards every field), not an actor: every operation is a few map
// updates, and events go out through non-blocking sends, so no caller ever
// waits on anything slower than the lock.
type show struct {
	mu      sync.Mutex
	closed  bool
	live    bool
	seq     uint64
	nextID  uint64
	order   []string // participant IDs in join order
	entries map[string]*entry
	subs    map[chan Event]struct{}
	now     func() time.Time
	grace   time.Duration // a gone guest's place is held this long (Config.ReconnectGrace)
	limits  Limits        // guests on stage and in the green room (Config.Limits)
}

func newShow(hostName string, grace time.Duration) *show {
	sh := &show{
		entries: make(map[string]*entry),
		subs:    make(map[chan Event]struct{}),
		now:     time.Now,
		grace:   grace,
		limits:  DefaultLimits,
	}
	if hostName == "" {
		hostName = "Host"
	}
	sh.entries[HostID] = &entry{p: Participant{
		ID: HostID, Name: hostName, Role: RoleHost, Place: PlaceStage,
		Quality: QualityUnknown, Connected: true, Media: MediaConnected, Joined: sh.now(),
	}}
	sh.order = []string{HostID}
	return sh
}

// setGrace changes how long the places of guests who go from now on are
// held (Config.ReconnectGrace); those counting down keep their deadline.
func (sh *show) setGrace(d time.Duration) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.grace = d
}

// reconnectGrace is how long a place is held now.
func (sh *show) reconnectGrace() time.Duration {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.grace
}

// setLimits changes how many guests the stage and the green room take
// from now on (Config.Limits). Nobody is moved or sent away: a room over
// its new limit takes nobody more until it is under it.
func (sh *show) setLimits(l Limits) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.limits = l
}

// guestsInLocked counts the guests in place, held places included: a guest
// whose page is coming back after a blip keeps theirs.
func (sh *show) guestsInLocked(place Place) int {
	n := 0
	for _, e := range sh.entries {
		if e.p.Role == RoleGuest && e.p.Place == place {
			n++
		}
	}
	return n
}

// cleanName makes a display name safe to show anywhere: trimmed, no control
// characters, at most 64 runes.
func cleanName(name string) (string, error) {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.Join(strings.Fields(name), " ")
	if name == "" || utf8.RuneCountInString(name) > 64 {
		return "", ErrBadName
	}
	return name, nil
}

// addGuest puts a new guest in the green room. It returns the key with
// which the guest may resume its place after losing its connection.
func (sh *show) addGuest(name string, conn guestConn) (Participant, Secret, error) {
	name, err := cleanName(name)
	if err != nil {
		return Participant{}, Secret{}, err
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.closed {
		return Participant{}, Secret{}, ErrClosed
	}
	if n := sh.guestsInLocked(PlaceGreenRoom); n >= sh.limits.GreenRoom {
		return Participant{}, Secret{}, fmt.Errorf("%w (%d of %d in the green room)", ErrStudioFull, n, sh.limits.GreenRoom)
	}
	sh.nextID++
	p := Participant{
		ID: fmt.Sprintf("g%d", sh.nextID), Name: name, Role: RoleGuest,
		Place: PlaceGreenRoom, Quality: QualityUnknown, Media: MediaConnecting, Joined: sh.now(),
	}
	e := &entry{p: p, conn: conn, resume: NewSecret()}
	sh.entries[p.ID] = e
	sh.order = append(sh.order, p.ID)
	sh.emitLocked(Event{Kind: EventJoined, Participant: p})
	return p, e.resume, nil
}

// resume gives guest id a new connection, if key is theirs: after a network
// blip a guest comes back with its ID, name and place, its media connecting
// again (or still failed, see MediaFailed). A connection the studio still
// thinks alive (it may not have noticed the blip yet) is returned so the
// caller can close it. ok is false for an unknown ID or a wrong key.
func (sh *show) resume(id, key string, conn guestConn) (p Participant, old guestConn, ok bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, found := sh.entries[id]
	if sh.closed || !found || !e.resume.Matches(key) {
		return Participant{}, nil, false
	}
	old, e.conn = e.conn, conn
	back := old == nil || e.p.Media == MediaLost // ended, or away (issue #9)
	if e.p.Media != MediaFailed {
		e.p.Media, e.p.MediaProblem = MediaConnecting, ""
	}
	e.p.Connected = false
	e.p.LeavingAt = time.Time{}
	if back {
		sh.emitLocked(Event{Kind: EventBack, Participant: e.p})
	}
	return e.p, old, true
}

// session returns guest id's live connection, if key is theirs.
func (sh *show) session(id, key string) (guestConn, bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.entries[id]
	if sh.closed || !ok || e.conn == nil || !e.resume.Matches(key) {
		return nil, false
	}
	return e.conn, true
}

// detach marks a guest disconnected if conn is still its connection, and
// reports whether it did: the place is held until expire, which is due at
// leaving (Participant.LeavingAt).
func (sh *show) detach(id string, conn guestConn) (leaving time.Time, ok bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.entries[id]
	if !ok || e.conn != conn {
		return time.Time{}, false
	}
	e.conn = nil
	sh.lostLocked(e)
	return e.p.LeavingAt, true
}

// away marks a guest's page away (MediaLost) while its session, conn,
// waits for it to come back over another socket (issue #9) until leaving;
// ok is whether conn is still the guest's.
func (sh *show) away(id string, conn guestConn) (leaving time.Time, ok bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.entries[id]
	if !ok || e.conn != conn {
		return time.Time{}, false
	}
	sh.lostLocked(e)
	return e.p.LeavingAt, true
}

// lostLocked marks e's page gone, with an event unless it was already (a
// session away, then ended), and starts the countdown to its leaving
// unless it runs already: a session that waited for its page and then
// ended (its media failed too) does not start it over.
func (sh *show) lostLocked(e *entry) {
	if e.p.LeavingAt.IsZero() {
		e.p.LeavingAt = sh.now().Add(sh.grace)
	}
	if e.p.Media == MediaLost {
		return
	}
	e.p.Connected = false
	e.p.Health = nil // measured again if their session goes on or comes back
	if e.p.Media != MediaFailed {
		e.p.Media, e.p.MediaProblem = MediaLost, ""
	}
	sh.emitLocked(Event{Kind: EventLost, Participant: e.p})
}

// setMedia records where guest id's media stands, if conn is still its
// connection (a session that was replaced no longer speaks for the guest);
// an event goes out only when that changes.
func (sh *show) setMedia(id string, conn guestConn, m Media, problem string) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.entries[id]
	if !ok || e.conn != conn || conn == nil || (e.p.Media == m && e.p.MediaProblem == problem && e.p.LeavingAt.IsZero()) {
		return
	}
	e.p.Media, e.p.MediaProblem = m, problem
	e.p.Connected = m == MediaConnected
	e.p.LeavingAt = time.Time{} // its session speaks for it: the page is back
	sh.emitLocked(Event{Kind: EventMedia, Participant: e.p})
}

// expire removes a guest that is still disconnected.
func (sh *show) expire(id string) bool {
	return sh.removeIf(id, func(e *entry) bool { return e.conn == nil })
}

// leave removes a guest if conn is still its connection (a session that was
// replaced by a resumed one must not take the guest out).
func (sh *show) leave(id string, conn guestConn) bool {
	return sh.removeIf(id, func(e *entry) bool { return e.conn == conn })
}

// removeIf removes guest id if cond holds, in one critical section so a
// resume cannot slip in between the check and the removal.
func (sh *show) removeIf(id string, cond func(*entry) bool) bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.entries[id]
	if !ok || e.p.Role != RoleGuest || !cond(e) {
		return false
	}
	sh.removeLocked(e, EventLeft)
	return true
}

// setPlace moves a participant to the stage or back to the green room. It is
// not an error to move someone where they already are. A guest put on a
// full stage is refused (ErrStageFull); one taken off the stage always has
// a place in the green room, full or not: the green room's limit is for
// guests joining.
func (sh *show) setPlace(id string, on bool) (Participant, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.setPlaceLocked(id, on)
}

func (sh *show) setPlaceLocked(id string, on bool) (Participant, error) {
	e, ok := sh.entries[id]
	if !ok {
		return Participant{}, fmt.Errorf("stage %q: %w", id, ErrNoParticipant)
	}
	place, kind := PlaceGreenRoom, EventUnstage
	if on {
		place, kind = PlaceStage, EventStaged
	}
	if on && e.p.Role == RoleGuest && e.p.Place != PlaceStage {
		if n := sh.guestsInLocked(PlaceStage); n >= sh.limits.Stage {
			return e.p, fmt.Errorf("put %s on stage: %w (%d of %d); take someone off first", e.p.Name, ErrStageFull, n, sh.limits.Stage)
		}
	}
	if e.p.Place != place {
		e.p.Place = place
		sh.emitLocked(Event{Kind: kind, Participant: e.p})
	}
	return e.p, nil
}

// putBack puts guest id, on stage before the restart at place rank of its
// order (stagekeep.go), on stage again and in the show's order before
// those put back after her who were behind her (her rejoin appended her
// last), so the stage's order is the last studio's whatever order the
// pages come back in.
func (sh *show) putBack(id string, rank int) (Participant, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	p, err := sh.setPlaceLocked(id, true)
	if err != nil {
		return p, err
	}
	e := sh.entries[id]
	e.back = rank + 1
	sh.order = slices.DeleteFunc(sh.order, func(o string) bool { return o == id })
	at := len(sh.order)
	for i, o := range sh.order {
		if b := sh.entries[o].back; b > e.back {
			at = i
			break
		}
	}
	sh.order = slices.Insert(sh.order, at, id)
	return p, nil
}

// stageGuests are the guests on stage now, in the show's order, as the
// stage's file keeps them (stagekeep.go).
func (sh *show) stageGuests() []stageGuest {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var on []stageGuest
	for _, id := range sh.order {
		if e := sh.entries[id]; e != nil && e.p.Role == RoleGuest && e.p.Place == PlaceStage {
			on = append(on, stageGuest{Key: resumeHash(e.resume.Reveal()), Name: e.p.Name})
		}
	}
	return on
}

// setMuted mutes or unmutes a participant (Participant.Muted). It is not an
// error to mute someone muted already.
func (sh *show) setMuted(id string, on bool) (changed bool, err error) {
	kind := EventUnmuted
	if on {
		kind = EventMuted
	}
	return setField(sh, id, "mute", kind, func(p *Participant) *bool { return &p.Muted }, on)
}

// setField sets the value of participant id that field points to (a
// flag, a volume, a delay), and says so in an event of kind if it
// changed; op names the command in the error for an unknown id.
func setField[T comparable](sh *show, id, op string, kind EventKind, field func(*Participant) *T, v T) (changed bool, err error) {
	_, err = sh.edit(id, op, kind, func(p *Participant) bool {
		f := field(p)
		changed = *f != v
		*f = v
		return changed
	})
	return changed, err
}

// edit changes participant id with change, under the lock, and says so
// in an event of kind if change says it changed anything; op names the
// command in the error for an unknown id.
func (sh *show) edit(id, op string, kind EventKind, change func(*Participant) bool) (Participant, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.entries[id]
	if !ok {
		return Participant{}, fmt.Errorf("%s %q: %w", op, id, ErrNoParticipant)
	}
	if change(&e.p) {
		sh.emitLocked(Event{Kind: kind, Participant: e.p})
	}
	return e.p, nil
}

// setSolo puts a participant on solo or takes them off (Participant.Solo).
func (sh *show) setSolo(id string, on bool) (changed bool, err error) {
	return setField(sh, id, "solo", EventSolo, func(p *Participant) *bool { return &p.Solo }, on)
}

// setDevices records whether a guest's own mic and camera are off
// (Participant.MicOff, CameraOff); an event goes out only when that
// changes, and changed says whether it did.
func (sh *show) setDevices(id string, micOff, cameraOff bool) (changed bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.entries[id]
	if !ok || (e.p.MicOff == micOff && e.p.CameraOff == cameraOff) {
		return false
	}
	e.p.MicOff, e.p.CameraOff = micOff, cameraOff
	sh.emitLocked(Event{Kind: EventDevices, Participant: e.p})
	return true
}

// setMusicMode records whether a guest's page sends music
// (Participant.MusicMode); an event goes out only when that changes, and
// changed says whether it did.
func (sh *show) setMusicMode(id string, on bool) (changed bool, err error) {
	return setField(sh, id, "music mode for", EventMusic, func(p *Participant) *bool { return &p.MusicMode }, on)
}

// remove takes a participant out of the show and returns its connection, if
// any, so the caller can close it outside the lock. kicked chooses the event.
// Removing someone already gone returns ErrNoParticipant; the host cannot be
// removed.
func (sh *show) remove(id string, kicked bool) (guestConn, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.entries[id]
	if !ok || e.p.Role == RoleHost {
		return nil, fmt.Errorf("remove %q: %w", id, ErrNoParticipant)
	}
	kind := EventLeft
	if kicked {
		kind = EventKicked
	}
	sh.removeLocked(e, kind)
	return e.conn, nil
}

func (sh *show) removeLocked(e *entry, kind EventKind) {
	delete(sh.entries, e.p.ID)
	sh.order = slices.DeleteFunc(sh.order, func(id string) bool { return id == e.p.ID })
	sh.emitLocked(Event{Kind: kind, Participant: e.p})
}

// setPath records how a guest's media reaches the studio; an event goes
// out only when it changes.
func (sh *show) setPath(id string, p Path) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e, ok := sh.entries[id]; ok && e.p.Path != p {
		e.p.Path = p
		sh.emitLocked(Event{Kind: EventMedia, Participant: e.p})
	}
}

// setQuality records a guest's connection quality; an event goes out only
// when it changes.
func (sh *show) setQuality(id string, q Quality) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e, ok := sh.entries[id]; ok && e.p.Quality != q {
		e.p.Quality = q
		sh.emitLocked(Event{Kind: EventQuality, Participant: e.p})
	}
}

// healthNews: a guest's health numbers go out in an event at most this
// often (its level and reason at once): the window's card shows them, and
// sixteen guests measured every two seconds would redraw it eight times a
// second.
const healthNews = 10 * time.Second

// setHealth records a guest's health; an event goes out when its level or
// reason changed, which it reports, or when its numbers changed and the
// last event is healthNews old.
func (sh *show) setHealth(id string, h Health, now time.Time) (changed bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.entries[id]
	if !ok {
		return false
	}
	old := e.p.Health
	e.p.Health = &h
	changed = old == nil || old.Level != h.Level || old.Reason != h.Reason
	if changed || (*old != h && now.Sub(e.news) >= healthNews) {
		e.news = now
		sh.emitLocked(Event{Kind: EventHealth, Participant: e.p})
	}
	return changed
}

func (sh *show) setLive(on bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.live != on {
		sh.live = on
		sh.emitLocked(Event{Kind: EventLive, Live: on})
	}
}

// notify tells the subscribers of a change outside the participants and
// Live (kind EventRecording).
func (sh *show) notify(kind EventKind) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.emitLocked(Event{Kind: kind})
}

func (sh *show) state() State {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st := State{Live: sh.live, Participants: make([]Participant, 0, len(sh.order))}
	now := sh.now()
	for _, id := range sh.order {
		st.Participants = append(st.Participants, countdown(sh.entries[id].p, now))
	}
	return st
}

// participant returns one participant by ID.
func (sh *show) participant(id string) (Participant, bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.entries[id]
	if !ok {
		return Participant{}, false
	}
	return countdown(e.p, sh.now()), true
}

// conns returns the connected guests, to be told of a change outside the
// lock.
func (sh *show) conns() []guestConn {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	cs := make([]guestConn, 0, len(sh.entries))
	for _, id := range sh.order {
		if c := sh.entries[id].conn; c != nil {
			cs = append(cs, c)
		}
	}
	return cs
}

// subscribe returns a channel of events and a function that ends the
// subscription and closes the channel (safe to call twice, and after close).
// The channel is also closed when the show closes.
func (sh *show) subscribe() (<-chan Event, func()) {
	ch := make(chan Event, subscriberBuffer)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.closed {
		close(ch)
		return ch, func() {}
	}
	sh.subs[ch] = struct{}{}
	return ch, func() {
		sh.mu.Lock()
		defer sh.mu.Unlock()
		if _, ok := sh.subs[ch]; ok {
			delete(sh.subs, ch)
			close(ch)
		}
	}
}

// emitLocked numbers ev and hands it to every subscriber without blocking:
// when a subscriber's buffer is full its oldest event is dropped to make room,
// so the newest news always gets through and the gap in Seq tells the
// subscriber to resynchronise with State. Sends happen under mu, which is
// also what makes closing the channels in unsubscribe safe.
func (sh *show) emitLocked(ev Event) {
	sh.seq++
	ev.Seq = sh.seq
	ev.Participant = countdown(ev.Participant, sh.now())
	for ch := range sh.subs {
		select {
		case ch <- ev:
			continue
		default:
		}
		select { // full: drop the oldest (the subscriber may race us to it)
		case <-ch:
		default:
		}
		select {
		case ch <- ev:
		default:
		}
	}
}

// close ends every subscription and refuses new guests. It returns the
// connections still open so the caller can close them.
func (sh *show) close() []guestConn {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.closed {
		return nil
	}
	sh.closed = true
	for ch := range sh.subs {
		delete(sh.subs, ch)
		close(ch)
	}
	var cs []guestConn
	for _, e := range sh.entries {
		if e.conn != nil {
			cs = append(cs, e.conn)
		}
	}
	return cs
}
