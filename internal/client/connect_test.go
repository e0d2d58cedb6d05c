package client

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/testca"
)

// tlsManager is a TLS admin API whose certificate names api.sandbox.test (a name that resolves
// nowhere), signed by a test CA; it records the Host header and SNI name it was asked for.
func tlsManager(t *testing.T, certNames ...string) (addr string, ca *testca.CA, seen *[]string) {
	t.Helper()
	ca = testca.New(t, certNames...)
	var hosts []string
	f := &fakeManager{pools: map[string]Pool{}, keys: map[string]APIKey{}}
	inner := f.handler()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hosts = append(hosts, r.Host+" sni="+r.TLS.ServerName)
		inner.ServeHTTP(w, r)
	}))
	srv.TLS = ca.TLSConfig
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), ca, &hosts
}

func TestConnectAddressWithCA(t *testing.T) {
	addr, ca, seen := tlsManager(t, "api.sandbox.test", "*.sandbox.test")
	c, err := New("https://api.sandbox.test", "adm", WithConnectAddress(addr), WithCACertificate(string(ca.CertPEM)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutPool(context.Background(), "warm", PoolSpec{Template: "base", Size: 1}); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetPool(context.Background(), "warm"); err != nil || got.Size != 1 {
		t.Fatalf("GetPool = %+v, %v", got, err)
	}
	if len(*seen) != 2 || (*seen)[0] != "api.sandbox.test sni=api.sandbox.test" {
		t.Fatalf("the server saw %q, want Host and SNI api.sandbox.test", *seen)
	}
	if c.Endpoint() != "https://api.sandbox.test" {
		t.Fatalf("Endpoint() = %q, want the endpoint, not the connect address", c.Endpoint())
	}
}

func TestConnectAddressWithoutCAFailsVerification(t *testing.T) {
	addr, _, _ := tlsManager(t, "api.sandbox.test")
	c, err := New("https://api.sandbox.test", "adm", WithConnectAddress(addr))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetPool(context.Background(), "warm")
	var re *RequestError
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &re) || !errors.As(err, &unknown) {
		t.Fatalf("err = %v, want a RequestError for a certificate signed by an unknown authority", err)
	}
}

func TestConnectAddressWrongName(t *testing.T) {
	addr, ca, _ := tlsManager(t, "other.example.test")
	c, err := New("https://api.sandbox.test", "adm", WithConnectAddress(addr), WithCACertificate(string(ca.CertPEM)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetPool(context.Background(), "warm")
	var hostErr x509.HostnameError
	if !errors.As(err, &hostErr) || !strings.Contains(err.Error(), "api.sandbox.test") {
		t.Fatalf("err = %v, want a certificate name mismatch for api.sandbox.test", err)
	}
}

// The CA option alone adds roots for an endpoint that resolves: the test server's own address.
func TestCACertificateAlone(t *testing.T) {
	addr, ca, _ := tlsManager(t, "127.0.0.1")
	c, err := New("https://"+addr, "adm", WithCACertificate(string(ca.CertPEM)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetPool(context.Background(), "warm"); !IsNotFound(err) {
		t.Fatalf("GetPool = %v, want the server's 404", err)
	}
}

func TestInvalidConnectionOptions(t *testing.T) {
	ca := testca.New(t, "x.test")
	for name, tc := range map[string]struct {
		opt  Option
		want string
	}{
		"no port":       {WithConnectAddress("203.0.113.10"), "want host:port"},
		"empty host":    {WithConnectAddress(":443"), "the host is empty"},
		"bad port":      {WithConnectAddress("lb.example.com:https"), "not a number from 1 to 65535"},
		"port 0":        {WithConnectAddress("lb.example.com:0"), "not a number from 1 to 65535"},
		"not PEM":       {WithCACertificate("not a certificate"), "no PEM certificate found"},
		"empty PEM":     {WithCACertificate(""), "no PEM certificate found"},
		"private key":   {WithCACertificate(string(ca.KeyPEM)), `"EC PRIVATE KEY", want CERTIFICATE`},
		"broken":        {WithCACertificate("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "PEM block 1"},
		"trailing junk": {WithCACertificate(string(ca.CertPEM) + "junk"), "not PEM"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New("https://api.sandbox.test", "adm", tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "https://api.sandbox.test") {
				t.Fatalf("New = %v, want an error naming the endpoint and containing %q", err, tc.want)
			}
		})
	}
	if err := ParseConnectAddress("[2001:db8::1]:443"); err != nil {
		t.Fatalf("IPv6 connect address: %v", err)
	}
	if _, err := New("https://api.sandbox.test", "adm", WithHTTPClient(&http.Client{Transport: roundTripperFunc(nil)}),
		WithConnectAddress("127.0.0.1:443")); err == nil {
		t.Fatal("New accepted a connect address with a transport it cannot copy")
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
