package interpreter

import (
	"strings"

	"github.com/sandboxstack/terraform-provider-sandbox/server/interpreter/kernel"
)

// mimeFields maps Jupyter MIME types to the field names of a result line.
var mimeFields = map[string]string{
	"text/plain":             "text",
	"text/html":              "html",
	"text/markdown":          "markdown",
	"image/svg+xml":          "svg",
	"image/png":              "png",
	"image/jpeg":             "jpeg",
	"application/pdf":        "pdf",
	"text/latex":             "latex",
	"application/json":       "json",
	"application/javascript": "javascript",
	"e2b/data":               "data",
	"e2b/chart":              "chart",
}

// resultFields builds the fields of an NDJSON "result" line of a MIME bundle: known
// types become fields, every other type goes to "extra", nulls are omitted.
func resultFields(r kernel.Result) map[string]any {
	line := map[string]any{"is_main_result": r.Main}
	extra := map[string]any{}
	for mime, v := range r.Data {
		if v == nil {
			continue
		}
		field, ok := mimeFields[mime]
		if !ok {
			extra[mime] = v
			continue
		}
		if field == "text" {
			if s, ok := v.(string); ok {
				v = stripQuotes(s)
			}
		}
		line[field] = v
	}
	if len(extra) > 0 {
		line["extra"] = extra
	}
	return line
}

// stripQuotes removes one pair of surrounding single or double quotes, as
// the reference server does for text/plain.
func stripQuotes(s string) string {
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// errorFields builds the fields of an NDJSON "error" line; the traceback
// lines are joined.
func errorFields(name, value string, traceback []string) map[string]any {
	return map[string]any{
		"name":      name,
		"value":     value,
		"traceback": strings.Join(traceback, "\n"),
	}
}
