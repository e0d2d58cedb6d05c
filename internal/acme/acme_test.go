package acme

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-acme/lego/v4/certcrypto"
	"github.com/go-acme/lego/v4/challenge/dns01"
	legolog "github.com/go-acme/lego/v4/log"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/acmeharness"
)

// One CA and DNS server for the package: lego keeps its recursive name servers in a package
// variable, so every test must resolve through the same DNS server.
var ca *acmeharness.Harness

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	h, err := acmeharness.Start(acmeharness.Options{Log: caLog(), Profiles: map[string]acmeharness.Profile{
		acmeharness.DefaultProfile: {Validity: acmeharness.DefaultValidity},
		"shortlived":               {Validity: 160 * time.Hour},
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer h.Close()
	ca = h
	// Set lego's process-wide name servers before tests run in parallel.
	for _, opt := range testPropagation().options() {
		_ = opt(&dns01.Challenge{})
	}
	if !testing.Verbose() {
		legolog.Logger = discardLogger{}
	}
	return m.Run()
}

// caLog shows Pebble's and challtestsrv's logs with ACME_TEST_CA_LOG=1.
func caLog() io.Writer {
	if os.Getenv("ACME_TEST_CA_LOG") != "" {
		return os.Stderr
	}
	return nil
}

type discardLogger struct{}

func (discardLogger) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (discardLogger) Fatalln(args ...any)               { panic(fmt.Sprint(args...)) }
func (discardLogger) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (discardLogger) Print(...any)                      {}
func (discardLogger) Println(...any)                    {}
func (discardLogger) Printf(string, ...any)             {}

func testPropagation() Propagation {
	return Propagation{SkipCheck: true, PollInterval: 50 * time.Millisecond, RecursiveNameservers: []string{ca.DNSAddr()}}
}

// dnsWriter is a TXTWriter over the harness's DNS server, holding record sets the way Route 53 does
// (one set per name, values merged) and publishing each whole set through the harness's RecordSink,
// as the cloud DNS fakes do. Pebble validates by querying that DNS server.
type dnsWriter struct {
	sink acmeharness.RecordSink

	mu       sync.Mutex
	sets     map[string][]string
	maxAtOne int // most values published at one name at once
	writes   int
	written  []string // FQDNs written, in order
	failOn   int      // fail the failOn-th SetTXT (1-based); 0 never
	wrong    string   // publish this instead of the real value
	onSet    func()
}

func newDNSWriter() *dnsWriter {
	return &dnsWriter{sink: ca, sets: make(map[string][]string)}
}

func (w *dnsWriter) SetTXT(ctx context.Context, fqdn, value string) (TXTRecord, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	if w.onSet != nil {
		w.onSet()
	}
	if err := ctx.Err(); err != nil {
		return TXTRecord{}, err
	}
	if w.writes == w.failOn {
		return TXTRecord{}, errors.New("InvalidChangeBatch: the test writer refuses this change")
	}
	published := value
	if w.wrong != "" {
		published = w.wrong
	}
	w.written = append(w.written, fqdn)
	w.sets[fqdn] = append(w.sets[fqdn], published)
	w.maxAtOne = max(w.maxAtOne, len(w.sets[fqdn]))
	return TXTRecord{FQDN: fqdn, Value: published, ID: fmt.Sprint(w.writes)}, w.sink.SetRecordSet(fqdn, "TXT", w.sets[fqdn])
}

func (w *dnsWriter) DeleteTXT(_ context.Context, rec TXTRecord) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	i := slices.Index(w.sets[rec.FQDN], rec.Value)
	if i < 0 {
		return nil
	}
	w.sets[rec.FQDN] = slices.Delete(w.sets[rec.FQDN], i, i+1)
	if len(w.sets[rec.FQDN]) == 0 {
		delete(w.sets, rec.FQDN)
	}
	return w.sink.SetRecordSet(rec.FQDN, "TXT", w.sets[rec.FQDN])
}

func (w *dnsWriter) left() map[string][]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps(w.sets)
}

