package gateway

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
)

// Messages the SDKs and users see. The two 502 texts are E2B's, word for word: the SDKs only look at
// the status (502 means "sandbox not running"), but people grep for these.
const (
	msgSandboxNotFound = "The sandbox was not found"
	msgPortClosed      = "The sandbox is running but port is not open"
	msgUpstreamFailed  = "The sandbox port did not answer the request"
	msgInternalRoute   = "This endpoint is reserved for the sandbox manager and is not reachable through the sandbox gateway"
	msgConnect         = "CONNECT is not allowed through the sandbox gateway"
	msgNotSandbox      = "The request does not address a sandbox"
)

// errorBody is the JSON shape of every answer the gateway writes itself. Field order is the wire
// order of E2B's bodies ({"sandboxId","message","port","code"}); empty fields are left out so the
// not-found body carries no port and routing errors carry no sandbox.
type errorBody struct {
	SandboxID string `json:"sandboxId,omitempty"`
	Message   string `json:"message"`
	Port      int    `json:"port,omitempty"`
	Path      string `json:"path,omitempty"`
	Code      int    `json:"code"`
}

// htmlPage is shown instead of JSON to people who open a sandbox URL in a browser tab.
var htmlPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}code{background:#f2f2f2;padding:0 .25rem}</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>{{.Body.Message}}.</p>
{{- if .Body.SandboxID}}
<p>Sandbox <code>{{.Body.SandboxID}}</code>{{if .Body.Port}}, port <code>{{.Body.Port}}</code>{{end}}.</p>
{{- end}}
{{- if .Hint}}
<p>{{.Hint}}</p>
{{- end}}
</body>
</html>
`))

type htmlData struct {
	Title string
	Hint  string
	Body  errorBody
}

// writeError answers with body as JSON, or as a small HTML page for a person's browser tab.
func writeError(w http.ResponseWriter, r *http.Request, body errorBody) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if browserNavigation(r) {
		var buf bytes.Buffer
		title, hint := pageText(body)
		if err := htmlPage.Execute(&buf, htmlData{Title: title, Hint: hint, Body: body}); err == nil {
			h.Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(body.Code)
			_, _ = w.Write(buf.Bytes())
			return
		}
		// A template that cannot render is a programming error; JSON still tells the truth.
	}
	out, _ := json.Marshal(body) // a struct of strings and ints cannot fail to marshal
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(body.Code)
	_, _ = w.Write(out)
}

// pageText gives the HTML page a heading and advice a person can act on.
func pageText(body errorBody) (title, hint string) {
	switch body.Message {
	case msgSandboxNotFound:
		return "Sandbox not found", "It may have timed out or been killed. Start a new sandbox or resume it, then reload this page."
	case msgPortClosed:
		return "Port not open", "Nothing listens on this port inside the sandbox yet. Start the service, then reload this page."
	default:
		return http.StatusText(body.Code), ""
	}
}

// browserNavigation reports whether r is a person opening the URL in a browser tab rather than a
// program (the SDKs, fetch, curl). Only then is an HTML page better than JSON. undici (the Node
// SDK) sends Sec-Fetch-Mode: cors, so SDK calls always get JSON; WebSocket handshakes carry
// Sec-Fetch-Mode: websocket and get JSON too.
func browserNavigation(r *http.Request) bool {
	if !browserAgent(r.UserAgent()) {
		return false
	}
	if mode := r.Header.Get("Sec-Fetch-Mode"); mode != "" && !strings.EqualFold(mode, "navigate") {
		return false
	}
	return !strings.Contains(strings.ToLower(r.Header.Get("Accept")), "application/json")
}

var browserTokens = []string{"mozilla", "chrome", "safari", "firefox", "edge", "opera", "msie"}

func browserAgent(ua string) bool {
	ua = strings.ToLower(ua)
	for _, t := range browserTokens {
		if strings.Contains(ua, t) {
			return true
		}
	}
	return false
}
