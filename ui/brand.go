package ui

import (
	"fmt"
	"image/color"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio"
	"greenroom/studio/settings"
)

// brandTab edits the creator's brand kits — colours, logo, overlay — and
// chooses the one the show wears. Every change is worn at once
// (Show.SetBrand) and saved (settings.Brands); the chosen kit is worn again
// when Greenroom starts.
type brandTab struct {
	s          *Studio
	kits       []studio.BrandKit // as saved; cur indexes the one worn, -1 for none
	cur        int
	pick       *widget.Select
	remove     *widget.Button
	name       *widget.Entry
	colour     colourField
	background colourField
	logo       fileField
	overlay    fileField
	corner     *widget.Select
	size       *widget.Slider
	sizeText   *widget.Label
	form       *fyne.Container
	loading    bool // the fields are being filled from a kit, not by the host
}

type colourField struct {
	entry  *widget.Entry
	swatch *canvas.Rectangle
	row    fyne.CanvasObject
}

type fileField struct {
	label *widget.Label
	clear *widget.Button
	row   fyne.CanvasObject
}

// corners are the logo's places, as the host reads them and as BrandKit
// spells them.
var corners = []struct{ Label, Name string }{
	{"Top right", "top-right"}, {"Top left", "top-left"},
	{"Bottom right", "bottom-right"}, {"Bottom left", "bottom-left"},
}

var hexColour = regexp.MustCompile(`^#?[0-9a-fA-F]{6}$`)

