package builtin

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sandboxstack/terraform-provider-sandbox/server/runtime/local"
	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// putFile creates the file p (with its directories) under root with mode, as a stand-in for a
// program or data file a template requires.
func putFile(t *testing.T, root, p string, mode os.FileMode) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte("#!/bin/sh\n"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(full, mode); err != nil { // WriteFile keeps an existing file's mode
		t.Fatal(err)
	}
}

// newRuntimeOver is a local runtime whose root filesystem is root, offering templates. It starts no
// sandbox: it is for checking what the templates find there.
func newRuntimeOver(t *testing.T, root string, templates ...local.Template) *local.Runtime {
	t.Helper()
	envd := filepath.Join(t.TempDir(), "envd")
	if err := os.WriteFile(envd, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	rt, err := local.New(local.Config{
		StateDir:       t.TempDir(),
		EnvdBin:        envd,
		RootDir:        root,
		DisableCgroups: true,
		Templates:      templates,
	})
	if err != nil {
		t.Fatalf("local runtime over %s: %v", root, err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

// templateStatus is a template's status as the manager lists it (GET /templates).
func templateStatus(t *testing.T, rt *local.Runtime, name string) sandbox.Template {
	t.Helper()
	all := Of(rt)
	i := slices.IndexFunc(all, func(s sandbox.Template) bool { return s.Name == name })
	if i < 0 {
		t.Fatalf("%s not listed: %+v", name, all)
	}
	return all[i]
}
