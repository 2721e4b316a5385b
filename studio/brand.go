package studio

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"greenroom/encode/scene"
)

// BrandKit is a look for the show: colours as "#rrggbb" and pictures as
// PNG files (with alpha). Empty fields keep Greenroom's own look. It is
// plain JSON, for the settings file to keep a creator's kits in.
type BrandKit struct {
	Name       string `json:"name"`
	Colour     string `json:"colour,omitempty"`      // name tags and avatars
	Background string `json:"background,omitempty"`  // behind the tiles
	Logo       string `json:"logo,omitempty"`        // PNG file
	LogoCorner string `json:"logo_corner,omitempty"` // top-right (default), top-left, bottom-right, bottom-left
	Overlay    string `json:"overlay,omitempty"`     // PNG file laid over the whole program
	// LogoSize is the logo's height as a share of the program's, up to
	// a half; 0 is a tenth.
	LogoSize float64 `json:"logo_size,omitempty"`
}

// ErrBadBrand says a brand kit cannot be used; the error says which part.
var ErrBadBrand = errors.New("brand kit")

var corners = map[string]scene.Corner{
	"": scene.TopRight, "top-right": scene.TopRight, "top-left": scene.TopLeft,
	"bottom-right": scene.BottomRight, "bottom-left": scene.BottomLeft,
}

// maxPicture bounds a logo's or overlay's pixels (a 4K frame): decoding
// is allowed this much memory and no more.
const maxPicture = 3840 * 2160

// load reads the kit's files and colours into a scene.Brand.
func (k BrandKit) load() (scene.Brand, error) {
	var b scene.Brand
	var err error
	if b.Colour, err = parseColour(k.Colour); err != nil {
		return b, fmt.Errorf("%w %q: colour: %v", ErrBadBrand, k.Name, err)
	}
	if b.Background, err = parseColour(k.Background); err != nil {
		return b, fmt.Errorf("%w %q: background: %v", ErrBadBrand, k.Name, err)
	}
	corner, ok := corners[k.LogoCorner]
	if !ok {
		return b, fmt.Errorf("%w %q: logo corner %q: want top-right, top-left, bottom-right or bottom-left", ErrBadBrand, k.Name, k.LogoCorner)
	}
	b.LogoCorner = corner
	if k.LogoSize < 0 || k.LogoSize > 0.5 {
		return b, fmt.Errorf("%w %q: logo size %v: want a share of the height from 0 to 0.5", ErrBadBrand, k.Name, k.LogoSize)
	}
	b.LogoHeight = k.LogoSize
	if b.Logo, err = loadPNG(k.Logo); err != nil {
		return b, fmt.Errorf("%w %q: logo: %v", ErrBadBrand, k.Name, err)
	}
	if b.Overlay, err = loadPNG(k.Overlay); err != nil {
		return b, fmt.Errorf("%w %q: overlay: %v", ErrBadBrand, k.Name, err)
	}
	return b, nil
}

// parseColour reads "#rrggbb" (or "rrggbb"); "" is the zero colour.
func parseColour(s string) (color.RGBA, error) {
	if s == "" {
		return color.RGBA{}, nil
	}
	h := strings.TrimPrefix(strings.TrimSpace(s), "#")
	v, err := strconv.ParseUint(h, 16, 32)
	if len(h) != 6 || err != nil {
		return color.RGBA{}, fmt.Errorf("%q is not a colour like #15803d", s)
	}
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 255}, nil
}

func loadPNG(path string) (image.Image, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		return nil, fmt.Errorf("%s is not a PNG picture: %v", filepath.Base(path), err)
	}
	if cfg.Width*cfg.Height > maxPicture {
		return nil, fmt.Errorf("%s is %dx%d: larger than 3840x2160", filepath.Base(path), cfg.Width, cfg.Height)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, err
	}
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", filepath.Base(path), err)
	}
	return img, nil
}

// SetBrand dresses the program in kit: its colours, logo and overlay. A
// kit that cannot be used (a missing file, a bad colour) changes nothing.
// The zero BrandKit is Greenroom's own look.
func (p *Program) SetBrand(kit BrandKit) error {
	b, err := kit.load()
	if err != nil {
		return fmt.Errorf("studio: %w", err)
	}
	p.look.mu.Lock()
	defer p.look.mu.Unlock()
	p.look.kit, p.look.brand = kit, b
	return p.applyLocked()
}

// Brand returns the kit the program is dressed in.
func (p *Program) Brand() BrandKit {
	p.look.mu.Lock()
	defer p.look.mu.Unlock()
	return p.look.kit
}
