package ui

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"reflect"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio"
)

// RecordingsLister is the optional interface of a Show that adds the
// Recordings tab: the past shows of the recordings folder, as GET
// /api/recordings lists them (studio.Studio.Recordings). It reads the
// disk: the window calls it off the UI thread.
type RecordingsLister interface {
	Recordings(ctx context.Context) studio.Recordings
}

// recordingsTab lists the past shows, each opening onto its files and an
// Open folder button. It is loaded when the window opens, when a show
// starts or ends, when it comes into view, on Refresh, and while in view
// every liveTicks while a show is live (its files grow) and every tick
// while a guest's own recording it lists is still coming in (poll). UI thread only, but
// for lister.
type recordingsTab struct {
	s      *Studio
	lister RecordingsLister
	item   *container.TabItem // the tab, to know whether it is in view
	// idle counts the ticks since the last listing began.
	idle int
	// open opens a folder in the desktop's file manager: the app's
	// OpenURL (xdg-open on Linux); tests put a recorder here.
	open func(*url.URL) error

	status  *widget.Label
	refresh *widget.Button
	shows   *widget.Accordion
	// loading: a listing is under way; again: another was asked for
	// meanwhile, and follows it (the show ended as it read).
	loading, again bool
	listed         studio.Recordings
}

func (t *recordingsTab) build(s *Studio, lister RecordingsLister) fyne.CanvasObject {
	t.s, t.lister, t.open = s, lister, s.app.OpenURL
	title := widget.NewLabelWithStyle("Past shows", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	t.status = widget.NewLabel("")
	t.status.Wrapping = fyne.TextWrapWord
	t.status.Importance = widget.LowImportance
	t.refresh = widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), t.load)
	t.shows = widget.NewAccordion()
	return container.NewBorder(
		container.NewVBox(container.NewHBox(title, layout.NewSpacer(), t.refresh), t.status), nil, nil, nil,
		container.NewVScroll(t.shows))
}

// load lists the shows again, off the UI thread.
func (t *recordingsTab) load() {
	if t.lister == nil {
		return
	}
	t.idle = 0
	if t.loading {
		t.again = true
		return
	}
	t.loading = true
	t.refresh.Disable()
	t.s.async(func() {
		l := t.lister.Recordings(context.Background()) // bounded by the studio
		t.s.do(func() {
			t.loading = false
			t.refresh.Enable()
			t.show(l)
			if t.again {
				t.again = false
				t.load()
			}
		})
	})
}

// liveTicks is how many of the window's ticks (a second each) apart the
// tab reads the folder again while a show is live: a listing stats every
// file of up to MaxListedShows shows, on a machine encoding the show.
// After the show it follows the guests' uploads every tick.
const liveTicks = 2

// poll, at each tick, lists the shows again while the tab is in view
// and something in it moves on its own: a show is live (live: its files
// and length grow; its guests' own recordings upload as it goes), or a
// guest's own recording it lists is uploading, or still recording with
// no show live (its page has yet to say it stopped) — issue #11: the
// host sees each guest's "uploading N %" or "complete". Out of view, or
// once all is still, it reads nothing (coming into view reads at once).
func (t *recordingsTab) poll(live bool) {
	t.idle++
	if t.item == nil || t.s.tabs.Selected() != t.item {
		return
	}
	switch {
	case live && t.idle >= liveTicks, !live && t.uploadsComing():
		t.load()
	}
}

// uploadsComing is whether a guest's own recording listed is not yet
// complete.
func (t *recordingsTab) uploadsComing() bool {
	for _, sh := range t.listed.Shows {
		for _, u := range sh.Uploads {
			if u.State != studio.UploadComplete {
				return true
			}
		}
	}
	return false
}

// show puts listing l in the tab; the shows that were open stay open,
// and those listed as before keep their widgets: while a show is live
// the tab is listed every few seconds, and only that show changes.
func (t *recordingsTab) show(l studio.Recordings) {
	type shown struct {
		show studio.RecordedShow
		item *widget.AccordionItem
	}
	before := map[string]shown{}
	for i, it := range t.shows.Items {
		if i < len(t.listed.Shows) {
			before[t.listed.Shows[i].Folder] = shown{t.listed.Shows[i], it}
		}
	}
	t.listed = l
	switch {
	case l.Error != "":
		t.status.SetText(l.Error)
	case l.Dir == "":
		t.status.SetText("Shows are not recorded: choose a recordings folder in Settings.")
	case len(l.Shows) == 0:
		t.status.SetText("No shows recorded yet in " + l.Dir + ".")
	case l.More > 0:
		t.status.SetText(fmt.Sprintf("The newest %d shows in %s; %d older ones are not listed.", len(l.Shows), l.Dir, l.More))
	default:
		t.status.SetText("In " + l.Dir + ".")
	}
	items := make([]*widget.AccordionItem, len(l.Shows))
	for i, sh := range l.Shows {
		was, ok := before[sh.Folder]
		if ok && reflect.DeepEqual(was.show, sh) {
			items[i] = was.item
			continue
		}
		items[i] = widget.NewAccordionItem(showLine(sh), t.detail(sh))
		items[i].Open = ok && was.item.Open
	}
	t.shows.Items = items
	t.shows.Refresh()
}

