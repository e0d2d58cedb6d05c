// Package sdkcheck runs the unchanged E2B JS SDKs (e2b, @e2b/code-interpreter, @e2b/desktop) and
// Playwright against a sandbox domain the way a user does: E2B_DOMAIN and E2B_API_KEY only, HTTPS to
// api.<domain> and <port>-<id>.<domain>. It proves a deployment end to end from a client's side.
//
// The checks are the Node script server/e2e/check/sdkcheck.mjs with the packages of
// server/e2e/node_modules (`npm ci` in server/e2e installs them; `make test` does). Names under the
// domain resolve inside the Node process, to a fixed address or through a given DNS server, so no
// system resolver or /etc/hosts entry is involved; the SDK talks to port 443 of that address.
package sdkcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// Checks Options.Checks may name.
const (
	CodeInterpreter = "code-interpreter" // the product guide's first script and a file written and read back
	Desktop         = "desktop"          // a PNG screenshot of a desktop sandbox
	Browser         = "browser"          // Playwright over CDP at https://api.<domain>/browser/<id>: a page's title
	Reconnect       = "reconnect"        // Sandbox.connect(SandboxID), then the state CodeInterpreter left
)

// WantDemoOutputs is the stdout of each cell of the product guide's first script, in the chunks an
// idle kernel sends.
func WantDemoOutputs() [][]string {
	return [][]string{{"hello world\n"}, {}, {}, {"3\n"}, {"[1, 2, 3, 4, 5, 6, 7]\n"}}
}

// OutputsMatch reports whether got has want's cells, each with the same text. The chunks may differ:
// ipykernel sends what a cell printed every 0.2 s, so on a busy machine print's "3" and its "\n" can
// come as two chunks.
func OutputsMatch(got, want [][]string) bool {
	return slices.EqualFunc(got, want, func(g, w []string) bool {
		return len(g) > 0 == (len(w) > 0) && strings.Join(g, "") == strings.Join(w, "")
	})
}

// Constants of the script: what the code-interpreter check writes to a file and reads back, and the
// title of the page the browser check serves inside the sandbox and opens.
const (
	WantFileContent  = "my data"
	WantBrowserTitle = "sdkcheck page served inside the browser sandbox"
)

// Options say what to check and how to reach the domain.
type Options struct {
	Domain, APIKey string
	// CAFile is PEM trusted in addition to the system's roots (NODE_EXTRA_CA_CERTS).
	CAFile string
	// ResolveTo is the IP every name under Domain resolves to; or
	ResolveTo string
	// DNSServer is the "host:port" of a DNS server that answers A/CNAME for names under Domain.
	// With neither, names resolve through the system's resolver.
	DNSServer string
	// Checks are any of CodeInterpreter, Desktop, Browser and Reconnect, run in this order.
	Checks []string
	// SandboxID is the code-interpreter sandbox the Reconnect check connects to.
	SandboxID string
	// Keep leaves the code-interpreter sandbox running (its ID is in the Result).
	Keep bool
}

// Result is what the checks saw.
type Result struct {
	// SandboxID is the code-interpreter sandbox (created, or reconnected to).
	SandboxID string `json:"sandboxId"`
	// DemoOutputs is the stdout of each demo cell (WantDemoOutputs when all is well); after
	// Reconnect, the stdout of print(a + b) in the reconnected sandbox: [["3\n"]].
	DemoOutputs [][]string `json:"demoOutputs"`
	// FileContent is the file read back (WantFileContent when all is well).
	FileContent string `json:"fileContent"`
	// ScreenshotBytes is the size of the desktop's screenshot, which the script checked is a PNG.
	ScreenshotBytes int `json:"screenshotBytes"`
	// BrowserTitle is the title of the page opened over CDP (WantBrowserTitle when all is well).
	BrowserTitle string `json:"browserTitle"`
}

// Run runs the checks in a Node process. Its error carries the script's stderr.
func Run(ctx context.Context, opts Options) (Result, error) {
	return run(ctx, e2eDir(), opts)
}

