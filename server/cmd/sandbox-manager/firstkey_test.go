package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const testKey = "e2b_0123456789abcdef0123456789abcdef01234567"

// With stdout not a terminal (a pipe, as under systemd, docker or kubectl logs), the new key goes
// to a 0600 file and neither stdout nor the log carries it.
func TestFirstKeyGoesToAFileWhenStdoutIsNotATerminal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	announceKey(w, slog.New(slog.NewJSONHandler(&logs, nil)), config{listen: ":3000", stateDir: dir}, testKey, true)
	w.Close()
	out, _ := io.ReadAll(r)
	path := filepath.Join(dir, firstKeyFile)
	if strings.Contains(string(out), testKey) || strings.Contains(logs.String(), testKey) {
		t.Fatalf("the key reached stdout or the log:\nstdout %s\nlog %s", out, logs.String())
	}
	if !strings.Contains(string(out), "export E2B_API_KEY=$(cat "+path+")") || !strings.Contains(string(out), "E2B_API_URL=http://127.0.0.1:3000") {
		t.Errorf("stdout does not say where the key is:\n%s", out)
	}
	if !strings.Contains(logs.String(), path) {
		t.Errorf("the log does not name the key file: %s", logs.String())
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	if got, _ := os.ReadFile(path); string(got) != testKey+"\n" {
		t.Errorf("key file holds %q", got)
	}

	// A file left with wider permissions is tightened when the next key is written.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	announceKey(io.Discard, slog.New(slog.DiscardHandler), config{listen: ":3000", stateDir: dir}, testKey, true)
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("rewritten key file mode %v, want 0600", st.Mode().Perm())
	}

	// A start that created no key writes no file and shows no key.
	other := filepath.Join(t.TempDir(), "state")
	var buf bytes.Buffer
	announceKey(&buf, slog.New(slog.DiscardHandler), config{listen: ":3000", stateDir: other}, "", false)
	if _, err := os.Stat(filepath.Join(other, firstKeyFile)); err == nil {
		t.Error("a key file was written though no key was created")
	}
	if !strings.Contains(buf.String(), "POST /admin/keys") {
		t.Errorf("no hint where keys come from: %s", buf.String())
	}
}

