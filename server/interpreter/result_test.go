package interpreter

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/sandboxstack/terraform-provider-sandbox/server/interpreter/kernel"
)

func TestResultFields(t *testing.T) {
	got := resultFields(kernel.Result{Main: true, Data: map[string]any{
		"text/plain":                     "'hi'",
		"text/html":                      "<b>hi</b>",
		"image/png":                      "iVBOR",
		"application/json":               map[string]any{"a": 1.0},
		"e2b/chart":                      map[string]any{"type": "line"},
		"application/vnd.custom+json":    map[string]any{"x": true},
		"text/markdown":                  nil,
		"application/vnd.plotly.v1+json": "p",
	}})
	want := map[string]any{
		"is_main_result": true,
		"text":           "hi",
		"html":           "<b>hi</b>",
		"png":            "iVBOR",
		"json":           map[string]any{"a": 1.0},
		"chart":          map[string]any{"type": "line"},
		"extra": map[string]any{
			"application/vnd.custom+json":    map[string]any{"x": true},
			"application/vnd.plotly.v1+json": "p",
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

func TestStripQuotes(t *testing.T) {
	for in, want := range map[string]string{`'a'`: "a", `"a"`: "a", `'a"`: `'a"`, `'`: `'`, `2`: "2", `''`: ""} {
		if got := stripQuotes(in); got != want {
			t.Errorf("stripQuotes(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEncodeLine(t *testing.T) {
	b, err := encodeLine("stdout", map[string]any{"text": "<a & b>\n"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"type":"stdout","text":"<a & b>\n"}`+"\n"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	b, _ = encodeLine("end_of_execution", nil)
	if string(b) != `{"type":"end_of_execution"}`+"\n" || !json.Valid(b) {
		t.Fatalf("got %q", b)
	}
}

func TestNormaliseLanguage(t *testing.T) {
	for in, want := range map[string]string{"": "python", " Python ": "python", "JS": "javascript", "ts": "typescript", "bash": "bash"} {
		if got := normaliseLanguage(in); got != want {
			t.Errorf("normaliseLanguage(%q) = %q, want %q", in, got, want)
		}
	}
}
