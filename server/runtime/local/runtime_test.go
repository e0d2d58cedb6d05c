package local

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestStartRunStop(t *testing.T) {
	rt, _ := newRuntime(t, Config{})
	spec := newSpec(t)
	st := start(t, rt, spec)

	// /health over DialEnvd, without a token.
	conn, err := rt.DialEnvd(context.Background(), spec.ID)
	if err != nil {
		t.Fatalf("DialEnvd: %v", err)
	}
	conn.Close()
	if code, _ := get(t, rt, spec, "/health"); code != http.StatusNoContent {
		t.Fatalf("GET /health: %d, want 204", code)
	}
	// The envVars of /init.
	if code, body := get(t, rt, spec, "/envs"); code != http.StatusOK || !strings.Contains(body, `"FOO":"bar"`) {
		t.Fatalf("GET /envs: %d %s, want FOO=bar", code, body)
	}

	out := mustRun(t, rt, spec, "", `id -un; pwd; echo "$HOME"; hostname; echo "$FOO"`)
	if want := "user\n/home/user\n/home/user\n" + spec.ID + "\nbar\n"; out != want {
		t.Fatalf("default user's view:\n%s\nwant:\n%s", out, want)
	}
	if out := mustRun(t, rt, spec, "root", "id -u; echo $HOME"); out != "0\n/root\n" {
		t.Fatalf("root's view: %q", out)
	}

	list, err := rt.List(context.Background())
	if err != nil || len(list) != 1 || list[0].Spec.ID != spec.ID {
		t.Fatalf("List: %v %v, want [%s]", list, err, spec.ID)
	}

	if err := rt.Stop(context.Background(), spec.ID); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	assertGone(t, st, rt.layoutOf(spec.ID).dir)
	if err := rt.Stop(context.Background(), spec.ID); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if err := rt.Stop(context.Background(), "nosuchsandbox"); err != nil {
		t.Fatalf("Stop of an unknown sandbox: %v", err)
	}
	if _, err := rt.DialEnvd(context.Background(), spec.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DialEnvd after Stop: %v, want ErrNotFound", err)
	}
	if list, _ := rt.List(context.Background()); len(list) != 0 {
		t.Fatalf("List after Stop: %v", list)
	}
}
