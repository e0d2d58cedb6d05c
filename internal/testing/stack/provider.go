package stack

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/tfmirror"
)

var mirror struct {
	once sync.Once
	dir  string
	m    *tfmirror.Mirror
	err  error
}

// ProviderMirror is the provider built from this repository into a filesystem mirror, as `make install`
// lays it out, once per test binary (linking it takes a while); RemoveProviderMirror deletes it (call it
// from TestMain after m.Run).
func ProviderMirror(t testing.TB) *tfmirror.Mirror {
	t.Helper()
	mirror.once.Do(func() {
		if mirror.dir, mirror.err = os.MkdirTemp("", "provider-mirror-"); mirror.err != nil {
			return
		}
		mirror.m, mirror.err = tfmirror.Build(context.Background(), mirror.dir, tfmirror.Options{})
	})
	if mirror.err != nil {
		t.Fatal(mirror.err)
	}
	return mirror.m
}

// RemoveProviderMirror deletes what ProviderMirror built.
func RemoveProviderMirror() {
	if mirror.dir != "" {
		_ = os.RemoveAll(mirror.dir)
	}
}
