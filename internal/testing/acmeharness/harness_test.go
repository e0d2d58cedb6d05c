package acmeharness

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func query(t *testing.T, network, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s query %s %s: %v", network, dns.TypeToString[qtype], name, err)
	}
	return r
}

func txtValues(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		if txt, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(txt.Txt, ""))
		}
	}
	slices.Sort(out)
	return out
}

func TestDNSServesPublishedRecordsOverUDPAndTCP(t *testing.T) {
	h := New(t, Options{})

	h.PublishTXT("_acme-challenge.x.test", "one")
	h.PublishTXT("_acme-challenge.x.test.", "two")
	for _, network := range []string{"udp", "tcp"} {
		if got := txtValues(query(t, network, h.DNSAddr(), "_acme-challenge.x.test", dns.TypeTXT)); !slices.Equal(got, []string{"one", "two"}) {
			t.Errorf("%s TXT = %q, want both values", network, got)
		}
	}
	h.ClearTXT("_acme-challenge.x.test")
	if got := txtValues(query(t, "udp", h.DNSAddr(), "_acme-challenge.x.test", dns.TypeTXT)); len(got) != 0 {
		t.Errorf("TXT after ClearTXT = %q", got)
	}

	h.PublishA("www.x.test", "192.0.2.7")
	r := query(t, "udp", h.DNSAddr(), "www.x.test", dns.TypeA)
	if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.7" {
		t.Errorf("A www.x.test = %v", r.Answer)
	}

	h.PublishCNAME("_acme-challenge.alias.test", "_acme-challenge.target.test")
	h.PublishTXT("_acme-challenge.target.test", "delegated")
	if got := txtValues(query(t, "tcp", h.DNSAddr(), "_acme-challenge.alias.test", dns.TypeTXT)); !slices.Equal(got, []string{"delegated"}) {
		t.Errorf("TXT through CNAME = %q", got)
	}

	h.SetServFail("_acme-challenge.x.test", true)
	if r := query(t, "tcp", h.DNSAddr(), "_acme-challenge.x.test", dns.TypeTXT); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("rcode with SERVFAIL set = %s", dns.RcodeToString[r.Rcode])
	}
	h.SetServFail("_acme-challenge.x.test", false)
	if r := query(t, "tcp", h.DNSAddr(), "_acme-challenge.x.test", dns.TypeTXT); r.Rcode != dns.RcodeSuccess {
		t.Errorf("rcode after SERVFAIL cleared = %s", dns.RcodeToString[r.Rcode])
	}
}

func TestRecordSinkReplacesWholeSets(t *testing.T) {
	h := New(t, Options{})
	var sink RecordSink = h

	steps := []struct {
		values []string
		want   []string
	}{
		{[]string{`"abc"`, "plain"}, []string{"abc", "plain"}},
		{[]string{`"abc" "def"`}, []string{"abcdef"}},
		{nil, nil},
	}
	for _, s := range steps {
		if err := sink.SetRecordSet("_acme-challenge.sink.test.", "TXT", s.values); err != nil {
			t.Fatal(err)
		}
		if got := txtValues(query(t, "udp", h.DNSAddr(), "_acme-challenge.sink.test", dns.TypeTXT)); !slices.Equal(got, s.want) {
			t.Errorf("after SetRecordSet(%q): TXT = %q, want %q", s.values, got, s.want)
		}
	}

	if err := sink.SetRecordSet("app.sink.test", "a", []string{"198.51.100.1", "198.51.100.2"}); err != nil {
		t.Fatal(err)
	}
	if r := query(t, "udp", h.DNSAddr(), "app.sink.test", dns.TypeA); len(r.Answer) != 2 {
		t.Errorf("A answers = %v, want 2", r.Answer)
	}
	if err := sink.SetRecordSet("c.sink.test", "CNAME", []string{"a.test", "b.test"}); err == nil {
		t.Error("a CNAME with two values was accepted")
	}
	if err := sink.SetRecordSet("sink.test", "MX", []string{"10 mail.sink.test"}); err != nil {
		t.Errorf("MX (not served) was refused: %v", err)
	}
}

func TestHarnessesAreIndependent(t *testing.T) {
	a := New(t, Options{})
	b := New(t, Options{})
	a.PublishTXT("_acme-challenge.same.test", "from-a")
	b.PublishTXT("_acme-challenge.same.test", "from-b")
	if got := txtValues(query(t, "udp", a.DNSAddr(), "_acme-challenge.same.test", dns.TypeTXT)); !slices.Equal(got, []string{"from-a"}) {
		t.Errorf("harness a answers %q", got)
	}
	if got := txtValues(query(t, "tcp", b.DNSAddr(), "_acme-challenge.same.test", dns.TypeTXT)); !slices.Equal(got, []string{"from-b"}) {
		t.Errorf("harness b answers %q", got)
	}
	if bytes.Equal(a.RootPEM(), b.RootPEM()) {
		t.Error("two harnesses share a root")
	}
}

