// Package acmeharness runs an ACME certificate authority and the DNS server it validates against, in
// process, for tests: Pebble (its ca, db, va and wfe packages behind an httptest TLS server) and
// challtestsrv as a library. Nothing is downloaded, no binary or container is started, and every
// listener is on loopback.
//
// DNS-01 validation really goes over the wire: Pebble's VA asks the harness's DNS server (over TCP)
// for the TXT records of _acme-challenge.<name>, and the records are whatever was published through
// PublishTXT, SetRecordSet (the RecordSink the cloud DNS fakes call on every change) or the other
// Publish methods, unless Options.Resolver names another DNS server for it to ask.
//
// Two pieces of process-wide state in the libraries are handled here so that harnesses do not leak
// into each other:
//
//   - Pebble reads its tuning (PEBBLE_VA_NOSLEEP, PEBBLE_WFE_NONCEREJECT, PEBBLE_AUTHZREUSE,
//     PEBBLE_VA_ALWAYS_VALID) from the environment, once, in va.New and wfe.New. Start sets those
//     variables from Options only while it constructs the VA and WFE, under a package mutex, and
//     restores the previous values right after. A concurrent os.Getenv of those names elsewhere in the
//     process could observe them during that window; nothing else reads them.
//   - challtestsrv registers its DNS handler on miekg/dns's process-wide DefaultServeMux and listens
//     where it is told, without reporting the port. Start therefore lets challtestsrv register into a
//     fresh mux of its own (swapping DefaultServeMux only for the duration of challtestsrv.New, under
//     the same mutex) and serves that mux on UDP and TCP listeners it bound itself on one port. Each
//     harness answers from its own records, so harnesses may run in parallel.
package acmeharness

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/letsencrypt/challtestsrv"
	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"
)

// DefaultProfile is the name of the only certificate profile a harness offers unless Options.Profiles
// says otherwise.
const DefaultProfile = "default"

// DefaultValidity is the validity of certificates issued under DefaultProfile (Let's Encrypt's 90 days).
const DefaultValidity = 90 * 24 * time.Hour

// Profile is a certificate profile the CA offers (ACME profiles extension): orders name it in their
// "profile" field.
type Profile struct {
	Description string
	// Validity is the certificate lifetime, at least one second. Zero means DefaultValidity.
	Validity time.Duration
}

// Options configure a harness. The zero value is a quiet, fast, deterministic CA: no random
// validation sleeps, no rejected nonces, no authorization reuse, one 90-day profile.
type Options struct {
	// Profiles replace the single DefaultProfile. Beware: Pebble picks a random profile for an order
	// that names none, so with more than one profile every order should name one.
	Profiles map[string]Profile
	// KeyAlgorithm of the CA's root and intermediate: "ecdsa" (default) or "rsa".
	KeyAlgorithm string
	// ChainLength is the number of intermediates between the root and the leaf (default 1).
	ChainLength int
	// AlternateRoots adds cross-signed alternate chains (Pebble's PEBBLE_ALTERNATE_ROOTS).
	AlternateRoots int
	// RetryAfter is what the CA tells clients to wait between polls of authorizations and orders, in
	// whole seconds (default and minimum 1 s; lego polls every 5 s when it is told 0).
	RetryAfter time.Duration
	// NonceRejectPercent of good nonces the CA rejects as bad (Pebble's own default is 5; here 0).
	NonceRejectPercent int
	// AuthzReusePercent: how often the CA reuses an account's valid authorization for a name instead
	// of asking for a new challenge (Pebble's default is 50; here 0, so every order is validated).
	AuthzReusePercent int
	// VASleep restores Pebble's random 0–5 s sleep before each validation (off by default).
	VASleep bool
	// AlwaysValid makes the VA accept every challenge without looking at DNS.
	AlwaysValid bool
	// Strict turns on Pebble's strict mode (rejects deprecated protocol features).
	Strict bool
	// CAAIdentities are the issuer domain names the CA accepts in CAA records.
	CAAIdentities []string

	// ACMEAddr, ManagementAddr and DNSAddr are listen addresses; empty means 127.0.0.1 with a free port.
	// The DNS server uses the same port for UDP and TCP.
	ACMEAddr, ManagementAddr, DNSAddr string

	// Resolver is the DNS server ("host:port", answering over TCP) that the CA's DNS-01 validation
	// asks instead of the harness's own, e.g. one that serves a cloud DNS fake's whole zone. The
	// harness's own server still runs, and answers what is published on it, but the CA does not ask it.
	Resolver string

	// Log receives Pebble's and challtestsrv's logs. Nil discards them.
	Log io.Writer
}

