package sandbox

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"
)

// List page sizes.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// List returns the users' sandboxes that match f, one page of them, and the token of the next page
// ("" when this is the last). Pagination is by position in the order (startedAt, id), so a page
// boundary stays put when sandboxes before or after it come and go.
func (m *Manager) List(ctx context.Context, f ListFilter) ([]Sandbox, string, error) {
	limit := f.Limit
	switch {
	case limit < 0:
		return nil, "", fmt.Errorf("list sandboxes: limit %d: %w", limit, ErrInvalid)
	case limit == 0:
		limit = DefaultListLimit
	case limit > MaxListLimit:
		limit = MaxListLimit
	}
	wantRunning := len(f.States) == 0
	for _, s := range f.States {
		switch s {
		case StateRunning:
			wantRunning = true
		case StatePaused: // this manager does not pause; nothing is ever paused
		default:
			return nil, "", fmt.Errorf("list sandboxes: state %q: %w", s, ErrInvalid)
		}
	}
	var after *cursor
	if f.NextToken != "" {
		c, err := parseCursor(f.NextToken)
		if err != nil || c.desc != f.Descending {
			return nil, "", fmt.Errorf("list sandboxes: next token: %w", ErrInvalid)
		}
		after = &c
	}
	tmplName := ""
	if f.Template != "" {
		if t, err := m.resolveTemplate(f.Template); err == nil {
			tmplName = t.Name
		}
	}
	if !wantRunning {
		return []Sandbox{}, "", nil
	}

	recs, err := m.store.Sandboxes(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("list sandboxes: %w", err)
	}
	var out []Sandbox
	for _, r := range recs {
		if !r.Visible() || !f.AllOwners && r.OwnerKey != f.Owner {
			continue
		}
		sb := m.view(r)
		if f.Template != "" && sb.Template != tmplName && sb.Alias != f.Template && sb.Template != f.Template {
			continue
		}
		if !f.StartedAfter.IsZero() && sb.StartedAt.Before(f.StartedAfter) {
			continue
		}
		if !metadataMatches(sb.Metadata, f.Metadata) {
			continue
		}
		out = append(out, *sb)
	}

	cmp := func(a, b Sandbox) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	}
	if f.Descending {
		slices.SortFunc(out, func(a, b Sandbox) int { return cmp(b, a) })
	} else {
		slices.SortFunc(out, cmp)
	}
	if after != nil {
		pos := Sandbox{StartedAt: after.startedAt, ID: after.id}
		i, _ := slices.BinarySearchFunc(out, pos, func(a, b Sandbox) int {
			if f.Descending {
				return cmp(b, a)
			}
			return cmp(a, b)
		})
		// Skip the cursor's own sandbox if it is still there.
		if i < len(out) && out[i].ID == after.id && out[i].StartedAt.Equal(after.startedAt) {
			i++
		}
		out = out[i:]
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = cursor{startedAt: last.StartedAt, id: last.ID, desc: f.Descending}.String()
	}
	if out == nil {
		out = []Sandbox{}
	}
	return out, next, nil
}

func metadataMatches(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// cursor is the position after which the next page starts. Encoded like E2B's:
// base64url("<RFC3339Nano startedAt>__<id>[__desc]").
type cursor struct {
	startedAt time.Time
	id        string
	desc      bool
}

func (c cursor) String() string {
	s := c.startedAt.UTC().Format(time.RFC3339Nano) + "__" + c.id
	if c.desc {
		s += "__desc"
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func parseCursor(tok string) (cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(tok, "="))
	if err != nil {
		return cursor{}, err
	}
	parts := strings.Split(string(raw), "__")
	if len(parts) < 2 || len(parts) > 3 || (len(parts) == 3 && parts[2] != "desc") {
		return cursor{}, fmt.Errorf("malformed cursor")
	}
	t, err := time.Parse(time.RFC3339Nano, parts[0])
	if err != nil {
		return cursor{}, err
	}
	return cursor{startedAt: t, id: parts[1], desc: len(parts) == 3}, nil
}