// RunT is Run that fails the test on error; it logs how long the checks took.
func RunT(t testing.TB, opts Options) Result {
	t.Helper()
	start := time.Now()
	res, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("sdkcheck %v: %v", opts.Checks, err)
	}
	t.Logf("sdkcheck %v: %s", opts.Checks, time.Since(start).Round(time.Millisecond))
	return res
}

// script is the Node script, relative to server/e2e.
const script = "check/sdkcheck.mjs"

// packages are the node_modules the script imports.
var packages = []string{"e2b", "@e2b/code-interpreter", "@e2b/desktop", "playwright-core"}

// e2eDir is server/e2e of this source tree (the tests that use the package run from source).
func e2eDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "server", "e2e")
}

func (o Options) validate() error {
	switch {
	case o.Domain == "":
		return errors.New("the Domain option is required")
	case o.APIKey == "":
		return errors.New("the APIKey option is required")
	case o.ResolveTo != "" && o.DNSServer != "":
		return errors.New("set ResolveTo or DNSServer, not both")
	case o.ResolveTo != "" && net.ParseIP(o.ResolveTo) == nil:
		return fmt.Errorf("ResolveTo %q is not an IP address", o.ResolveTo)
	case len(o.Checks) == 0:
		return errors.New("no Checks")
	}
	if o.DNSServer != "" {
		if _, _, err := net.SplitHostPort(o.DNSServer); err != nil {
			return fmt.Errorf("DNSServer %q: want host:port: %w", o.DNSServer, err)
		}
	}
	for _, c := range o.Checks {
		if !slices.Contains([]string{CodeInterpreter, Desktop, Browser, Reconnect}, c) {
			return fmt.Errorf("unknown check %q", c)
		}
	}
	if slices.Contains(o.Checks, Reconnect) && o.SandboxID == "" {
		return errors.New("the reconnect check needs SandboxID")
	}
	return nil
}

// install is how to get what the script needs.
const install = "install them with `npm ci` in server/e2e (`make test` does)"

func run(ctx context.Context, dir string, opts Options) (Result, error) {
	if err := opts.validate(); err != nil {
		return Result{}, fmt.Errorf("sdkcheck: %w", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return Result{}, fmt.Errorf("sdkcheck: node (20 or later) is not on PATH; install Node.js, then the SDK packages: %s", install)
	}
	for _, p := range packages {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", p, "package.json")); err != nil {
			return Result{}, fmt.Errorf("sdkcheck: the package %s is missing from %s: %s", p, filepath.Join(dir, "node_modules"), install)
		}
	}
	arg, err := json.Marshal(map[string]any{
		"resolveTo": opts.ResolveTo, "dnsServer": opts.DNSServer, "checks": opts.Checks,
		"sandboxId": opts.SandboxID, "keep": opts.Keep,
	})
	if err != nil {
		return Result{}, err
	}
	cmd := exec.CommandContext(ctx, node, script, string(arg))
	cmd.Dir = dir
	cmd.Env = environ(opts)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return Result{}, fmt.Errorf("sdkcheck: node %s %v: %w\n%s", script, opts.Checks, err, tail(stderr.String(), 16<<10))
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res Result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		return Result{}, fmt.Errorf("sdkcheck: node %s printed no result (%v); stdout:\n%s\nstderr:\n%s", script, err,
			tail(stdout.String(), 4<<10), tail(stderr.String(), 16<<10))
	}
	return res, nil
}

// environ is this process's environment without any E2B_ setting, plus the domain and key, and the
// CA for Node to trust.
func environ(opts Options) []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "E2B_") || opts.CAFile != "" && strings.HasPrefix(kv, "NODE_EXTRA_CA_CERTS=")
	})
	env = append(env, "E2B_DOMAIN="+opts.Domain, "E2B_API_KEY="+opts.APIKey)
	if opts.CAFile != "" {
		env = append(env, "NODE_EXTRA_CA_CERTS="+opts.CAFile)
	}
	return env
}

func tail(s string, max int) string {
	if len(s) > max {
		return "…" + s[len(s)-max:]
	}
	return s
}
