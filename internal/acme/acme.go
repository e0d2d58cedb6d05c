package acme

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	legoacme "github.com/go-acme/lego/v4/acme"
	"github.com/go-acme/lego/v4/certcrypto"
	"github.com/go-acme/lego/v4/certificate"
	"github.com/go-acme/lego/v4/lego"
	"github.com/go-acme/lego/v4/registration"
)

// Server is an ACME CA.
type Server struct {
	// DirectoryURL is the CA's directory, e.g. https://acme-v02.api.letsencrypt.org/directory.
	DirectoryURL string
	// HTTPClient talks to the CA (it must trust the CA's TLS certificate). Nil means a client with
	// the system roots and a 2-minute timeout.
	HTTPClient *http.Client
	// UserAgent is added to lego's own.
	UserAgent string
}

func (s Server) validate() error {
	if s.DirectoryURL == "" {
		return errors.New("the ACME directory URL is empty")
	}
	if !strings.HasPrefix(s.DirectoryURL, "https://") && !strings.HasPrefix(s.DirectoryURL, "http://") {
		return fmt.Errorf("ACME directory URL %q: want an http(s) URL", s.DirectoryURL)
	}
	return nil
}

// Account is an ACME account: its key is its identity.
type Account struct {
	// URL is the account's URL at the CA (its "kid").
	URL string
	// KeyPEM is the account's private key.
	KeyPEM []byte
	Email  string
}

// AccountRequest registers an account, or finds the one that already exists for the key.
type AccountRequest struct {
	Server
	// Email is the contact address; empty registers without a contact.
	Email string
	// KeyPEM is the account key. Empty generates one of KeyType.
	KeyPEM []byte
	// KeyType of a generated account key (default P256).
	KeyType KeyType
}

// Request is one certificate to obtain.
type Request struct {
	Server
	// Email and AccountKeyPEM identify the account (registered if the CA does not know the key yet);
	// an empty AccountKeyPEM generates a P-256 key, returned in Certificate.AccountKeyPEM.
	Email         string
	AccountKeyPEM []byte
	// Names are the DNS names of the certificate; the first one is also its common name.
	// "*.example.com" and "example.com" can be in one certificate.
	Names []string
	// KeyType of the certificate's private key (default P256).
	KeyType KeyType
	// Profile asks the CA for a certificate profile (ACME profiles extension), e.g. "shortlived".
	Profile string
	// DNS writes the DNS-01 challenge records.
	DNS TXTWriter
	// Propagation: how to wait for the records before the CA validates them.
	Propagation Propagation
	// CertificateTimeout bounds the wait for the CA to issue once the order is finalized (default 30 s).
	CertificateTimeout time.Duration
	// Logger receives this package's debug logs (default slog.Default()). lego writes its own
	// progress lines through its package-level logger (stderr by default).
	Logger *slog.Logger
}

func (r Request) validate() error {
	if err := r.Server.validate(); err != nil {
		return err
	}
	if len(r.Names) == 0 {
		return errors.New("no names to obtain a certificate for")
	}
	for _, n := range r.Names {
		if n == "" || strings.ContainsAny(n, " /:") || strings.Count(n, "*") > 1 || (strings.Contains(n, "*") && !strings.HasPrefix(n, "*.")) {
			return fmt.Errorf("name %q: want a DNS name, optionally starting with \"*.\"", n)
		}
	}
	if r.DNS == nil {
		return errors.New("no DNS TXT writer for the DNS-01 challenges")
	}
	if _, err := r.KeyType.lego(); err != nil {
		return err
	}
	if r.CertificateTimeout < 0 {
		return errors.New("certificate timeout must not be negative")
	}
	return r.Propagation.validate()
}

// Certificate is an issued certificate.
type Certificate struct {
	// CertificatePEM is the leaf certificate alone.
	CertificatePEM []byte
	// IssuerPEM is the chain that issued it (intermediates, leaf's issuer first), without the root.
	IssuerPEM []byte
	// PrivateKeyPEM is the certificate's private key (SEC 1 or PKCS #1).
	PrivateKeyPEM []byte
	CertificateInfo
	// URL is where the CA serves the certificate.
	URL string
	// AccountURL and AccountKeyPEM are the account that obtained it (the key as given, or generated).
	AccountURL    string
	AccountKeyPEM []byte
}

