package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// metrics is GET /sandboxes/{id}/metrics?start=&end= (Unix seconds, both optional, inclusive).
func (s *server) metrics(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	start, end, err := metricsRange(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if _, ok := s.controlled(w, r, "get sandbox metrics", id); !ok {
		return
	}
	ms, err := s.sandboxes.Metrics(r.Context(), id)
	if err != nil {
		s.managerError(w, r, "get sandbox metrics", id, err)
		return
	}
	out := make([]metricJSON, 0, len(ms))
	for _, m := range ms {
		if ts := m.Timestamp.Unix(); (start != nil && ts < *start) || (end != nil && ts > *end) {
			continue
		}
		out = append(out, toMetric(m))
	}
	writeJSON(w, http.StatusOK, out)
}

func metricsRange(q url.Values) (start, end *int64, err error) {
	parse := func(name string) (*int64, error) {
		v := q.Get(name)
		if v == "" {
			return nil, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s must be Unix seconds, got %q", name, v)
		}
		return &n, nil
	}
	if start, err = parse("start"); err != nil {
		return nil, nil, err
	}
	if end, err = parse("end"); err != nil {
		return nil, nil, err
	}
	return start, end, nil
}

// maxMetricsIDs bounds GET /sandboxes/metrics.
const maxMetricsIDs = 100

// metricsMany is GET /sandboxes/metrics?sandbox_ids=a,b ⇒ {"sandboxes":{"<id>":SandboxMetric}}
// with each sandbox's latest sample; unknown sandboxes and other keys' are left out.
func (s *server) metricsMany(w http.ResponseWriter, r *http.Request) {
	out := map[string]metricJSON{}
	var ids []string
	for raw := range strings.SplitSeq(r.URL.Query().Get("sandbox_ids"), ",") {
		if raw = strings.TrimSpace(raw); raw == "" {
			continue
		}
		id, err := sandboxID(raw)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		ids = append(ids, id)
	}
	if len(ids) > maxMetricsIDs {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("at most %d sandbox_ids", maxMetricsIDs))
		return
	}
	who := callerOf(r.Context())
	for _, id := range ids {
		if sb, err := s.sandboxes.Get(r.Context(), id); err != nil || !who.canControl(sb) {
			continue // unknown, or another key's: left out alike
		}
		ms, err := s.sandboxes.Metrics(r.Context(), id)
		if statusOf(err) == http.StatusNotFound {
			continue
		}
		if err != nil {
			s.managerError(w, r, "get sandbox metrics", id, err)
			return
		}
		if latest, ok := latestMetric(ms); ok {
			out[id] = toMetric(latest)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"sandboxes": out})
}

func latestMetric(ms []sandbox.Metric) (sandbox.Metric, bool) {
	if len(ms) == 0 {
		return sandbox.Metric{}, false
	}
	best := ms[0]
	for _, m := range ms[1:] {
		if m.Timestamp.After(best.Timestamp) {
			best = m
		}
	}
	return best, true
}
