package apikey

import (
	"crypto/sha256"
	"crypto/subtle"
)

// Admin recognises the manager's admin key. The zero value (no admin key configured) matches nothing.
type Admin struct {
	hash [sha256.Size]byte
	on   bool
}

// NewAdmin returns the matcher for key; an empty key turns the admin API off.
func NewAdmin(key string) Admin {
	return Admin{hash: sha256.Sum256([]byte(key)), on: key != ""}
}

// On reports whether an admin key is configured.
func (a Admin) On() bool { return a.on }

// Matches compares got with the admin key in constant time (hashes first, so the comparison does not
// leak the key's length either).
func (a Admin) Matches(got string) bool {
	if !a.on || got == "" {
		return false
	}
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], a.hash[:]) == 1
}
