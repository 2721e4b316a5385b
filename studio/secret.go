package studio

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"log/slog"
)

// tokenBytes is the entropy of every token the studio hands out: 192 bits,
// comfortably above the 128 bits the guests issue (#4) asks for, and 32
// characters once base64url-encoded.
const tokenBytes = 24

// Secret is a bearer token. It prints and logs as [redacted] so it cannot leak
// through a log line or an error message by accident; use Reveal where the
// value itself is needed (building a URL, comparing).
type Secret struct{ v string }

// NewSecret returns a fresh token of 192 bits from crypto/rand, base64url
// without padding so it can sit in a URL path unescaped.
func NewSecret() Secret {
	b := make([]byte, tokenBytes)
	// crypto/rand.Read never returns an error since Go 1.24 (it crashes the
	// program instead if the OS has no randomness to give).
	_, _ = rand.Read(b)
	return Secret{base64.RawURLEncoding.EncodeToString(b)}
}

// Reveal returns the token itself.
func (s Secret) Reveal() string { return s.v }

// Matches reports whether candidate is this token, in time that does not
// depend on where the first differing byte is. An empty Secret matches
// nothing.
func (s Secret) Matches(candidate string) bool {
	if s.v == "" {
		return false
	}
	// ConstantTimeCompare returns early on a length mismatch, which only
	// tells an attacker the length; every token we issue has the same one.
	return subtle.ConstantTimeCompare([]byte(s.v), []byte(candidate)) == 1
}

func (s Secret) String() string       { return "[redacted]" }
func (s Secret) GoString() string     { return "[redacted]" }
func (s Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }
func (s Secret) MarshalText() ([]byte, error) {
	return []byte("[redacted]"), nil
}
