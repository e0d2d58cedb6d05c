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

// Labels never take their values from what a client sends: whatever ports a client addresses, the
// gateway counter keeps a fixed, small set of series.
func TestGatewayLabelsAreBounded(t *testing.T) {
	m := New(fixedCounts{})
	for port := 1; port <= 65535; port += 7 {
		m.ObserveGateway(gateway.RequestInfo{SandboxID: "probe", Port: port, Outcome: gateway.OutcomeNotFound})
	}
	m.ObserveGateway(gateway.RequestInfo{Port: 0, Outcome: gateway.OutcomeBadRequest})
	m.ObserveGateway(gateway.RequestInfo{Port: 9222, Outcome: gateway.Outcome("made-up")})
	m.ObserveAPI("/", 1000, time.Millisecond)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	var series []string
	for line := range strings.SplitSeq(string(body), "\n") {
		if strings.HasPrefix(line, "sandbox_gateway_requests_total{") {
			series = append(series, line)
		}
	}
	// 49983, 49999, 6080, 9222 and "other" for sandbox_not_found; "none" for bad_request; 9222 "other".
	if len(series) > 7 {
		t.Errorf("%d gateway series from client-chosen ports:\n%s", len(series), strings.Join(series, "\n"))
	}
	for _, want := range []string{
		`sandbox_gateway_requests_total{outcome="sandbox_not_found",port="other"}`,
		`sandbox_gateway_requests_total{outcome="bad_request",port="none"} 1`,
		`sandbox_gateway_requests_total{outcome="other",port="9222"} 1`,
		`sandbox_api_request_duration_seconds_count{route="/",status="other"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(string(body), "probe") {
		t.Error("a sandbox ID became a label")
	}
}
