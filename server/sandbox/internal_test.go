package sandbox

import (
	"regexp"
	"testing"
	"time"
)

func TestNewSandboxIDAndToken(t *testing.T) {
	shape := regexp.MustCompile(`^i[a-z0-9]{20}$`)
	seen := map[string]bool{}
	for range 1000 {
		id, err := newSandboxID()
		if err != nil || !shape.MatchString(id) || seen[id] {
			t.Fatalf("newSandboxID() = %q, %v (seen before: %v)", id, err, seen[id])
		}
		seen[id] = true
	}
	tok, err := newAccessToken()
	if err != nil || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(tok) {
		t.Fatalf("newAccessToken() = %q, %v", tok, err)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	for _, c := range []cursor{
		{startedAt: time.Date(2026, 8, 22, 10, 0, 0, 123456789, time.UTC), id: "iabc", desc: false},
		{startedAt: time.Date(2026, 8, 22, 10, 0, 0, 0, time.UTC), id: "ixyz", desc: true},
	} {
		got, err := parseCursor(c.String())
		if err != nil || !got.startedAt.Equal(c.startedAt) || got.id != c.id || got.desc != c.desc {
			t.Errorf("parseCursor(%v) = %+v, %v", c, got, err)
		}
	}
	for _, bad := range []string{"!!", "bm9wZQ", ""} {
		if _, err := parseCursor(bad); err == nil {
			t.Errorf("parseCursor(%q) accepted", bad)
		}
	}
}

func TestUserMetadataStripsReserved(t *testing.T) {
	got := userMetadata(map[string]string{"a": "1", metaPool: "p", metaOwner: "o"})
	if len(got) != 1 || got["a"] != "1" {
		t.Errorf("userMetadata = %v", got)
	}
	if userMetadata(map[string]string{metaAlias: "x"}) != nil {
		t.Errorf("only reserved keys should give nil metadata")
	}
}

func TestTrafficToken(t *testing.T) {
	a, b := TrafficToken("envd-token-a"), TrafficToken("envd-token-b")
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(a) || a == b || a != TrafficToken("envd-token-a") {
		t.Fatalf("traffic tokens %q and %q: want 64 hex characters, stable per envd token, distinct across them", a, b)
	}
	if TrafficToken("") != "" {
		t.Fatal("a traffic token was derived from no envd token")
	}
}
