package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// Every per-sandbox route: what a key that does not own the sandbox is refused.
var perSandboxRoutes = []struct{ method, path, body string }{
	{"GET", "/sandboxes/%s", ""},
	{"POST", "/v2/sandboxes/%s/connect", `{"timeout":60}`},
	{"POST", "/sandboxes/%s/connect", `{"timeout":60}`},
	{"DELETE", "/sandboxes/%s", ""},
	{"POST", "/sandboxes/%s/timeout", `{"timeout":60}`},
	{"POST", "/sandboxes/%s/refreshes", `{"duration":60}`},
	{"GET", "/sandboxes/%s/metrics", ""},
	{"GET", "/sandboxes/%s/logs", ""},
	{"GET", "/v2/sandboxes/%s/logs", ""},
	{"POST", "/sandboxes/%s/pause", `{}`},
	{"POST", "/sandboxes/%s/resume", `{}`},
	{"PUT", "/sandboxes/%s/network", `{}`},
	{"POST", "/sandboxes/%s/fork", `{}`},
	{"POST", "/sandboxes/%s/snapshots", `{}`},
}

// A key neither sees nor controls another key's sandbox, and is answered exactly as for a
// sandbox that does not exist; the admin key sees and controls every sandbox.
func TestOwnership(t *testing.T) {
	e := newEnv(t, Config{AdminKey: testAdminKey})
	other, _, err := e.keys.Create("other team")
	if err != nil {
		t.Fatal(err)
	}
	e.fake.add("mine", nil, e.fake.now)
	e.fake.addOwned("admins", "")
	asOther := []string{"X-API-Key", other}

	for _, r := range perSandboxRoutes {
		foreignResp, foreign := e.call(t, r.method, fmt.Sprintf(r.path, "mine"), r.body, asOther...)
		missingResp, missing := e.call(t, r.method, fmt.Sprintf(r.path, "nosuchid"), r.body, asOther...)
		wantError(t, foreignResp, foreign, http.StatusNotFound, "doesn't exist or you don't have access to it")
		if got, want := string(foreign), strings.ReplaceAll(string(missing), "nosuchid", "mine"); got != want {
			t.Errorf("%s %s: another key's sandbox answered %s, a missing one %s", r.method, r.path, got, want)
		}
		if foreignResp.StatusCode != missingResp.StatusCode {
			t.Errorf("%s %s: status %d for another key's sandbox, %d for a missing one", r.method, r.path, foreignResp.StatusCode, missingResp.StatusCode)
		}
		// Nor may a key touch the admin's sandboxes.
		resp, b := e.call(t, r.method, fmt.Sprintf(r.path, "admins"), r.body)
		wantError(t, resp, b, http.StatusNotFound, "doesn't exist")
	}
	if _, err := e.fake.Get(t.Context(), "mine"); err != nil {
		t.Fatalf("another key's DELETE killed the sandbox: %v", err)
	}
	if got, _ := e.fake.get("mine"); !got.EndAt.Equal(e.fake.now.Add(5 * time.Minute)) {
		t.Errorf("another key's timeout calls changed endAt to %v", got.EndAt)
	}

	// Lists: each key its own, the admin everything.
	listIDs := func(path string, headers ...string) []string {
		t.Helper()
		resp, b := e.call(t, "GET", path, "", headers...)
		wantStatus(t, resp, b, http.StatusOK)
		var ids []string
		for _, sb := range asList(t, b) {
			ids = append(ids, sb["sandboxID"].(string))
		}
		return ids
	}
	for _, path := range []string{"/v2/sandboxes", "/sandboxes"} {
		if ids := listIDs(path, asOther...); len(ids) != 0 {
			t.Errorf("%s as another key: %v, want none", path, ids)
		}
		if ids := listIDs(path); len(ids) != 1 || ids[0] != "mine" {
			t.Errorf("%s as the owner: %v, want [mine]", path, ids)
		}
		for _, admin := range [][]string{{"X-API-Key", testAdminKey}, {"X-API-Key", "", "X-Admin-Key", testAdminKey}} {
			if ids := listIDs(path, admin...); len(ids) != 2 {
				t.Errorf("%s as the admin (%s): %v, want both sandboxes", path, admin[0], ids)
			}
		}
	}
	resp, b := e.call(t, "GET", "/sandboxes/metrics?sandbox_ids=mine,admins", "", asOther...)
	wantStatus(t, resp, b, http.StatusOK)
	if got := asMap(t, b)["sandboxes"].(map[string]any); len(got) != 0 {
		t.Errorf("metrics of other keys' sandboxes: %v", got)
	}

	// The owner reads its token; the admin reads any and kills any.
	resp, b = e.call(t, "GET", "/sandboxes/mine", "")
	wantStatus(t, resp, b, http.StatusOK)
	if asMap(t, b)["envdAccessToken"] != "tok-mine" {
		t.Errorf("owner's info: %s", b)
	}
	resp, b = e.call(t, "GET", "/sandboxes/mine", "", "X-API-Key", testAdminKey)
	wantStatus(t, resp, b, http.StatusOK)
	resp, b = e.call(t, "DELETE", "/sandboxes/mine", "", "X-API-Key", testAdminKey)
	wantStatus(t, resp, b, http.StatusNoContent)

	// The admin's creates are the admin's: no API key owns them.
	resp, b = e.call(t, "POST", "/v2/sandboxes", `{}`, "X-API-Key", testAdminKey)
	wantStatus(t, resp, b, http.StatusCreated)
	if e.fake.lastCreate.OwnerKey != "" {
		t.Errorf("admin's create recorded owner %q", e.fake.lastCreate.OwnerKey)
	}
	// A wrong admin key is no key at all.
	resp, b = e.call(t, "GET", "/v2/sandboxes", "", "X-API-Key", "", "X-Admin-Key", testAdminKey+"x")
	wantError(t, resp, b, http.StatusUnauthorized, "Invalid API key")
	// Without an admin key configured, nothing is the admin key.
	off := newEnv(t, Config{})
	resp, b = off.call(t, "GET", "/v2/sandboxes", "", "X-API-Key", testAdminKey)
	wantError(t, resp, b, http.StatusUnauthorized, "Invalid API key")
}

