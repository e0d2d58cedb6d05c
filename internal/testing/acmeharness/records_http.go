package acmeharness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// RecordsHandler serves the DNS records over HTTP, for processes other than the harness's own (the
// standalone acme-testenv command and the cloud fakes' standalone commands). Every endpoint takes a
// JSON POST and answers 200 with an empty body, or 400 with the reason:
//
//	POST /set-record-set {"fqdn":"_acme-challenge.x.test.","type":"TXT","values":["v1","v2"]}  (RecordSink)
//	POST /set-txt        {"host":"_acme-challenge.x.test.","value":"v"}   (challtestsrv's management API)
//	POST /clear-txt      {"host":"_acme-challenge.x.test."}
//	POST /add-a          {"host":"www.x.test.","addresses":["192.0.2.1"]}
//	POST /clear-a        {"host":"www.x.test."}
//	POST /set-cname      {"host":"_acme-challenge.x.test.","target":"_acme-challenge.y.test."}
//	POST /clear-cname    {"host":"_acme-challenge.x.test."}
//	POST /set-servfail   {"host":"x.test."}
//	POST /clear-servfail {"host":"x.test."}
func (h *Harness) RecordsHandler() http.Handler {
	type body struct {
		FQDN      string   `json:"fqdn"`
		Type      string   `json:"type"`
		Values    []string `json:"values"`
		Host      string   `json:"host"`
		Value     string   `json:"value"`
		Addresses []string `json:"addresses"`
		Target    string   `json:"target"`
	}
	handle := func(fn func(b body) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost {
				http.Error(w, "POST only", http.StatusMethodNotAllowed)
				return
			}
			var b body
			if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&b); err != nil {
				http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
				return
			}
			if err := fn(b); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
			}
		}
	}
	needHost := func(b body) error {
		if b.Host == "" {
			return fmt.Errorf(`"host" is empty`)
		}
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("/set-record-set", handle(func(b body) error {
		if b.FQDN == "" || b.Type == "" {
			return fmt.Errorf(`"fqdn" and "type" are required`)
		}
		return h.SetRecordSet(b.FQDN, b.Type, b.Values)
	}))
	mux.Handle("/set-txt", handle(func(b body) error {
		if err := needHost(b); err != nil {
			return err
		}
		h.PublishTXT(b.Host, b.Value)
		return nil
	}))
	mux.Handle("/clear-txt", handle(func(b body) error {
		if err := needHost(b); err != nil {
			return err
		}
		h.ClearTXT(b.Host)
		return nil
	}))
	mux.Handle("/add-a", handle(func(b body) error {
		if err := needHost(b); err != nil {
			return err
		}
		h.PublishA(b.Host, b.Addresses...)
		return nil
	}))
	mux.Handle("/clear-a", handle(func(b body) error {
		if err := needHost(b); err != nil {
			return err
		}
		h.ClearA(b.Host)
		return nil
	}))
	mux.Handle("/set-cname", handle(func(b body) error {
		if err := needHost(b); err != nil {
			return err
		}
		if b.Target == "" {
			return fmt.Errorf(`"target" is empty`)
		}
		h.PublishCNAME(b.Host, b.Target)
		return nil
	}))
	mux.Handle("/clear-cname", handle(func(b body) error {
		if err := needHost(b); err != nil {
			return err
		}
		h.ClearCNAME(b.Host)
		return nil
	}))
	mux.Handle("/set-servfail", handle(func(b body) error {
		if err := needHost(b); err != nil {
			return err
		}
		h.SetServFail(b.Host, true)
		return nil
	}))
	mux.Handle("/clear-servfail", handle(func(b body) error {
		if err := needHost(b); err != nil {
			return err
		}
		h.SetServFail(b.Host, false)
		return nil
	}))
	return mux
}

// RemoteSink is a RecordSink that sends record sets to a RecordsHandler in another process.
type RemoteSink struct {
	// URL is the handler's base URL, e.g. http://127.0.0.1:8055.
	URL    string
	Client *http.Client // nil means a client with a 10 s timeout
}

var _ RecordSink = RemoteSink{}

// SetRecordSet implements RecordSink.
func (s RemoteSink) SetRecordSet(fqdn, rrType string, values []string) error {
	body, err := json.Marshal(map[string]any{"fqdn": fqdn, "type": rrType, "values": values})
	if err != nil {
		return err
	}
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, strings.TrimSuffix(s.URL, "/")+"/set-record-set", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("publish %s %s to %s: %w", rrType, fqdn, s.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("publish %s %s to %s: %s: %s", rrType, fqdn, s.URL, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}