// Harness is a running CA and DNS server. Its methods are safe for concurrent use.
type Harness struct {
	acme, mgmt *httptest.Server
	dns        []*dns.Server
	dnsAddr    string
	records    *challtestsrv.ChallSrv
	ca         *ca.CAImpl
	store      *db.MemoryStore
	closeOnce  sync.Once
}

// libraryGlobals serializes the short windows in which Start touches process-wide state of the
// libraries (environment variables, miekg/dns's DefaultServeMux).
var libraryGlobals sync.Mutex

// New starts a harness for a test and stops it when the test ends.
func New(tb testing.TB, opts Options) *Harness {
	tb.Helper()
	h, err := Start(opts)
	if err != nil {
		tb.Fatalf("start ACME harness: %v", err)
	}
	tb.Cleanup(h.Close)
	return h
}

// Start starts a harness. Close it when done.
func Start(opts Options) (_ *Harness, err error) {
	logOut := opts.Log
	if logOut == nil {
		logOut = io.Discard
	}
	pebbleLog := log.New(logOut, "pebble ", log.LstdFlags)

	profiles, err := caProfiles(opts.Profiles)
	if err != nil {
		return nil, err
	}
	keyAlg := opts.KeyAlgorithm
	if keyAlg == "" {
		keyAlg = "ecdsa"
	}
	if keyAlg != "ecdsa" && keyAlg != "rsa" {
		return nil, fmt.Errorf("key algorithm %q: want ecdsa or rsa", keyAlg)
	}
	chainLength := opts.ChainLength
	if chainLength == 0 {
		chainLength = 1
	}
	if chainLength < 1 || opts.AlternateRoots < 0 {
		return nil, fmt.Errorf("chain length %d and alternate roots %d: want at least 1 and 0", chainLength, opts.AlternateRoots)
	}
	retryAfter := int((opts.RetryAfter + time.Second - 1) / time.Second)
	if retryAfter < 1 {
		retryAfter = 1
	}

	h := &Harness{}
	defer func() {
		if err != nil {
			h.Close()
		}
	}()

	h.records, h.dns, h.dnsAddr, err = startDNS(opts.DNSAddr, log.New(logOut, "challtestsrv ", log.LstdFlags))
	if err != nil {
		return nil, err
	}

	h.store = db.NewMemoryStore()
	h.ca = ca.New(pebbleLog, h.store, "", keyAlg, opts.AlternateRoots, chainLength, profiles)
	resolver := h.dnsAddr
	if opts.Resolver != "" {
		resolver = opts.Resolver
	}
	front, err := newFrontEnd(opts, pebbleLog, h.store, h.ca, resolver, retryAfter)
	if err != nil {
		return nil, err
	}

	if h.acme, err = startTLS(opts.ACMEAddr, challengeRetryAfter(front.Handler(), retryAfter)); err != nil {
		return nil, fmt.Errorf("ACME server: %w", err)
	}
	if h.mgmt, err = startTLS(opts.ManagementAddr, front.ManagementHandler()); err != nil {
		return nil, fmt.Errorf("management server: %w", err)
	}
	return h, nil
}

func caProfiles(in map[string]Profile) (map[string]ca.Profile, error) {
	if len(in) == 0 {
		in = map[string]Profile{DefaultProfile: {Description: "default profile", Validity: DefaultValidity}}
	}
	out := make(map[string]ca.Profile, len(in))
	for name, p := range in {
		if name == "" {
			return nil, errors.New("profile with an empty name")
		}
		validity := p.Validity
		if validity == 0 {
			validity = DefaultValidity
		}
		if validity < time.Second {
			return nil, fmt.Errorf("profile %q: validity %s is shorter than one second", name, validity)
		}
		out[name] = ca.Profile{Description: p.Description, ValidityPeriod: uint64(validity / time.Second)}
	}
	return out, nil
}

