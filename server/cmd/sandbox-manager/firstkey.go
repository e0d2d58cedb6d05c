package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// firstKeyFile is where, under the state dir, the first API key is written when stdout is not a
// terminal: logs collected from stdout must never carry a key.
const firstKeyFile = "first-api-key"

// isTerminal reports whether w is a terminal (the user's screen, not a log file or pipe).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// writeKeyFile writes key to path, readable by the owner only (also when the file existed with
// wider permissions).
func writeKeyFile(path, key string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(key + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// announceKey tells the user how to point the SDK at this manager. A key created by this start
// (keys are stored hashed: later starts cannot show it again) is printed once when stdout is a
// terminal; otherwise it is written to <state-dir>/first-api-key (0600) and only that path is logged.
func announceKey(stdout io.Writer, log *slog.Logger, cfg config, key string, created bool) {
	url := cfg.publicURL
	if url == "" {
		host := cfg.listen
		if strings.HasPrefix(host, ":") {
			host = "127.0.0.1" + host
		}
		url = "http://" + host
	}
	intro := "Point the E2B SDK at this manager:"
	keyLine := "  export E2B_API_KEY=<a key of this manager: the one from its first start, one from\n" +
		"                     SANDBOX_API_KEYS, or a new one from POST /admin/keys>\n"
	switch {
	case created && isTerminal(stdout):
		intro = "An API key was created for this manager (stored hashed; it is shown only now):"
		keyLine = "  export E2B_API_KEY=" + key + "\n"
	case created:
		path := filepath.Join(cfg.stateDir, firstKeyFile)
		if err := writeKeyFile(path, key); err != nil {
			log.Error("the first API key could not be written; create one with POST /admin/keys",
				"path", path, "err", err)
			break
		}
		log.Info("an API key was created; stdout is not a terminal, so it was written to a file (mode 0600) instead of printed",
			"path", path)
		intro = "An API key was created for this manager and written to " + path + " (mode 0600):"
		keyLine = "  export E2B_API_KEY=$(cat " + path + ")\n"
	}
	fmt.Fprintf(stdout, "\n%s\n\n%s  export E2B_API_URL=%s\n  export E2B_SANDBOX_URL=%s\n\n"+
		"Then, with the unchanged E2B SDK: const sbx = await Sandbox.create(); await sbx.commands.run('echo hi')\n\n",
		intro, keyLine, url, url)
}

// minAdminKeyLen is the shortest admin key accepted: it guards every sandbox and key.
const minAdminKeyLen = 24

// checkAdminKey refuses an admin key too short to resist guessing; "" (admin API off) is fine. from
// names where the key came from. The error never contains the key.
func checkAdminKey(key, from string) error {
	if key == "" {
		return nil
	}
	if n := len([]rune(key)); n < minAdminKeyLen {
		return fmt.Errorf("the admin key (%s) has %d characters; it needs at least %d (make one with `openssl rand -hex 20`)", from, n, minAdminKeyLen)
	}
	if strings.TrimSpace(key) != key {
		return fmt.Errorf("the admin key (%s) starts or ends with white space; remove it", from)
	}
	return nil
}
