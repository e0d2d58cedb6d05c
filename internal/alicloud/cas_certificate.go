package alicloud

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/cas"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

const certKind = "Alibaba Cloud CAS certificate"

// Error codes of CAS the certificate resource acts on.
var (
	certNotFoundCodes = []string{"NotFound", "NotFound.Certificate", "CertNotExist"}
	certKeyCodes      = []string{"CertificateKeyNotMatch", "InvalidKey.Format", "InvalidCert.Format"}
)

var certIDPattern = regexp.MustCompile(`^[0-9]{1,19}$`)

var (
	_ resource.Resource                   = (*casCertificateResource)(nil)
	_ resource.ResourceWithConfigure      = (*casCertificateResource)(nil)
	_ resource.ResourceWithImportState    = (*casCertificateResource)(nil)
	_ resource.ResourceWithValidateConfig = (*casCertificateResource)(nil)
)

// NewCASCertificateResource is the sandbox_alicloud_cas_certificate resource.
func NewCASCertificateResource() resource.Resource {
	return &casCertificateResource{newResourceBase("alicloud_cas_certificate")}
}

type casCertificateResource struct {
	resourceBase
}

type casCertificateModel struct {
	ID             types.String `tfsdk:"id"`
	Name           types.String `tfsdk:"name"`
	CertificatePEM types.String `tfsdk:"certificate_pem"`
	ChainPEM       types.String `tfsdk:"certificate_chain_pem"`
	PrivateKey     types.String `tfsdk:"private_key_wo"`
	Fingerprint    types.String `tfsdk:"fingerprint"`
	CommonName     types.String `tfsdk:"common_name"`
	SANs           types.List   `tfsdk:"sans"`
	NotAfter       types.String `tfsdk:"not_after"`
}

func (r *casCertificateResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	stable := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A certificate uploaded to Alibaba Cloud Certificate Management Service (CAS, " +
			"`UploadUserCertificate`), for SLB, ALB, CDN and other services to use. CAS cannot change an upload: a new " +
			"`certificate_pem`, chain or name replaces the certificate. The private key is a write-only attribute " +
			"(`private_key_wo`, Terraform 1.11 or later): it is sent once on upload and never stored in the state. An " +
			"imported certificate has no key in the state either, and needs none.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The certificate's ID in CAS (`CertId`, a number).",
				PlanModifiers:       stable,
			},
			"name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The certificate's name in CAS, unique in the account, up to 64 characters. Changing it replaces the certificate.",
				PlanModifiers:       replace,
				Validators:          []validator.String{stringvalidator.LengthBetween(1, 64)},
			},
			"certificate_pem": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The certificate, PEM encoded (one `CERTIFICATE` block). Changing it replaces the certificate.",
				PlanModifiers:       replace,
				Validators:          []validator.String{pemCertsValidator{max: 1}},
			},
			"certificate_chain_pem": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "The intermediate certificates, PEM encoded, issuer of the certificate first. Changing it replaces the certificate.",
				PlanModifiers:       replace,
				Validators:          []validator.String{pemCertsValidator{}},
			},
			"private_key_wo": schema.StringAttribute{
				Required:  true,
				WriteOnly: true,
				Sensitive: true,
				MarkdownDescription: "The certificate's private key, PEM encoded (PKCS #1, SEC 1 or PKCS #8). Write-only: sent " +
					"on upload, never stored in the state or plan. It must match `certificate_pem` (checked at plan time).",
			},
			"fingerprint": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "SHA-1 fingerprint of the certificate, upper-case hex, as CAS reports it.",
				PlanModifiers:       stable,
			},
			"common_name": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The certificate's subject common name.",
				PlanModifiers:       stable,
			},
			"sans": schema.ListAttribute{
				Computed:            true,
				ElementType:         types.StringType,
				MarkdownDescription: "The certificate's subject alternative names (DNS names and IP addresses).",
				PlanModifiers:       []planmodifier.List{listplanmodifier.UseStateForUnknown()},
			},
			"not_after": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "When the certificate expires (RFC 3339).",
				PlanModifiers:       stable,
			},
		},
	}
}

// ValidateConfig checks, before anything is uploaded, that the private key belongs to the certificate.
func (r *casCertificateResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m casCertificateModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || m.CertificatePEM.IsUnknown() || m.CertificatePEM.IsNull() ||
		m.PrivateKey.IsUnknown() || m.PrivateKey.IsNull() {
		return
	}
	leaf, err := parseLeaf(m.CertificatePEM.ValueString())
	if err != nil {
		return // the attribute validator has said so
	}
	if err := keyMatches(leaf, m.PrivateKey.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("private_key_wo"), "Private Key Does Not Match the Certificate",
			fmt.Sprintf("private_key_wo is not the private key of certificate_pem (subject %q): %v. Use the key the "+
				"certificate was issued for.", leaf.Subject.CommonName, err))
	}
}

