package local

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A service whose port accepts connections before it can answer them is ready only once its ReadyPath
// answers 200.
func TestServiceReadyPath(t *testing.T) {
	// The server listens at once but serves /ready only after a second, the way Chrome's DevTools
	// endpoint accepts before /json/version answers.
	tmpl := Template{
		Name:     "slow-http",
		Requires: []string{"python3"},
		Services: []Service{{
			Name: "http",
			Command: "mkdir -p /tmp/www && (sleep 1; echo ok > /tmp/www/ready) & " +
				"exec python3 -m http.server 8124 --bind 127.0.0.1 --directory /tmp/www",
			ReadyPort: 8124,
			ReadyPath: "/ready",
		}},
	}
	never := Template{
		Name:     "never-ready",
		Requires: []string{"python3"},
		Services: []Service{{
			Name:      "http",
			Command:   "mkdir -p /tmp/www && exec python3 -m http.server 8125 --bind 127.0.0.1 --directory /tmp/www",
			ReadyPort: 8125,
			ReadyPath: "/missing",
		}},
	}
	rt, _ := newRuntime(t, Config{Templates: []Template{tmpl, never}})

	spec := newSpec(t)
	spec.Template = tmpl.Name
	start(t, rt, spec)
	if r := run(t, rt, spec, "root", "cat /tmp/www/ready"); r.exit != 0 || r.stdout != "ok\n" {
		t.Fatalf("Start returned before /ready answered: %+v", r)
	}

	spec = newSpec(t)
	spec.Template = never.Name
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := rt.Start(ctx, spec)
	if err == nil {
		t.Fatal("Start of a service whose ReadyPath answers 404 succeeded")
	}
	for _, want := range []string{"service http", "/missing", "404"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
