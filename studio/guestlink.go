package studio

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The guest link's token is kept in the config folder (issue #11), so the
// link the host sent out still works after the studio restarts: a guest's
// page whose studio crashed or quit rejoins the call by itself once it is
// back, rather than telling its guest to ask for a new link. Only "New
// link" (RotateGuestToken) changes it, and the old one is then refused
// after a restart too. The control API's token is kept there too, so
// the scripts and tools that drive the studio keep working across a
// restart; nothing replaces it but deleting its file. Both files are
// private (0600, their folder 0700) like the settings' stream keys; the
// tokens are never logged (Secret).
const (
	guestLinkFile    = "guest-link.json"
	controlTokenFile = "control-token.json"
)

// tokenRecord is a kept token's file: a Secret marshals as [redacted].
type tokenRecord struct {
	Token string `json:"token"`
}

// keptToken returns the token kept in dir's file, or a new one (fresh)
// for the caller to keep there once the studio has started (keepToken):
// a studio refused for bad input leaves nothing behind. An unreadable or
// damaged file gets a new token (the error says why); what names the
// token for it.
func keptToken(dir, file, what string) (tok Secret, fresh bool, err error) {
	path := filepath.Join(dir, file)
	b, err := os.ReadFile(path)
	if err == nil {
		var rec tokenRecord
		if json.Unmarshal(b, &rec) == nil && validToken(rec.Token) {
			return Secret{rec.Token}, false, nil
		}
		err = fmt.Errorf("studio: %s is damaged; made a new %s", path, what)
	} else if errors.Is(err, fs.ErrNotExist) {
		err = nil
	} else {
		err = fmt.Errorf("studio: read the %s: %w", what, err)
	}
	return NewSecret(), true, err
}

// keepToken saves tok in dir's file, atomically.
func keepToken(dir, file, what string, tok Secret) error {
	if err := keepJSON(filepath.Join(dir, file), tokenRecord{Token: tok.Reveal()}); err != nil {
		return fmt.Errorf("studio: keep the %s: %w", what, err)
	}
	return nil
}

// validToken is whether s could be a token NewSecret made: what a
// hand-edited or truncated file would otherwise turn into a guessable link.
func validToken(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == tokenBytes
}