func TestPebbleEnvironmentRestored(t *testing.T) {
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "42")
	_ = os.Unsetenv("PEBBLE_VA_NOSLEEP")
	New(t, Options{})
	if got := os.Getenv("PEBBLE_WFE_NONCEREJECT"); got != "42" {
		t.Errorf("PEBBLE_WFE_NONCEREJECT = %q after Start, want the caller's 42", got)
	}
	if _, set := os.LookupEnv("PEBBLE_VA_NOSLEEP"); set {
		t.Error("PEBBLE_VA_NOSLEEP left set after Start")
	}
}

func TestServersAnswerOverTrustedTLS(t *testing.T) {
	h := New(t, Options{})
	client := h.HTTPClient()

	resp, err := client.Get(h.DirectoryURL())
	if err != nil {
		t.Fatal(err)
	}
	var dir map[string]any
	err = json.NewDecoder(resp.Body).Decode(&dir)
	resp.Body.Close()
	if err != nil || dir["newOrder"] == nil {
		t.Fatalf("directory = %v, %v", dir, err)
	}
	meta, _ := dir["meta"].(map[string]any)
	if profiles, _ := meta["profiles"].(map[string]any); profiles[DefaultProfile] == nil {
		t.Errorf("directory profiles = %v, want %q", meta["profiles"], DefaultProfile)
	}

	resp, err = client.Get(h.ManagementURL() + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(bytes.TrimSpace(body), bytes.TrimSpace(h.RootPEM())) {
		t.Errorf("GET /roots/0: %d, body differs from RootPEM", resp.StatusCode)
	}
	if !strings.Contains(string(h.ServerCAPEM()), "BEGIN CERTIFICATE") {
		t.Error("ServerCAPEM is not a PEM certificate")
	}
}

func TestOptionsValidated(t *testing.T) {
	for name, opts := range map[string]Options{
		"key algorithm": {KeyAlgorithm: "dsa"},
		"profile":       {Profiles: map[string]Profile{"tiny": {Validity: time.Millisecond}}},
		"nonce":         {NonceRejectPercent: 101},
	} {
		if h, err := Start(opts); err == nil {
			h.Close()
			t.Errorf("%s: bad options accepted", name)
		}
	}
}

func TestRecordsOverHTTP(t *testing.T) {
	h := New(t, Options{})
	srv := httptest.NewServer(h.RecordsHandler())
	t.Cleanup(srv.Close)
	sink := RemoteSink{URL: srv.URL}

	if err := sink.SetRecordSet("_acme-challenge.remote.test.", "TXT", []string{"r1", "r2"}); err != nil {
		t.Fatal(err)
	}
	if got := txtValues(query(t, "udp", h.DNSAddr(), "_acme-challenge.remote.test", dns.TypeTXT)); !slices.Equal(got, []string{"r1", "r2"}) {
		t.Errorf("TXT published over HTTP = %q", got)
	}
	if err := sink.SetRecordSet("c.remote.test", "CNAME", []string{"a.test", "b.test"}); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("two-valued CNAME over HTTP: %v, want the handler's 400", err)
	}

	post := func(path, body string) int {
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/set-txt", `{"host":"_acme-challenge.chall.test","value":"v"}`); code != http.StatusOK {
		t.Errorf("/set-txt: %d", code)
	}
	if got := h.TXT("_acme-challenge.chall.test"); !slices.Equal(got, []string{"v"}) {
		t.Errorf("TXT after /set-txt = %q", got)
	}
	if code := post("/set-servfail", `{"host":"sf.remote.test"}`); code != http.StatusOK {
		t.Errorf("/set-servfail: %d", code)
	}
	if r := query(t, "tcp", h.DNSAddr(), "sf.remote.test", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("rcode after /set-servfail = %s", dns.RcodeToString[r.Rcode])
	}
	if code := post("/set-txt", `{"value":"no host"}`); code != http.StatusBadRequest {
		t.Errorf("/set-txt without host: %d, want 400", code)
	}
	if code := post("/clear-txt", `not json`); code != http.StatusBadRequest {
		t.Errorf("bad JSON: %d, want 400", code)
	}
}

func TestChallengeResponsesCarryRetryAfter(t *testing.T) {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/authZ/") {
			w.Header().Set("Retry-After", "7")
		}
		_, _ = w.Write([]byte("{}"))
	})
	h := challengeRetryAfter(inner, 2)
	for _, tc := range []struct{ method, path, want string }{
		{http.MethodPost, "/chalZ/abc", "2"},
		{http.MethodPost, "/authZ/abc", "7"},
		{http.MethodPost, "/order-plz", ""},
		{http.MethodGet, "/chalZ/abc", ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if got := rec.Header().Get("Retry-After"); got != tc.want {
			t.Errorf("%s %s: Retry-After %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}
