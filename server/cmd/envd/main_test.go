package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestReadToken(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(p[1], []byte("pipe-token\n")); err != nil {
		t.Fatal(err)
	}
	unix.Close(p[1])
	got, err := readToken(p[0], "")
	if err != nil || got != "pipe-token" {
		t.Fatalf("token from fd: %q, %v", got, err)
	}
	// The descriptor is closed once read: nothing else in envd can read it again.
	var st unix.Stat_t
	if err := unix.Fstat(p[0], &st); err != unix.EBADF {
		t.Errorf("the token descriptor is still open after it was read: fstat = %v", err)
	}

	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("file-token"), 0o400); err != nil {
		t.Fatal(err)
	}
	if got, err := readToken(-1, file); err != nil || got != "file-token" {
		t.Fatalf("token from file: %q, %v", got, err)
	}
	if got, err := readToken(-1, ""); err != nil || got != "" {
		t.Fatalf("no token source: %q, %v", got, err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o400); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		fd   int
		file string
		want string
	}{
		{-1, empty, "empty token"},
		{-1, filepath.Join(t.TempDir(), "missing"), "--access-token-file"},
		{3, file, "exclusive"},
	} {
		if _, err := readToken(tc.fd, tc.file); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("readToken(%d, %q) = %v, want an error about %s", tc.fd, tc.file, err, tc.want)
		}
	}
}

// envd does not start without a token unless told that this is a debug run, and not with the old
// environment variable, which every child process would inherit.
func TestRefusesToStartWithoutToken(t *testing.T) {
	if err := run([]string{"--listen", "127.0.0.1:0"}); err == nil || !strings.Contains(err.Error(), "--insecure-no-token") {
		t.Errorf("start without a token: %v", err)
	}
	t.Setenv("ENVD_ACCESS_TOKEN", "x")
	if err := run([]string{"--listen", "127.0.0.1:0", "--insecure-no-token"}); err == nil || !strings.Contains(err.Error(), "ENVD_ACCESS_TOKEN is not read") {
		t.Errorf("start with ENVD_ACCESS_TOKEN: %v", err)
	}
}
