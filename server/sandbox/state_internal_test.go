package sandbox

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A manager killed in the middle of a state write leaves a temporary file beside the state file;
// the next manager removes it and keeps the real state files.
func TestRecoverRemovesStaleTempFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		sandboxesFile:                "[]",
		"." + sandboxesFile + ".123": `[{"id":"half`,
		"." + poolsFile + ".456":     "",
		"unrelated":                  "kept",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	m, err := NewManager(ManagerConfig{Runtime: &fakeRuntime{running: map[string]Spec{}}, StateDir: dir,
		Templates: []Template{{Name: "base", Available: true}}})
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{sandboxesFile, "unrelated"}; !slices.Equal(names, want) {
		t.Errorf("state dir holds %v, want %v", names, want)
	}
}
