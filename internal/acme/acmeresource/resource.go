package acmeresource

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acme"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
)

const kind = "ACME certificate"

var (
	_ resource.Resource               = (*certificateResource)(nil)
	_ resource.ResourceWithConfigure  = (*certificateResource)(nil)
	_ resource.ResourceWithModifyPlan = (*certificateResource)(nil)
)

// NewCertificateResource is the sandbox_acme_certificate resource.
func NewCertificateResource() resource.Resource {
	return &certificateResource{ResourceBase: framework.NewResourceBase("acme_certificate"), now: time.Now}
}

type certificateResource struct {
	framework.ResourceBase
	now func() time.Time
}

// ModifyPlan plans a renewal: when the certificate in the state has fewer than min_days_remaining
// days left, the certificate attributes become unknown, so the plan shows an in-place update and
// Update obtains a new certificate.
func (r *certificateResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return
	}
	var state, plan certificateModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.MinDaysRemaining.IsUnknown() {
		return
	}
	notAfter, err := time.Parse(time.RFC3339, state.NotAfter.ValueString())
	if err != nil {
		// A state without an expiry (an interrupted create) gets a certificate.
		notAfter = time.Time{}
	}
	if !acme.ShouldRenew(notAfter, int(plan.MinDaysRemaining.ValueInt64()), r.now()) {
		return
	}
	tflog.Info(ctx, "certificate is due for renewal", map[string]any{
		"not_after": state.NotAfter.ValueString(), "min_days_remaining": plan.MinDaysRemaining.ValueInt64()})
	for _, attr := range issuedAttributes {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(attr), types.StringUnknown())...)
	}
}