// ChallengeError says why one name could not be validated: the CA's problem document, or the DNS
// writer's error.
type ChallengeError struct {
	// Name is the name as ordered ("*.example.com").
	Name string
	// ProblemType and Detail come from the CA's ACME problem document, when it sent one.
	ProblemType string
	Detail      string
	Err         error
}

func (e *ChallengeError) Error() string {
	if e.Detail != "" || e.ProblemType != "" {
		return fmt.Sprintf("%s: the CA did not validate the DNS-01 challenge: %s (%s)", e.Name, e.Detail, e.ProblemType)
	}
	var txtErr *TXTError
	if errors.As(e.Err, &txtErr) {
		return fmt.Sprintf("%s: %v", e.Name, txtErr)
	}
	return fmt.Sprintf("%s: %v", e.Name, e.Err)
}

func (e *ChallengeError) Unwrap() error { return e.Err }

// CleanupError is returned together with a certificate when it was issued but some challenge
// records could not be deleted: the certificate is good, the records need removing by hand.
type CleanupError struct{ Err error }

func (e *CleanupError) Error() string {
	return fmt.Sprintf("certificate issued, but removing its DNS-01 challenge records failed: %v", e.Err)
}

func (e *CleanupError) Unwrap() error { return e.Err }

// RegisterAccount registers an account with the CA, or returns the existing account of the key
// (RFC 8555 7.3.1: a new-account request with a known key returns that account; its contact is not
// changed). The terms of service are agreed to.
func RegisterAccount(ctx context.Context, req AccountRequest) (*Account, error) {
	if err := req.Server.validate(); err != nil {
		return nil, err
	}
	acct, _, err := account(ctx, req.Server, req.Email, req.KeyPEM, req.KeyType, true, certOptions{})
	return acct, err
}

// ErrAccountNotFound means the CA knows no account for the key.
var ErrAccountNotFound = errors.New("the CA has no account for this key")

// FindAccount returns the CA's existing account for the key without registering one (RFC 8555
// 7.3.1 onlyReturnExisting), or an error wrapping ErrAccountNotFound.
func FindAccount(ctx context.Context, srv Server, keyPEM []byte) (*Account, error) {
	if err := srv.validate(); err != nil {
		return nil, err
	}
	if len(keyPEM) == 0 {
		return nil, errors.New("the account key is empty")
	}
	acct, _, err := account(ctx, srv, "", keyPEM, "", false, certOptions{})
	return acct, err
}

// user is lego's view of an account.
type user struct {
	email string
	key   crypto.PrivateKey
	reg   *registration.Resource
}

func (u *user) GetEmail() string                        { return u.email }
func (u *user) GetRegistration() *registration.Resource { return u.reg }
func (u *user) GetPrivateKey() crypto.PrivateKey        { return u.key }

// certOptions configure the certificates a lego client orders.
type certOptions struct {
	keyType KeyType
	timeout time.Duration
}

// account resolves (and with register, creates) the account and returns a lego client acting as it.
func account(ctx context.Context, srv Server, email string, keyPEM []byte, keyType KeyType, register bool, opts certOptions) (*Account, *lego.Client, error) {
	var key crypto.PrivateKey
	var err error
	if len(keyPEM) == 0 {
		if key, err = generateKey(keyType); err != nil {
			return nil, nil, fmt.Errorf("account key: %w", err)
		}
		keyPEM = certcrypto.PEMEncode(key)
	} else if key, err = parseKey("account key", keyPEM); err != nil {
		return nil, nil, err
	}
	u := &user{email: email, key: key}
	client, err := newClient(ctx, srv, u, opts)
	if err != nil {
		return nil, nil, err
	}
	if register {
		u.reg, err = client.Registration.Register(registration.RegisterOptions{TermsOfServiceAgreed: true})
	} else {
		u.reg, err = client.Registration.ResolveAccountByKey()
	}
	var prob *legoacme.ProblemDetails
	if errors.As(err, &prob) && strings.HasSuffix(prob.Type, ":accountDoesNotExist") {
		return nil, nil, fmt.Errorf("ACME account at %s: %w (%s)", srv.DirectoryURL, ErrAccountNotFound, prob.Detail)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("ACME account at %s: %w", srv.DirectoryURL, describeErr(err))
	}
	return &Account{URL: u.reg.URI, KeyPEM: keyPEM, Email: email}, client, nil
}