// newFrontEnd builds the VA and WFE, which read their tuning from the environment only here.
func newFrontEnd(opts Options, logger *log.Logger, store *db.MemoryStore, authority *ca.CAImpl, dnsAddr string, retryAfter int) (wfe.WebFrontEndImpl, error) {
	env := map[string]string{
		"PEBBLE_VA_NOSLEEP":      strconv.FormatBool(!opts.VASleep),
		"PEBBLE_VA_ALWAYS_VALID": strconv.FormatBool(opts.AlwaysValid),
		"PEBBLE_WFE_NONCEREJECT": strconv.Itoa(opts.NonceRejectPercent),
		"PEBBLE_AUTHZREUSE":      strconv.Itoa(opts.AuthzReusePercent),
	}
	if opts.NonceRejectPercent < 0 || opts.NonceRejectPercent > 100 || opts.AuthzReusePercent < 0 || opts.AuthzReusePercent > 100 {
		return wfe.WebFrontEndImpl{}, fmt.Errorf("nonce reject %d%% and authz reuse %d%%: want 0 to 100", opts.NonceRejectPercent, opts.AuthzReusePercent)
	}
	caa := opts.CAAIdentities
	if len(caa) == 0 {
		caa = []string{"pebble.letsencrypt.org"}
	}

	libraryGlobals.Lock()
	defer libraryGlobals.Unlock()
	restore := setEnv(env)
	defer restore()
	// Pebble's VA takes an HTTP-01 and a TLS-ALPN-01 port; the harness serves only DNS-01, so
	// those challenges fail to connect, as they should.
	validator := va.New(logger, 5002, 5001, opts.Strict, dnsAddr, store)
	return wfe.New(logger, store, validator, authority, caa, opts.Strict, false, retryAfter, retryAfter), nil
}

func setEnv(env map[string]string) (restore func()) {
	type saved struct {
		value string
		set   bool
	}
	before := make(map[string]saved, len(env))
	for k, v := range env {
		old, ok := os.LookupEnv(k)
		before[k] = saved{old, ok}
		_ = os.Setenv(k, v)
	}
	return func() {
		for k, s := range before {
			if s.set {
				_ = os.Setenv(k, s.value)
			} else {
				_ = os.Unsetenv(k)
			}
		}
	}
}

// startDNS creates challtestsrv's record store and DNS handler and serves the handler on UDP and
// TCP listeners bound to one loopback port.
func startDNS(addr string, logger *log.Logger) (*challtestsrv.ChallSrv, []*dns.Server, string, error) {
	records, handler, err := newChallSrv(logger)
	if err != nil {
		return nil, nil, "", err
	}
	udp, tcp, err := listenDNS(addr)
	if err != nil {
		return nil, nil, "", err
	}
	servers := []*dns.Server{
		{PacketConn: udp, Handler: handler, ReadTimeout: time.Second, WriteTimeout: time.Second},
		{Listener: tcp, Handler: handler, ReadTimeout: time.Second, WriteTimeout: time.Second},
	}
	for _, s := range servers {
		go func() {
			if err := s.ActivateAndServe(); err != nil {
				logger.Printf("DNS server: %v", err)
			}
		}()
	}
	return records, servers, tcp.Addr().String(), nil
}

func newChallSrv(logger *log.Logger) (*challtestsrv.ChallSrv, dns.Handler, error) {
	libraryGlobals.Lock()
	defer libraryGlobals.Unlock()
	saved := dns.DefaultServeMux
	mux := dns.NewServeMux()
	dns.DefaultServeMux = mux
	defer func() { dns.DefaultServeMux = saved }()
	// The address only makes challtestsrv register its DNS handler; its own servers are never run.
	records, err := challtestsrv.New(challtestsrv.Config{DNSAddrs: []string{"127.0.0.1:0"}, Log: logger})
	if err != nil {
		return nil, nil, fmt.Errorf("challtestsrv: %w", err)
	}
	return records, mux, nil
}

func listenDNS(addr string) (net.PacketConn, net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("DNS address %q: %w", addr, err)
	}
	// With port 0 the kernel picks the UDP port; the TCP listener must get the same one, which
	// another process may hold, so try a few times.
	for attempt := 0; ; attempt++ {
		udp, err := net.ListenPacket("udp", net.JoinHostPort(host, port))
		if err != nil {
			return nil, nil, fmt.Errorf("DNS over UDP on %s: %w", addr, err)
		}
		tcp, err := net.Listen("tcp", udp.LocalAddr().String())
		if err == nil {
			return udp, tcp, nil
		}
		_ = udp.Close()
		if port != "0" || attempt == 10 {
			return nil, nil, fmt.Errorf("DNS over TCP on %s: %w", udp.LocalAddr(), err)
		}
	}
}

