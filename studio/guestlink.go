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
// after a restart too. The file is private (0600, its folder 0700) like
// the settings' stream keys; the token is never logged (Secret).
const guestLinkFile = "guest-link.json"

// guestLinkRecord is the file's form: a Secret marshals as [redacted].
type guestLinkRecord struct {
	Token string `json:"token"`
}

// keptGuestToken returns the token kept in dir, or a new one (fresh) for
// the caller to keep there once the studio has started (keepGuestToken): a
// studio refused for bad input leaves nothing behind. An unreadable or
// damaged file gets a new token (the error says why).
func keptGuestToken(dir string) (tok Secret, fresh bool, err error) {
	path := filepath.Join(dir, guestLinkFile)
	b, err := os.ReadFile(path)
	if err == nil {
		var rec guestLinkRecord
		if json.Unmarshal(b, &rec) == nil && validToken(rec.Token) {
			return Secret{rec.Token}, false, nil
		}
		err = fmt.Errorf("studio: %s is damaged; made a new guest link", path)
	} else if errors.Is(err, fs.ErrNotExist) {
		err = nil
	} else {
		err = fmt.Errorf("studio: read the guest link: %w", err)
	}
	return NewSecret(), true, err
}

// keepGuestToken saves tok as the guest link's token, atomically.
func keepGuestToken(dir string, tok Secret) error {
	if err := keepJSON(filepath.Join(dir, guestLinkFile), guestLinkRecord{Token: tok.Reveal()}); err != nil {
		return fmt.Errorf("studio: keep the guest link: %w", err)
	}
	return nil
}

// validToken is whether s could be a token NewSecret made: what a
// hand-edited or truncated file would otherwise turn into a guessable link.
func validToken(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == tokenBytes
}