// openPTY returns both ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// On a terminal the key is printed once, for the user to copy; no file is written.
func TestFirstKeyIsPrintedOnATerminal(t *testing.T) {
	master, slave := openPTY(t)
	dir := filepath.Join(t.TempDir(), "state")
	if isTerminal(io.Discard) || !isTerminal(slave) {
		t.Fatal("isTerminal does not tell a terminal from other writers")
	}
	announceKey(slave, slog.New(slog.DiscardHandler), config{listen: "127.0.0.1:3000", stateDir: dir}, testKey, true)
	slave.Close()
	var out bytes.Buffer
	_ = master.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	for !strings.Contains(out.String(), "Sandbox.create()") {
		n, err := master.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if !strings.Contains(out.String(), "export E2B_API_KEY="+testKey) {
		t.Errorf("the terminal did not get the key:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, firstKeyFile)); err == nil {
		t.Error("a key file was written though the key went to the terminal")
	}
}

func TestAdminKeyLength(t *testing.T) {
	for key, ok := range map[string]bool{
		"":                            true, // admin API off
		"short":                       false,
		strings.Repeat("a", 23):       false,
		strings.Repeat("a", 24):       true,
		" " + strings.Repeat("a", 30): false,
	} {
		err := checkAdminKey(key, "SANDBOX_ADMIN_KEY")
		if (err == nil) != ok {
			t.Errorf("checkAdminKey(%d chars): %v, want ok=%v", len(key), err, ok)
		}
		if err != nil && key != "" && strings.Contains(err.Error(), strings.TrimSpace(key)) {
			t.Errorf("the error shows the key: %v", err)
		}
	}
	t.Setenv("SANDBOX_ADMIN_KEY", "too-short")
	if _, err := parseFlags(nil, io.Discard); err == nil || !strings.Contains(err.Error(), "at least 24") {
		t.Errorf("parseFlags with a short SANDBOX_ADMIN_KEY: %v", err)
	}
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	admin := strings.Repeat("k", 32)
	adminFile := write("admin-key", admin+"\n") // kubectl create secret --from-file keeps the newline
	keysFile := write("api-keys", "e2b_one\ne2b_two,e2b_three\n")
	t.Setenv("SANDBOX_ADMIN_KEY", "")
	t.Setenv("SANDBOX_API_KEYS", "")

	c, err := parseFlags([]string{"--admin-key-file", adminFile, "--api-keys-file", keysFile}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.adminKey != admin {
		t.Errorf("admin key from the file: %d characters, want the file's %d without the newline", len(c.adminKey), len(admin))
	}
	if got := splitList(c.apiKeys); !slices.Equal(got, []string{"e2b_one", "e2b_two", "e2b_three"}) {
		t.Errorf("API keys from the file: %q", got)
	}
	if !strings.Contains(c.apiKeysFrom, keysFile) {
		t.Errorf("API keys' source %q does not name the file", c.apiKeysFrom)
	}

	// The same through the environment, as a Deployment sets them.
	t.Setenv("SANDBOX_ADMIN_KEY_FILE", adminFile)
	t.Setenv("SANDBOX_API_KEYS_FILE", keysFile)
	if c, err = parseFlags(nil, io.Discard); err != nil || c.adminKey != admin || c.apiKeys == "" {
		t.Errorf("from SANDBOX_ADMIN_KEY_FILE and SANDBOX_API_KEYS_FILE: %v", err)
	}

	// A key both in the environment and in a file is an error that names both.
	t.Setenv("SANDBOX_ADMIN_KEY", admin)
	if _, err := parseFlags(nil, io.Discard); err == nil || !strings.Contains(err.Error(), "both SANDBOX_ADMIN_KEY and --admin-key-file") {
		t.Errorf("admin key in the environment and a file: %v", err)
	}
	t.Setenv("SANDBOX_ADMIN_KEY", "")
	t.Setenv("SANDBOX_API_KEYS", "e2b_four")
	if _, err := parseFlags(nil, io.Discard); err == nil || !strings.Contains(err.Error(), "both SANDBOX_API_KEYS and --api-keys-file") {
		t.Errorf("API keys in the environment and a file: %v", err)
	}
	t.Setenv("SANDBOX_API_KEYS", "")
	t.Setenv("SANDBOX_ADMIN_KEY_FILE", "")
	t.Setenv("SANDBOX_API_KEYS_FILE", "")

	// The file's key is checked like SANDBOX_ADMIN_KEY's, and the error names the file, not the key.
	short := write("short", "too-short\n")
	if _, err := parseFlags([]string{"--admin-key-file", short}, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "at least 24") || !strings.Contains(err.Error(), short) || strings.Contains(err.Error(), "too-short") {
		t.Errorf("short admin key file: %v", err)
	}
	if _, err := parseFlags([]string{"--admin-key-file", write("empty", "\n")}, io.Discard); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty admin key file: %v", err)
	}
	if _, err := parseFlags([]string{"--api-keys-file", filepath.Join(dir, "missing")}, io.Discard); err == nil || !strings.Contains(err.Error(), "--api-keys-file") {
		t.Errorf("missing API keys file: %v", err)
	}
}

func TestLimitFlags(t *testing.T) {
	t.Setenv("SANDBOX_ADMIN_KEY", "")
	c, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.maxTimeout != 24*time.Hour || c.maxPerKey != 100 {
		t.Errorf("defaults: max timeout %v, per key %d; want 24h and 100 (limits on by default)", c.maxTimeout, c.maxPerKey)
	}
	t.Setenv("SANDBOX_MAX_TIMEOUT", "90m")
	t.Setenv("SANDBOX_MAX_SANDBOXES_PER_KEY", "7")
	if c, err = parseFlags(nil, io.Discard); err != nil || c.maxTimeout != 90*time.Minute || c.maxPerKey != 7 {
		t.Errorf("from the environment: %v %d %v", c.maxTimeout, c.maxPerKey, err)
	}
	if c, err = parseFlags([]string{"--max-timeout", "0", "--max-sandboxes-per-key", "0"}, io.Discard); err != nil || c.maxTimeout != 0 || c.maxPerKey != 0 {
		t.Errorf("flags override, 0 turns a limit off: %v %d %v", c.maxTimeout, c.maxPerKey, err)
	}
	for _, args := range [][]string{{"--max-timeout", "soon"}, {"--max-timeout", "-1h"}, {"--max-sandboxes-per-key", "-1"}, {"--max-sandboxes-per-key", "many"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%v) accepted", args)
		}
	}
}

// The manager's HTTP servers bound how long a client may take to send its headers, how long idle
// connections stay, and how large headers may be.
func TestHTTPServerLimits(t *testing.T) {
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	if srv.ReadHeaderTimeout <= 0 || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
		t.Fatalf("header timeout %v, idle timeout %v, max header bytes %d: all must be set", srv.ReadHeaderTimeout, srv.IdleTimeout, srv.MaxHeaderBytes)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/", nil)
	req.Header.Set("X-Big", strings.Repeat("x", 2*maxHeaderBytes))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("oversized headers: %d, want 431", resp.StatusCode)
	}
}
