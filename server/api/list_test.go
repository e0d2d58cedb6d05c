package api

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

var listedFields = []string{"sandboxID", "templateID", "alias", "clientID", "startedAt", "endAt", "state",
	"cpuCount", "memoryMB", "diskSizeMB", "envdVersion", "metadata", "volumeMounts"}

func TestMetadataTripleDecoding(t *testing.T) {
	// The captured SDK request for metadata {user: 'x y'} (Appendix A).
	q, err := url.ParseQuery("metadata=user%3Dx%252520y&state=running,paused&limit=10")
	if err != nil {
		t.Fatal(err)
	}
	f, err := parseListFilter(q)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Metadata) != 1 || f.Metadata["user"] != "x y" {
		t.Fatalf("metadata = %#v, want user=\"x y\"", f.Metadata)
	}
	if !slices.Equal(f.States, []string{"running", "paused"}) || f.Limit != 10 || !f.Descending {
		t.Fatalf("filter = %+v", f)
	}
	// Several pairs, with '&' and '=' inside values escaped by the SDK's encodeURIComponent.
	inner := url.Values{}
	inner.Set(url.QueryEscape("a&b"), url.QueryEscape("c=d"))
	inner.Set("k", url.QueryEscape("v%"))
	raw := "metadata=" + url.QueryEscape(inner.Encode())
	q, _ = url.ParseQuery(raw)
	f, err = parseListFilter(q)
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["a&b"] != "c=d" || f.Metadata["k"] != "v%" || len(f.Metadata) != 2 {
		t.Fatalf("metadata = %#v", f.Metadata)
	}
	for _, bad := range []string{"metadata=user", "metadata=a%3Db%3Dc", "metadata=%3Dx", "metadata=a%253Db%25zz"} {
		q, _ := url.ParseQuery(bad)
		if _, err := parseListFilter(q); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestParseListFilter(t *testing.T) {
	q, _ := url.ParseQuery("startedAfter=1970-01-01T00%3A00%3A00.000Z&template=base&order=asc&nextToken=tok")
	f, err := parseListFilter(q)
	if err != nil {
		t.Fatal(err)
	}
	if !f.StartedAfter.Equal(time.Unix(0, 0)) || f.Template != "base" || f.Descending || f.NextToken != "tok" || f.Limit != defaultListLimit {
		t.Fatalf("filter %+v", f)
	}
	f, _ = parseListFilter(url.Values{})
	if !f.Descending || f.States != nil || f.Metadata != nil || f.Limit != 100 {
		t.Fatalf("defaults %+v", f)
	}
	for _, bad := range []string{"state=running,dead", "template=base:v1", "startedAfter=yesterday", "order=up", "limit=0", "limit=101", "limit=x"} {
		q, _ := url.ParseQuery(bad)
		if _, err := parseListFilter(q); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestListV2(t *testing.T) {
	e := newEnv(t, Config{})
	resp, b := e.call(t, "GET", "/v2/sandboxes", "")
	wantStatus(t, resp, b, http.StatusOK)
	if strings.TrimSpace(string(b)) != "[]" {
		t.Fatalf("empty list = %s, want []", b)
	}
	if resp.Header.Get("X-Next-Token") != "" {
		t.Error("X-Next-Token on a single page")
	}
	for i := range 5 {
		e.fake.add("sb"+string(rune('a'+i)), map[string]string{"user": "x y", "n": string(rune('a' + i))}, e.fake.now.Add(time.Duration(i)*time.Second))
	}
	e.fake.add("other", map[string]string{"user": "z"}, e.fake.now)

	resp, b = e.call(t, "GET", "/v2/sandboxes?metadata=user%3Dx%252520y&state=running,paused&limit=2", "")
	wantStatus(t, resp, b, http.StatusOK)
	l := asList(t, b)
	if len(l) != 2 {
		t.Fatalf("page 1 = %s", b)
	}
	wantKeys(t, l[0], listedFields...)
	if l[0]["sandboxID"] != "sbe" || l[1]["sandboxID"] != "sbd" {
		t.Errorf("default order is not newest first: %v, %v", l[0]["sandboxID"], l[1]["sandboxID"])
	}
	next := resp.Header.Get("X-Next-Token")
	if next == "" || !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "X-Next-Token") {
		t.Fatalf("headers %v", resp.Header)
	}
	var ids []string
	for next != "" {
		resp, b = e.call(t, "GET", "/v2/sandboxes?metadata=user%3Dx%252520y&limit=2&nextToken="+url.QueryEscape(next), "")
		wantStatus(t, resp, b, http.StatusOK)
		for _, it := range asList(t, b) {
			ids = append(ids, it["sandboxID"].(string))
		}
		next = resp.Header.Get("X-Next-Token")
	}
	if !slices.Equal(ids, []string{"sbc", "sbb", "sba"}) {
		t.Errorf("remaining pages = %v", ids)
	}
	if f := e.fake.lastFilter; f.Metadata["user"] != "x y" || f.Limit != 2 {
		t.Errorf("filter passed %+v", f)
	}

	resp, b = e.call(t, "GET", "/v2/sandboxes?order=asc&limit=1", "")
	wantStatus(t, resp, b, http.StatusOK)
	if l := asList(t, b); l[0]["sandboxID"] != "other" && l[0]["sandboxID"] != "sba" {
		t.Errorf("asc first = %v", l[0]["sandboxID"])
	}
	resp, b = e.call(t, "GET", "/v2/sandboxes?limit=1000", "")
	wantError(t, resp, b, http.StatusBadRequest, "limit")
	resp, b = e.call(t, "GET", "/v2/sandboxes?nextToken=garbage", "")
	wantError(t, resp, b, http.StatusBadRequest, "token")
}

func TestListV1(t *testing.T) {
	e := newEnv(t, Config{})
	for i := range 150 {
		e.fake.add("sb"+strings.Repeat("a", i+1), map[string]string{"k": "v"}, e.fake.now.Add(time.Duration(i)*time.Second))
	}
	resp, b := e.call(t, "GET", "/sandboxes?metadata=k%3Dv", "")
	wantStatus(t, resp, b, http.StatusOK)
	l := asList(t, b)
	if len(l) != 150 {
		t.Fatalf("v1 list returned %d items, want all 150 (no pagination)", len(l))
	}
	wantKeys(t, l[0], listedFields...)
	if resp.Header.Get("X-Next-Token") != "" {
		t.Error("v1 list paginates")
	}
	if f := e.fake.lastFilter; !slices.Equal(f.States, []string{sandbox.StateRunning}) || f.Metadata["k"] != "v" {
		t.Errorf("v1 filter %+v", f)
	}
}

func FuzzListFilters(f *testing.F) {
	for _, seed := range []string{
		"metadata=user%3Dx%252520y&state=running,paused&limit=10",
		"startedAfter=1970-01-01T00%3A00%3A00.000Z&template=base&order=asc&nextToken=tok",
		"metadata=%25&limit=-1", "state=,", "metadata=a%3D&metadata=b%3Dc", "limit=100&order=desc",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		lf, err := parseListFilter(q)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if lf.Limit < 1 || lf.Limit > maxListLimit {
			t.Fatalf("limit %d accepted", lf.Limit)
		}
		for _, s := range lf.States {
			if s != sandbox.StateRunning && s != sandbox.StatePaused {
				t.Fatalf("state %q accepted", s)
			}
		}
		if strings.Contains(lf.Template, ":") {
			t.Fatalf("template %q accepted", lf.Template)
		}
		if lf.Metadata != nil && len(lf.Metadata) == 0 {
			t.Fatal("empty non-nil metadata filter")
		}
		for k := range lf.Metadata {
			if k == "" {
				t.Fatal("empty metadata key accepted")
			}
		}
		if q.Get("order") == "asc" == lf.Descending {
			t.Fatalf("order %q gave Descending=%v", q.Get("order"), lf.Descending)
		}
	})
}