func (t *brandTab) build(s *Studio) fyne.CanvasObject {
	t.s = s
	set := s.st.Get()
	t.kits, t.cur = set.Brands, -1
	t.pick = widget.NewSelect(nil, t.choose)
	t.pick.PlaceHolder = "Greenroom's own look"
	add := widget.NewButtonWithIcon("New", theme.ContentAddIcon(), t.newKit)
	t.remove = widget.NewButtonWithIcon("", theme.DeleteIcon(), t.deleteKit)
	t.remove.Importance = widget.LowImportance
	t.name = widget.NewEntry()
	t.name.OnChanged = t.rename

	t.colour = t.colourField("Brand colour", func(k *studio.BrandKit, v string) { k.Colour = v })
	t.background = t.colourField("Background", func(k *studio.BrandKit, v string) { k.Background = v })
	t.logo = t.fileField("Logo", func(k *studio.BrandKit, v string) { k.Logo = v })
	t.overlay = t.fileField("Overlay", func(k *studio.BrandKit, v string) { k.Overlay = v })
	var labels []string
	for _, c := range corners {
		labels = append(labels, c.Label)
	}
	t.corner = widget.NewSelect(labels, func(label string) {
		for _, c := range corners {
			if c.Label == label {
				t.edit(func(k *studio.BrandKit) { k.LogoCorner = c.Name })
			}
		}
	})
	t.size = widget.NewSlider(4, 40)
	t.size.Step = 1
	t.sizeText = widget.NewLabel("")
	t.size.OnChanged = func(v float64) { t.sizeText.SetText(fmt.Sprintf("%.0f %%", v)) }
	t.size.OnChangeEnded = func(v float64) { t.edit(func(k *studio.BrandKit) { k.LogoSize = v / 100 }) }

	hint := widget.NewLabel("Changes show in the program at once and are saved. Pictures are PNG files; an overlay covers the whole frame, with see-through parts.")
	hint.Wrapping = fyne.TextWrapWord
	hint.Importance = widget.LowImportance
	t.form = container.NewVBox(widget.NewForm(
		widget.NewFormItem("Name", t.name),
		widget.NewFormItem("Brand colour", t.colour.row),
		widget.NewFormItem("Background", t.background.row),
		widget.NewFormItem("Logo", t.logo.row),
		widget.NewFormItem("Logo corner", t.corner),
		widget.NewFormItem("Logo size", container.NewBorder(nil, nil, nil, t.sizeText, t.size)),
		widget.NewFormItem("Overlay", t.overlay.row),
	))
	box := container.NewVBox(
		widget.NewLabelWithStyle("Brand kit", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewBorder(nil, nil, nil, container.NewHBox(add, t.remove), t.pick),
		t.form, hint,
	)
	t.listKits()
	if i := slices.IndexFunc(t.kits, func(k studio.BrandKit) bool { return k.Name == set.Brand }); i >= 0 {
		t.cur = i
		t.show()
		kit := t.kits[i]
		s.command("Couldn't dress the show in your brand kit", func() error { return s.show.SetBrand(kit) })
	} else {
		t.show()
	}
	return container.NewVScroll(box)
}

func (t *brandTab) colourField(what string, set func(*studio.BrandKit, string)) colourField {
	f := colourField{entry: widget.NewEntry(), swatch: canvas.NewRectangle(color.Transparent)}
	f.entry.SetPlaceHolder("#15803d")
	f.swatch.SetMinSize(fyne.NewSize(32, 32))
	f.swatch.CornerRadius = 6
	f.swatch.StrokeColor = colorMuted
	f.swatch.StrokeWidth = 1
	f.entry.OnChanged = func(v string) {
		v = strings.TrimSpace(v)
		if v != "" && !hexColour.MatchString(v) {
			return // not a colour yet: wait for the rest of it
		}
		if v != "" && !strings.HasPrefix(v, "#") {
			v = "#" + v
		}
		f.swatch.FillColor = swatchColour(v)
		f.swatch.Refresh()
		t.edit(func(k *studio.BrandKit) { set(k, strings.ToLower(v)) })
	}
	pick := widget.NewButtonWithIcon("", theme.ColorPaletteIcon(), func() {
		d := dialog.NewColorPicker(what, "", func(c color.Color) {
			r, g, b, _ := c.RGBA()
			f.entry.SetText(fmt.Sprintf("#%02x%02x%02x", r>>8, g>>8, b>>8))
		}, t.s.w)
		d.Advanced = true
		d.Show()
	})
	f.row = container.NewBorder(nil, nil, nil, container.NewHBox(container.NewCenter(f.swatch), pick), f.entry)
	return f
}

func swatchColour(hex string) color.Color {
	var r, g, b uint8
	if _, err := fmt.Sscanf(hex, "#%02x%02x%02x", &r, &g, &b); err != nil {
		return color.Transparent
	}
	return color.NRGBA{r, g, b, 0xff}
}

func (t *brandTab) fileField(what string, set func(*studio.BrandKit, string)) fileField {
	f := fileField{label: widget.NewLabel("")}
	f.label.Truncation = fyne.TextTruncateEllipsis
	choose := widget.NewButtonWithIcon("Choose…", theme.FolderOpenIcon(), func() {
		d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
			if err != nil || r == nil {
				return
			}
			path := r.URI().Path()
			r.Close()
			t.edit(func(k *studio.BrandKit) { set(k, path) })
		}, t.s.w)
		d.SetFilter(storage.NewExtensionFileFilter([]string{".png", ".PNG"}))
		d.SetTitleText("Choose the " + strings.ToLower(what) + " (PNG)")
		d.Resize(fyne.NewSize(720, 520))
		d.Show()
	})
	f.clear = widget.NewButtonWithIcon("", theme.CancelIcon(), func() { t.edit(func(k *studio.BrandKit) { set(k, "") }) })
	f.clear.Importance = widget.LowImportance
	f.row = container.NewBorder(nil, nil, nil, container.NewHBox(choose, f.clear), f.label)
	return f
}

// listKits puts the kits' names in the picker.
func (t *brandTab) listKits() {
	var names []string
	for _, k := range t.kits {
		names = append(names, k.Name)
	}
	t.pick.Options = names
	t.pick.Refresh()
}

