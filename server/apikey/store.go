// Package apikey issues and verifies the E2B-style API keys ("e2b_" + 40 lowercase hex) that clients
// send as X-API-Key. Only SHA-256 hashes are kept; a key's plaintext is shown once, when it is created.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Prefix starts every key.
const Prefix = "e2b_"

// Shape describes a valid key for error messages.
const Shape = `"e2b_" followed by 40 lowercase hex characters`

// idLen is how many hex characters of a key's hash make its id.
const idLen = 12

var keyPattern = regexp.MustCompile(`^e2b_[0-9a-f]{40}$`)

// Errors the store returns.
var (
	ErrNotFound = errors.New("api key not found")
	ErrBadShape = errors.New("malformed api key: want " + Shape)
	ErrSeeded   = errors.New("api key comes from SANDBOX_API_KEYS and cannot be deleted here; remove it from that variable")
)

// Key is a stored key: never its plaintext.
type Key struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Hash      string    `json:"hash"` // SHA-256 of the plaintext, lowercase hex
	CreatedAt time.Time `json:"createdAt"`
	// Seeded keys come from SANDBOX_API_KEYS; they live in memory only, so removing one from the
	// variable revokes it at the next start.
	Seeded bool `json:"-"`
}

// Store holds keys in memory and persists the non-seeded ones to a JSON file, or to a Backend
// shared by several managers.
type Store struct {
	path    string
	backend Backend

	mu     sync.RWMutex
	byHash map[string]Key
}

// New opens the store persisted at path, creating nothing until the first key is created.
func New(path string) (*Store, error) {
	s := &Store{path: path, byHash: map[string]Key{}}
	keys, err := load(path)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if len(k.Hash) != sha256.Size*2 || k.ID == "" {
			return nil, fmt.Errorf("api key file %s: entry %q is malformed", path, k.ID)
		}
		s.byHash[k.Hash] = k
	}
	return s, nil
}

// ValidShape reports whether plaintext looks like a key this store issues.
func ValidShape(plaintext string) bool { return keyPattern.MatchString(plaintext) }

// Hash returns the lowercase hex SHA-256 of plaintext.
func Hash(plaintext string) string {
	sum := sha256.Sum256([]byte(plaintext))
	return hex.EncodeToString(sum[:])
}

// Create issues a new key named name, persists it and returns its plaintext (the only time it is
// available) with the stored record.
func (s *Store) Create(name string) (string, Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		plain, err := generate()
		if err != nil {
			return "", Key{}, err
		}
		k := newKey(name, plain)
		if s.idTaken(k.ID) {
			continue // 48-bit id collision: draw again
		}
		s.byHash[k.Hash] = k
		if err := s.persistAdd(k); err != nil {
			delete(s.byHash, k.Hash)
			return "", Key{}, err
		}
		return plain, k, nil
	}
}

// Verify returns the key whose plaintext is plaintext.
func (s *Store) Verify(plaintext string) (Key, bool) {
	if plaintext == "" {
		return Key{}, false
	}
	h := Hash(plaintext)
	s.mu.RLock()
	k, ok := s.byHash[h]
	s.mu.RUnlock()
	if !ok || subtle.ConstantTimeCompare([]byte(k.Hash), []byte(h)) != 1 {
		return Key{}, false
	}
	return k, true
}

// List returns every key, oldest first.
func (s *Store) List() []Key {
	s.mu.RLock()
	keys := make([]Key, 0, len(s.byHash))
	for _, k := range s.byHash {
		keys = append(keys, k)
	}
	s.mu.RUnlock()
	slices.SortFunc(keys, func(a, b Key) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return keys
}

// Get returns the key with id.
func (s *Store) Get(id string) (Key, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, k := range s.byHash {
		if k.ID == id {
			return k, nil
		}
	}
	return Key{}, fmt.Errorf("key %q: %w", id, ErrNotFound)
}

// Delete revokes the key with id.
func (s *Store) Delete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, k := range s.byHash {
		if k.ID != id {
			continue
		}
		if k.Seeded {
			return fmt.Errorf("key %q: %w", id, ErrSeeded)
		}
		delete(s.byHash, h)
		if err := s.persistRemove(k); err != nil {
			s.byHash[h] = k
			return err
		}
		return nil
	}
	return fmt.Errorf("key %q: %w", id, ErrNotFound)
}

// Seed adds keys given in plaintext (SANDBOX_API_KEYS) in memory only. Every key is checked before
// any is added; the error names the position of a malformed one, never its text.
func (s *Store) Seed(plaintexts []string) error {
	keys := make([]Key, 0, len(plaintexts))
	now := time.Now().UTC()
	for i, p := range plaintexts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !ValidShape(p) {
			return fmt.Errorf("SANDBOX_API_KEYS entry %d: %w", i+1, ErrBadShape)
		}
		k := newKey("seeded", p)
		k.CreatedAt = now
		k.Seeded = true
		keys = append(keys, k)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		if _, ok := s.byHash[k.Hash]; !ok {
			s.byHash[k.Hash] = k
		}
	}
	return nil
}

// ParseList splits a comma-separated SANDBOX_API_KEYS value.
func ParseList(v string) []string {
	var out []string
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// EnsureOne creates a key named "default" when the store holds none, so a fresh manager is usable;
// created reports whether plaintext is new (the caller prints it once).
func (s *Store) EnsureOne() (plaintext string, created bool, err error) {
	s.mu.RLock()
	n := len(s.byHash)
	s.mu.RUnlock()
	if n > 0 {
		return "", false, nil
	}
	plain, _, err := s.Create("default")
	if err != nil {
		return "", false, err
	}
	return plain, true, nil
}

func (s *Store) idTaken(id string) bool {
	for _, k := range s.byHash {
		if k.ID == id {
			return true
		}
	}
	return false
}

func newKey(name, plain string) Key {
	h := Hash(plain)
	return Key{ID: h[:idLen], Name: name, Hash: h, CreatedAt: time.Now().UTC()}
}

func generate() (string, error) {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate api key: %w", err)
	}
	return Prefix + hex.EncodeToString(b[:]), nil
}
