package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/gateway"
	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

type fixedCounts sandbox.SandboxCounts

func (f fixedCounts) Counts() sandbox.SandboxCounts { return sandbox.SandboxCounts(f) }

func TestExposition(t *testing.T) {
	m := New(fixedCounts{Running: map[string]int{"base": 2}, Warm: map[string]int{"base": 3}})
	m.ObserveCreate("base", true, 3*time.Millisecond)
	m.ObserveCreate("base", false, 80*time.Millisecond)
	m.ObserveAPI("POST /v2/sandboxes", 201, 90*time.Millisecond)
	m.ObserveGateway(gateway.RequestInfo{SandboxID: "abc", Port: 49983, Outcome: gateway.OutcomeProxied})

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, want := range []string{
		`sandbox_sandboxes{state="running",template="base"} 2`,
		`sandbox_sandboxes{state="warm",template="base"} 3`,
		`sandbox_create_duration_seconds_count{source="pool",template="base"} 1`,
		`sandbox_create_duration_seconds_count{source="cold",template="base"} 1`,
		`sandbox_api_request_duration_seconds_count{route="POST /v2/sandboxes",status="201"} 1`,
		`sandbox_gateway_requests_total{outcome="proxied",port="49983"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, `"abc"`) {
		t.Error("sandbox IDs must not be labels")
	}
}
