// Package acme issues, renews and revokes certificates over ACME (RFC 8555) with DNS-01 challenges,
// independent of Terraform. It drives lego (github.com/go-acme/lego/v4) as a library and writes the
// challenge TXT records through a TXTWriter, which the provider's own cloud DNS clients implement;
// none of lego's DNS provider packages are used.
package acme

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/go-acme/lego/v4/certcrypto"
)

// KeyType is the type of a private key: of the certificate, or of the ACME account.
type KeyType string

// The key types. The zero value means P256.
const (
	KeyP256    KeyType = "P256"
	KeyP384    KeyType = "P384"
	KeyRSA2048 KeyType = "RSA2048"
	KeyRSA4096 KeyType = "RSA4096"
)

// KeyTypes lists the valid key types, for schema validators.
func KeyTypes() []KeyType { return []KeyType{KeyP256, KeyP384, KeyRSA2048, KeyRSA4096} }

func (k KeyType) lego() (certcrypto.KeyType, error) {
	switch k {
	case "", KeyP256:
		return certcrypto.EC256, nil
	case KeyP384:
		return certcrypto.EC384, nil
	case KeyRSA2048:
		return certcrypto.RSA2048, nil
	case KeyRSA4096:
		return certcrypto.RSA4096, nil
	}
	return "", fmt.Errorf("key type %q: want one of %q", string(k), KeyTypes())
}

// GenerateKey returns a new private key of the given type, PEM-encoded (SEC 1 "EC PRIVATE KEY" or
// PKCS #1 "RSA PRIVATE KEY").
func GenerateKey(k KeyType) ([]byte, error) {
	key, err := generateKey(k)
	if err != nil {
		return nil, err
	}
	return certcrypto.PEMEncode(key), nil
}

func generateKey(k KeyType) (crypto.PrivateKey, error) {
	kt, err := k.lego()
	if err != nil {
		return nil, err
	}
	key, err := certcrypto.GeneratePrivateKey(kt)
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", k, err)
	}
	return key, nil
}

// parseKey reads a PEM private key: PKCS #1, SEC 1 or PKCS #8 (RSA, ECDSA or Ed25519).
func parseKey(what string, keyPEM []byte) (crypto.PrivateKey, error) {
	key, err := certcrypto.ParsePEMPrivateKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: not a PEM private key: %w", what, err)
	}
	return key, nil
}

// CertificateInfo is what the provider stores about a certificate besides its PEM.
type CertificateInfo struct {
	// Names are the certificate's DNS names (subject alternative names), in its order.
	Names     []string
	NotBefore time.Time
	NotAfter  time.Time
	// Serial is the serial number in lower-case hexadecimal without separators.
	Serial string
}

// Describe parses a PEM certificate (the first one, if a chain is given), e.g. to import one.
func Describe(certPEM []byte) (CertificateInfo, error) {
	leaf, err := parseLeaf(certPEM)
	if err != nil {
		return CertificateInfo{}, err
	}
	return describe(leaf), nil
}

func describe(leaf *x509.Certificate) CertificateInfo {
	return CertificateInfo{
		Names:     slices.Clone(leaf.DNSNames),
		NotBefore: leaf.NotBefore.UTC(),
		NotAfter:  leaf.NotAfter.UTC(),
		Serial:    serialHex(leaf.SerialNumber),
	}
}

func serialHex(n *big.Int) string { return n.Text(16) }

func parseLeaf(certPEM []byte) (*x509.Certificate, error) {
	certs, err := certcrypto.ParsePEMBundle(certPEM)
	if err != nil {
		return nil, fmt.Errorf("certificate PEM: %w", err)
	}
	if certs[0].IsCA {
		return nil, errors.New("certificate PEM: starts with a CA certificate, not the leaf")
	}
	return certs[0], nil
}

// ShouldRenew reports whether a certificate expiring at notAfter is due for renewal at now: when less
// than minDaysRemaining days (of 24 hours) are left. A negative minDaysRemaining counts as 0, i.e.
// renew only once expired.
func ShouldRenew(notAfter time.Time, minDaysRemaining int, now time.Time) bool {
	minDaysRemaining = max(minDaysRemaining, 0)
	return notAfter.Sub(now) < time.Duration(minDaysRemaining)*24*time.Hour
}