func maps(in map[string][]string) map[string][]string {
	out := make(map[string][]string, len(in))
	for k, v := range in {
		out[k] = slices.Clone(v)
	}
	return out
}

func request(w TXTWriter, names ...string) Request {
	return Request{
		Server:      Server{DirectoryURL: ca.DirectoryURL(), HTTPClient: ca.HTTPClient()},
		Email:       "certs@x.test",
		Names:       names,
		DNS:         w,
		Propagation: testPropagation(),
		Profile:     acmeharness.DefaultProfile,
	}
}

// assertNothingLeft checks the writer and the DNS server itself.
func assertNothingLeft(t *testing.T, w *dnsWriter, fqdns ...string) {
	t.Helper()
	if left := w.left(); len(left) > 0 {
		t.Errorf("TXT records left in the DNS service: %v", left)
	}
	for _, fqdn := range fqdns {
		if v := ca.TXT(fqdn); len(v) > 0 {
			t.Errorf("DNS server still answers %s TXT %q", fqdn, v)
		}
	}
}

func verify(cert *Certificate, name string) error {
	leaf, err := certcrypto.ParsePEMCertificate(cert.CertificatePEM)
	if err != nil {
		return err
	}
	inter := x509.NewCertPool()
	issuers, err := certcrypto.ParsePEMBundle(cert.IssuerPEM)
	if err != nil {
		return err
	}
	for _, c := range issuers {
		inter.AddCert(c)
	}
	_, err = leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: ca.Roots(), Intermediates: inter})
	return err
}

func publicKey(t *testing.T, keyPEM []byte) crypto.PublicKey {
	t.Helper()
	key, err := certcrypto.ParsePEMPrivateKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return key.(crypto.Signer).Public()
}

