package process

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"testing"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
)

type envelope struct {
	flags byte
	body  []byte // compacted: protojson randomizes whitespace
}

// TestWireFraming speaks the Connect streaming protocol by hand, byte for byte as the JS SDK does.
func TestWireFraming(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	msg := []byte(`{"process":{"cmd":"/bin/sh","args":["-c","echo hi"]},"stdin":false}`)
	var body bytes.Buffer
	body.WriteByte(0)
	_ = binary.Write(&body, binary.BigEndian, uint32(len(msg)))
	body.Write(msg)

	req, err := http.NewRequestWithContext(testCtx(t), http.MethodPost, h.url+"/process.Process/Start", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/connect+json")
	req.Header.Set("Connect-Protocol-Version", "1")
	req.Header.Set("Keepalive-Ping-Interval", "50")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/connect+json" {
		t.Fatalf("status %d, content type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}

	var envs []envelope
	for {
		var head [5]byte
		if _, err := io.ReadFull(res.Body, head[:]); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("envelope header: %v", err)
		}
		payload := make([]byte, binary.BigEndian.Uint32(head[1:]))
		if _, err := io.ReadFull(res.Body, payload); err != nil {
			t.Fatalf("envelope body: %v", err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, payload); err != nil {
			t.Fatalf("envelope %q: %v", payload, err)
		}
		envs = append(envs, envelope{flags: head[0], body: compact.Bytes()})
	}
	if len(envs) < 3 {
		t.Fatalf("got %d envelopes, want start, data..., end, end-of-stream", len(envs))
	}

	first, last := envs[0], envs[len(envs)-1]
	if first.flags != 0 || !regexp.MustCompile(`^\{"event":\{"start":\{"pid":[1-9][0-9]*\}\}\}$`).Match(first.body) {
		t.Errorf("first envelope %#x %s", first.flags, first.body)
	}
	if last.flags != 0x02 || string(last.body) != "{}" {
		t.Errorf("last envelope %#x %s, want 0x02 {}", last.flags, last.body)
	}
	end := envs[len(envs)-2]
	if end.flags != 0 || string(end.body) != `{"event":{"end":{"exited":true,"status":"exit status 0"}}}` {
		t.Errorf("end envelope %#x %s", end.flags, end.body)
	}
	var stdout []byte
	for _, e := range envs[1 : len(envs)-2] {
		var ev struct {
			Event struct {
				Data struct {
					Stdout []byte `json:"stdout"`
				} `json:"data"`
			} `json:"event"`
		}
		if e.flags != 0 || json.Unmarshal(e.body, &ev) != nil {
			t.Fatalf("envelope %#x %s", e.flags, e.body)
		}
		stdout = append(stdout, ev.Event.Data.Stdout...)
	}
	if string(stdout) != "hi\n" {
		t.Errorf("stdout %q", stdout)
	}
}