func newClient(ctx context.Context, srv Server, u *user, opts certOptions) (*lego.Client, error) {
	cfg := lego.NewConfig(u)
	cfg.CADirURL = srv.DirectoryURL
	cfg.UserAgent = srv.UserAgent
	if srv.HTTPClient != nil {
		cfg.HTTPClient = srv.HTTPClient
	}
	cfg.HTTPClient = withContext(ctx, cfg.HTTPClient)
	kt, err := opts.keyType.lego()
	if err != nil {
		return nil, err
	}
	cfg.Certificate.KeyType = kt
	if opts.timeout > 0 {
		cfg.Certificate.Timeout = opts.timeout
	}
	client, err := lego.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("ACME directory %s: %w", srv.DirectoryURL, describeErr(err))
	}
	return client, nil
}

// withContext returns a copy of c whose requests end when ctx does: lego v4 takes no contexts, so
// this is how cancellation reaches it (its next request fails at once).
func withContext(ctx context.Context, c *http.Client) *http.Client {
	out := *c
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	out.Transport = ctxTransport{ctx: ctx, base: base}
	return &out
}

type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.ctx.Err(); err != nil {
		return nil, err
	}
	return t.base.RoundTrip(req.WithContext(t.ctx))
}

// Obtain registers or finds the account, orders a certificate for req.Names, answers every DNS-01
// challenge through req.DNS, and returns the certificate. The challenge records are deleted
// afterwards whether or not validation succeeded. A name the CA did not validate comes back as a
// *ChallengeError in the returned error.
func Obtain(ctx context.Context, req Request) (*Certificate, error) {
	return obtain(ctx, req, nil, "")
}

// Renew obtains a new certificate to replace current (PEM, leaf first). The names are req.Names, or
// current's when empty. With reuseKeyPEM the new certificate keeps that private key; otherwise a new
// one of req.KeyType is made. The order names the certificate it replaces (ACME Renewal Information,
// RFC 9773); if the CA refuses that (it does not know the certificate, the certificate was obtained
// by another account, or it was replaced already), the renewal is ordered as a plain new certificate.
func Renew(ctx context.Context, req Request, current []byte, reuseKeyPEM []byte) (*Certificate, error) {
	leaf, err := parseLeaf(current)
	if err != nil {
		return nil, fmt.Errorf("renew: %w", err)
	}
	if len(req.Names) == 0 {
		req.Names = certcrypto.ExtractDomains(leaf)
	}
	var key crypto.PrivateKey
	if len(reuseKeyPEM) > 0 {
		if key, err = parseKey("certificate key to reuse", reuseKeyPEM); err != nil {
			return nil, fmt.Errorf("renew: %w", err)
		}
	}
	replaces, err := certificate.MakeARICertID(leaf)
	if err != nil {
		return nil, fmt.Errorf("renew: ARI certificate ID: %w", err)
	}
	return obtain(ctx, req, key, replaces)
}

func obtain(ctx context.Context, req Request, key crypto.PrivateKey, replaces string) (*Certificate, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	log := req.Logger
	if log == nil {
		log = slog.Default()
	}
	acct, client, err := account(ctx, req.Server, req.Email, req.AccountKeyPEM, KeyP256, true,
		certOptions{keyType: req.KeyType, timeout: req.CertificateTimeout})
	if err != nil {
		return nil, err
	}
	res, err := solveAndIssue(ctx, client, req, key, replaces, log)
	if err != nil {
		return nil, err
	}

	leaf, err := parseLeaf(res.Certificate)
	if err != nil {
		return nil, fmt.Errorf("certificate from %s: %w", res.CertURL, err)
	}
	return &Certificate{
		CertificatePEM:  res.Certificate,
		IssuerPEM:       res.IssuerCertificate,
		PrivateKeyPEM:   res.PrivateKey,
		CertificateInfo: describe(leaf),
		URL:             res.CertURL,
		AccountURL:      acct.URL,
		AccountKeyPEM:   acct.KeyPEM,
	}, res.cleanupErr
}

type issued struct {
	*certificate.Resource
	cleanupErr error
}