func TestObtainWildcardAndApex(t *testing.T) {
	w := newDNSWriter()
	start := time.Now()
	cert, err := Obtain(t.Context(), request(w, "*.x.test", "x.test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wildcard + apex issued in %s", time.Since(start).Round(time.Millisecond))

	for _, name := range []string{"a.x.test", "x.test", "zz.x.test"} {
		if err := verify(cert, name); err != nil {
			t.Errorf("certificate does not verify for %s against Pebble's root: %v", name, err)
		}
	}
	for _, name := range []string{"a.b.x.test", "y.test"} {
		if err := verify(cert, name); err == nil {
			t.Errorf("certificate verifies for %s", name)
		}
	}
	if w.maxAtOne != 2 {
		t.Errorf("at most %d values were published at once at _acme-challenge.x.test, want the wildcard's and the apex's together", w.maxAtOne)
	}
	assertNothingLeft(t, w, "_acme-challenge.x.test")

	leaf, _ := certcrypto.ParsePEMCertificate(cert.CertificatePEM)
	if !publicKey(t, cert.PrivateKeyPEM).(*ecdsa.PublicKey).Equal(leaf.PublicKey) {
		t.Error("private key does not match the certificate")
	}
	if got := publicKey(t, cert.PrivateKeyPEM).(*ecdsa.PublicKey).Curve; got != elliptic.P256() {
		t.Errorf("default key curve = %v, want P-256", got.Params().Name)
	}
	if !slices.Equal(cert.Names, []string{"*.x.test", "x.test"}) {
		t.Errorf("Names = %q", cert.Names)
	}
	if cert.Serial != leaf.SerialNumber.Text(16) || !cert.NotAfter.Equal(leaf.NotAfter) || !cert.NotBefore.Equal(leaf.NotBefore) {
		t.Errorf("info %+v does not match the certificate", cert.CertificateInfo)
	}
	if v := cert.NotAfter.Sub(cert.NotBefore); v < 89*24*time.Hour || v > acmeharness.DefaultValidity {
		t.Errorf("validity %s, want the default profile's 90 days", v)
	}
	if !strings.HasPrefix(cert.URL, "https://") || !strings.HasPrefix(cert.AccountURL, "https://") {
		t.Errorf("certificate URL %q, account URL %q", cert.URL, cert.AccountURL)
	}
	if len(cert.AccountKeyPEM) == 0 {
		t.Error("generated account key not returned")
	}
	serial, _ := new(big.Int).SetString(cert.Serial, 16)
	if st, ok := ca.CertificateStatus(serial); !ok || st.Revoked {
		t.Errorf("CA status of the certificate: known %v, %+v", ok, st)
	}
}

func TestKeyTypes(t *testing.T) {
	for _, tc := range []struct {
		kt    KeyType
		check func(crypto.PublicKey) bool
	}{
		{KeyP384, func(k crypto.PublicKey) bool { e, ok := k.(*ecdsa.PublicKey); return ok && e.Curve == elliptic.P384() }},
		{KeyRSA2048, func(k crypto.PublicKey) bool { r, ok := k.(*rsa.PublicKey); return ok && r.N.BitLen() == 2048 }},
		{KeyRSA4096, func(k crypto.PublicKey) bool { r, ok := k.(*rsa.PublicKey); return ok && r.N.BitLen() == 4096 }},
	} {
		t.Run(string(tc.kt), func(t *testing.T) {
			t.Parallel()
			w := newDNSWriter()
			name := strings.ToLower(string(tc.kt)) + ".keys.test"
			req := request(w, name)
			req.KeyType = tc.kt
			cert, err := Obtain(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			leaf, _ := certcrypto.ParsePEMCertificate(cert.CertificatePEM)
			if !tc.check(leaf.PublicKey) {
				t.Errorf("certificate key is %T, want %s", leaf.PublicKey, tc.kt)
			}
			if !tc.check(publicKey(t, cert.PrivateKeyPEM)) {
				t.Errorf("private key is not %s", tc.kt)
			}
			if err := verify(cert, name); err != nil {
				t.Error(err)
			}
			assertNothingLeft(t, w, "_acme-challenge."+name)
		})
	}
}

func TestShortLivedProfile(t *testing.T) {
	w := newDNSWriter()
	req := request(w, "short.test")
	req.Profile = "shortlived"
	cert, err := Obtain(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if v := cert.NotAfter.Sub(cert.NotBefore); v > 160*time.Hour || v < 159*time.Hour {
		t.Errorf("validity %s, want the profile's 160h", v)
	}
	if !ShouldRenew(cert.NotAfter, 7, time.Now()) || ShouldRenew(cert.NotAfter, 6, time.Now()) {
		t.Error("a 160h certificate should be due with 7 days' margin and not with 6")
	}
}

func TestRenew(t *testing.T) {
	w := newDNSWriter()
	req := request(w, "*.renew.test", "renew.test")
	req.AccountKeyPEM = mustKey(t, KeyP256)
	first, err := Obtain(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}

	req.Names = nil // taken from the certificate
	var logs bytes.Buffer
	req.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	const fallback = "CA refused the replacement order"
	sameKey, err := Renew(t.Context(), req, first.CertificatePEM, first.PrivateKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), fallback) {
		t.Errorf("the CA refused to replace a certificate of the same account: %s", logs.String())
	}
	if sameKey.Serial == first.Serial {
		t.Error("renewal returned the same certificate")
	}
	if !slices.Equal(sameKey.Names, first.Names) {
		t.Errorf("renewed names %q, want %q", sameKey.Names, first.Names)
	}
	if !publicKey(t, sameKey.PrivateKeyPEM).(*ecdsa.PublicKey).Equal(publicKey(t, first.PrivateKeyPEM)) {
		t.Error("renewal with the key to reuse has another key")
	}
	if err := verify(sameKey, "renew.test"); err != nil {
		t.Error(err)
	}

	// A certificate the CA never issued cannot be replaced: the CA refuses the order's "replaces"
	// and the renewal goes through as a plain order, with a new key. (A second replacement of the
	// same certificate is refused as alreadyReplaced, which lego itself retries without "replaces".)
	foreign := selfSigned(t, "foreign.renew.test")
	newKey, err := Renew(t.Context(), req, foreign.certPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), fallback) {
		t.Error("renewing a certificate unknown to the CA did not fall back to a plain order")
	}
	if !slices.Equal(newKey.Names, []string{"foreign.renew.test"}) {
		t.Errorf("renewed names %q, want the foreign certificate's", newKey.Names)
	}
	if publicKey(t, newKey.PrivateKeyPEM).(*ecdsa.PublicKey).Equal(foreign.key.Public()) {
		t.Error("renewal without a key to reuse kept the old key")
	}
	assertNothingLeft(t, w, "_acme-challenge.renew.test")
}

func TestRevoke(t *testing.T) {
	w := newDNSWriter()
	req := request(w, "revoke.test")
	cert, err := Obtain(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	server := Server{DirectoryURL: ca.DirectoryURL(), HTTPClient: ca.HTTPClient()}

	if err := Revoke(t.Context(), RevokeRequest{Server: server, AccountKeyPEM: mustKey(t, KeyP256), CertificatePEM: cert.CertificatePEM}); !errors.Is(err, ErrAccountNotFound) {
		t.Errorf("revoking with the key of an account the CA does not know: %v, want ErrAccountNotFound", err)
	}

	superseded := uint(4)
	if err := Revoke(t.Context(), RevokeRequest{Server: server, AccountKeyPEM: cert.AccountKeyPEM, CertificatePEM: cert.CertificatePEM, Reason: &superseded}); err != nil {
		t.Fatal(err)
	}
	serial, _ := new(big.Int).SetString(cert.Serial, 16)
	st, ok := ca.CertificateStatus(serial)
	if !ok || !st.Revoked || st.Reason == nil || *st.Reason != superseded {
		t.Errorf("CA status after revocation: known %v, %+v", ok, st)
	}
	err = Revoke(t.Context(), RevokeRequest{Server: server, AccountKeyPEM: cert.AccountKeyPEM, CertificatePEM: cert.CertificatePEM})
	if err == nil || !strings.Contains(err.Error(), cert.Serial) {
		t.Errorf("second revocation: %v, want an error naming serial %s", err, cert.Serial)
	}
}

func TestRefusedChallenge(t *testing.T) {
	t.Run("wrong TXT value", func(t *testing.T) {
		w := newDNSWriter()
		w.wrong = "not-the-key-authorization-digest"
		_, err := Obtain(t.Context(), request(w, "*.wrong.test", "wrong.test"))
		assertChallengeError(t, err, "*.wrong.test", "unauthorized")
		assertNothingLeft(t, w, "_acme-challenge.wrong.test")
	})
	t.Run("SERVFAIL", func(t *testing.T) {
		ca.SetServFail("_acme-challenge.servfail.test", true)
		t.Cleanup(func() { ca.SetServFail("_acme-challenge.servfail.test", false) })
		w := newDNSWriter()
		_, err := Obtain(t.Context(), request(w, "servfail.test"))
		assertChallengeError(t, err, "servfail.test", "unauthorized")
		assertNothingLeft(t, w, "_acme-challenge.servfail.test")
	})
}

func assertChallengeError(t *testing.T, err error, name, problem string) {
	t.Helper()
	if err == nil {
		t.Fatal("obtained a certificate for a refused challenge")
	}
	t.Logf("error: %v", err)
	var ce *ChallengeError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v carries no ChallengeError", err)
	}
	if ce.Name != name || !strings.HasSuffix(ce.ProblemType, ":"+problem) || ce.Detail == "" {
		t.Errorf("ChallengeError = {Name %q, ProblemType %q, Detail %q}, want name %q and problem %q with a detail", ce.Name, ce.ProblemType, ce.Detail, name, problem)
	}
	if !strings.Contains(err.Error(), name+": ") || !strings.Contains(err.Error(), ce.Detail) {
		t.Errorf("message %q does not name %s and quote the CA's detail", err, name)
	}
}

func TestTXTWriterErrorLeavesNothing(t *testing.T) {
	w := newDNSWriter()
	w.failOn = 2 // the first value is written, the second refused
	_, err := Obtain(t.Context(), request(w, "*.fail.test", "fail.test"))
	if err == nil {
		t.Fatal("obtained a certificate though a TXT write failed")
	}
	t.Logf("error: %v", err)
	var txtErr *TXTError
	if !errors.As(err, &txtErr) || txtErr.Op != "write" || txtErr.FQDN != "_acme-challenge.fail.test." {
		t.Errorf("error %v carries no TXTError for the write of _acme-challenge.fail.test.", err)
	}
	if !strings.Contains(err.Error(), "the test writer refuses this change") || !strings.Contains(err.Error(), "fail.test: write TXT record") {
		t.Errorf("message %q does not name the name and quote the writer's error", err)
	}
	assertNothingLeft(t, w, "_acme-challenge.fail.test")
}

// failingDeletes refuses every deletion.
type failingDeletes struct{ *dnsWriter }

func (failingDeletes) DeleteTXT(context.Context, TXTRecord) error {
	return errors.New("Throttling.User: the test writer refuses deletions")
}

func TestCleanupFailureKeepsTheCertificate(t *testing.T) {
	w := newDNSWriter()
	cert, err := Obtain(t.Context(), request(failingDeletes{w}, "cleanup.test"))
	var ce *CleanupError
	if cert == nil || !errors.As(err, &ce) {
		t.Fatalf("Obtain = %v, %v; want the certificate and a CleanupError", cert != nil, err)
	}
	if !strings.Contains(err.Error(), "delete TXT record _acme-challenge.cleanup.test.") || !strings.Contains(err.Error(), "refuses deletions") {
		t.Errorf("message %q does not say which record could not be deleted and why", err)
	}
	if err := verify(cert, "cleanup.test"); err != nil {
		t.Error(err)
	}
	for fqdn := range w.left() {
		ca.ClearTXT(fqdn)
	}
}

func TestPropagationCheckAgainstRecursiveServer(t *testing.T) {
	// With the check on, lego queries the DNS server for the TXT values before asking the CA.
	w := newDNSWriter()
	req := request(w, "*.checked.test", "checked.test")
	req.Propagation = Propagation{DisableAuthoritativeCheck: true, PollInterval: 50 * time.Millisecond, Timeout: 10 * time.Second, RecursiveNameservers: []string{ca.DNSAddr()}}
	if _, err := Obtain(t.Context(), req); err != nil {
		t.Fatal(err)
	}

	// A record the DNS server never answers makes the check time out, not the CA refuse it.
	ca.SetServFail("_acme-challenge.unseen.test", true)
	t.Cleanup(func() { ca.SetServFail("_acme-challenge.unseen.test", false) })
	req = request(newDNSWriter(), "unseen.test")
	req.Propagation = Propagation{DisableAuthoritativeCheck: true, PollInterval: 50 * time.Millisecond, Timeout: 300 * time.Millisecond, RecursiveNameservers: []string{ca.DNSAddr()}}
	_, err := Obtain(t.Context(), req)
	var ce *ChallengeError
	if !errors.As(err, &ce) || ce.Name != "unseen.test" || ce.ProblemType != "" {
		t.Errorf("error %v, want a ChallengeError for unseen.test without a CA problem", err)
	}
	t.Logf("error: %v", err)
}

func TestCancelledContextLeavesNothing(t *testing.T) {
	w := newDNSWriter()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w.onSet = func() {
		if w.writes == 2 {
			cancel()
		}
	}
	_, err := Obtain(ctx, request(w, "*.cancel.test", "cancel.test"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	assertNothingLeft(t, w, "_acme-challenge.cancel.test")
}

func TestChallengeThroughCNAME(t *testing.T) {
	// _acme-challenge.alias.test is delegated to a name in another zone: the record is written there.
	ca.PublishCNAME("_acme-challenge.alias.test", "_acme-challenge.delegated.test")
	t.Cleanup(func() { ca.ClearCNAME("_acme-challenge.alias.test") })
	w := newDNSWriter()
	cert, err := Obtain(t.Context(), request(w, "alias.test"))
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(cert, "alias.test"); err != nil {
		t.Error(err)
	}
	if !slices.Equal(w.written, []string{"_acme-challenge.delegated.test."}) {
		t.Errorf("records written at %q, want the CNAME's target", w.written)
	}
	assertNothingLeft(t, w, "_acme-challenge.delegated.test", "_acme-challenge.alias.test")
}

func TestAccount(t *testing.T) {
	server := Server{DirectoryURL: ca.DirectoryURL(), HTTPClient: ca.HTTPClient()}
	acct, err := RegisterAccount(t.Context(), AccountRequest{Server: server, Email: "a@x.test", KeyType: KeyRSA2048})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := publicKey(t, acct.KeyPEM).(*rsa.PublicKey); !ok || acct.URL == "" {
		t.Fatalf("account %q with a %T key", acct.URL, publicKey(t, acct.KeyPEM))
	}
	again, err := RegisterAccount(t.Context(), AccountRequest{Server: server, KeyPEM: acct.KeyPEM})
	if err != nil {
		t.Fatal(err)
	}
	if again.URL != acct.URL {
		t.Errorf("registering the same key again gave account %q, want %q", again.URL, acct.URL)
	}
	found, err := FindAccount(t.Context(), server, acct.KeyPEM)
	if err != nil || found.URL != acct.URL {
		t.Errorf("FindAccount = %+v, %v; want %q", found, err, acct.URL)
	}
	if _, err := FindAccount(t.Context(), server, mustKey(t, KeyP256)); !errors.Is(err, ErrAccountNotFound) {
		t.Errorf("FindAccount of an unknown key: %v, want ErrAccountNotFound", err)
	}
	if _, err := RegisterAccount(t.Context(), AccountRequest{Server: server, KeyPEM: []byte("not a key")}); err == nil || !strings.Contains(err.Error(), "account key") {
		t.Errorf("bad account key PEM: %v", err)
	}
}

func TestRequestValidation(t *testing.T) {
	ok := request(newDNSWriter(), "v.test")
	for name, mutate := range map[string]func(*Request){
		"no names":      func(r *Request) { r.Names = nil },
		"bad name":      func(r *Request) { r.Names = []string{"a.*.test"} },
		"key type":      func(r *Request) { r.KeyType = "ed448" },
		"no writer":     func(r *Request) { r.DNS = nil },
		"no directory":  func(r *Request) { r.DirectoryURL = "" },
		"negative wait": func(r *Request) { r.Propagation.Wait = -time.Second },
	} {
		r := ok
		mutate(&r)
		if _, err := Obtain(t.Context(), r); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestShouldRenew(t *testing.T) {
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		left    time.Duration
		minDays int
		want    bool
	}{
		{31 * 24 * time.Hour, 30, false},
		{30 * 24 * time.Hour, 30, false},
		{30*24*time.Hour - time.Second, 30, true},
		{time.Hour, 0, false},
		{-time.Hour, 0, true},
		{time.Hour, -5, false},
		{89 * 24 * time.Hour, 90, true},
	} {
		if got := ShouldRenew(now.Add(tc.left), tc.minDays, now); got != tc.want {
			t.Errorf("ShouldRenew(%s left, %d days) = %v, want %v", tc.left, tc.minDays, got, tc.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	if _, err := Describe([]byte("junk")); err == nil {
		t.Error("junk described")
	}
	if _, err := Describe(ca.RootPEM()); err == nil {
		t.Error("a CA certificate described as a leaf")
	}
}

type selfSignedCert struct {
	certPEM []byte
	key     *ecdsa.PrivateKey
}

func selfSigned(t *testing.T, name string) selfSignedCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return selfSignedCert{certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key: key}
}

func mustKey(t testing.TB, kt KeyType) []byte {
	t.Helper()
	k, err := GenerateKey(kt)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// BenchmarkObtainWildcard measures one issuance of *.name + name against the in-process Pebble
// (account lookup, two DNS-01 validations over the harness's DNS, finalization, download).
func BenchmarkObtainWildcard(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		w := newDNSWriter()
		name := fmt.Sprintf("bench%d.test", i)
		if _, err := Obtain(b.Context(), request(w, "*."+name, name)); err != nil {
			b.Fatal(err)
		}
	}
}
