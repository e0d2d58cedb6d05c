// Package testca makes a throwaway certificate authority and a serving certificate it signs, for
// tests of TLS between the provider, the E2B SDK and the sandbox manager (names such as
// api.sandbox.test and *.sandbox.test, which no public CA would sign).
package testca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// validity is long enough for any test run and short enough to never matter outside one.
const validity = 24 * time.Hour

// CA is a certificate authority and one serving certificate it issued. The PEM files are in a test
// temporary directory.
type CA struct {
	CertPEM   []byte // the CA's certificate: what clients trust
	CertFile  string
	LeafPEM   []byte // the serving certificate
	LeafFile  string
	KeyPEM    []byte // the serving certificate's private key
	KeyFile   string
	TLSConfig *tls.Config // serves the leaf certificate
}

// New makes a CA and a serving certificate for names (DNS names, wildcards such as *.sandbox.test,
// or IP addresses).
func New(t testing.TB, names ...string) *CA {
	t.Helper()
	ca, err := newCA(t.TempDir(), names)
	if err != nil {
		t.Fatalf("testca: %v", err)
	}
	return ca
}

func newCA(dir string, names []string) (*CA, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "sandboxstack test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "sandbox-manager"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			leafTmpl.IPAddresses = append(leafTmpl.IPAddresses, ip)
		} else {
			leafTmpl.DNSNames = append(leafTmpl.DNSNames, n)
		}
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(leafKey)
	if err != nil {
		return nil, err
	}
	c := &CA{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		LeafPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
	for _, f := range []struct {
		path *string
		name string
		data []byte
	}{{&c.CertFile, "ca.pem", c.CertPEM}, {&c.LeafFile, "cert.pem", c.LeafPEM}, {&c.KeyFile, "key.pem", c.KeyPEM}} {
		*f.path = filepath.Join(dir, f.name)
		if err := os.WriteFile(*f.path, f.data, 0o600); err != nil {
			return nil, err
		}
	}
	pair, err := tls.X509KeyPair(c.LeafPEM, c.KeyPEM)
	if err != nil {
		return nil, err
	}
	c.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	return c, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
}