// solveAndIssue runs one order with a fresh DNS provider, and falls back to an order without the
// ARI "replaces" field when the CA refused the order itself (before any challenge was written).
func solveAndIssue(ctx context.Context, client *lego.Client, req Request, key crypto.PrivateKey, replaces string, log *slog.Logger) (*issued, error) {
	provider := newDNSProvider(ctx, req.DNS, req.Propagation, log)
	if err := client.Challenge.SetDNS01Provider(provider, req.Propagation.options()...); err != nil {
		return nil, fmt.Errorf("DNS-01 provider: %w", err)
	}
	res, err := client.Certificate.Obtain(certificate.ObtainRequest{
		Domains:        req.Names,
		PrivateKey:     key,
		Profile:        req.Profile,
		ReplacesCertID: replaces,
	})
	cleanupErr := provider.removeRemaining()
	if err != nil && replaces != "" && !provider.presentedAny() && ctx.Err() == nil {
		log.Debug("CA refused the replacement order; ordering a new certificate", "names", req.Names, "error", err)
		return solveAndIssue(ctx, client, req, key, "", log)
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		err = fmt.Errorf("obtain certificate for %s: %w", strings.Join(req.Names, ", "), describeErr(err))
		if cleanupErr != nil {
			err = errors.Join(err, fmt.Errorf("removing DNS-01 challenge records: %w", cleanupErr))
		}
		return nil, err
	}
	out := &issued{Resource: res}
	if cleanupErr != nil {
		out.cleanupErr = &CleanupError{Err: cleanupErr}
	}
	return out, nil
}

// describeErr turns lego's per-name failures into ChallengeErrors (sorted by name), and a lone ACME
// problem into a readable message.
func describeErr(err error) error {
	if failures := perNameErrors(err); len(failures) > 0 {
		names := make([]string, 0, len(failures))
		for name := range failures {
			names = append(names, name)
		}
		slices.Sort(names)
		errs := make([]error, 0, len(names))
		for _, name := range names {
			ce := &ChallengeError{Name: name, Err: failures[name]}
			var prob *legoacme.ProblemDetails
			if errors.As(ce.Err, &prob) {
				ce.ProblemType, ce.Detail = prob.Type, prob.Detail
			}
			errs = append(errs, ce)
		}
		return errors.Join(errs...)
	}
	var prob *legoacme.ProblemDetails
	if errors.As(err, &prob) {
		return fmt.Errorf("%s (%s): %w", prob.Detail, prob.Type, err)
	}
	return err
}

// perNameErrors reads lego's resolver error, a map from the name as ordered to its error (an
// unexported type, hence reflection; anything else yields nil and the error is kept as it is).
func perNameErrors(err error) map[string]error {
	for e := err; e != nil; e = errors.Unwrap(e) {
		v := reflect.ValueOf(e)
		if v.Kind() != reflect.Map || v.Type().Key().Kind() != reflect.String {
			continue
		}
		out := make(map[string]error, v.Len())
		for it := v.MapRange(); it.Next(); {
			if pe, ok := it.Value().Interface().(error); ok && pe != nil {
				out[it.Key().String()] = pe
			}
		}
		return out
	}
	return nil
}

// RevokeRequest revokes a certificate with the key of the account that obtained it.
type RevokeRequest struct {
	Server
	AccountKeyPEM  []byte
	CertificatePEM []byte
	// Reason is an RFC 5280 CRLReason code (0 unspecified, 1 keyCompromise, 4 superseded,
	// 5 cessationOfOperation); nil sends none.
	Reason *uint
}

// Revoke asks the CA to revoke a certificate. The account must exist (it is looked up by key, not
// registered).
func Revoke(ctx context.Context, req RevokeRequest) error {
	if err := req.Server.validate(); err != nil {
		return err
	}
	if len(req.AccountKeyPEM) == 0 {
		return errors.New("revoke: the account key is empty")
	}
	leaf, err := parseLeaf(req.CertificatePEM)
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	if req.Reason != nil && (*req.Reason > 10 || *req.Reason == 7) {
		return fmt.Errorf("revoke: reason %d is not an RFC 5280 CRLReason", *req.Reason)
	}
	_, client, err := account(ctx, req.Server, "", req.AccountKeyPEM, "", false, certOptions{})
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	if err := client.Certificate.RevokeWithReason(req.CertificatePEM, req.Reason); err != nil {
		return fmt.Errorf("revoke certificate %s (%s): %w", serialHex(leaf.SerialNumber), strings.Join(leaf.DNSNames, ", "), describeErr(err))
	}
	return nil
}
