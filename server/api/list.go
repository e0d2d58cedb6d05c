package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// List limits (§2.3.3): E2B's default and maximum page size.
const (
	defaultListLimit = 100
	maxListLimit     = 100
)

// parseListFilter turns GET /v2/sandboxes query parameters into a filter (§2.3.3). Defaults: both
// states, newest first, 100 per page.
func parseListFilter(q url.Values) (sandbox.ListFilter, error) {
	f := sandbox.ListFilter{Descending: true, Limit: defaultListLimit}
	var err error
	if f.Metadata, err = parseMetadataQuery(q["metadata"]); err != nil {
		return f, err
	}
	if v := q.Get("state"); v != "" {
		for st := range strings.SplitSeq(v, ",") {
			switch st = strings.TrimSpace(st); st {
			case sandbox.StateRunning, sandbox.StatePaused:
				f.States = append(f.States, st)
			default:
				return f, fmt.Errorf("invalid state %q: want running or paused", st)
			}
		}
	}
	if v := q.Get("template"); v != "" {
		if strings.Contains(v, ":") {
			return f, errors.New("template filter must be a template ID or alias without a :tag")
		}
		f.Template = v
	}
	if v := q.Get("startedAfter"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return f, fmt.Errorf("startedAfter must be an RFC 3339 date-time: %q", v)
		}
		f.StartedAfter = t
	}
	switch v := q.Get("order"); v {
	case "", "desc":
	case "asc":
		f.Descending = false
	default:
		return f, fmt.Errorf("invalid order %q: want asc or desc", v)
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			return f, fmt.Errorf("limit must be an integer between 1 and %d", maxListLimit)
		}
		f.Limit = n
	}
	f.NextToken = q.Get("nextToken")
	return f, nil
}

// parseMetadataQuery decodes the metadata filter the way E2B does (§2.3.3). The SDK encodes each
// key and value, joins pairs with URLSearchParams (escaping % again) and the HTTP client escapes the
// whole value once more: `metadata=user%3Dx%252520y`. net/url already undid the outer layer
// (`user=x%2520y`); unescape the whole string (`user=x%20y`), split into pairs on "&" and "=" (each
// exactly key=value) and unescape key and value (`x y`). All pairs must match (AND).
func parseMetadataQuery(values []string) (map[string]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	md := map[string]string{}
	for _, raw := range values {
		if raw == "" {
			continue
		}
		whole, err := url.QueryUnescape(raw)
		if err != nil {
			return nil, fmt.Errorf("invalid metadata filter encoding: %w", err)
		}
		for pair := range strings.SplitSeq(whole, "&") {
			kv := strings.Split(pair, "=")
			if len(kv) != 2 {
				return nil, fmt.Errorf("invalid metadata filter %q: want key=value pairs joined with &", pair)
			}
			k, err := url.QueryUnescape(kv[0])
			if err != nil {
				return nil, fmt.Errorf("invalid metadata key encoding: %w", err)
			}
			v, err := url.QueryUnescape(kv[1])
			if err != nil {
				return nil, fmt.Errorf("invalid metadata value encoding: %w", err)
			}
			if k == "" {
				return nil, errors.New("invalid metadata filter: empty key")
			}
			md[k] = v
		}
	}
	if len(md) == 0 {
		return nil, nil
	}
	return md, nil
}

// listV2 is GET /v2/sandboxes: one page of ListedSandbox, X-Next-Token when more exist.
func (s *server) listV2(w http.ResponseWriter, r *http.Request) {
	f, err := parseListFilter(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	scope(&f, callerOf(r.Context()))
	sbs, next, err := s.sandboxes.List(r.Context(), f)
	if err != nil {
		s.managerError(w, r, "list sandboxes", "", err)
		return
	}
	h := w.Header()
	h.Set("Access-Control-Expose-Headers", "X-Next-Token")
	if next != "" {
		h.Set("X-Next-Token", next)
	}
	writeJSON(w, http.StatusOK, s.toListedSlice(sbs))
}

// maxV1Pages bounds how many manager pages the unpaginated v1 list collects.
const maxV1Pages = 1000

// listV1 is the deprecated GET /sandboxes: running sandboxes only, metadata filter, no pagination.
func (s *server) listV1(w http.ResponseWriter, r *http.Request) {
	md, err := parseMetadataQuery(r.URL.Query()["metadata"])
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	f := sandbox.ListFilter{Metadata: md, States: []string{sandbox.StateRunning}, Limit: maxListLimit}
	scope(&f, callerOf(r.Context()))
	var all []sandbox.Sandbox
	for range maxV1Pages {
		page, next, err := s.sandboxes.List(r.Context(), f)
		if err != nil {
			s.managerError(w, r, "list sandboxes", "", err)
			return
		}
		all = append(all, page...)
		if next == "" || next == f.NextToken {
			break
		}
		f.NextToken = next
	}
	writeJSON(w, http.StatusOK, s.toListedSlice(all))
}

// scope limits a list to the caller's sandboxes; the admin lists every key's.
func scope(f *sandbox.ListFilter, c caller) {
	f.Owner, f.AllOwners = c.owner(), c.admin
}

func (s *server) toListedSlice(sbs []sandbox.Sandbox) []listedSandboxJSON {
	out := make([]listedSandboxJSON, 0, len(sbs))
	for i := range sbs {
		out = append(out, s.toListed(&sbs[i]))
	}
	return out
}
