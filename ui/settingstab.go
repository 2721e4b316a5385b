package ui

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio/settings"
)

// settingsTab edits the program's output, the recording folder and the
// host's camera and microphone. Every change is saved at once; output and
// folder apply the next time the show goes live, devices at once.
type settingsTab struct {
	s       *Studio
	size    *widget.Select
	fps     *widget.Select
	kbps    *widget.Entry
	folder  *widget.Label
	choose  *widget.Button
	note    *widget.Label
	kbpsErr *widget.Label
	host    hostPickers
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
		s.save(func(set *settings.Settings) { set.Output.FPS = n }, nil)
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

	t.note = widget.NewLabel("You're live: changes apply the next time you go live.")
	t.note.Importance = widget.WarningImportance
	t.note.Wrapping = fyne.TextWrapWord
	t.note.Hide()

	keys := widget.NewLabel("Ctrl+L  go live / end the stream\nCtrl+1…9  put a person on or off stage")
	keys.TextStyle = fyne.TextStyle{Monospace: true}
	hint := widget.NewLabel("YouTube and Twitch recommend 4500 kb/s at 720p30 and 6000 kb/s at 1080p30.")
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
		t.kbpsErr, hint,
		widget.NewSeparator(),
		widget.NewLabelWithStyle("Recording folder", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		t.folder, container.NewHBox(t.choose),
	)
	if host := t.host.build(s); host != nil {
		box.Add(widget.NewSeparator())
		box.Add(host)
	}
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
		t.s.save(func(set *settings.Settings) { set.Output.Width, set.Output.Height = w, h }, nil)
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
	t.s.save(func(set *settings.Settings) { set.Output.VideoKbps = n }, nil)
}

func (t *settingsTab) chooseFolder() {
	d := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
		if err != nil || u == nil {
			return
		}
		dir := u.Path()
		t.folder.SetText(dir)
		t.s.save(func(set *settings.Settings) { set.RecordingDir = dir }, nil)
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
	}
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

// serial runs functions off the UI thread one after the other, in the order
// they were given: changes that must land in order (settings saves, scene
// commands) without the UI thread waiting for any of them.
type serial struct {
	mu      sync.Mutex
	queue   []func()
	running bool
}

func (q *serial) run(s *Studio, f func()) {
	q.mu.Lock()
	q.queue = append(q.queue, f)
	start := !q.running
	q.running = true
	q.mu.Unlock()
	if start {
		s.async(q.drain)
	}
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
