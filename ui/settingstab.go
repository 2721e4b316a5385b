package ui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio/settings"
)

// settingsTab edits the program's output, the recording folder, the
// host's camera and microphone, the guests (how long a gone guest keeps
// their place, how many the stage and the green room take, what each may
// send) and the network guests reach the studio through. Every change is
// saved at once. The output applies at once too (OutputFormat), the folder
// the next time the show goes live, devices at once, the guests' settings
// at once (GraceSetter, GuestLimiter), the network at the next start of
// Greenroom. Output and folder are
// disabled while live: a stream cannot change size midway.
type settingsTab struct {
	s       *Studio
	size    *widget.Select
	fps     *widget.Select
	kbps    *widget.Entry
	folder  *widget.Label
	choose  *widget.Button
	note    *widget.Label
	kbpsErr *widget.Label
	output  outputApplier
	host    hostPickers
	net     networkSection
	guests  guestsSection
}

var fpsChoices = []string{"24", "25", "30", "50", "60"}

func sizeLabel(w, h int) string { return fmt.Sprintf("%d × %d (%dp)", w, h, h) }

func (t *settingsTab) build(s *Studio) fyne.CanvasObject {
	t.s = s
	set := s.st.Get()
	var sizes []string
	for _, sz := range settings.Sizes {
		sizes = append(sizes, sizeLabel(sz[0], sz[1]))
	}
	t.size = widget.NewSelect(sizes, nil)
	t.size.SetSelected(sizeLabel(set.Output.Width, set.Output.Height))
	t.size.OnChanged = t.sizeChanged
	t.fps = widget.NewSelect(fpsChoices, nil)
	t.fps.SetSelected(strconv.Itoa(set.Output.FPS))
	t.fps.OnChanged = func(v string) {
		n, _ := strconv.Atoi(v)
		t.saveOutput(func(o *settings.Output) { o.FPS = n })
	}
	t.kbps = widget.NewEntry()
	t.kbps.SetText(strconv.Itoa(set.Output.VideoKbps))
	t.kbpsErr = widget.NewLabel("")
	t.kbpsErr.Importance = widget.DangerImportance
	t.kbpsErr.Wrapping = fyne.TextWrapWord
	t.kbpsErr.Hide()
	t.kbps.OnChanged = t.kbpsChanged
	t.folder = widget.NewLabel(set.RecordingDir)
	t.folder.Wrapping = fyne.TextWrapBreak
	t.choose = widget.NewButtonWithIcon("Choose…", theme.FolderOpenIcon(), t.chooseFolder)

	t.note = widget.NewLabel("You're live: the output and the recording folder can be changed when the stream ends.")
	t.note.Importance = widget.WarningImportance
	t.note.Wrapping = fyne.TextWrapWord
	t.note.Hide()

	keys := widget.NewLabel("Ctrl+L  go live / end the stream\nCtrl+1…9  put a person on or off stage")
	keys.TextStyle = fyne.TextStyle{Monospace: true}
	hint := widget.NewLabel("Changes apply at once: the preview shows them, your next stream and recording are made that way. YouTube and Twitch recommend 4500 kb/s at 720p30 and 6000 kb/s at 1080p30.")
	hint.Wrapping = fyne.TextWrapWord
	hint.Importance = widget.LowImportance
	box := container.NewVBox(
		t.note,
		widget.NewLabelWithStyle("Output", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		widget.NewForm(
			widget.NewFormItem("Size", t.size),
			widget.NewFormItem("Frame rate", t.fps),
			widget.NewFormItem("Video kb/s", t.kbps),
		),
		t.kbpsErr, t.output.build(s), hint,
		widget.NewSeparator(),
		widget.NewLabelWithStyle("Recording folder", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		t.folder, container.NewHBox(t.choose),
	)
	if host := t.host.build(s); host != nil {
		box.Add(widget.NewSeparator())
		box.Add(host)
	}
	box.Add(widget.NewSeparator())
	box.Add(t.guests.build(s))
	box.Add(widget.NewSeparator())
	box.Add(t.net.build(s))
	box.Add(widget.NewSeparator())
	box.Add(widget.NewLabelWithStyle("Keyboard", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
	box.Add(keys)
	return container.NewVScroll(box)
}

// sizeChanged saves the size and, if the bit rate was the default for the old
// size, moves it to the default for the new one.
func (t *settingsTab) sizeChanged(v string) {
	for _, sz := range settings.Sizes {
		if sizeLabel(sz[0], sz[1]) != v {
			continue
		}
		w, h := sz[0], sz[1]
		old := t.s.st.Get().Output
		if old.VideoKbps == settings.DefaultKbps(old.Height) {
			t.kbps.SetText(strconv.Itoa(settings.DefaultKbps(h)))
		}
		t.saveOutput(func(o *settings.Output) { o.Width, o.Height = w, h })
	}
}

func (t *settingsTab) kbpsChanged(v string) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 300 || n > 50000 {
		t.kbpsErr.SetText("Type a bit rate between 300 and 50000 kb/s.")
		t.kbpsErr.Show()
		return
	}
	t.kbpsErr.Hide()
	t.saveOutput(func(o *settings.Output) { o.VideoKbps = n })
}

// saveOutput saves a change of the output and, once saved, applies it.
func (t *settingsTab) saveOutput(change func(*settings.Output)) {
	t.s.save(func(set *settings.Settings) { change(&set.Output) }, func(err error) {
		if err == nil {
			t.output.apply()
		}
	})
}

func (t *settingsTab) chooseFolder() {
	d := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
		if err != nil || u == nil {
			return
		}
		dir := u.Path()
		t.folder.SetText(dir)
		t.s.save(func(set *settings.Settings) { set.RecordingDir = dir }, func(err error) {
			if err == nil {
				t.s.recs.load() // the shows of the new folder
			}
		})
	}, t.s.w)
	if l, err := storage.ListerForURI(storage.NewFileURI(t.s.st.Get().RecordingDir)); err == nil {
		d.SetLocation(l)
	}
	d.Resize(fyne.NewSize(720, 520))
	d.Show()
}

func (t *settingsTab) setLive(live bool) {
	if t.s == nil {
		return
	}
	for _, w := range []fyne.Disableable{t.size, t.fps, t.kbps, t.choose} {
		if live {
			w.Disable()
		} else {
			w.Enable()
		}
	}
	if live {
		t.note.Show()
	} else {
		t.note.Hide()
		t.output.ended()
	}
}

// networkSection edits settings.Network: the STUN/TURN servers, a row each
// with the TURN password masked, one masked entry (with its reveal button)
// to add a server or edit one, the NAT IP, and whether to ask the router
// to forward the studio's ports (UPnP, NAT-PMP). A bad entry is refused
// inline and not saved. The studio reads these when Greenroom starts
// (studio.Config); a show that is a NetworkApplier also takes the servers
// at once, for guests who join from then on. Saving says which.
type networkSection struct {
	s       *Studio
	servers []settings.ICEServer // as saved: what the rows show
	rows    *fyne.Container
	entry   *widget.Entry // a password entry: a TURN URL holds a password
	add     *widget.Button
	cancel  *widget.Button
	editing int // the row being edited, or -1 while adding
	err     *widget.Label
	natIP   *widget.Entry
	natErr  *widget.Label
	// domain and email are the name the studio gets a trusted
	// certificate for (serve's --domain) and the CA's contact.
	domain, email       *widget.Entry
	domainErr, emailErr *widget.Label
	mapPorts            *widget.Check
	note                *widget.Label
	apply               networkApplier
}

// mask stands for a TURN password wherever the window shows a server.
const mask = "••••"

var errAlreadyListed = errors.New("that server is in the list already")

func (n *networkSection) build(s *Studio) fyne.CanvasObject {
	n.s, n.editing = s, -1
	n.apply.na, _ = s.show.(NetworkApplier)
	saved := s.st.Get().Network
	n.servers = saved.ICEServers
	n.rows = container.NewVBox()
	n.entry = widget.NewPasswordEntry()
	n.entry.SetPlaceHolder("stun:…, turn:USER:PASS@… or turns:USER:PASS@…")
	n.entry.OnSubmitted = func(string) { n.submit() }
	n.add = widget.NewButtonWithIcon("Add", theme.ContentAddIcon(), n.submit)
	n.cancel = widget.NewButton("Cancel", func() { n.edit(-1) })
	n.cancel.Hide()
	n.err = dangerLabel()
	n.natIP = widget.NewEntry()
	n.natIP.SetPlaceHolder("e.g. 203.0.113.7 (usually empty)")
	n.natIP.SetText(saved.NATIP)
	n.natErr = dangerLabel()
	n.natIP.OnChanged = n.textSetting(settings.ValidateNATIP, n.natErr, func(set *settings.Network, v string) { set.NATIP = v })
	n.domain = widget.NewEntry()
	n.domain.SetPlaceHolder("e.g. studio.example.com (usually empty)")
	n.domain.SetText(saved.Domain)
	n.domainErr = dangerLabel()
	n.domain.OnChanged = n.textSetting(settings.ValidateDomain, n.domainErr, func(set *settings.Network, v string) { set.Domain = v })
	n.email = widget.NewEntry()
	n.email.SetPlaceHolder("optional: where Let's Encrypt may write")
	n.email.SetText(saved.ACMEEmail)
	n.emailErr = dangerLabel()
	n.email.OnChanged = n.textSetting(settings.ValidateEmail, n.emailErr, func(set *settings.Network, v string) { set.ACMEEmail = v })
	n.mapPorts = widget.NewCheck("Ask my router to forward the studio's ports (UPnP / NAT-PMP)", nil)
	n.mapPorts.SetChecked(saved.MapPorts)
	n.mapPorts.OnChanged = n.mapPortsChanged
	n.note = widget.NewLabel("")
	n.note.Importance = widget.SuccessImportance
	n.note.Wrapping = fyne.TextWrapWord
	n.note.Hide()
	// turns: on 443 is what gets through a network that lets out only the
	// web (TCP to 443): proven in the NAT lab, TestLabGuestOnWebOnlyNetwork.
	hint := lowLabel("Guests on strict office or mobile networks may need a TURN server to reach you; where only the web gets through, TURN over TLS on port 443 (turns:). Add each server as:")
	formats := widget.NewLabel("stun:HOST:PORT\nturn:USER:PASS@HOST:PORT?transport=udp\nturns:USER:PASS@HOST:443?transport=tcp")
	formats.TextStyle = fyne.TextStyle{Monospace: true}
	formats.Importance = widget.LowImportance
	when := lowLabel("transport=tcp works too. Guests get these servers as well. Greenroom reads them when it starts, so a change applies at the next start.")
	if n.apply.na != nil {
		when.SetText("transport=tcp works too. Guests get these servers as well. A change applies to guests who join from now on.")
	}
	natHint := lowLabel("Public IP: only when this machine is behind a 1:1 NAT (a cloud server): its public address, offered to guests instead of its own.")
	mapHint := lowLabel("So that guests outside your home network can join without you forwarding ports by hand. The Guests tab says whether the router did. A change applies at the next start of Greenroom.")
	domainHint := lowLabel("Domain: a name of yours whose DNS record points at your public address. The studio gets a certificate for it that browsers trust (from Let's Encrypt), so guests see no warning, and the guest link becomes https://NAME/. Port 443 of your address must reach the studio: it asks your router for it, or forward it by hand. A change applies at the next start of Greenroom.")
	n.showRows()
	return container.NewVBox(
		widget.NewLabelWithStyle("Network (for guests behind strict firewalls)", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		hint, formats, when, n.rows,
		container.NewBorder(nil, nil, nil, container.NewHBox(n.cancel, n.add), n.entry),
		n.err,
		widget.NewForm(widget.NewFormItem("Public IP", n.natIP)),
		n.natErr, natHint, n.mapPorts, mapHint,
		widget.NewForm(widget.NewFormItem("Domain", n.domain), widget.NewFormItem("Email", n.email)),
		n.domainErr, n.emailErr, domainHint, n.note,
	)
}

func lowLabel(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	l.Importance = widget.LowImportance
	return l
}

func dangerLabel() *widget.Label {
	l := widget.NewLabel("")
	l.Importance = widget.DangerImportance
	l.Wrapping = fyne.TextWrapWord
	l.Hide()
	return l
}

// showRows lays out a row per saved server; one the studio cannot use (a
// hand-edited file) says why, so the user can edit or remove it.
func (n *networkSection) showRows() {
	n.rows.RemoveAll()
	for i, srv := range n.servers {
		label := widget.NewLabel(srv.Masked(mask))
		label.TextStyle = fyne.TextStyle{Monospace: true}
		label.Truncation = fyne.TextTruncateEllipsis
		edit := widget.NewButtonWithIcon("", theme.DocumentCreateIcon(), func() { n.edit(i) })
		remove := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() { n.remove(i) })
		n.rows.Add(container.NewBorder(nil, nil, nil, container.NewHBox(edit, remove), label))
		if err := srv.Validate(); err != nil {
			bad := dangerLabel()
			bad.SetText("Not used: " + err.Error())
			bad.Show()
			n.rows.Add(bad)
		}
	}
	if len(n.servers) == 0 {
		none := widget.NewLabel("No STUN or TURN server: guests connect directly.")
		none.Importance = widget.LowImportance
		n.rows.Add(none)
	}
	n.rows.Refresh()
}

// edit puts server i into the entry, masked, to change it; -1 empties the
// entry to add a server.
func (n *networkSection) edit(i int) {
	n.editing = i
	text, action, icon := "", "Add", theme.ContentAddIcon()
	n.cancel.Hide()
	if i >= 0 {
		text, action, icon = n.servers[i].Reveal(), "Save", theme.ConfirmIcon()
		n.cancel.Show()
	}
	n.entry.SetText(text)
	n.entry.Password = true
	n.entry.Refresh()
	n.add.SetText(action)
	n.add.SetIcon(icon)
	n.err.Hide()
}

// submit adds the server typed in the entry, or saves the one being
// edited, if it is usable and not in the list already.
func (n *networkSection) submit() {
	srv := settings.NewICEServer(n.entry.Text)
	err := srv.Validate()
	if err == nil {
		for i, s := range n.servers {
			if s == srv && i != n.editing {
				err = errAlreadyListed
			}
		}
	}
	if err != nil {
		n.err.SetText("Not saved: " + err.Error())
		n.err.Show()
		return
	}
	next := append([]settings.ICEServer(nil), n.servers...)
	if n.editing >= 0 && n.editing < len(next) {
		next[n.editing] = srv
	} else {
		next = append(next, srv)
	}
	n.saveServers(next)
}

func (n *networkSection) remove(i int) {
	next := append([]settings.ICEServer(nil), n.servers...)
	n.saveServers(append(next[:i], next[i+1:]...))
}

// saveServers shows the list and saves it. The rows change at once, so
// that a second change made before the first is saved builds on it (saves
// land in order); a failure shows the list as the file still has it.
func (n *networkSection) saveServers(next []settings.ICEServer) {
	n.servers = next
	n.showRows()
	n.edit(-1)
	n.s.save(func(set *settings.Settings) { set.Network.ICEServers = next }, func(err error) {
		if err != nil {
			n.servers = n.s.st.Get().Network.ICEServers
			n.showRows()
			n.err.SetText("Not saved: " + n.s.scrub(err.Error()))
			n.err.Show()
			return
		}
		n.serversSaved()
	})
}

// textSetting is an entry's OnChanged for a Network field the studio reads
// when it starts (the NAT IP, the domain, the email): what validate
// refuses is shown in errLabel and not saved; the rest is saved trimmed.
func (n *networkSection) textSetting(validate func(string) error, errLabel *widget.Label, set func(*settings.Network, string)) func(string) {
	return func(v string) {
		if err := validate(v); err != nil {
			errLabel.SetText(err.Error())
			errLabel.Show()
			return
		}
		errLabel.Hide()
		v = strings.TrimSpace(v)
		n.s.save(func(s *settings.Settings) { set(&s.Network, v) }, func(err error) {
			if err == nil {
				n.saved()
			}
		})
	}
}

// mapPortsChanged saves whether the studio asks the router to forward its
// ports; the studio asks (or not) when it starts.
func (n *networkSection) mapPortsChanged(on bool) {
	n.s.save(func(set *settings.Settings) { set.Network.MapPorts = on }, func(err error) {
		if err == nil {
			n.saved()
		}
	})
}

func (n *networkSection) saved() {
	n.note.SetText("Saved. It applies to guests at the next start of Greenroom.")
	n.note.Importance = widget.SuccessImportance
	n.note.Show()
	n.note.Refresh()
}

// save changes the settings off the UI thread, in the order asked — typing
// "6000" saves 6, 600 and 6000, and the last must win — then calls done (if
// any) on the UI thread. A failure to save is shown; done also gets it.
func (s *Studio) save(change func(*settings.Settings), done func(error)) {
	s.saves.run(s, func() {
		err := s.st.Update(change)
		s.do(func() {
			if err != nil {
				s.showError("Couldn't save your settings: " + s.scrub(err.Error()))
			}
			if done != nil {
				done(err)
			}
		})
	})
}

// latestOnly applies a stream of changes off the UI thread, one at a time,
// and only the latest: a change that a later one overtakes before it runs
// is skipped (typing a bit rate saves 6, 600, 6000: only 6000 is applied),
// and the UI hears only how the latest went.
type latestOnly struct {
	mu  sync.Mutex // held while a change is applied
	gen atomic.Int64
}

// run applies work off the UI thread unless a later change overtakes it,
// then calls done with its error on the UI thread unless a later change
// came meanwhile.
func (l *latestOnly) run(s *Studio, work func() error, done func(error)) {
	gen := l.gen.Add(1)
	s.async(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.gen.Load() != gen {
			return // a later change follows
		}
		err := work()
		s.do(func() {
			if l.gen.Load() == gen {
				done(err)
			}
		})
	})
}

// serial runs functions off the UI thread one after the other, in the order
// they were given: changes that must land in order (settings saves, scene
// commands) without the UI thread waiting for any of them.
type serial struct {
	mu      sync.Mutex
	queue   []func()
	running bool
	given   uint64 // how many functions it was given
}

func (q *serial) run(s *Studio, f func()) {
	q.mu.Lock()
	q.queue = append(q.queue, f)
	q.given++
	start := !q.running
	q.running = true
	q.mu.Unlock()
	if start {
		s.async(q.drain)
	}
}

// state reports whether a function is queued or running, and how many it
// was given.
func (q *serial) state() (busy bool, given uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.running, q.given
}

func (q *serial) drain() {
	for {
		q.mu.Lock()
		if len(q.queue) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		f := q.queue[0]
		q.queue = q.queue[1:]
		q.mu.Unlock()
		f()
	}
}
