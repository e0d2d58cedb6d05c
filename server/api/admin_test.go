package api

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAdminPools(t *testing.T) {
	e := newEnv(t, Config{AdminKey: testAdminKey})
	resp, b := e.admin(t, "GET", "/admin/pools", "")
	wantStatus(t, resp, b, http.StatusOK)
	if strings.TrimSpace(string(b)) != "[]" {
		t.Fatalf("empty pools = %s", b)
	}
	resp, b = e.admin(t, "PUT", "/admin/pools/warm-base", `{"template":"base","size":3,"timeout":600}`)
	wantStatus(t, resp, b, http.StatusOK)
	m := asMap(t, b)
	wantKeys(t, m, "name", "template", "size", "timeout", "resources", "ready")
	if m["name"] != "warm-base" || m["size"] != 3.0 || m["timeout"] != 600.0 || m["ready"] != 1.0 {
		t.Errorf("pool %v", m)
	}
	if p := e.fake.pools["warm-base"]; p.Timeout != 10*time.Minute || p.Template != "base" {
		t.Errorf("pool passed %+v", p)
	}
	if r, _ := m["resources"].(map[string]any); r["cpuMillis"] != 0.0 || r["memoryMB"] != 0.0 {
		t.Errorf("resources without a setting = %v, want zeros (the template's)", m["resources"])
	}
	resp, b = e.admin(t, "PUT", "/admin/pools/warm-base", `{"template":"base","size":3,"resources":{"cpuMillis":500,"memoryMB":256}}`)
	wantStatus(t, resp, b, http.StatusOK)
	if r, _ := asMap(t, b)["resources"].(map[string]any); r["cpuMillis"] != 500.0 || r["memoryMB"] != 256.0 {
		t.Errorf("resources = %s", b)
	}
	if p := e.fake.pools["warm-base"]; p.Resources.CPUMillis != 500 || p.Resources.MemoryMB != 256 {
		t.Errorf("resources passed %+v", p.Resources)
	}
	resp, b = e.admin(t, "GET", "/admin/pools/warm-base", "")
	wantStatus(t, resp, b, http.StatusOK)
	resp, b = e.admin(t, "GET", "/admin/pools", "")
	wantStatus(t, resp, b, http.StatusOK)
	if l := asList(t, b); len(l) != 1 || l[0]["name"] != "warm-base" {
		t.Errorf("pools %s", b)
	}
	for _, bad := range []string{`{"size":1}`, `{"template":"base"}`, `{"template":"base","size":-1}`, `{"template":"base","size":1,"timeout":-1}`, `nope`} {
		resp, b := e.admin(t, "PUT", "/admin/pools/p", bad)
		wantError(t, resp, b, http.StatusBadRequest, "")
	}
	resp, b = e.admin(t, "PUT", "/admin/pools/p", `{"template":"nope","size":1}`)
	wantError(t, resp, b, http.StatusNotFound, "available templates")
	resp, b = e.admin(t, "PUT", "/admin/pools/Bad_Name", `{"template":"base","size":1}`)
	wantError(t, resp, b, http.StatusBadRequest, "pool name")
	resp, b = e.admin(t, "DELETE", "/admin/pools/warm-base", "")
	wantStatus(t, resp, b, http.StatusNoContent)
	resp, b = e.admin(t, "DELETE", "/admin/pools/warm-base", "")
	wantError(t, resp, b, http.StatusNotFound, `pool "warm-base" not found`)
	resp, b = e.admin(t, "GET", "/admin/pools/warm-base", "")
	wantError(t, resp, b, http.StatusNotFound, "warm-base")
}

func TestAdminKeys(t *testing.T) {
	e := newEnv(t, Config{AdminKey: testAdminKey})
	resp, b := e.admin(t, "POST", "/admin/keys", `{"name":"ci"}`)
	wantStatus(t, resp, b, http.StatusCreated)
	m := asMap(t, b)
	wantKeys(t, m, "id", "name", "key", "createdAt", "source")
	plain, _ := m["key"].(string)
	if !strings.HasPrefix(plain, "e2b_") || len(plain) != 44 || m["name"] != "ci" {
		t.Fatalf("created key %v", m)
	}
	if _, err := time.Parse(time.RFC3339Nano, m["createdAt"].(string)); err != nil {
		t.Errorf("createdAt: %v", err)
	}
	id := m["id"].(string)

	// The new key works on the control plane.
	resp, b = e.call(t, "GET", "/v2/sandboxes", "", "X-API-Key", plain)
	wantStatus(t, resp, b, http.StatusOK)

	resp, b = e.admin(t, "GET", "/admin/keys", "")
	wantStatus(t, resp, b, http.StatusOK)
	if strings.Contains(string(b), plain) || strings.Contains(string(b), e.key) {
		t.Fatalf("key list leaks plaintext: %s", b)
	}
	l := asList(t, b)
	if len(l) != 2 {
		t.Fatalf("keys %s", b)
	}
	wantKeys(t, l[1], "id", "name", "createdAt", "source")
	resp, b = e.admin(t, "GET", "/admin/keys/"+id, "")
	wantStatus(t, resp, b, http.StatusOK)
	wantKeys(t, asMap(t, b), "id", "name", "createdAt", "source")

	resp, b = e.admin(t, "DELETE", "/admin/keys/"+id, "")
	wantStatus(t, resp, b, http.StatusNoContent)
	resp, b = e.call(t, "GET", "/v2/sandboxes", "", "X-API-Key", plain)
	wantError(t, resp, b, http.StatusUnauthorized, "Invalid API key")
	resp, b = e.admin(t, "DELETE", "/admin/keys/"+id, "")
	wantError(t, resp, b, http.StatusNotFound, id)
	resp, b = e.admin(t, "GET", "/admin/keys/"+id, "")
	wantError(t, resp, b, http.StatusNotFound, id)
	resp, b = e.admin(t, "POST", "/admin/keys", `{}`)
	wantError(t, resp, b, http.StatusBadRequest, "name")
	resp, b = e.admin(t, "POST", "/admin/keys", `{"name":`)
	wantError(t, resp, b, http.StatusBadRequest, "JSON")

	seeded := "e2b_" + strings.Repeat("5", 40)
	if err := e.keys.Seed([]string{seeded}); err != nil {
		t.Fatal(err)
	}
	k, _ := e.keys.Verify(seeded)
	resp, b = e.admin(t, "DELETE", "/admin/keys/"+k.ID, "")
	wantError(t, resp, b, http.StatusConflict, "SANDBOX_API_KEYS")
}
