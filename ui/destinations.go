package ui

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"image/color"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio"
	"greenroom/studio/presets"
	"greenroom/studio/settings"
)

// destinationsTab lists where the show goes live, with each destination's
// health while live, and edits them. Stream keys are typed into a password
// entry and are never displayed otherwise.
type destinationsTab struct {
	s     *Studio
	body  *fyne.Container // relaid out when the note or the add buttons come and go
	list  *fyne.Container
	rows  map[string]*destRow
	rec   *canvas.Text
	note  *widget.Label
	add   *fyne.Container
	stats map[string]DestinationStats
	form  destForm
	// checks are the last preflight's results by destination ID (nil
	// while one runs or before any): a row says what failed until the
	// next Go Live or an edit.
	checks map[string]studio.DestinationCheck
	lists  fyne.CanvasObject
	editor fyne.CanvasObject
}

type destRow struct {
	enabled *widget.Check
	where   *canvas.Text // platform, server, picture
	health  *canvas.Text
	edit    *widget.Button
	del     *widget.Button
}

type destForm struct {
	editing string // the ID of the destination being edited; "" for a new one
	service settings.Service
	title   *widget.Label
	name    *widget.Entry
	url     *widget.Entry
	ingest  *widget.Select // the preset's servers, when it has more than one
	key     *widget.Entry
	pass    *widget.Entry // an SRT server's passphrase
	keyHelp *widget.Label
	// picture is Landscape or Vertical: which program it is sent.
	picture *widget.RadioGroup
	enabled *widget.Check
	warn    *widget.Label // what the platform would refuse in the output
	err     *widget.Label
	save    *widget.Button
}

