package main

import (
	"net/http"

	"github.com/sandboxstack/terraform-provider-sandbox/server/apikey"
	"github.com/sandboxstack/terraform-provider-sandbox/server/gateway"
	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// trafficAccess decides who may use a sandbox's /browser/{id} endpoint (the gateway's Browser
// handler), which fronts the sandbox's CDP port and so follows the rule of that port.
type trafficAccess struct {
	keys  *apikey.Store
	admin apikey.Admin
}

// authorizeBrowser adapts authorizeSandboxTraffic to the gateway, which hands over the Backend that
// backends.Lookup made.
func (a trafficAccess) authorizeBrowser(r *http.Request, b gateway.Backend) bool {
	be, ok := b.(backend)
	return ok && a.authorizeSandboxTraffic(r, be.sbx)
}

// authorizeSandboxTraffic is the one rule for reaching a sandbox's ports through a route that names
// the sandbox in its path (/browser/{id}):
//
//   - a public sandbox (E2B's default) is open: whoever knows its id may use it, as on its
//     `<port>-<id>.<domain>` host route. The product guide's browser-use demo sends no header at all.
//   - a private one (network.allowPublicTraffic=false) needs its traffic access token in
//     e2b-traffic-access-token, as its host routes do, or the API key that owns it (or the admin key) in X-API-Key.
func (a trafficAccess) authorizeSandboxTraffic(r *http.Request, sbx *sandbox.Sandbox) bool {
	if !sbx.Inbound.Private {
		return true
	}
	if gateway.TrafficTokenValid(r, sbx.TrafficToken) {
		return true
	}
	presented := r.Header.Get("X-API-Key")
	if a.admin.Matches(presented) {
		return true
	}
	key, ok := a.keys.Verify(presented)
	return ok && sbx.CanControl(key.ID)
}
