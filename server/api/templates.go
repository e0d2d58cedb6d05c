package api

import (
	"net/http"
	"strconv"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// templateJSON follows E2B's Template list item where it applies, plus whether this manager can
// run the template now and why not.
type templateJSON struct {
	TemplateID  string   `json:"templateID"`
	BuildID     string   `json:"buildID"`
	Aliases     []string `json:"aliases"`
	Names       []string `json:"names"`
	CPUCount    int      `json:"cpuCount"`
	MemoryMB    int      `json:"memoryMB"`
	Public      bool     `json:"public"`
	BuildStatus string   `json:"buildStatus"`
	Available   bool     `json:"available"`
	Reason      string   `json:"reason,omitempty"`
}

func toTemplate(t sandbox.Template) templateJSON {
	aliases := append([]string{}, t.Aliases...)
	status := "ready"
	if !t.Available {
		status = "error"
	}
	return templateJSON{
		TemplateID:  t.Name,
		Aliases:     aliases,
		Names:       append([]string{t.Name}, aliases...),
		CPUCount:    t.CPUCount,
		MemoryMB:    t.MemoryMB,
		Public:      true,
		BuildStatus: status,
		Available:   t.Available,
		Reason:      t.Reason,
	}
}

func (s *server) listTemplates(w http.ResponseWriter, _ *http.Request) {
	ts := s.sandboxes.Templates()
	out := make([]templateJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, toTemplate(t))
	}
	writeJSON(w, http.StatusOK, out)
}

// findTemplate returns the template named or aliased ref.
func (s *server) findTemplate(ref string) (sandbox.Template, bool) {
	for _, t := range s.sandboxes.Templates() {
		if t.Name == ref {
			return t, true
		}
		for _, a := range t.Aliases {
			if a == ref {
				return t, true
			}
		}
	}
	return sandbox.Template{}, false
}

// templateAlias is GET /templates/aliases/{alias}, the SDK's Template.exists() (§2.3.13).
func (s *server) templateAlias(w http.ResponseWriter, r *http.Request) {
	t, ok := s.findTemplate(r.PathValue("alias"))
	if !ok {
		writeError(w, http.StatusNotFound, "template alias "+strconv.Quote(r.PathValue("alias"))+" not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"templateID": t.Name, "public": true})
}

// deleteTemplate is DELETE /templates/{id}, used by Sandbox.deleteSnapshot(): configured templates
// cannot be deleted through the API and snapshots do not exist, so the answer is 404 (⇒ false) for
// everything but a configured template, which gets 400.
func (s *server) deleteTemplate(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, ok := s.findTemplate(id); ok {
		writeError(w, http.StatusBadRequest, "template "+strconv.Quote(id)+" is configured on the sandbox manager and cannot be deleted through the API")
		return
	}
	writeError(w, http.StatusNotFound, "snapshot "+strconv.Quote(id)+" not found")
}
