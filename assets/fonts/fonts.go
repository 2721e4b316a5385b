// Package fonts holds the font files embedded in the binary for the
// scripts the Go fonts lack and every name tag must be able to show:
// Noto Sans Arabic and Noto Sans Hebrew, Bold (under the SIL Open Font
// License 1.1, OFL.txt beside them; unmodified, as Debian 12's
// fonts-noto-core ships them). About 280 kB together.
package fonts

import _ "embed"

// Arabic is Noto Sans Arabic Bold (Arabic, Persian, Urdu; OpenType
// shaping: joining forms, marks, ligatures).
//
//go:embed NotoSansArabic-Bold.ttf
var Arabic []byte

// Hebrew is Noto Sans Hebrew Bold (Hebrew, with points).
//
//go:embed NotoSansHebrew-Bold.ttf
var Hebrew []byte