func (r *casCertificateResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan, config casCertificateModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...) // write-only values are only in the config
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	op := framework.Op{Verb: "uploading", Kind: certKind, ID: fmt.Sprintf("%q", plan.Name.ValueString())}
	in := cas.CreateUploadUserCertificateRequest()
	c.rpc("cas", in.RpcRequest)
	in.Name = plan.Name.ValueString()
	in.Cert = fullChain(plan.CertificatePEM.ValueString(), plan.ChainPEM.ValueString())
	in.Key = config.PrivateKey.ValueString()
	out, err := call(ctx, c, func() (*cas.UploadUserCertificateResponse, error) { return c.CAS.UploadUserCertificate(in) })
	if err != nil {
		addError(&resp.Diagnostics, op, err, certAdvisor)
		return
	}
	id := strconv.FormatInt(out.CertId, 10)
	op.ID, op.Verb = id, "reading"
	tflog.Info(ctx, "uploaded CAS certificate", map[string]any{"cert_id": id, "name": in.Name})
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
	d, err := retry.WhenNewResourceNotFound(ctx, propagationTimeout, c.Pace(pacing), true, func(ctx context.Context) (*cas.GetUserCertificateDetailResponse, error) {
		return findCertificate(ctx, c, id)
	})
	if err != nil {
		addError(&resp.Diagnostics, op, err)
		return
	}
	plan.ID = types.StringValue(id)
	plan.PrivateKey = types.StringNull()
	certInto(d, &plan)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *casCertificateResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state casCertificateModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	d, err := findCertificate(ctx, c, id)
	if retry.IsNotFound(err) {
		tflog.Warn(ctx, "CAS certificate is gone; removing it from state", map[string]any{"cert_id": id})
		resp.Diagnostics.Append(framework.NotFoundWarning(certKind, id))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addError(&resp.Diagnostics, framework.Op{Verb: "reading", Kind: certKind, ID: id}, err)
		return
	}
	certInto(d, &state)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// Update has nothing to change: every configurable attribute replaces the certificate.
func (r *casCertificateResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan casCertificateModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	plan.PrivateKey = types.StringNull()
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *casCertificateResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state casCertificateModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	op := framework.Op{Verb: "deleting", Kind: certKind, ID: id}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		addError(&resp.Diagnostics, op, fmt.Errorf("the ID %q is not a CAS certificate ID", id))
		return
	}
	in := cas.CreateDeleteUserCertificateRequest()
	c.rpc("cas", in.RpcRequest)
	in.CertId = requests.NewInteger64(n)
	_, err = call(ctx, c, func() (*cas.DeleteUserCertificateResponse, error) { return c.CAS.DeleteUserCertificate(in) })
	if err != nil && !isCode(err, certNotFoundCodes...) {
		addError(&resp.Diagnostics, op, err)
		return
	}
	tflog.Info(ctx, "deleted CAS certificate", map[string]any{"cert_id": id})
}

// ImportState takes the certificate's ID (CertId). The private key cannot be read back and is not
// needed: it is write-only.
func (r *casCertificateResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id := strings.TrimSpace(req.ID)
	if !certIDPattern.MatchString(id) {
		resp.Diagnostics.AddError("Unexpected Import Identifier",
			fmt.Sprintf("Expected a CAS certificate ID (CertId, a number such as 12345678), got %q.", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
}

func findCertificate(ctx context.Context, c *Conns, id string) (*cas.GetUserCertificateDetailResponse, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil, retry.NotFoundf("%q is not a CAS certificate ID", id)
	}
	in := cas.CreateGetUserCertificateDetailRequest()
	c.rpc("cas", in.RpcRequest)
	in.CertId = requests.NewInteger64(n)
	out, err := call(ctx, c, func() (*cas.GetUserCertificateDetailResponse, error) { return c.CAS.GetUserCertificateDetail(in) })
	if isCode(err, certNotFoundCodes...) {
		return nil, retry.NotFound(err)
	}
	if err != nil {
		return nil, err
	}
	out.Key = "" // never kept past this point
	return out, nil
}

// certInto sets m from CAS's answer. The PEM attributes keep their configured text while they name
// the same certificates (CAS may normalise whitespace); otherwise (import, or a change outside
// Terraform) they take CAS's.
func certInto(d *cas.GetUserCertificateDetailResponse, m *casCertificateModel) {
	m.Name = types.StringValue(d.Name)
	m.Fingerprint = types.StringValue(d.Fingerprint)
	m.CommonName = types.StringValue(d.Common)
	var sans []string
	for _, s := range strings.Split(d.Sans, ",") {
		if s = strings.TrimSpace(s); s != "" {
			sans = append(sans, s)
		}
	}
	if sans == nil {
		sans = []string{}
	}
	m.SANs, _ = types.ListValueFrom(context.Background(), types.StringType, sans)
	if d.Cert == "" {
		return
	}
	blocks := pemBlocks(d.Cert)
	if len(blocks) == 0 {
		return
	}
	if prior := pemBlocks(m.CertificatePEM.ValueString() + "\n" + m.ChainPEM.ValueString()); !sameBlocks(prior, blocks) {
		m.CertificatePEM = types.StringValue(string(pem.EncodeToMemory(blocks[0])))
		m.ChainPEM = types.StringNull()
		if len(blocks) > 1 {
			var chain bytes.Buffer
			for _, b := range blocks[1:] {
				_ = pem.Encode(&chain, b)
			}
			m.ChainPEM = types.StringValue(chain.String())
		}
	}
	if leaf, err := x509.ParseCertificate(blocks[0].Bytes); err == nil {
		m.NotAfter = types.StringValue(leaf.NotAfter.UTC().Format(time.RFC3339))
		if m.Fingerprint.ValueString() == "" {
			sum := sha1.Sum(leaf.Raw)
			m.Fingerprint = types.StringValue(strings.ToUpper(hex.EncodeToString(sum[:])))
		}
	}
}

func pemBlocks(s string) []*pem.Block {
	var out []*pem.Block
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return out
		}
		out = append(out, b)
	}
}

