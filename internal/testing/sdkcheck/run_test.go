package sdkcheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMissingNodeModules(t *testing.T) {
	dir := t.TempDir()
	_, err := run(context.Background(), dir, Options{Domain: "sandbox.test", APIKey: "k", Checks: []string{CodeInterpreter}})
	if err == nil || !strings.Contains(err.Error(), "npm ci` in server/e2e") || !strings.Contains(err.Error(), "e2b") {
		t.Fatalf("err = %v, want the missing package and the command that installs it", err)
	}
}

func TestInvalidOptions(t *testing.T) {
	for want, opts := range map[string]Options{
		"Domain option is required": {APIKey: "k", Checks: []string{CodeInterpreter}},
		"APIKey option is required": {Domain: "d.test", Checks: []string{CodeInterpreter}},
		"not both":                  {Domain: "d.test", APIKey: "k", ResolveTo: "127.0.0.1", DNSServer: "127.0.0.1:53", Checks: []string{CodeInterpreter}},
		"not an IP address":         {Domain: "d.test", APIKey: "k", ResolveTo: "localhost", Checks: []string{CodeInterpreter}},
		"want host:port":            {Domain: "d.test", APIKey: "k", DNSServer: "127.0.0.1", Checks: []string{CodeInterpreter}},
		"unknown check":             {Domain: "d.test", APIKey: "k", Checks: []string{"nope"}},
		"reconnect check needs":     {Domain: "d.test", APIKey: "k", Checks: []string{Reconnect}},
		"no Checks":                 {Domain: "d.test", APIKey: "k"},
	} {
		if _, err := Run(context.Background(), opts); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Run(%+v) = %v, want an error containing %q", opts, err, want)
		}
	}
}

// The script's own failures come back with its stderr: here an API that is not there.
func TestScriptErrorCarriesStderr(t *testing.T) {
	requireNodeModules(t)
	_, err := Run(context.Background(), Options{Domain: "sandbox.test", APIKey: "e2b_" + strings.Repeat("0", 40),
		ResolveTo: "127.0.0.1", Checks: []string{CodeInterpreter}})
	if err == nil || !strings.Contains(err.Error(), "sdkcheck: code-interpreter:") || !strings.Contains(err.Error(), "exit status 1") {
		t.Fatalf("err = %v, want the script's message and exit status", err)
	}
}

func requireNodeModules(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(e2eDir(), "node_modules", "e2b", "package.json")); err != nil {
		t.Fatalf("server/e2e/node_modules is missing: %s", install)
	}
}

func TestOutputsMatch(t *testing.T) {
	want := WantDemoOutputs()
	for _, tc := range []struct {
		name  string
		got   [][]string
		match bool
	}{
		{"the same chunks", [][]string{{"hello world\n"}, {}, {}, {"3\n"}, {"[1, 2, 3, 4, 5, 6, 7]\n"}}, true},
		{"a line in two chunks", [][]string{{"hello world\n"}, {}, {}, {"3", "\n"}, {"[1, 2, 3, 4, 5, 6, 7]\n"}}, true},
		{"other text", [][]string{{"hello world\n"}, {}, {}, {"4\n"}, {"[1, 2, 3, 4, 5, 6, 7]\n"}}, false},
		{"an empty chunk where none was", [][]string{{"hello world\n"}, {""}, {}, {"3\n"}, {"[1, 2, 3, 4, 5, 6, 7]\n"}}, false},
		{"a cell missing", [][]string{{"hello world\n"}, {}, {}, {"3\n"}}, false},
	} {
		if got := OutputsMatch(tc.got, want); got != tc.match {
			t.Errorf("%s: OutputsMatch(%q) = %v, want %v", tc.name, tc.got, got, tc.match)
		}
	}
}