// show fills the fields from the kit worn (empty, Greenroom's own look,
// when none).
func (t *brandTab) show() {
	var k studio.BrandKit
	if t.cur >= 0 {
		k = t.kits[t.cur]
	}
	t.loading = true
	defer func() { t.loading = false }()
	if t.cur >= 0 {
		t.pick.SetSelected(k.Name)
		t.remove.Enable()
	} else {
		t.pick.ClearSelected()
		t.remove.Disable()
	}
	t.name.SetText(k.Name)
	t.colour.entry.SetText(k.Colour)
	t.background.entry.SetText(k.Background)
	t.colour.swatch.FillColor = swatchColour(k.Colour)
	t.background.swatch.FillColor = swatchColour(k.Background)
	t.colour.swatch.Refresh()
	t.background.swatch.Refresh()
	for _, f := range []struct {
		field fileField
		path  string
	}{{t.logo, k.Logo}, {t.overlay, k.Overlay}} {
		if f.path == "" {
			f.field.label.SetText("None")
			f.field.clear.Disable()
		} else {
			f.field.label.SetText(filepath.Base(f.path))
			f.field.clear.Enable()
		}
	}
	t.corner.SetSelected(corners[0].Label)
	for _, c := range corners {
		if c.Name == k.LogoCorner {
			t.corner.SetSelected(c.Label)
		}
	}
	size := k.LogoSize * 100
	if size == 0 {
		size = 10
	}
	t.size.SetValue(size)
	t.sizeText.SetText(fmt.Sprintf("%.0f %%", size))
}

// edit changes the kit worn — a new one, if none is — then wears and saves
// it.
func (t *brandTab) edit(change func(*studio.BrandKit)) {
	if t.loading {
		return
	}
	created := t.cur < 0
	if created {
		t.kits = append(t.kits, studio.BrandKit{Name: t.freeName()})
		t.cur = len(t.kits) - 1
		t.listKits()
	}
	old := t.kits[t.cur]
	change(&t.kits[t.cur])
	if t.kits[t.cur] == old && !created {
		return
	}
	t.listKits()
	t.show()
	t.wear()
}

// wear dresses the show in the kit chosen and saves the kits.
func (t *brandTab) wear() {
	s := t.s
	var kit studio.BrandKit
	if t.cur >= 0 {
		kit = t.kits[t.cur]
	}
	kits := slices.Clone(t.kits)
	s.command("Couldn't use the brand kit", func() error { return s.show.SetBrand(kit) })
	s.save(func(set *settings.Settings) { set.Brands, set.Brand = kits, kit.Name }, nil)
}

// freeName is a name no kit has yet.
func (t *brandTab) freeName() string {
	for n := len(t.kits) + 1; ; n++ {
		name := fmt.Sprintf("Brand kit %d", n)
		if !slices.ContainsFunc(t.kits, func(k studio.BrandKit) bool { return k.Name == name }) {
			return name
		}
	}
}

func (t *brandTab) newKit() {
	t.kits = append(t.kits, studio.BrandKit{Name: t.freeName()})
	t.cur = len(t.kits) - 1
	t.listKits()
	t.show()
	t.wear()
}

func (t *brandTab) choose(name string) {
	if t.loading {
		return
	}
	t.cur = slices.IndexFunc(t.kits, func(k studio.BrandKit) bool { return k.Name == name })
	t.show()
	t.wear()
}

func (t *brandTab) deleteKit() {
	if t.cur < 0 {
		return
	}
	t.kits = slices.Delete(t.kits, t.cur, t.cur+1)
	t.cur = -1
	t.listKits()
	t.show()
	t.wear()
}

// rename renames the kit worn; a name that is empty or another kit's is
// not taken (yet: the host is still typing).
func (t *brandTab) rename(name string) {
	name = strings.TrimSpace(name)
	if t.loading || t.cur < 0 || name == "" || slices.ContainsFunc(t.kits, func(k studio.BrandKit) bool { return k.Name == name }) {
		return
	}
	t.kits[t.cur].Name = name
	t.listKits()
	t.loading = true
	t.pick.SetSelected(name)
	t.loading = false
	kits := slices.Clone(t.kits)
	t.s.save(func(set *settings.Settings) { set.Brands, set.Brand = kits, name }, nil)
}

// brandProblem words a kit the program refused (studio.ErrBadBrand): the
// error already says which part and why, after the package's prefix.
func brandProblem(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "brand kit "); i >= 0 {
		msg = msg[i:]
	}
	return msg + ". Pick another file or colour under Brand."
}
