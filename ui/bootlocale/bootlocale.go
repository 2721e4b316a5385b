// Package bootlocale gives Fyne a language it can read when the user's
// locale is one it cannot (issue #15): C.UTF-8, the default of Debian's
// containers and of many a service, made Fyne print "Fyne error: Error
// parsing user locale C" three times at every start, before anything
// useful, even for `greenroom live` with no window.
//
// Fyne reads the locale in the init of fyne.io/fyne/v2/lang, before main
// runs, so the fix must be an init that runs earlier. Go initialises, of
// the packages whose imports are all initialised, the one first by import
// path (the Go spec, "Package initialization"): this package's path sorts
// before "fyne.io/…" and it imports only what Fyne's lang imports too, so
// its init always runs first. No path in module greenroom sorts that
// early, hence a module of its own (replaced by this directory in
// greenroom's go.mod). main imports it for its effect alone.
//
// It owns nothing after that init.
package bootlocale

import (
	"os"

	"github.com/jeandeaual/go-locale"
	"golang.org/x/text/language"
)

func init() {
	if !Readable() {
		// LANGUAGE is what Fyne's locale reader (go-locale) takes when
		// the locale is not exactly C or POSIX; for everything else it
		// chooses only the language of gettext's messages, which glibc
		// ignores under the C locale anyway. LC_ALL, LC_* and LANG — the
		// character set, formats, sorting — stay the user's.
		os.Setenv("LANGUAGE", "en")
	}
}

// Readable says whether every language in the user's locale settings is
// one Fyne parses (with its own locale reader and parser, as
// fyne.io/fyne/v2/lang does). None at all (LANG=C) is readable: Fyne
// takes English without a word.
func Readable() bool {
	locs, err := locale.GetLocales()
	if err != nil {
		return false
	}
	for _, l := range locs {
		if _, err := language.Parse(l); err != nil {
			return false
		}
	}
	return true
}
