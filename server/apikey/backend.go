package apikey

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"
)

// Backend keeps the non-seeded keys (hashed) where several managers share them, such as a Kubernetes
// Secret. Add and Remove change one key each, so that managers adding keys at once do not overwrite
// each other's.
type Backend interface {
	Load(ctx context.Context) ([]Key, error)
	Add(ctx context.Context, k Key) error
	Remove(ctx context.Context, k Key) error
}

// backendTimeout bounds one backend call.
const backendTimeout = 30 * time.Second

// NewShared opens a store whose keys live in b. Keys other managers add or remove reach this one
// through Replace (the backend's owner watches it).
func NewShared(ctx context.Context, b Backend) (*Store, error) {
	keys, err := b.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("load api keys: %w", err)
	}
	s := &Store{backend: b, byHash: map[string]Key{}}
	s.Replace(keys)
	return s, nil
}

// Replace makes keys the store's non-seeded keys (the shared copy changed); seeded keys stay.
// Malformed entries are skipped.
func (s *Store) Replace(keys []Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, k := range s.byHash {
		if !k.Seeded {
			delete(s.byHash, h)
		}
	}
	for _, k := range keys {
		if len(k.Hash) != sha256.Size*2 || k.ID == "" {
			continue
		}
		if _, seeded := s.byHash[k.Hash]; seeded {
			continue
		}
		k.Seeded = false
		s.byHash[k.Hash] = k
	}
}

func (s *Store) persistAdd(k Key) error {
	if s.backend == nil {
		return s.saveLocked()
	}
	ctx, cancel := context.WithTimeout(context.Background(), backendTimeout)
	defer cancel()
	return s.backend.Add(ctx, k)
}

func (s *Store) persistRemove(k Key) error {
	if s.backend == nil {
		return s.saveLocked()
	}
	ctx, cancel := context.WithTimeout(context.Background(), backendTimeout)
	defer cancel()
	return s.backend.Remove(ctx, k)
}
