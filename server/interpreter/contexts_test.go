package interpreter

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestContextsLifecycle(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	dir := t.TempDir()

	c := ts.createContext(t, map[string]any{"language": "Python", "cwd": dir})
	if c.ID == "" || c.Language != "python" || c.Cwd != dir {
		t.Fatalf("created %+v", c)
	}
	if e := ts.run(t, map[string]any{"code": "import os; print(os.getcwd())", "context_id": c.ID}); e.stdout != dir+"\n" {
		t.Fatalf("cwd %q errors %v", e.stdout, e.errors)
	}
	if e := ts.code(t, "import os; print(os.getcwd())"); e.stdout != ts.cwd+"\n" {
		t.Fatalf("default context cwd %q", e.stdout)
	}

	status, body := ts.do(t, http.MethodGet, "/contexts", nil)
	var list []Context
	if err := json.Unmarshal(body, &list); status != http.StatusOK || err != nil {
		t.Fatalf("list: %d %s %v", status, body, err)
	}
	found := map[string]Context{}
	for _, l := range list {
		found[l.ID] = l
	}
	if len(list) != 2 || found[c.ID] != c {
		t.Fatalf("list %+v, want the default context and %+v", list, c)
	}

	ts.run(t, map[string]any{"code": "secret = 42", "context_id": c.ID})
	if status, body := ts.do(t, http.MethodPost, "/contexts/"+c.ID+"/restart", nil); status != http.StatusOK {
		t.Fatalf("restart: %d %s", status, body)
	}
	e := ts.run(t, map[string]any{"code": "secret", "context_id": c.ID})
	if len(e.errors) != 1 || e.errors[0].str("name") != "NameError" {
		t.Fatalf("state survived restart: results %v errors %v", e.results, e.errors)
	}
	if e := ts.run(t, map[string]any{"code": "import os; print(os.getcwd(), os.environ.get('FROM_ENVD'))", "context_id": c.ID}); e.stdout != dir+" envd-value\n" {
		t.Fatalf("after restart: %q", e.stdout)
	}

	if status, body := ts.do(t, http.MethodDelete, "/contexts/"+c.ID, nil); status != http.StatusOK {
		t.Fatalf("delete: %d %s", status, body)
	}
	for _, path := range []string{"/contexts/" + c.ID, "/contexts/" + c.ID + "/restart"} {
		method := http.MethodDelete
		if strings.HasSuffix(path, "restart") {
			method = http.MethodPost
		}
		if status, body := ts.do(t, method, path, nil); status != http.StatusNotFound || string(body) != "Context "+c.ID+" not found" {
			t.Fatalf("%s %s after delete: %d %q", method, path, status, body)
		}
	}
	if status, _ := ts.do(t, http.MethodPost, "/execute", map[string]any{"code": "1", "context_id": c.ID}); status != http.StatusNotFound {
		t.Fatalf("execute on deleted context: %d", status)
	}
	if status, body := ts.do(t, http.MethodPost, "/contexts", map[string]any{"cwd": filepath.Join(dir, "missing")}); status != http.StatusBadRequest {
		t.Fatalf("missing cwd: %d %s", status, body)
	}
}

// Two contexts run at the same time: each waits for the other's marker,
// which only works if neither waits for the other to finish.
func TestContextsRunInParallel(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	ids := []string{ts.createContext(t, nil).ID, ts.createContext(t, nil).ID}
	code := func(mine, other string) string {
		return "open(" + quote(mine) + ", 'w').close()\n" + waitFor(other) + "print('met')"
	}
	var wg sync.WaitGroup
	results := make([]*execution, 2)
	for i, c := range []string{code(a, b), code(b, a)} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = ts.run(t, map[string]any{"code": c, "context_id": ids[i]})
		}()
	}
	wg.Wait()
	for i, e := range results {
		if e == nil || e.stdout != "met\n" || len(e.errors) > 0 {
			t.Fatalf("context %d: %+v", i, e)
		}
	}
}

// Two requests on one context run one after the other: the second sees
// what the first defined, although the first was still running when the
// second was sent.
func TestContextSerialisesExecutions(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	release := filepath.Join(t.TempDir(), "release")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	first := ts.start(t, ctx, map[string]any{"code": waitFor(release) + "value = 'from first'"})
	first.until("number_of_executions") // running now
	second := make(chan *execution)
	go func() { second <- ts.start(t, ctx, map[string]any{"code": "print(value)"}).collect() }()
	touch(t, release)
	if e := first.collect(); len(e.errors) > 0 {
		t.Fatalf("first: %v", e.errors)
	}
	if e := <-second; e.stdout != "from first\n" {
		t.Fatalf("second: stdout %q errors %v", e.stdout, e.errors)
	}
}

func TestRestartDuringExecution(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	c := ts.createContext(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := ts.start(t, ctx, map[string]any{"code": "import time\nprint('run', flush=True)\ntime.sleep(60)", "context_id": c.ID})
	s.until("stdout")
	if status, body := ts.do(t, http.MethodPost, "/contexts/"+c.ID+"/restart", nil); status != http.StatusOK {
		t.Fatalf("restart: %d %s", status, body)
	}
	e := s.collect()
	if len(e.errors) != 1 || e.errors[0].str("name") != "ContextRestarting" {
		t.Fatalf("errors %v", e.errors)
	}
	if e := ts.run(t, map[string]any{"code": "1+1", "context_id": c.ID}); e.text() != "2" {
		t.Fatalf("after restart: %v %v", e.results, e.errors)
	}
}

func TestBashContext(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	dir := t.TempDir()
	run := func(code string, env map[string]string) *execution {
		body := map[string]any{"code": code, "language": "bash"}
		if env != nil {
			body["env_vars"] = env
		}
		return ts.run(t, body)
	}
	if e := run("cd "+dir+"\nGREETING=hello\necho -n partial; echo ' line'\necho oops >&2", nil); e.stdout != "partial line\n" || e.stderr != "oops\n" || len(e.errors) > 0 {
		t.Fatalf("first: %+v", e)
	}
	if e := run("echo $GREETING; pwd; echo $FROM_ENVD", nil); e.stdout != "hello\n"+dir+"\nenvd-value\n" {
		t.Fatalf("state not kept: %q %v", e.stdout, e.errors)
	}
	if e := run("echo $PER_RUN", map[string]string{"PER_RUN": "it's set"}); e.stdout != "it's set\n" {
		t.Fatalf("env_vars: %q %v", e.stdout, e.errors)
	}
	if e := run("echo \"[${PER_RUN-unset}]\"", nil); e.stdout != "[unset]\n" {
		t.Fatalf("env_vars not reverted: %q", e.stdout)
	}
	e := run("false", nil)
	if len(e.errors) != 1 || e.errors[0].str("value") != "bash: exit status 1" {
		t.Fatalf("exit status: %v", e.errors)
	}
	status, body := ts.do(t, http.MethodGet, "/contexts", nil)
	if status != http.StatusOK || !strings.Contains(string(body), `"language":"bash"`) {
		t.Fatalf("list: %d %s", status, body)
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
