package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/apikey"
	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// The admin API manages warm pools and API keys. It is the manager's own (not E2B's) and is
// guarded by the admin key (requireAdmin).

var poolNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// poolJSON is a pool on the admin API; timeout in seconds.
type poolJSON struct {
	Name      string        `json:"name"`
	Template  string        `json:"template"`
	Size      int           `json:"size"`
	Timeout   int64         `json:"timeout"`
	Resources resourcesJSON `json:"resources"`
	Ready     int           `json:"ready"`
}

// resourcesJSON are a pool's per-sandbox resources; 0 keeps the template's.
type resourcesJSON struct {
	CPUMillis int64 `json:"cpuMillis"`
	MemoryMB  int64 `json:"memoryMB"`
}

type putPoolBody struct {
	Template  string         `json:"template"`
	Size      *int           `json:"size"`
	Timeout   *int64         `json:"timeout"`
	Resources *resourcesJSON `json:"resources"`
}

func toPool(p sandbox.Pool) poolJSON {
	return poolJSON{
		Name:      p.Name,
		Template:  p.Template,
		Size:      p.Size,
		Timeout:   int64(p.Timeout / time.Second),
		Resources: resourcesJSON{CPUMillis: p.Resources.CPUMillis, MemoryMB: p.Resources.MemoryMB},
		Ready:     p.Ready,
	}
}

// poolName returns the request's {name}, or answers 400 and returns false.
func poolName(w http.ResponseWriter, r *http.Request) (string, bool) {
	name := r.PathValue("name")
	if !poolNamePattern.MatchString(name) {
		writeError(w, http.StatusBadRequest, "invalid pool name: want lowercase letters, digits and '-', at most 63 characters")
		return "", false
	}
	return name, true
}

func (s *server) listPools(w http.ResponseWriter, r *http.Request) {
	ps, err := s.sandboxes.ListPools(r.Context())
	if err != nil {
		s.managerError(w, r, "list pools", "", err)
		return
	}
	out := make([]poolJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, toPool(p))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) getPool(w http.ResponseWriter, r *http.Request) {
	name, ok := poolName(w, r)
	if !ok {
		return
	}
	p, err := s.sandboxes.GetPool(r.Context(), name)
	if err != nil {
		s.poolError(w, r, "get pool", name, err)
		return
	}
	writeJSON(w, http.StatusOK, toPool(p))
}

// putPool creates or replaces a pool: {"template","size","timeout","resources"} (timeout in seconds, 0 =
// the request's; resources {"cpuMillis","memoryMB"}, 0 or absent = the template's).
func (s *server) putPool(w http.ResponseWriter, r *http.Request) {
	name, ok := poolName(w, r)
	if !ok {
		return
	}
	var body putPoolBody
	if err := readBody(w, r, &body, false); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var problems []string
	if strings.TrimSpace(body.Template) == "" {
		problems = append(problems, "template is required")
	}
	if body.Size == nil || *body.Size < 0 {
		problems = append(problems, "size is required and must be ≥ 0")
	}
	if body.Timeout != nil && *body.Timeout < 0 {
		problems = append(problems, "timeout must be ≥ 0 seconds")
	} else if body.Timeout != nil {
		if err := s.checkTimeout("timeout", *body.Timeout); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		writeError(w, http.StatusBadRequest, "invalid pool: "+strings.Join(problems, "; "))
		return
	}
	p := sandbox.Pool{Name: name, Template: body.Template, Size: *body.Size}
	if body.Timeout != nil {
		p.Timeout = time.Duration(*body.Timeout) * time.Second
	}
	if body.Resources != nil {
		p.Resources = sandbox.Limits{CPUMillis: body.Resources.CPUMillis, MemoryMB: body.Resources.MemoryMB}
	}
	got, err := s.sandboxes.PutPool(r.Context(), p)
	if err != nil {
		s.poolError(w, r, "put pool", name, err)
		return
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "pool configured",
		slog.String("pool", name), slog.String("template", got.Template), slog.Int("size", got.Size))
	writeJSON(w, http.StatusOK, toPool(got))
}

func (s *server) deletePool(w http.ResponseWriter, r *http.Request) {
	name, ok := poolName(w, r)
	if !ok {
		return
	}
	if err := s.sandboxes.DeletePool(r.Context(), name); err != nil {
		s.poolError(w, r, "delete pool", name, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// poolError words not-found for pools (the manager's ErrNotFound says "sandbox").
func (s *server) poolError(w http.ResponseWriter, r *http.Request, op, name string, err error) {
	if errors.Is(err, sandbox.ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("pool %q not found", name))
		return
	}
	s.managerError(w, r, op, "", err)
}

// keyJSON is an API key on the admin API. Key (the plaintext) is only set in the create answer.
type keyJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Key       string `json:"key,omitempty"`
	CreatedAt string `json:"createdAt"`
	Source    string `json:"source"`
}

func toKey(k apikey.Key) keyJSON {
	src := "store"
	if k.Seeded {
		src = "env"
	}
	return keyJSON{ID: k.ID, Name: k.Name, CreatedAt: formatTime(k.CreatedAt), Source: src}
}

const maxKeyName = 128

func (s *server) keysOrFail(w http.ResponseWriter) bool {
	if s.keys == nil {
		writeError(w, http.StatusNotImplemented, "this sandbox manager has no API key store")
		return false
	}
	return true
}

func (s *server) createKey(w http.ResponseWriter, r *http.Request) {
	if !s.keysOrFail(w) {
		return
	}
	var body struct {
		Name string `json:"name"`
	}
	if err := readBody(w, r, &body, true); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	name := strings.TrimSpace(body.Name)
	if name == "" || len(name) > maxKeyName {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("name is required (at most %d bytes)", maxKeyName))
		return
	}
	plain, k, err := s.keys.Create(name)
	if err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelError, "create api key", slog.Any("err", err))
		writeError(w, http.StatusInternalServerError, "create api key: "+err.Error())
		return
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "api key created", slog.String("key_id", k.ID), slog.String("name", k.Name))
	out := toKey(k)
	out.Key = plain
	writeJSON(w, http.StatusCreated, out)
}

func (s *server) listKeys(w http.ResponseWriter, _ *http.Request) {
	if !s.keysOrFail(w) {
		return
	}
	ks := s.keys.List()
	out := make([]keyJSON, 0, len(ks))
	for _, k := range ks {
		out = append(out, toKey(k))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) getKey(w http.ResponseWriter, r *http.Request) {
	if !s.keysOrFail(w) {
		return
	}
	k, err := s.keys.Get(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("api key %q not found", r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, toKey(k))
}

func (s *server) deleteKey(w http.ResponseWriter, r *http.Request) {
	if !s.keysOrFail(w) {
		return
	}
	id := r.PathValue("id")
	err := s.keys.Delete(id)
	switch {
	case err == nil:
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "api key deleted", slog.String("key_id", id))
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, apikey.ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Sprintf("api key %q not found", id))
	case errors.Is(err, apikey.ErrSeeded):
		writeError(w, http.StatusConflict, err.Error())
	default:
		s.log.LogAttrs(r.Context(), slog.LevelError, "delete api key", slog.Any("err", err))
		writeError(w, http.StatusInternalServerError, "delete api key: "+err.Error())
	}
}
