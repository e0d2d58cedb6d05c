package api

import (
	"net/http"
	"strings"
	"testing"
)

func TestAPIKeyAuth(t *testing.T) {
	e := newEnv(t, Config{AdminKey: testAdminKey})
	routes := []struct{ method, path string }{
		{"POST", "/v2/sandboxes"}, {"POST", "/sandboxes"}, {"GET", "/v2/sandboxes"}, {"GET", "/sandboxes"},
		{"GET", "/sandboxes/abc"}, {"DELETE", "/sandboxes/abc"}, {"POST", "/sandboxes/abc/timeout"},
		{"POST", "/v2/sandboxes/abc/connect"}, {"GET", "/sandboxes/abc/metrics"}, {"GET", "/templates"},
		{"POST", "/sandboxes/abc/pause"},
	}
	for _, r := range routes {
		resp, b := e.call(t, r.method, r.path, `{}`, "X-API-Key", "")
		wantError(t, resp, b, http.StatusUnauthorized, "Invalid API key")
		resp, b = e.call(t, r.method, r.path, `{}`, "X-API-Key", "e2b_"+strings.Repeat("0", 40))
		wantError(t, resp, b, http.StatusUnauthorized, "Invalid API key")
		// Bearer tokens are not accepted on the control plane (the admin key is: TestAdminOnControlPlane).
		resp, b = e.call(t, r.method, r.path, `{}`, "X-API-Key", "", "Authorization", "Bearer "+e.key)
		wantError(t, resp, b, http.StatusUnauthorized, "Invalid API key")
	}
	// Header names are case-insensitive; the SDK sends x-api-key.
	req, _ := http.NewRequest("GET", e.srv.URL+"/v2/sandboxes", nil)
	req.Header["x-api-key"] = []string{e.key}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("lowercase x-api-key: %d", resp.StatusCode)
	}
	// A revoked key stops working.
	k, _ := e.keys.Verify(e.key)
	if err := e.keys.Delete(k.ID); err != nil {
		t.Fatal(err)
	}
	resp2, b := e.call(t, "GET", "/v2/sandboxes", "")
	wantError(t, resp2, b, http.StatusUnauthorized, "Invalid API key")
}

func TestAdminAuth(t *testing.T) {
	off := newEnv(t, Config{})
	resp, b := off.admin(t, "GET", "/admin/pools", "")
	wantError(t, resp, b, http.StatusForbidden, "SANDBOX_ADMIN_KEY")
	resp, b = off.call(t, "GET", "/admin/keys", "")
	wantError(t, resp, b, http.StatusForbidden, "SANDBOX_ADMIN_KEY")

	e := newEnv(t, Config{AdminKey: testAdminKey})
	for _, h := range [][]string{
		{"X-API-Key", ""},
		{}, // the API key is not the admin key
		{"Authorization", "Bearer wrong"},
		{"Authorization", "Bearer " + testAdminKey + "x"},
		{"X-Admin-Key", testAdminKey[:5]},
		{"Authorization", "Basic " + testAdminKey},
	} {
		resp, b := e.call(t, "GET", "/admin/pools", "", h...)
		wantError(t, resp, b, http.StatusUnauthorized, "admin key")
	}
	resp, b = e.call(t, "GET", "/admin/pools", "", "X-API-Key", "", "X-Admin-Key", testAdminKey)
	wantStatus(t, resp, b, http.StatusOK)
	resp, b = e.call(t, "GET", "/admin/pools", "", "X-API-Key", "", "Authorization", "bearer "+testAdminKey)
	wantStatus(t, resp, b, http.StatusOK)
}