// challengeRetryAfter adds Retry-After to challenge responses, which Pebble sends only on
// authorizations (RFC 8555 8.2 allows it on both). Without it, lego waits 5 s before it first polls
// a challenge that was not validated by the time the CA answered; with it, RetryAfter.
func challengeRetryAfter(next http.Handler, seconds int) http.Handler {
	value := strconv.Itoa(seconds)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/chalZ/") {
			w = &retryAfterWriter{ResponseWriter: w, value: value}
		}
		next.ServeHTTP(w, r)
	})
}

type retryAfterWriter struct {
	http.ResponseWriter
	value       string
	wroteHeader bool
}

func (w *retryAfterWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	if code == http.StatusOK && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", w.value)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *retryAfterWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

func startTLS(addr string, handler http.Handler) (*httptest.Server, error) {
	srv := httptest.NewUnstartedServer(handler)
	if addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, err
		}
		_ = srv.Listener.Close()
		srv.Listener = l
	}
	srv.StartTLS()
	return srv, nil
}

// Close stops the servers. It is safe to call more than once.
func (h *Harness) Close() {
	h.closeOnce.Do(func() {
		if h.acme != nil {
			h.acme.Close()
		}
		if h.mgmt != nil {
			h.mgmt.Close()
		}
		for _, s := range h.dns {
			_ = s.Shutdown()
		}
	})
}

// DirectoryURL is the ACME directory (https://127.0.0.1:PORT/dir).
func (h *Harness) DirectoryURL() string { return h.acme.URL + "/dir" }

// ManagementURL is the base URL of Pebble's management interface (/roots/0, /intermediates/0,
// /cert-status-by-serial/<hex>, /set-renewal-info/), served with the same TLS certificate.
func (h *Harness) ManagementURL() string { return h.mgmt.URL }

// HTTPClient trusts the ACME and management servers' TLS certificate.
func (h *Harness) HTTPClient() *http.Client { return h.acme.Client() }

// ServerCAPEM is the certificate that signs the ACME and management servers' TLS certificate (for
// clients in other processes, e.g. lego's LEGO_CA_CERTIFICATES). It is not the CA that issues
// certificates over ACME; that is RootPEM.
func (h *Harness) ServerCAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.acme.Certificate().Raw})
}

// DNSAddr is the DNS server's host:port, on UDP and TCP.
func (h *Harness) DNSAddr() string { return h.dnsAddr }

// RootPEM is the root of the CA's primary chain (what GET /roots/0 returns): issued certificates
// verify against it.
func (h *Harness) RootPEM() []byte { return h.ca.GetRootCert(0).PEM() }

// IntermediatePEM is the intermediate closest to the leaf in the primary chain (GET /intermediates/0).
func (h *Harness) IntermediatePEM() []byte { return h.ca.GetIntermediateCert(0).PEM() }

// Roots holds every root the CA issues under (the primary and the alternates).
func (h *Harness) Roots() *x509.CertPool {
	pool := x509.NewCertPool()
	for i := range h.ca.GetNumberOfRootCerts() {
		pool.AddCert(h.ca.GetRootCert(i).Cert)
	}
	return pool
}

// CertStatus is what the CA knows about an issued certificate.
type CertStatus struct {
	Revoked   bool
	Reason    *uint // the revocation reason code, when one was given
	RevokedAt time.Time
}

// CertificateStatus looks a certificate up by serial number; ok is false for a serial the CA never
// issued.
func (h *Harness) CertificateStatus(serial *big.Int) (status CertStatus, ok bool) {
	if r := h.store.GetRevokedCertificateBySerial(serial); r != nil {
		return CertStatus{Revoked: true, Reason: r.Reason, RevokedAt: r.RevokedAt}, true
	}
	return CertStatus{}, h.store.GetCertificateBySerial(serial) != nil
}

// PublishTXT adds a value to the TXT records of fqdn (values accumulate, as a DNS-01 record set for a
// wildcard and its apex must).
func (h *Harness) PublishTXT(fqdn, value string) { h.records.AddDNSTXTRecord(fqdn, value) }