// Timeouts beyond MaxTimeout are refused with 400 wherever a request names one; the default
// timeout is bounded by it.
func TestMaxTimeout(t *testing.T) {
	e := newEnv(t, Config{AdminKey: testAdminKey, MaxTimeout: time.Hour})
	e.fake.add("abc123", nil, e.fake.now)
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/v2/sandboxes", `{"timeout":3601}`},
		{"POST", "/sandboxes", `{"templateID":"base","timeout":2147483647}`},
		{"POST", "/v2/sandboxes/abc123/connect", `{"timeout":3601}`},
		{"POST", "/sandboxes/abc123/timeout", `{"timeout":3601}`},
		{"POST", "/sandboxes/abc123/refreshes", `{"duration":3601}`},
	} {
		resp, b := e.call(t, tc.method, tc.path, tc.body)
		wantError(t, resp, b, http.StatusBadRequest, "cannot be greater than 3600 seconds (1h0m0s)")
	}
	resp, b := e.admin(t, "PUT", "/admin/pools/p", `{"template":"base","size":1,"timeout":3601}`)
	wantError(t, resp, b, http.StatusBadRequest, "cannot be greater than 3600 seconds")

	resp, b = e.call(t, "POST", "/v2/sandboxes", `{"timeout":3600}`)
	wantStatus(t, resp, b, http.StatusCreated)
	if e.fake.lastCreate.Timeout != time.Hour {
		t.Errorf("timeout %v, want 1h", e.fake.lastCreate.Timeout)
	}
	resp, b = e.call(t, "POST", "/sandboxes/abc123/timeout", `{"timeout":3600}`)
	wantStatus(t, resp, b, http.StatusNoContent)

	short := newEnv(t, Config{MaxTimeout: time.Minute})
	resp, b = short.call(t, "POST", "/v2/sandboxes", `{}`)
	wantStatus(t, resp, b, http.StatusCreated)
	if short.fake.lastCreate.Timeout != time.Minute {
		t.Errorf("default timeout under a 1m maximum: %v, want 1m", short.fake.lastCreate.Timeout)
	}
}

// A key at its running limit gets E2B's answer: 429 with a message that says what to do.
func TestRunningLimit(t *testing.T) {
	e := newEnv(t, Config{})
	e.fake.createErr = fmt.Errorf("create sandbox from %q: %w", "base", &sandbox.LimitError{Limit: 3})
	resp, b := e.call(t, "POST", "/v2/sandboxes", `{}`)
	wantError(t, resp, b, http.StatusTooManyRequests, "maximum number of concurrent sandboxes for this API key (3)")
	if resp.Header.Get("Retry-After") != "" {
		t.Error("Retry-After set: the SDK would retry a create that cannot succeed until a sandbox ends")
	}
}
