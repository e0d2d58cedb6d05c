package apikey

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// fileFormat is the on-disk shape: hashes only.
type fileFormat struct {
	Version int   `json:"version"`
	Keys    []Key `json:"keys"`
}

func load(path string) ([]Key, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read api key file: %w", err)
	}
	var f fileFormat
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("parse api key file %s: %w", path, err)
	}
	return f.Keys, nil
}

// saveLocked writes the non-seeded keys atomically (temp file, fsync, rename) with mode 0600.
func (s *Store) saveLocked() error {
	f := fileFormat{Version: 1, Keys: []Key{}}
	for _, k := range s.byHash {
		if !k.Seeded {
			f.Keys = append(f.Keys, k)
		}
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode api keys: %w", err)
	}
	return writeAtomic(s.path, append(b, '\n'))
}

func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create api key dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("create temp api key file: %w", err)
	}
	name := tmp.Name()
	defer os.Remove(name) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("chmod api key file: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write api key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync api key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close api key file: %w", err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("replace api key file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: make the rename durable
		d.Close()
	}
	return nil
}