// ClearTXT removes every TXT value of fqdn.
func (h *Harness) ClearTXT(fqdn string) { h.records.DeleteDNSTXTRecord(fqdn) }

// TXT returns the TXT values currently published for fqdn.
func (h *Harness) TXT(fqdn string) []string {
	return append([]string(nil), h.records.GetDNSTXTRecords(fqdn)...)
}

// PublishA adds IPv4 addresses to host's A records. Hosts without A records answer 127.0.0.1.
func (h *Harness) PublishA(host string, addrs ...string) { h.records.AddDNSARecord(host, addrs) }

// ClearA removes host's A records.
func (h *Harness) ClearA(host string) { h.records.DeleteDNSARecord(host) }

// PublishAAAA adds IPv6 addresses to host's AAAA records. Hosts without AAAA records answer ::1.
func (h *Harness) PublishAAAA(host string, addrs ...string) { h.records.AddDNSAAAARecord(host, addrs) }

// ClearAAAA removes host's AAAA records.
func (h *Harness) ClearAAAA(host string) { h.records.DeleteDNSAAAARecord(host) }

// PublishCNAME makes host an alias of target: queries of any type for host are answered for target
// (one level deep, as challtestsrv does).
func (h *Harness) PublishCNAME(host, target string) { h.records.AddDNSCNAMERecord(host, target) }

// ClearCNAME removes host's CNAME.
func (h *Harness) ClearCNAME(host string) { h.records.DeleteDNSCNAMERecord(host) }

// SetServFail makes every query for host fail with SERVFAIL (on) or answer normally again (off),
// e.g. to make the CA's DNS-01 validation of a name fail.
func (h *Harness) SetServFail(host string, on bool) {
	if on {
		h.records.AddDNSServFailRecord(host)
	} else {
		h.records.DeleteDNSServFailRecord(host)
	}
}

// RecordSink receives the records a cloud DNS fake holds, so the harness's DNS server can answer
// with them. The fake calls it after every change with the complete set of values for one name and
// type; an empty set deletes the records.
type RecordSink interface {
	SetRecordSet(fqdn, rrType string, values []string) error
}

var _ RecordSink = (*Harness)(nil)

// SetRecordSet implements RecordSink for the types the DNS server answers: TXT, A, AAAA and CNAME
// (one value). Other types (MX, NS, SOA, ...) are accepted and not served. TXT values may be given
// in zone-file quoting ("a" "b"); the quotes are removed and the strings joined, as DNS-01 wants.
func (h *Harness) SetRecordSet(fqdn, rrType string, values []string) error {
	switch strings.ToUpper(rrType) {
	case "TXT":
		h.records.DeleteDNSTXTRecord(fqdn)
		for _, v := range values {
			h.records.AddDNSTXTRecord(fqdn, unquoteTXT(v))
		}
	case "A":
		h.records.DeleteDNSARecord(fqdn)
		if len(values) > 0 {
			h.records.AddDNSARecord(fqdn, values)
		}
	case "AAAA":
		h.records.DeleteDNSAAAARecord(fqdn)
		if len(values) > 0 {
			h.records.AddDNSAAAARecord(fqdn, values)
		}
	case "CNAME":
		switch len(values) {
		case 0:
			h.records.DeleteDNSCNAMERecord(fqdn)
		case 1:
			h.records.AddDNSCNAMERecord(fqdn, values[0])
		default:
			return fmt.Errorf("CNAME %s: %d values, a CNAME has one", fqdn, len(values))
		}
	}
	return nil
}

// unquoteTXT turns `"abc" "def"` (Route 53's wire form) into "abcdef" and leaves unquoted values
// (Alidns's form) alone.
func unquoteTXT(v string) string {
	v = strings.TrimSpace(v)
	if !strings.HasPrefix(v, `"`) {
		return v
	}
	var out bytes.Buffer
	for len(v) > 0 {
		v = strings.TrimLeft(v, " ")
		if !strings.HasPrefix(v, `"`) {
			out.WriteString(v)
			break
		}
		end := 1
		for end < len(v) && v[end] != '"' {
			if v[end] == '\\' {
				end++
			}
			end++
		}
		s, err := strconv.Unquote(v[:min(end+1, len(v))])
		if err != nil {
			s = strings.Trim(v[:min(end+1, len(v))], `"`)
		}
		out.WriteString(s)
		v = v[min(end+1, len(v)):]
	}
	return out.String()
}