func sameBlocks(a, b []*pem.Block) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || !bytes.Equal(a[i].Bytes, b[i].Bytes) {
			return false
		}
	}
	return true
}

// fullChain is what CAS takes as Cert: the certificate, then its chain.
func fullChain(cert, chain string) string {
	cert = strings.TrimSpace(cert) + "\n"
	if strings.TrimSpace(chain) == "" {
		return cert
	}
	return cert + strings.TrimSpace(chain) + "\n"
}

func parseLeaf(certPEM string) (*x509.Certificate, error) {
	blocks := pemBlocks(certPEM)
	if len(blocks) == 0 || blocks[0].Type != "CERTIFICATE" {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return x509.ParseCertificate(blocks[0].Bytes)
}

// keyMatches reports (as an error) why keyPEM is not the private key of leaf.
func keyMatches(leaf *x509.Certificate, keyPEM string) error {
	b, _ := pem.Decode([]byte(keyPEM))
	if b == nil {
		return errors.New("it is not PEM encoded")
	}
	var key any
	var err error
	switch b.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(b.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	default:
		return fmt.Errorf("the PEM block is %q, not a private key", b.Type)
	}
	if err != nil {
		return fmt.Errorf("it cannot be parsed: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return errors.New("its type is not supported")
	}
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(signer.Public()) {
		return errors.New("its public key differs from the certificate's")
	}
	return nil
}

// pemCertsValidator accepts one or more PEM CERTIFICATE blocks (at most max, when max > 0).
type pemCertsValidator struct{ max int }

func (v pemCertsValidator) Description(context.Context) string {
	return "value must be PEM encoded X.509 certificates"
}

func (v pemCertsValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v pemCertsValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	blocks := pemBlocks(req.ConfigValue.ValueString())
	if len(blocks) == 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid PEM Certificate",
			"The value holds no PEM block; paste the certificate including its -----BEGIN CERTIFICATE----- line.")
		return
	}
	if v.max > 0 && len(blocks) > v.max {
		resp.Diagnostics.AddAttributeError(req.Path, "Too Many Certificates",
			fmt.Sprintf("The value holds %d PEM blocks; put only the certificate here and its intermediates in certificate_chain_pem.", len(blocks)))
		return
	}
	for i, b := range blocks {
		if b.Type != "CERTIFICATE" {
			resp.Diagnostics.AddAttributeError(req.Path, "Invalid PEM Certificate",
				fmt.Sprintf("PEM block %d is a %q, not a CERTIFICATE.", i+1, b.Type))
			return
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			resp.Diagnostics.AddAttributeError(req.Path, "Invalid PEM Certificate",
				fmt.Sprintf("PEM block %d is not a valid X.509 certificate: %v.", i+1, err))
			return
		}
	}
}

// certAdvisor words CAS's refusals of the upload.
func certAdvisor(op framework.Op, err error) (framework.Advice, bool) {
	switch {
	case isCode(err, certKeyCodes...):
		return framework.Advice{Summary: "CAS Refused the Certificate or Key", Attribute: path.Root("private_key_wo"),
			Hint: "Check that certificate_pem and private_key_wo are PEM encoded and belong together."}, true
	case isCode(err, "NameRepeat"):
		return framework.Advice{Summary: "CAS Certificate Name Taken", Attribute: path.Root("name"),
			Hint: "Another certificate in the account has this name. Choose another name, or import that certificate."}, true
	}
	return framework.Advice{}, false
}
