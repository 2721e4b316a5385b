package ui

import (
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio/settings"
)

// bannersTab is the queue of lower-thirds the host prepares before the show
// and shows one at a time, and the ticker. The queue and the ticker's text
// are kept in the settings; what is on screen is the program's (Show.Scene),
// so a banner put up through the control API shows here as on screen too.
type bannersTab struct {
	s        *Studio
	entry    *widget.Entry
	add      *widget.Button
	list     *fyne.Container
	empty    *widget.Label
	rows     []bannerRow
	ticker   *widget.Entry
	tickerOn *widget.Check
	applying bool   // tickerOn is being set from the scene, not by the host
	seen     string // the program's ticker, as last shown
}

type bannerRow struct {
	text   string
	label  *widget.Label
	show   *widget.Button
	remove *widget.Button
}

func (t *bannersTab) build(s *Studio) fyne.CanvasObject {
	t.s = s
	set := s.st.Get()
	t.entry = widget.NewEntry()
	t.entry.SetPlaceHolder("Ann Lee — Greenroom, or a message")
	t.entry.OnSubmitted = func(string) { t.addBanner() }
	t.add = widget.NewButtonWithIcon("Add", theme.ContentAddIcon(), t.addBanner)
	t.empty = widget.NewLabel("No banners yet. Type one above: it waits here until you show it.")
	t.empty.Wrapping = fyne.TextWrapWord
	t.empty.Importance = widget.LowImportance
	t.list = container.NewVBox()

	t.ticker = widget.NewEntry()
	t.ticker.SetPlaceHolder("Text that runs along the bottom")
	t.ticker.SetText(set.Ticker)
	t.ticker.OnChanged = func(text string) {
		s.save(func(set *settings.Settings) { set.Ticker = text }, nil)
	}
	t.ticker.OnSubmitted = func(string) {
		if t.tickerOn.Checked {
			t.runTicker(true)
		}
	}
	t.tickerOn = widget.NewCheck("Run the ticker", func(on bool) {
		if !t.applying {
			t.runTicker(on)
		}
	})

	hint := widget.NewLabel("One banner is on screen at a time: showing one takes the other down.")
	hint.Wrapping = fyne.TextWrapWord
	hint.Importance = widget.LowImportance
	box := container.NewVBox(
		widget.NewLabelWithStyle("Lower thirds", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewBorder(nil, nil, nil, t.add, t.entry),
		t.list, t.empty, hint,
		widget.NewSeparator(),
		widget.NewLabelWithStyle("Ticker", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		t.ticker, t.tickerOn,
	)
	t.setBanners(set.Banners)
	return container.NewVScroll(box)
}

// oneLine is how the program writes a banner (studio.Program.ShowBanner):
// the window keeps the queue in the same form so that it can tell which
// one is on screen.
func oneLine(text string) string { return strings.Join(strings.Fields(text), " ") }

func (t *bannersTab) addBanner() {
	text := oneLine(t.entry.Text)
	if text == "" {
		return
	}
	t.entry.SetText("")
	t.setBanners(append(t.texts(), text))
	t.saveBanners()
}

func (t *bannersTab) texts() []string {
	var texts []string
	for _, r := range t.rows {
		texts = append(texts, r.text)
	}
	return texts
}

func (t *bannersTab) saveBanners() {
	texts := t.texts()
	t.s.save(func(set *settings.Settings) { set.Banners = texts }, nil)
}

// setBanners rebuilds the list: a row per banner, with Show (or Hide, for
// the one on screen) and remove.
func (t *bannersTab) setBanners(texts []string) {
	t.rows = nil
	var objs []fyne.CanvasObject
	for i, text := range texts {
		r := bannerRow{text: text, label: widget.NewLabel(text)}
		r.label.Truncation = fyne.TextTruncateEllipsis
		r.show = widget.NewButton("Show", func() { t.toggle(text) })
		r.remove = widget.NewButtonWithIcon("", theme.DeleteIcon(), func() { t.removeBanner(i) })
		r.remove.Importance = widget.LowImportance
		t.rows = append(t.rows, r)
		objs = append(objs, container.NewBorder(nil, nil, nil, container.NewHBox(r.show, r.remove), r.label))
	}
	t.list.Objects = objs
	t.list.Refresh()
	t.refresh()
}

func (t *bannersTab) removeBanner(i int) {
	texts := t.texts()
	if texts[i] == t.s.scene.Banner {
		t.toggle(texts[i]) // a banner taken off the list leaves the screen too
	}
	t.setBanners(slices.Delete(texts, i, i+1))
	t.saveBanners()
}

// toggle shows text, or takes it down if it is on screen.
func (t *bannersTab) toggle(text string) {
	s := t.s
	if s.scene.Banner == text {
		text = ""
	}
	s.scene.Banner = text
	t.refresh()
	s.command("Couldn't change the banner", func() error { return s.show.ShowBanner(text) })
}

func (t *bannersTab) runTicker(on bool) {
	s := t.s
	text := ""
	if on {
		if text = oneLine(t.ticker.Text); text == "" {
			s.showError("Type the ticker's text first.")
			t.applying = true
			t.tickerOn.SetChecked(false)
			t.applying = false
			return
		}
	}
	s.scene.Ticker, t.seen = text, text
	s.command("Couldn't change the ticker", func() error { return s.show.SetTicker(text) })
}

// refresh shows which banner is on screen and whether the ticker runs, from
// s.scene.
func (t *bannersTab) refresh() {
	if t.s == nil {
		return
	}
	sc := t.s.scene
	for _, r := range t.rows {
		if r.text == sc.Banner {
			r.show.SetText("Hide")
			r.show.SetIcon(theme.VisibilityOffIcon())
			r.show.Importance = widget.DangerImportance
			r.label.TextStyle.Bold = true
		} else {
			r.show.SetText("Show")
			r.show.SetIcon(theme.VisibilityIcon())
			r.show.Importance = widget.HighImportance
			r.label.TextStyle.Bold = false
		}
		r.show.Refresh()
		r.label.Refresh()
	}
	if len(t.rows) == 0 {
		t.empty.Show()
	} else {
		t.empty.Hide()
	}
	if on := sc.Ticker != ""; on != t.tickerOn.Checked {
		t.applying = true
		t.tickerOn.SetChecked(on)
		t.applying = false
	}
	// A ticker set elsewhere (the control API) shows its text here; one
	// that did not change leaves alone what the host may be typing.
	if sc.Ticker != t.seen {
		t.seen = sc.Ticker
		if sc.Ticker != "" && sc.Ticker != oneLine(t.ticker.Text) {
			t.ticker.SetText(sc.Ticker)
		}
	}
}
