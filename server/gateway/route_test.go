package gateway

import (
	"errors"
	"net/http"
	"regexp"
	"testing"
)

func TestRoute(t *testing.T) {
	const domain = "example.com"
	type hdr map[string]string
	tests := []struct {
		name    string
		host    string
		domain  string // defaults to example.com; "-" means none configured
		headers hdr
		want    Target
		ok      bool
		wantErr error // matched with errors.Is, or by message for MissingHeaderError
		errMsg  string
	}{
		// Header routing.
		{name: "ipv4 with port and headers", host: "127.0.0.1:3000", headers: hdr{"E2b-Sandbox-Id": "abc123", "E2b-Sandbox-Port": "49983"}, want: Target{"abc123", 49983}, ok: true},
		{name: "ipv4 without port", host: "10.0.0.7", headers: hdr{"E2b-Sandbox-Id": "abc", "E2b-Sandbox-Port": "49999"}, want: Target{"abc", 49999}, ok: true},
		{name: "ipv6 literal with port", host: "[::1]:3000", headers: hdr{"E2b-Sandbox-Id": "abc", "E2b-Sandbox-Port": "49983"}, want: Target{"abc", 49983}, ok: true},
		{name: "ipv6 literal without port", host: "[::1]", headers: hdr{"E2b-Sandbox-Id": "abc", "E2b-Sandbox-Port": "6080"}, want: Target{"abc", 6080}, ok: true},
		{name: "ipv6 bare", host: "::1", headers: hdr{"E2b-Sandbox-Id": "abc", "E2b-Sandbox-Port": "6080"}, want: Target{"abc", 6080}, ok: true},
		{name: "localhost", host: "localhost:3000", headers: hdr{"E2b-Sandbox-Id": "x1", "E2b-Sandbox-Port": "8080"}, want: Target{"x1", 8080}, ok: true},
		{name: "LOCALHOST uppercase", host: "LOCALHOST", headers: hdr{"E2b-Sandbox-Id": "x1", "E2b-Sandbox-Port": "8080"}, want: Target{"x1", 8080}, ok: true},
		{name: "shared sandbox host", host: "sandbox.example.com", headers: hdr{"E2b-Sandbox-Id": "abc", "E2b-Sandbox-Port": "49983"}, want: Target{"abc", 49983}, ok: true},
		{name: "shared sandbox host with port, other domain", host: "sandbox.e2b.app:443", headers: hdr{"E2b-Sandbox-Id": "abc", "E2b-Sandbox-Port": "49983"}, want: Target{"abc", 49983}, ok: true},
		{name: "uppercase header names", host: "127.0.0.1", headers: hdr{"E2B-SANDBOX-ID": "abc", "E2B-SANDBOX-PORT": "49983"}, want: Target{"abc", 49983}, ok: true},
		{name: "lowercase header names", host: "127.0.0.1", headers: hdr{"e2b-sandbox-id": "abc", "e2b-sandbox-port": "49983"}, want: Target{"abc", 49983}, ok: true},
		{name: "a sandbox host name wins over headers", host: "8080-other.example.com", headers: hdr{"E2b-Sandbox-Id": "abc", "E2b-Sandbox-Port": "49983"}, want: Target{"other", 8080}, ok: true},
		{name: "missing id header", host: "127.0.0.1:3000", headers: hdr{"E2b-Sandbox-Port": "49983"}, errMsg: "Missing header: E2b-Sandbox-Id"},
		{name: "missing port header", host: "127.0.0.1:3000", headers: hdr{"E2b-Sandbox-Id": "abc"}, errMsg: "Missing header: E2b-Sandbox-Port"},
		{name: "port header not a number", host: "127.0.0.1", headers: hdr{"E2b-Sandbox-Id": "abc", "E2b-Sandbox-Port": "http"}, wantErr: ErrInvalidPort},
		{name: "port header too large", host: "127.0.0.1", headers: hdr{"E2b-Sandbox-Id": "abc", "E2b-Sandbox-Port": "65536"}, wantErr: ErrInvalidPort},
		{name: "port header zero", host: "127.0.0.1", headers: hdr{"E2b-Sandbox-Id": "abc", "E2b-Sandbox-Port": "0"}, wantErr: ErrInvalidPort},
		{name: "port header negative", host: "127.0.0.1", headers: hdr{"E2b-Sandbox-Id": "abc", "E2b-Sandbox-Port": "-1"}, wantErr: ErrInvalidPort},
		{name: "id header with dash", host: "127.0.0.1", headers: hdr{"E2b-Sandbox-Id": "abc-def", "E2b-Sandbox-Port": "49983"}, wantErr: ErrInvalidSandboxID},
		{name: "id header uppercase", host: "127.0.0.1", headers: hdr{"E2b-Sandbox-Id": "ABC", "E2b-Sandbox-Port": "49983"}, wantErr: ErrInvalidSandboxID},
		{name: "id header with slash", host: "127.0.0.1", headers: hdr{"E2b-Sandbox-Id": "abc/../x", "E2b-Sandbox-Port": "49983"}, wantErr: ErrInvalidSandboxID},

		// Host routing.
		{name: "host routing", host: "49983-abc123.example.com", want: Target{"abc123", 49983}, ok: true},
		{name: "host routing with port", host: "49999-abc123.example.com:443", want: Target{"abc123", 49999}, ok: true},
		{name: "host routing, uppercase domain", host: "6080-abc.EXAMPLE.com", want: Target{"abc", 6080}, ok: true},
		{name: "host routing, trailing root dot", host: "6080-abc.example.com.", want: Target{"abc", 6080}, ok: true},
		{name: "legacy client suffix", host: "9222-abc-client7.example.com", want: Target{"abc", 9222}, ok: true},
		{name: "no domain configured accepts any suffix", host: "8080-abc.whatever.test", domain: "-", want: Target{"abc", 8080}, ok: true},
		{name: "IP host without headers falls back to host parsing", host: "127.0.0.1:3000", ok: false},
		{name: "shared host without headers", host: "sandbox.example.com", ok: false},
		{name: "host routing, uppercase id", host: "49983-ABC.example.com", wantErr: ErrInvalidSandboxID},
		{name: "host routing, empty id", host: "49983-.example.com", wantErr: ErrInvalidSandboxID},
		{name: "host routing, port out of range", host: "70000-abc.example.com", wantErr: ErrInvalidPort},
		{name: "host routing, port zero", host: "0-abc.example.com", wantErr: ErrInvalidPort},

		// Control plane.
		{name: "api host", host: "api.example.com", ok: false},
		{name: "wrong domain", host: "49983-abc.evil.com", ok: false},
		{name: "domain only as suffix of a longer name", host: "49983-abc.notexample.com", ok: false},
		{name: "subdomain deeper than domain", host: "49983-abc.x.example.com", ok: false},
		{name: "non-numeric port label", host: "my-app.example.com", ok: false},
		{name: "no dot", host: "49983-abc", ok: false},
		{name: "empty host", host: "", ok: false},
		{name: "localhost without headers", host: "localhost:3000", ok: false},
		{name: "headers ignored on a non-header host", host: "api.example.com", headers: hdr{"E2b-Sandbox-Id": "abc", "E2b-Sandbox-Port": "49983"}, ok: false},
		{name: "one header ignored on a non-header host", host: "api.example.com", headers: hdr{"E2b-Sandbox-Id": "abc"}, ok: false},
		{name: "bare sandbox. prefix is not the shared host", host: "sandbox.", headers: hdr{"E2b-Sandbox-Id": "abc", "E2b-Sandbox-Port": "1"}, ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{Host: tt.host, Header: http.Header{}}
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			d := domain
			if tt.domain == "-" {
				d = ""
			}
			got, ok, err := Route(r, d)
			switch {
			case tt.errMsg != "":
				var mhe MissingHeaderError
				if !errors.As(err, &mhe) || err.Error() != tt.errMsg {
					t.Fatalf("Route() err = %v, want %q", err, tt.errMsg)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Route() err = %v, want %v", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("Route() unexpected err %v", err)
			}
			if err != nil && (ok || got != (Target{})) {
				t.Fatalf("Route() = %+v, %v alongside err %v; want zero, false", got, ok, err)
			}
			if ok != tt.ok || got != tt.want {
				t.Fatalf("Route() = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

var validID = regexp.MustCompile(`^[a-z0-9]+$`)

func FuzzRoute(f *testing.F) {
	seeds := []struct{ host, id, port, domain string }{
		{"127.0.0.1:3000", "abc123", "49983", ""},
		{"[::1]:3000", "abc", "49999", "example.com"},
		{"sandbox.example.com", "abc", "6080", "example.com"},
		{"localhost", "", "49983", ""},
		{"localhost", "abc", "", ""},
		{"49983-abc.example.com", "", "", "example.com"},
		{"9222-abc-client.example.com:443", "", "", "example.com"},
		{"49983-ABC.example.com", "", "", ""},
		{"65536-abc.example.com", "", "", ""},
		{"-abc.example.com", "", "", ""},
		{"1--.x", "", "", ""},
		{"api.example.com", "abc", "1", "example.com"},
		{"[fe80::1%eth0]:80", "a", "80", ""},
		{"", "", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.host, s.id, s.port, s.domain)
	}
	f.Fuzz(func(t *testing.T, host, id, port, domain string) {
		r := &http.Request{Host: host, Header: http.Header{}}
		if id != "" {
			r.Header.Set(HeaderSandboxID, id)
		}
		if port != "" {
			r.Header.Set(HeaderSandboxPort, port)
		}
		got, ok, err := Route(r, domain)
		if err != nil && ok {
			t.Fatalf("Route(%q) ok with error %v", host, err)
		}
		if !ok {
			if got != (Target{}) {
				t.Fatalf("Route(%q) = %+v without ok", host, got)
			}
			return
		}
		if !validID.MatchString(got.SandboxID) {
			t.Fatalf("Route(%q) routed to invalid id %q", host, got.SandboxID)
		}
		if got.Port < 1 || got.Port > 65535 {
			t.Fatalf("Route(%q) routed to port %d", host, got.Port)
		}
	})
}