func (t *destinationsTab) build(s *Studio) fyne.CanvasObject {
	t.s = s
	t.rows = map[string]*destRow{}
	t.stats = map[string]DestinationStats{}
	t.list = container.NewVBox()
	t.note = widget.NewLabel("You're live: changes apply the next time you go live.")
	t.note.Wrapping = fyne.TextWrapWord
	t.note.Importance = widget.WarningImportance
	t.note.Hide()
	t.rec = canvas.NewText("", colorMuted)
	t.rec.TextSize = 12

	addTitle := widget.NewLabelWithStyle("Add a destination", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	grid := container.NewGridWithColumns(2)
	for _, p := range presets.All {
		grid.Add(widget.NewButtonWithIcon(p.Name, theme.ContentAddIcon(), func() {
			t.openForm(settings.NewDestination(settings.Service(p.ID)))
		}))
	}
	t.add = container.NewVBox(addTitle, grid)

	// Labels inset their text by the theme's inner padding; line the
	// recording's canvas.Text up with them.
	rec := container.New(layout.NewCustomPaddedLayout(0, 0, theme.InnerPadding(), 0), t.rec)
	t.body = container.NewVBox(t.note, t.list, widget.NewSeparator(), t.add, widget.NewSeparator(), rec)
	t.lists = container.NewVScroll(t.body)
	t.editor = t.buildForm()
	t.editor.Hide()
	t.refresh()
	return container.NewStack(t.lists, t.editor)
}

func (t *destinationsTab) buildForm() fyne.CanvasObject {
	f := &t.form
	f.title = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	f.name = widget.NewEntry()
	f.name.SetPlaceHolder("What you call it, e.g. My channel")
	f.url = widget.NewEntry()
	f.url.SetPlaceHolder("rtmp://server/app, rtmps://server:443/app or srt://server:port")
	f.ingest = widget.NewSelect(nil, func(label string) {
		for _, in := range settings.PresetFor(f.service).Ingests {
			if in.Label == label {
				f.url.SetText(in.URL)
			}
		}
	})
	f.ingest.PlaceHolder = "Other (typed below)"
	f.url.OnChanged = func(u string) { // the picker follows a URL typed or pasted
		sel := ""
		for _, in := range settings.PresetFor(f.service).Ingests {
			if in.URL == strings.TrimSpace(u) {
				sel = in.Label
			}
		}
		switch {
		case sel == f.ingest.Selected:
		case sel == "":
			f.ingest.ClearSelected()
		default:
			f.ingest.SetSelected(sel)
		}
	}
	// A password entry masks the key; its eye button reveals it while the
	// user checks what they pasted.
	f.key = widget.NewPasswordEntry()
	f.key.SetPlaceHolder("Paste the stream key")
	f.pass = widget.NewPasswordEntry()
	f.pass.SetPlaceHolder("srt:// only: the server's passphrase, if it has one")
	f.keyHelp = widget.NewLabel("")
	f.keyHelp.Wrapping = fyne.TextWrapWord
	f.keyHelp.Importance = widget.LowImportance
	f.picture = widget.NewRadioGroup([]string{pictureLandscape, pictureVertical}, func(string) { t.showWarnings() })
	f.picture.Horizontal = true
	f.picture.Required = true
	f.enabled = widget.NewCheck("Go live here", nil)
	f.warn = widget.NewLabel("")
	f.warn.Wrapping = fyne.TextWrapWord
	f.warn.Importance = widget.WarningImportance
	f.err = widget.NewLabel("")
	f.err.Wrapping = fyne.TextWrapWord
	f.err.Importance = widget.DangerImportance
	f.err.Hide()
	f.save = widget.NewButtonWithIcon("Save", theme.ConfirmIcon(), t.saveForm)
	f.save.Importance = widget.HighImportance
	cancel := widget.NewButton("Cancel", t.closeForm)
	form := widget.NewForm(
		widget.NewFormItem("Name", f.name),
		widget.NewFormItem("Server", f.ingest),
		widget.NewFormItem("Server URL", f.url),
		widget.NewFormItem("Stream key", f.key),
		widget.NewFormItem("Passphrase", f.pass),
		widget.NewFormItem("Picture", f.picture),
	)
	return container.NewVScroll(container.NewVBox(f.title, form, f.keyHelp, f.enabled, f.warn, f.err,
		container.NewHBox(layout.NewSpacer(), cancel, f.save)))
}

func (t *destinationsTab) openForm(d settings.Destination) {
	f := &t.form
	f.editing = d.ID
	f.service = d.Service
	if d.ID == "" {
		f.title.SetText("New destination: " + settings.PresetFor(d.Service).Name)
	} else {
		f.title.SetText("Edit " + d.Name)
	}
	p := settings.PresetFor(d.Service)
	f.name.SetText(d.Name)
	f.url.SetText(d.URL)
	// A platform with several servers offers them by name (Twitch's
	// regions, YouTube's backup and RTMPS); the URL stays editable.
	var labels []string
	f.ingest.ClearSelected()
	for _, in := range p.Ingests {
		labels = append(labels, in.Label)
	}
	f.ingest.SetOptions(labels)
	for _, in := range p.Ingests {
		if in.URL == d.URL {
			f.ingest.SetSelected(in.Label)
		}
	}
	if len(labels) > 1 {
		f.ingest.Show()
	} else {
		f.ingest.Hide()
	}
	f.picture.SetSelected(pictureOf(d))
	t.showWarnings()
	f.key.SetText(d.Key.Reveal())
	f.key.Password = true
	f.key.Refresh()
	f.pass.SetText(d.Passphrase.Reveal())
	f.pass.Password = true
	f.pass.Refresh()
	f.keyHelp.SetText("Where to find the key: " + p.KeyHelp)
	f.enabled.SetChecked(d.Enabled)
	f.err.Hide()
	f.save.Enable()
	t.lists.Hide()
	t.editor.Show()
}

// The form's choice of program for a destination (issue #13): the
// vertical one is made only while a destination or recording takes it.
const (
	pictureLandscape = "Landscape (16:9)"
	pictureVertical  = "Vertical (9:16)"
)

func pictureOf(d settings.Destination) string {
	if d.Vertical {
		return pictureVertical
	}
	return pictureLandscape
}

// showWarnings says in the form what the platform would refuse of the
// program the form would send it.
func (t *destinationsTab) showWarnings() {
	f := &t.form
	d := settings.Destination{Service: f.service, Vertical: f.picture.Selected == pictureVertical}
	f.warn.SetText(strings.Join(d.Warnings(t.s.st.Get().Output), "\n"))
	f.warn.Hidden = f.warn.Text == ""
	f.warn.Refresh()
}

func (t *destinationsTab) closeForm() {
	t.form.key.SetText("") // don't keep a key in a hidden widget
	t.form.pass.SetText("")
	t.editor.Hide()
	t.lists.Show()
}

func (t *destinationsTab) saveForm() {
	f := &t.form
	d := settings.Destination{
		ID:       f.editing,
		Service:  f.service,
		Name:     strings.TrimSpace(f.name.Text),
		URL:      strings.TrimSpace(f.url.Text),
		Key:      settings.NewStreamKey(f.key.Text),
		Enabled:  f.enabled.Checked,
		Vertical: f.picture.Selected == pictureVertical,
		// Kept for an srt:// server only: an RTMP URL has no use for it.
		Passphrase: settings.NewStreamKey(f.pass.Text),
	}
	if !strings.HasPrefix(strings.ToLower(d.URL), "srt://") {
		d.Passphrase = settings.StreamKey{}
	}
	if d.Name == "" {
		d.Name = settings.PresetFor(d.Service).Name
	}
	if err := d.Validate(); err != nil {
		f.err.SetText(capitalize(t.s.scrub(err.Error())) + ".")
		f.err.Show()
		return
	}
	if d.ID == "" {
		d.ID = newID()
	}
	delete(t.checks, d.ID) // what the last Go Live found may be what was fixed
	f.save.Disable()
	t.s.save(func(set *settings.Settings) {
		for i := range set.Destinations {
			if set.Destinations[i].ID == d.ID {
				set.Destinations[i] = d
				return
			}
		}
		set.Destinations = append(set.Destinations, d)
	}, func(err error) {
		f.save.Enable()
		if err != nil {
			f.err.SetText("Couldn't save: " + t.s.scrub(err.Error()))
			f.err.Show()
			return
		}
		t.closeForm()
		t.refresh()
	})
}

// refresh redraws the list from the settings and the last stats.
func (t *destinationsTab) refresh() {
	if t.s == nil {
		return // not built yet
	}
	live := t.s.live
	set := t.s.st.Get()
	t.rows = map[string]*destRow{}
	var objs []fyne.CanvasObject
	if len(set.Destinations) == 0 {
		l := widget.NewLabel("No destinations yet. Add one below: the show goes live to every destination that is switched on, all at once.")
		l.Wrapping = fyne.TextWrapWord
		objs = append(objs, l)
	}
	for _, d := range set.Destinations {
		r, obj := t.newRow(d)
		t.rows[d.ID] = r
		if live {
			r.enabled.Disable()
			r.edit.Disable()
			r.del.Disable()
		}
		objs = append(objs, obj)
	}
	t.list.Objects = objs
	t.list.Refresh()
	if live {
		t.note.Show()
		t.add.Hide()
	} else {
		t.note.Hide()
		t.add.Show()
	}
	t.rec.Text, t.rec.Color = "Recording to "+set.RecordingDir, colorMuted
	if st, ok := t.stats[""]; ok && live {
		t.rec.Text, t.rec.Color = healthText(st)
		t.rec.Text = "Recording: " + t.rec.Text
	}
	if st, ok := t.stats[VerticalRecordingID]; ok && live {
		text, c := healthText(st)
		t.rec.Text += " · vertical: " + text
		if c != colorOK { // the one in trouble colours the line
			t.rec.Color = c
		}
	}
	t.rec.Refresh()
	t.body.Refresh()
}

func (t *destinationsTab) newRow(d settings.Destination) (*destRow, fyne.CanvasObject) {
	r := &destRow{}
	id := d.ID
	r.enabled = widget.NewCheck("", nil)
	r.enabled.SetChecked(d.Enabled)
	r.enabled.OnChanged = func(on bool) {
		t.s.save(func(set *settings.Settings) {
			for i := range set.Destinations {
				if set.Destinations[i].ID == id {
					set.Destinations[i].Enabled = on
				}
			}
		}, func(error) { t.refresh() })
	}
	name := canvas.NewText(d.Name, theme.Color(theme.ColorNameForeground))
	name.TextStyle = fyne.TextStyle{Bold: true}
	name.TextSize = 15
	r.where = canvas.NewText(settings.PresetFor(d.Service).Name+" · "+hostOf(d.URL)+" · "+pictureOf(d), colorMuted)
	r.where.TextSize = 12
	r.health = canvas.NewText("", colorMuted)
	r.health.TextSize = 12
	switch st, ok := t.stats[d.ID]; {
	case t.s.live && ok:
		r.health.Text, r.health.Color = healthText(st)
	case !d.Enabled:
		r.health.Text = "Off"
	case t.s.checking:
		r.health.Text, r.health.Color = "Checking…", colorWarn
	case !t.s.live && !t.checks[d.ID].OK && t.checks[d.ID].Summary != "":
		r.health.Text, r.health.Color = "✕ "+t.s.scrub(t.checks[d.ID].Summary), colorLive
	default:
		if err := d.Validate(); err != nil {
			r.health.Text, r.health.Color = "Needs attention: "+t.s.scrub(err.Error()), colorWarn
		} else if w := d.Warnings(t.s.st.Get().Output); len(w) > 0 && !t.s.live {
			// The sentence is too long for the row; the form and Go Live
			// show it whole.
			r.health.Text, r.health.Color = "Ready · ⚠ a warning: Edit shows it", colorWarn
		} else if t.s.live {
			r.health.Text = "Not live (switched on after the start)"
		} else {
			r.health.Text, r.health.Color = "Ready", colorOK
		}
	}
	r.edit = widget.NewButtonWithIcon("", theme.DocumentCreateIcon(), func() { t.openForm(t.find(id)) })
	r.edit.Importance = widget.LowImportance
	r.del = widget.NewButtonWithIcon("", theme.DeleteIcon(), func() {
		t.s.confirm("Remove "+d.Name+"?", "Its server URL and stream key are forgotten.", "Remove", func() {
			t.s.save(func(set *settings.Settings) {
				var keep []settings.Destination
				for _, x := range set.Destinations {
					if x.ID != id {
						keep = append(keep, x)
					}
				}
				set.Destinations = keep
			}, func(error) { t.refresh() })
		})
	})
	r.del.Importance = widget.LowImportance
	text := container.NewVBox(name, r.where, r.health)
	bg := canvas.NewRectangle(colorCard)
	bg.CornerRadius = 8
	row := container.NewBorder(nil, nil, r.enabled, container.NewHBox(r.edit, r.del), text)
	return r, container.NewStack(bg, container.NewPadded(row))
}

func (t *destinationsTab) find(id string) settings.Destination {
	for _, d := range t.s.st.Get().Destinations {
		if d.ID == id {
			return d
		}
	}
	return settings.Destination{}
}

// applyStats shows the outputs' health, and tells the creator in the banner
// when one stops or starts reconnecting — once per change, not every second.
func (s *Studio) applyStats(stats []DestinationStats) {
	t := &s.dest
	t.stats = map[string]DestinationStats{}
	dests := s.st.Get().Destinations
	for _, st := range stats {
		if st.ID == "" {
			st.ID = idByName(dests, st.Name)
		}
		for _, d := range dests {
			if d.ID == st.ID && st.ID != "" {
				st.Name = d.Name // the user's word for it, not the output's
			}
		}
		t.stats[st.ID] = st
		prev := s.health[st.ID]
		s.health[st.ID] = st.State
		if st.State == prev {
			continue
		}
		switch st.State {
		case StateFailed:
			s.showError(st.Name + " stopped: " + s.explainText(st.Err))
		case StateReconnecting:
			s.showError(st.Name + " lost its connection; reconnecting… " + s.explainText(st.Err))
		}
	}
	t.refresh()
}

// idByName finds the destination an output without an ID belongs to: the
// one it is named after, alone or followed by " (…)" (how studio.Program
// names its outputs: "Twitch (rtmp://live.twitch.tv/app/[redacted])").
// Anything else — the recording — gets "".
func idByName(dests []settings.Destination, name string) string {
	for _, d := range dests {
		if name == d.Name || strings.HasPrefix(name, d.Name+" (") {
			return d.ID
		}
	}
	return ""
}

// healthText words one output's stats for a row of the list.
func healthText(st DestinationStats) (string, color.Color) {
	switch st.State {
	case StateLive:
		s := fmt.Sprintf("● Live · %.1f Mb/s · %.0f fps", st.BitRate/1e6, st.FPS)
		if st.Dropped > 0 {
			s += fmt.Sprintf(" · %d dropped", st.Dropped)
		}
		if st.Reconnects > 0 {
			s += fmt.Sprintf(" · %d reconnects", st.Reconnects)
		}
		return s, colorOK
	case StateConnecting:
		return "Connecting…", colorWarn
	case StateReconnecting:
		return fmt.Sprintf("Reconnecting (%d)…", st.Reconnects+1), colorWarn
	case StateFailed:
		return "✕ Stopped: " + st.Err, colorLive
	}
	return capitalize(st.State), colorMuted
}

func hostOf(u string) string {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	host, _, _ := strings.Cut(rest, "/")
	return host
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func newID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return "d" + hex.EncodeToString(b)
}
