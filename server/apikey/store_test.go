package apikey

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newStore(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "keys.json")
	s, err := New(path)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, path
}

func TestCreateVerify(t *testing.T) {
	s, _ := newStore(t)
	plain, k, err := s.Create("ci")
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if !ValidShape(plain) {
		t.Fatalf("plaintext %q does not have the shape %s", plain, Shape)
	}
	if k.Name != "ci" || len(k.ID) != idLen || k.Hash != Hash(plain) || k.CreatedAt.IsZero() {
		t.Fatalf("unexpected key record %+v", k)
	}
	got, ok := s.Verify(plain)
	if !ok || got.ID != k.ID {
		t.Fatalf("Verify(created) = %+v, %v", got, ok)
	}
	for _, bad := range []string{"", "e2b_", plain + "0", strings.ToUpper(plain), k.Hash} {
		if _, ok := s.Verify(bad); ok {
			t.Errorf("Verify(%q) accepted", bad)
		}
	}
	other, _, err := s.Create("other")
	if err != nil || other == plain {
		t.Fatalf("second Create = %q, %v", other, err)
	}
}

func TestFileModeAndNoPlaintext(t *testing.T) {
	s, path := newStore(t)
	plain, _, err := s.Create("ci")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), plain) || strings.Contains(string(b), plain[len(Prefix):]) {
		t.Fatalf("key file contains the plaintext: %s", b)
	}
	if !strings.Contains(string(b), Hash(plain)) {
		t.Fatalf("key file lacks the hash: %s", b)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("state dir holds %d entries (temp files left?)", len(entries))
	}
}

func TestPersistence(t *testing.T) {
	s, path := newStore(t)
	a, ka, _ := s.Create("a")
	b, kb, _ := s.Create("b")
	if err := s.Delete(kb.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	s2, err := New(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if k, ok := s2.Verify(a); !ok || k.ID != ka.ID || k.Name != "a" {
		t.Fatalf("reopened store lost key a: %+v %v", k, ok)
	}
	if _, ok := s2.Verify(b); ok {
		t.Fatal("deleted key survives reopen")
	}
	if got := s2.List(); len(got) != 1 || got[0].ID != ka.ID {
		t.Fatalf("List after reopen = %+v", got)
	}
}

func TestGetListDelete(t *testing.T) {
	s, _ := newStore(t)
	if got := s.List(); got == nil || len(got) != 0 {
		t.Fatalf("empty List = %#v", got)
	}
	_, k1, _ := s.Create("one")
	_, k2, _ := s.Create("two")
	list := s.List()
	if len(list) != 2 {
		t.Fatalf("List = %+v", list)
	}
	got, err := s.Get(k2.ID)
	if err != nil || got.Name != "two" {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if _, err := s.Get("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(unknown) err = %v", err)
	}
	if err := s.Delete("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete(unknown) err = %v", err)
	}
	if err := s.Delete(k1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(k1.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted key still found: %v", err)
	}
}

func TestSeed(t *testing.T) {
	s, path := newStore(t)
	good := "e2b_" + strings.Repeat("ab", 20)
	if err := s.Seed(ParseList(" " + good + " ,, ")); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	k, ok := s.Verify(good)
	if !ok || !k.Seeded {
		t.Fatalf("seeded key not verified: %+v %v", k, ok)
	}
	if err := s.Seed([]string{good}); err != nil || len(s.List()) != 1 {
		t.Fatalf("re-seeding duplicated the key: %v %d", err, len(s.List()))
	}
	if err := s.Delete(k.ID); !errors.Is(err, ErrSeeded) {
		t.Fatalf("Delete(seeded) err = %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("seeding wrote the key file: %v", err)
	}
	// Seeded keys are not persisted.
	if _, _, err := s.Create("x"); err != nil {
		t.Fatal(err)
	}
	s2, _ := New(path)
	if _, ok := s2.Verify(good); ok {
		t.Fatal("seeded key was persisted")
	}
}

func TestSeedBadShapes(t *testing.T) {
	bad := []string{
		"e2b_test",
		"e2b_" + strings.Repeat("AB", 20),
		"e2b_" + strings.Repeat("a", 39),
		"e2b_" + strings.Repeat("a", 41),
		"sk_e2b_" + strings.Repeat("a", 40),
		strings.Repeat("a", 44),
		"e2b_" + strings.Repeat("g", 40),
	}
	for _, b := range bad {
		s, _ := newStore(t)
		good := "e2b_" + strings.Repeat("0", 40)
		err := s.Seed([]string{good, b})
		if !errors.Is(err, ErrBadShape) {
			t.Errorf("Seed(%q) err = %v, want ErrBadShape", b, err)
			continue
		}
		if !strings.Contains(err.Error(), Shape) || strings.Contains(err.Error(), b) {
			t.Errorf("error %q should name the shape and not echo the key", err)
		}
		if len(s.List()) != 0 {
			t.Errorf("Seed with a bad entry added keys")
		}
	}
}

func TestEnsureOne(t *testing.T) {
	s, path := newStore(t)
	plain, created, err := s.EnsureOne()
	if err != nil || !created || !ValidShape(plain) {
		t.Fatalf("EnsureOne on empty = %q %v %v", plain, created, err)
	}
	if _, ok := s.Verify(plain); !ok {
		t.Fatal("ensured key does not verify")
	}
	again, created, err := s.EnsureOne()
	if err != nil || created || again != "" {
		t.Fatalf("EnsureOne on non-empty = %q %v %v", again, created, err)
	}
	s2, _ := New(path)
	if _, created, _ := s2.EnsureOne(); created {
		t.Fatal("EnsureOne created a key although one was persisted")
	}
	// A seeded key counts: no extra key is created.
	s3, _ := newStore(t)
	_ = s3.Seed([]string{"e2b_" + strings.Repeat("1", 40)})
	if _, created, _ := s3.EnsureOne(); created {
		t.Fatal("EnsureOne created a key although one was seeded")
	}
}

func TestCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(path); err == nil {
		t.Fatal("New accepted a corrupt file")
	}
}