func (r *certificateResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan certificateModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, _ := framework.WithTimeout(ctx, plan.Timeouts.Create, defaultCreateTimeout, &resp.Diagnostics)
	defer cancel()
	areq := r.request(ctx, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	start := time.Now()
	cert, err := acme.Obtain(ctx, areq)
	if !issuedDiags(&resp.Diagnostics, framework.Op{Verb: "obtaining", Kind: kind, ID: strings.Join(areq.Names, ", "), Timeout: "create"}, &plan, cert, err) {
		return
	}
	tflog.Info(ctx, "obtained ACME certificate", map[string]any{"names": cert.Names, "serial": cert.Serial,
		"not_after": cert.NotAfter, "elapsed": time.Since(start).String()})
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Read keeps the state: the certificate does not change at the CA, and renewal is planned by ModifyPlan.
func (r *certificateResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state certificateModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *certificateResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state certificateModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !plan.CertificatePEM.IsUnknown() {
		// Only settings changed (min_days_remaining, dns_challenge, ...): they apply to the next issuance.
		copyIssued(&plan, &state)
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		return
	}
	ctx, cancel, _ := framework.WithTimeout(ctx, plan.Timeouts.Update, defaultUpdateTimeout, &resp.Diagnostics)
	defer cancel()
	areq := r.request(ctx, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	start := time.Now()
	cert, err := acme.Renew(ctx, areq, []byte(state.CertificatePEM.ValueString()), nil)
	op := framework.Op{Verb: "renewing", Kind: kind, ID: state.Serial.ValueString(), Timeout: "update"}
	if !issuedDiags(&resp.Diagnostics, op, &plan, cert, err) {
		return
	}
	tflog.Info(ctx, "renewed ACME certificate", map[string]any{"names": cert.Names, "serial": cert.Serial,
		"replaced": state.Serial.ValueString(), "not_after": cert.NotAfter, "elapsed": time.Since(start).String()})
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *certificateResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state certificateModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !state.RevokeOnDestroy.ValueBool() || state.CertificatePEM.ValueString() == "" {
		return
	}
	if notAfter, err := time.Parse(time.RFC3339, state.NotAfter.ValueString()); err == nil && !r.now().Before(notAfter) {
		tflog.Info(ctx, "not revoking an expired certificate", map[string]any{"serial": state.Serial.ValueString()})
		return
	}
	ctx, cancel, _ := framework.WithTimeout(ctx, state.Timeouts.Delete, defaultDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	client, err := httpClient(state.CACertificatesPEM.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("ca_certificates_pem"), "Invalid CA Certificates", err.Error())
		return
	}
	err = acme.Revoke(ctx, acme.RevokeRequest{
		Server:         acme.Server{DirectoryURL: state.DirectoryURL.ValueString(), HTTPClient: client, UserAgent: r.ProviderData().UserAgent},
		AccountKeyPEM:  []byte(state.AccountKeyPEM.ValueString()),
		CertificatePEM: []byte(state.CertificatePEM.ValueString()),
	})
	if err != nil && strings.Contains(err.Error(), ":alreadyRevoked") {
		return
	}
	if err != nil {
		framework.AddError(&resp.Diagnostics, framework.Op{Verb: "revoking", Kind: kind, ID: state.Serial.ValueString(), Timeout: "delete"},
			err, func(op framework.Op, err error) (framework.Advice, bool) {
				return framework.Advice{Summary: "Error Revoking ACME Certificate", Detail: fmt.Sprintf(
					"While %s: %v\n\nIf the CA cannot revoke it (the account or the CA is gone), set revoke_on_destroy = false, "+
						"apply, and destroy again: the certificate then stays valid until it expires.", op, err)}, true
			})
	}
}

// request builds the ACME request from the plan; the account key is the plan's (configured, or kept
// in the state), or none, to generate one.
func (r *certificateResource) request(ctx context.Context, plan *certificateModel, diags *diag.Diagnostics) acme.Request {
	client, err := httpClient(plan.CACertificatesPEM.ValueString())
	if err != nil {
		diags.AddAttributeError(path.Root("ca_certificates_pem"), "Invalid CA Certificates", err.Error())
	}
	var names []string
	diags.Append(plan.Names.ElementsAs(ctx, &names, false)...)
	ch := plan.DNSChallenge
	svc, ok := dnsServiceOf(ch)
	if !ok {
		diags.AddAttributeError(path.Root("dns_challenge"), "Missing DNS Challenge",
			"Add a dns_challenge block with exactly one of a route53 { hosted_zone_id = \"Z…\" } block (the Route 53 hosted "+
				"zone that serves the names) and an alidns { domain = \"example.com\" } block (the Alibaba Cloud DNS domain).")
		return acme.Request{}
	}
	prop := acme.Propagation{SkipCheck: ch.SkipPropagationCheck.ValueBool()}
	diags.Append(ch.RecursiveNameservers.ElementsAs(ctx, &prop.RecursiveNameservers, true)...)
	prop.Timeout = parseDuration(ch.PropagationTimeout)
	prop.PollInterval = parseDuration(ch.PollingInterval)

	writer, err := svc.writer(ctx, r.ProviderData())
	if err != nil {
		framework.AddError(diags, framework.Op{Verb: "configuring", Kind: "the " + svc.clients}, err, svc.advise)
		return acme.Request{}
	}
	var accountKey []byte
	if v := plan.AccountKeyPEM; !v.IsNull() && !v.IsUnknown() {
		accountKey = []byte(v.ValueString())
	}
	return acme.Request{
		Server: acme.Server{
			DirectoryURL: plan.DirectoryURL.ValueString(),
			HTTPClient:   client,
			UserAgent:    r.ProviderData().UserAgent,
		},
		Email:         plan.AccountEmail.ValueString(),
		AccountKeyPEM: accountKey,
		Names:         names,
		KeyType:       acme.KeyType(plan.KeyType.ValueString()),
		Profile:       plan.Profile.ValueString(),
		DNS:           writer,
		Propagation:   prop,
	}
}

func parseDuration(v types.String) time.Duration {
	if v.IsNull() || v.IsUnknown() {
		return 0
	}
	d, _ := time.ParseDuration(v.ValueString()) // validated by durationValidator
	return d
}

// httpClient trusts the system roots plus caPEM.
func httpClient(caPEM string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caPEM != "" {
		certs, msg := parseCertificates(caPEM)
		if msg != "" {
			return nil, errors.New(msg)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 2 * time.Minute}, nil
}

// issuedDiags records cert in m, or words err; it reports whether there is a certificate to save.
func issuedDiags(diags *diag.Diagnostics, op framework.Op, m *certificateModel, cert *acme.Certificate, err error) bool {
	var cleanup *acme.CleanupError
	if err != nil && !errors.As(err, &cleanup) {
		addIssueError(diags, op, m, err)
		return false
	}
	if cleanup != nil {
		diags.AddWarning("ACME Challenge Records Left Behind",
			fmt.Sprintf("The certificate was issued, but removing its _acme-challenge TXT records failed: %v\n\n"+
				"Remove those TXT values from the DNS zone by hand; they are harmless but clutter the zone.", cleanup.Err))
	}
	m.ID = types.StringValue(cert.URL)
	m.CertificateURL = types.StringValue(cert.URL)
	m.AccountURL = types.StringValue(cert.AccountURL)
	m.AccountKeyPEM = types.StringValue(string(cert.AccountKeyPEM))
	m.CertificatePEM = types.StringValue(string(cert.CertificatePEM))
	m.IssuerPEM = types.StringValue(string(cert.IssuerPEM))
	m.PrivateKeyPEM = types.StringValue(string(cert.PrivateKeyPEM))
	m.NotBefore = types.StringValue(cert.NotBefore.UTC().Format(time.RFC3339))
	m.NotAfter = types.StringValue(cert.NotAfter.UTC().Format(time.RFC3339))
	m.Serial = types.StringValue(cert.Serial)
	return true
}

func copyIssued(dst, src *certificateModel) {
	dst.ID, dst.CertificateURL, dst.AccountURL, dst.AccountKeyPEM = src.ID, src.CertificateURL, src.AccountURL, src.AccountKeyPEM
	dst.CertificatePEM, dst.IssuerPEM, dst.PrivateKeyPEM = src.CertificatePEM, src.IssuerPEM, src.PrivateKeyPEM
	dst.NotBefore, dst.NotAfter, dst.Serial = src.NotBefore, src.NotAfter, src.Serial
}

// addIssueError adds one diagnostic per name the CA did not validate (with the CA's problem
// detail, or the DNS service's error), or one for the whole order.
func addIssueError(diags *diag.Diagnostics, op framework.Op, m *certificateModel, err error) {
	svc, _ := dnsServiceOf(m.DNSChallenge)
	advise := svc.advise
	if advise == nil {
		advise = func(framework.Op, error) (framework.Advice, bool) { return framework.Advice{}, false }
	}
	challenges := challengeErrors(err)
	if len(challenges) == 0 {
		framework.AddError(diags, op, err, adviseTLS, advise)
		return
	}
	for _, ce := range challenges {
		var txtErr *acme.TXTError
		if errors.As(ce, &txtErr) {
			a, ok := advise(op, ce)
			hint := a.Hint
			if !ok {
				hint = svc.writeHint(ce.Name, txtErr.FQDN)
			}
			diags.AddAttributeError(svc.attribute, "Cannot Write the DNS-01 Challenge Record for "+ce.Name,
				fmt.Sprintf("While %s: %v\n\n%s", op, ce, hint))
			continue
		}
		detail := fmt.Sprintf("While %s: %v", op, ce)
		if ce.Detail != "" || ce.ProblemType != "" {
			detail += fmt.Sprintf("\n\nThe CA could not find the expected value in the TXT record _acme-challenge.%s "+
				"(its answer is above). Check that %s is the zone the name is delegated to (its NS records at the "+
				"parent), that no other DNS service answers for it, and that DNSSEC, if on, validates.",
				strings.TrimPrefix(ce.Name, "*."), svc.name)
		}
		diags.AddAttributeError(path.Root("names"), "ACME Validation Failed for "+ce.Name, detail)
	}
}

// challengeErrors finds the per-name errors in err's tree.
func challengeErrors(err error) []*acme.ChallengeError {
	var out []*acme.ChallengeError
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if ce, ok := e.(*acme.ChallengeError); ok {
			out = append(out, ce)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, c := range u.Unwrap() {
				walk(c)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// adviseTLS points at ca_certificates_pem when the ACME server's certificate is not trusted.
func adviseTLS(op framework.Op, err error) (framework.Advice, bool) {
	var unknownAuthority x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	if !errors.As(err, &unknownAuthority) && !errors.As(err, &invalid) && !errors.As(err, &hostname) {
		return framework.Advice{}, false
	}
	return framework.Advice{
		Summary:   "ACME Server Certificate Not Trusted",
		Attribute: path.Root("ca_certificates_pem"),
		Hint: "The TLS certificate of the ACME server (directory_url) does not verify against the system's roots. For a " +
			"private CA, set ca_certificates_pem to the certificate of the CA that signed the server's TLS certificate; " +
			"check that directory_url names the host its certificate was issued for.",
	}, true
}