// showLine is a show in one line, short enough for the tab's width (an
// accordion's titles do not wrap): title, day, length, size, and whether
// it is live or was cut short. The time of day is in its detail.
func showLine(sh studio.RecordedShow) string {
	line := cmp.Or(sh.Title, sh.Folder)
	if r := []rune(line); len(r) > maxTitle {
		line = string(r[:maxTitle-1]) + "…"
	}
	if start, err := time.Parse(time.RFC3339, sh.Start); err == nil {
		line += " · " + start.Local().Format("2 Jan 2006")
	}
	if sh.DurationMS > 0 {
		line += " · " + clockTime(time.Duration(sh.DurationMS)*time.Millisecond)
	}
	line += " · " + byteSize(sh.Bytes)
	switch {
	case sh.Live:
		line += " · recording"
	case sh.CutShort:
		line += " · cut short"
	}
	return line
}

// maxTitle is the most of a show's title its line shows, in characters.
const maxTitle = 24

// detail is what a show opens onto: when it went live, Open folder, why it
// looks odd, and its files.
func (t *recordingsTab) detail(sh studio.RecordedShow) fyne.CanvasObject {
	box := container.NewVBox()
	note := func(text string, imp widget.Importance) {
		l := widget.NewLabel(text)
		l.Wrapping = fyne.TextWrapWord
		l.Importance = imp
		box.Add(l)
	}
	// One line, cut short rather than wrapped: the folder's name can be
	// long, and Open folder shows it whole.
	when := widget.NewLabel("Folder: " + sh.Folder)
	if start, err := time.Parse(time.RFC3339, sh.Start); err == nil {
		when.SetText("Went live " + start.Local().Format("Mon 2 Jan 2006 at 15:04") + " · " + sh.Folder)
	}
	when.Truncation = fyne.TextTruncateEllipsis
	when.Importance = widget.LowImportance
	box.Add(when)
	open := widget.NewButtonWithIcon("Open folder", theme.FolderOpenIcon(), func() { t.openFolder(sh.Path) })
	box.Add(container.NewHBox(open, layout.NewSpacer()))
	if sh.CutShort {
		note("The studio stopped before the show ended: the files play up to about their last second.", widget.WarningImportance)
	}
	if sh.Error != "" {
		note(sh.Error, widget.WarningImportance)
	}
	files := sh.Files
	if sh.Program != nil {
		p := *sh.Program
		p.Name = "Program"
		files = append([]studio.RecordedFile{p}, files...)
	}
	for _, f := range files {
		line := f.File
		if f.Name != "" {
			line = f.Name
			if f.Role != "" && f.Role != "screen" {
				line += " (" + f.Role + ")"
			}
			line += ": " + f.File
		}
		if f.Error != "" {
			note(line+" — "+f.Error, widget.WarningImportance)
			continue
		}
		note(line+" · "+byteSize(f.Bytes), widget.MediumImportance)
	}
	if sh.MoreFiles > 0 {
		note(fmt.Sprintf("and %d more files", sh.MoreFiles), widget.LowImportance)
	}
	// The guests' own recordings the studio knows of, those kept from
	// before a restart too: whether each is all there yet.
	for _, u := range sh.Uploads {
		switch u.State {
		case studio.UploadComplete:
			note(u.Name+"'s own recording: uploaded", widget.MediumImportance)
		case studio.UploadUploading:
			note(fmt.Sprintf("%s's own recording: uploading, %d %%", u.Name, u.Percent), widget.WarningImportance)
		default:
			note(fmt.Sprintf("%s's own recording: recording, %d %% uploaded", u.Name, u.Percent), widget.MediumImportance)
		}
	}
	return box
}

// openFolder shows path in the desktop's file manager.
func (t *recordingsTab) openFolder(path string) {
	u := &url.URL{Scheme: "file", Path: path}
	if err := t.open(u); err != nil {
		t.s.showError(fmt.Sprintf("Could not open %s: %v", path, err))
	}
}

// clockTime is d as a clock reads: 1:02:03, or 2:03 under an hour.
func clockTime(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// byteSize is n bytes in the units a file manager shows (1 kB = 1000 B),
// to about three figures.
func byteSize(n int64) string {
	f, unit := float64(n), ""
	switch {
	case n >= 1e9:
		f, unit = f/1e9, "GB"
	case n >= 1e6:
		f, unit = f/1e6, "MB"
	case n >= 1e3:
		f, unit = f/1e3, "kB"
	default:
		return fmt.Sprintf("%d B", n)
	}
	if f >= 100 {
		return fmt.Sprintf("%.0f %s", f, unit) // three figures are enough
	}
	return fmt.Sprintf("%.1f %s", f, unit)
}
