// Package acmeresource is the sandbox_acme_certificate resource: a certificate from an ACME CA
// (Let's Encrypt by default) validated with DNS-01 challenges written through the provider's own
// cloud DNS clients (Route 53 or Alibaba Cloud DNS), renewed in place when it gets close to expiry,
// revoked on destroy. The ACME protocol work is package acme's; this package maps it onto Terraform.
package acmeresource

import (
	"context"
	"regexp"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/objectvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acme"
)

// Directory URLs of Let's Encrypt.
const (
	LetsEncryptProduction = "https://acme-v02.api.letsencrypt.org/directory"
	LetsEncryptStaging    = "https://acme-staging-v02.api.letsencrypt.org/directory"
)

// Defaults of sandbox_acme_certificate.
const (
	defaultMinDaysRemaining = 30
	defaultCreateTimeout    = 15 * time.Minute
	defaultUpdateTimeout    = 15 * time.Minute
	defaultDeleteTimeout    = 5 * time.Minute
)

// namePattern is a lower-case DNS name, optionally a wildcard ("*.example.com").
var namePattern = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// certificateModel is the resource's state.
type certificateModel struct {
	ID                types.String       `tfsdk:"id"`
	DirectoryURL      types.String       `tfsdk:"directory_url"`
	CACertificatesPEM types.String       `tfsdk:"ca_certificates_pem"`
	AccountEmail      types.String       `tfsdk:"account_email"`
	AccountKeyPEM     types.String       `tfsdk:"account_key_pem"`
	AccountURL        types.String       `tfsdk:"account_url"`
	Names             types.List         `tfsdk:"names"`
	KeyType           types.String       `tfsdk:"key_type"`
	Profile           types.String       `tfsdk:"profile"`
	MinDaysRemaining  types.Int64        `tfsdk:"min_days_remaining"`
	RevokeOnDestroy   types.Bool         `tfsdk:"revoke_on_destroy"`
	DNSChallenge      *dnsChallengeModel `tfsdk:"dns_challenge"`
	CertificatePEM    types.String       `tfsdk:"certificate_pem"`
	IssuerPEM         types.String       `tfsdk:"issuer_pem"`
	PrivateKeyPEM     types.String       `tfsdk:"private_key_pem"`
	NotBefore         types.String       `tfsdk:"certificate_not_before"`
	NotAfter          types.String       `tfsdk:"certificate_not_after"`
	Serial            types.String       `tfsdk:"certificate_serial"`
	CertificateURL    types.String       `tfsdk:"certificate_url"`
	Timeouts          timeouts.Value     `tfsdk:"timeouts"`
}

type dnsChallengeModel struct {
	Route53              *route53Model `tfsdk:"route53"`
	Alidns               *alidnsModel  `tfsdk:"alidns"`
	RecursiveNameservers types.List    `tfsdk:"recursive_nameservers"`
	SkipPropagationCheck types.Bool    `tfsdk:"skip_propagation_check"`
	PropagationTimeout   types.String  `tfsdk:"propagation_timeout"`
	PollingInterval      types.String  `tfsdk:"polling_interval"`
}

type route53Model struct {
	HostedZoneID types.String `tfsdk:"hosted_zone_id"`
}

type alidnsModel struct {
	Domain types.String `tfsdk:"domain"`
}

// domainPattern is a lower-case DNS name of two labels or more (an Alidns domain).
var domainPattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// issuedAttributes are the attributes that change when the certificate is renewed: ModifyPlan marks
// them unknown to plan a renewal.
var issuedAttributes = []string{
	"id", "account_url", "certificate_pem", "issuer_pem", "private_key_pem",
	"certificate_not_before", "certificate_not_after", "certificate_serial", "certificate_url",
}

func keyTypes() []string {
	var out []string
	for _, k := range acme.KeyTypes() {
		out = append(out, string(k))
	}
	return out
}

func (r *certificateResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	issued := func(desc string, sensitive bool) schema.StringAttribute {
		return schema.StringAttribute{
			Computed:            true,
			Sensitive:           sensitive,
			MarkdownDescription: desc,
			PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		}
	}
	duration := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, MarkdownDescription: desc, Validators: []validator.String{durationValidator{}}}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A TLS certificate from an ACME certificate authority (Let's Encrypt by default), for DNS names " +
			"that may include wildcards such as `*.sbx.example.com` next to `sbx.example.com`. The names are validated " +
			"with DNS-01 challenges: the provider writes the `_acme-challenge` TXT records into the DNS zone named in " +
			"`dns_challenge` with its own configured cloud client (the provider's `aws` block for a Route 53 hosted zone, " +
			"its `alicloud` block for an Alibaba Cloud DNS domain), waits until the change is accepted, lets the CA " +
			"validate, and removes its records again, also when validation fails.\n\n" +
			"**Renewal** happens in place: once the certificate has fewer than `min_days_remaining` days left, the plan " +
			"shows the certificate attributes as `(known after apply)` and the next apply obtains a new certificate (with " +
			"a new private key) from the same account, telling the CA which certificate it replaces (ACME Renewal " +
			"Information). Run `terraform apply` regularly (for example daily from CI) so that renewals happen.\n\n" +
			"**Destroy** revokes the certificate unless `revoke_on_destroy` is `false`.\n\n" +
			"Issuance and renewal are bounded by the `timeouts` block (defaults: create 15m, update 15m, delete 5m).\n\n" +
			"**Import** is not supported: a certificate's private key cannot be read back from the CA, so there is " +
			"nothing to import. Issue a new certificate with this resource instead.\n\n" +
			"The account key and the certificate's private key are kept in the Terraform state (as sensitive values): " +
			"protect the state accordingly.",
		Attributes: map[string]schema.Attribute{
			"id": issued("The URL of the current certificate at the CA (as `certificate_url`); changes on renewal.", false),
			"directory_url": schema.StringAttribute{
				Optional: true,
				Computed: true,
				Default:  stringdefault.StaticString(LetsEncryptProduction),
				MarkdownDescription: "The ACME directory URL of the CA. Defaults to Let's Encrypt production (`" +
					LetsEncryptProduction + "`); use Let's Encrypt staging (`" + LetsEncryptStaging + "`) while trying a " +
					"configuration out, since production has strict rate limits. Changing it replaces the certificate.",
				PlanModifiers: replace,
				Validators: []validator.String{stringvalidator.RegexMatches(regexp.MustCompile(`^https?://[^\s/]+`),
					"must be an http:// or https:// URL")},
			},
			"ca_certificates_pem": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "PEM certificates to trust, in addition to the system's roots, for the TLS connection " +
					"to the ACME server: for a private CA (step-ca, Pebble) whose server certificate is not publicly " +
					"trusted. It does not change which certificates the CA issues.",
				Validators: []validator.String{pemCertificatesValidator{}},
			},
			"account_email": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Contact email of the ACME account, where the CA sends expiry and policy notices. " +
					"Used when the account is registered (with the first certificate of an account key). Changing it " +
					"replaces the certificate.",
				PlanModifiers: replace,
				Validators: []validator.String{stringvalidator.RegexMatches(regexp.MustCompile(`^[^@\s]+@[^@\s]+$`),
					"must be an email address")},
			},
			"account_key_pem": schema.StringAttribute{
				Optional:  true,
				Computed:  true,
				Sensitive: true,
				MarkdownDescription: "The ACME account's private key (PEM: PKCS #1, SEC 1 or PKCS #8; ECDSA or RSA); the key " +
					"is the account's identity. Left out, a P-256 key is generated at create time and kept in the state. " +
					"Supply one (from `tls_private_key`, say) to share an account between certificates. The account is " +
					"registered with the CA (accepting its terms of service) if the CA does not know the key yet. Changing " +
					"it replaces the certificate.",
				PlanModifiers: []planmodifier.String{
					stringplanmodifier.UseStateForUnknown(),
					stringplanmodifier.RequiresReplaceIfConfigured(),
				},
				Validators: []validator.String{privateKeyValidator{}},
			},
			"account_url": issued("The ACME account's URL at the CA (its key ID).", false),
			"names": schema.ListAttribute{
				Required:    true,
				ElementType: types.StringType,
				MarkdownDescription: "The DNS names of the certificate, lower case; the first is also its common name. A " +
					"wildcard (`*.sbx.example.com`) covers one label and not the name itself, so list `sbx.example.com` " +
					"too if it needs to be covered. Changing them replaces the certificate.",
				PlanModifiers: []planmodifier.List{listplanmodifier.RequiresReplace()},
				Validators: []validator.List{
					listvalidator.SizeBetween(1, 100),
					listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(stringvalidator.RegexMatches(namePattern,
						"must be a lower-case DNS name, optionally starting with \"*.\"")),
				},
			},
			"key_type": schema.StringAttribute{
				Optional: true,
				Computed: true,
				Default:  stringdefault.StaticString(string(acme.KeyP256)),
				MarkdownDescription: "Type of the certificate's private key: `P256` (ECDSA P-256, the default), `P384` " +
					"(ECDSA P-384), `RSA2048` or `RSA4096`. Changing it replaces the certificate.",
				PlanModifiers: replace,
				Validators:    []validator.String{stringvalidator.OneOf(keyTypes()...)},
			},
			"profile": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Certificate profile to ask the CA for (ACME profiles extension), for example " +
					"Let's Encrypt's `shortlived` (about 6 days). Left out, the CA's default. Changing it replaces the " +
					"certificate.",
				PlanModifiers: replace,
				Validators:    []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"min_days_remaining": schema.Int64Attribute{
				Optional: true,
				Computed: true,
				Default:  int64default.StaticInt64(defaultMinDaysRemaining),
				MarkdownDescription: "Renew the certificate when it has fewer than this many days (of 24 hours) left before " +
					"it expires; checked at every plan. Defaults to 30, a third of Let's Encrypt's 90 days. `0` renews " +
					"only once the certificate has expired.",
				Validators: []validator.Int64{int64validator.Between(0, 3650)},
			},
			"revoke_on_destroy": schema.BoolAttribute{
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(true),
				MarkdownDescription: "Revoke the certificate at the CA when the resource is destroyed (default `true`). A certificate that has already expired is not revoked.",
			},
			"certificate_pem": issued("The certificate (PEM), without its issuer chain.", false),
			"issuer_pem": issued("The chain of intermediates that issued the certificate (PEM, the certificate's issuer "+
				"first), without the root. Serve `certificate_pem` followed by `issuer_pem`.", false),
			"private_key_pem":        issued("The certificate's private key (PEM, SEC 1 for ECDSA, PKCS #1 for RSA).", true),
			"certificate_not_before": issued("Start of the certificate's validity (RFC 3339, UTC).", false),
			"certificate_not_after": issued("End of the certificate's validity (RFC 3339, UTC); renewal starts "+
				"`min_days_remaining` days before it.", false),
			"certificate_serial": issued("The certificate's serial number, lower-case hexadecimal.", false),
			"certificate_url":    issued("The URL of the certificate at the CA.", false),
		},
		Blocks: map[string]schema.Block{
			"dns_challenge": schema.SingleNestedBlock{
				MarkdownDescription: "Required. How the DNS-01 challenges are answered: the DNS service to write the TXT records to " +
					"(exactly one of its blocks `route53` and `alidns`), and how to wait for them to be visible before the CA looks. " +
					"Changing it does not replace the certificate; it applies to the next issuance.",
				Validators: []validator.Object{objectvalidator.IsRequired()},
				Attributes: map[string]schema.Attribute{
					"recursive_nameservers": schema.ListAttribute{
						Optional:    true,
						ElementType: types.StringType,
						MarkdownDescription: "DNS servers (`host:port`) used to check that the records are visible, and to " +
							"follow a CNAME on `_acme-challenge.<name>` to the name actually written. Defaults to the " +
							"system's resolvers. The ACME library keeps one list per provider process, so give every " +
							"certificate of a configuration the same list.",
						Validators: []validator.List{listvalidator.ValueStringsAre(hostPortValidator{})},
					},
					"skip_propagation_check": schema.BoolAttribute{
						Optional: true,
						MarkdownDescription: "Skip checking, through DNS, that the records are visible on the zone's " +
							"authoritative name servers before the CA is asked to validate (the change is still waited " +
							"for until the DNS service has it: Route 53 reports it in sync, Alidns reads it back). For " +
							"DNS servers that answer no SOA or NS queries, such as test servers. Default `false`.",
					},
					"propagation_timeout": duration("How long to wait for the records to be visible, as a duration " +
						"(`90s`, `5m`). Default `60s`."),
					"polling_interval": duration("How often to check that the records are visible, as a duration. " +
						"Default `2s`."),
				},
				Blocks: map[string]schema.Block{
					"route53": schema.SingleNestedBlock{
						MarkdownDescription: "Write the records into an AWS Route 53 hosted zone, with the provider's `aws` " +
							"settings. The credentials need `route53:ListResourceRecordSets`, " +
							"`route53:ChangeResourceRecordSets` and `route53:GetChange` on the zone. A wildcard and its " +
							"base name share one record set (`_acme-challenge.<name>`); the values are merged into it and " +
							"only the provider's own values are removed. Exactly one of `route53` and `alidns` is required.",
						Validators: []validator.Object{
							objectvalidator.ExactlyOneOf(path.MatchRelative().AtParent().AtName("alidns")),
							// Required attributes of an absent single block would be required anyway.
							objectvalidator.AlsoRequires(path.MatchRelative().AtName("hosted_zone_id")),
						},
						Attributes: map[string]schema.Attribute{
							"hosted_zone_id": schema.StringAttribute{
								Optional: true, // required in the block, by its validator
								MarkdownDescription: "Required. ID of the public hosted zone that serves the names (`Z…`; the " +
									"`/hostedzone/` prefix is accepted).",
								Validators: []validator.String{stringvalidator.RegexMatches(
									regexp.MustCompile(`^(/hostedzone/)?[A-Z0-9]{1,32}$`), "must be a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ")},
							},
						},
					},
					"alidns": schema.SingleNestedBlock{
						MarkdownDescription: "Write the records into a domain of Alibaba Cloud DNS (Alidns), with the provider's " +
							"`alicloud` settings. The AccessKey needs `alidns:AddDomainRecord`, `alidns:DeleteDomainRecord`, " +
							"`alidns:DescribeDomainRecords` and `alidns:DescribeDomainRecordInfo` on the domain. Alidns keeps " +
							"one record per value: a wildcard and its base name get two TXT records at `_acme-challenge.<name>` " +
							"(TTL 600), and only the records the provider created are deleted. Exactly one of `route53` and " +
							"`alidns` is required.",
						Validators: []validator.Object{objectvalidator.AlsoRequires(path.MatchRelative().AtName("domain"))},
						Attributes: map[string]schema.Attribute{
							"domain": schema.StringAttribute{
								Optional: true, // required in the block, by its validator
								MarkdownDescription: "Required. The domain as the Alibaba Cloud DNS console lists it (`example.com`), " +
									"which the certificate's names (and so their `_acme-challenge` records) are inside. The " +
									"name's NS records must point at Alibaba Cloud DNS.",
								Validators: []validator.String{stringvalidator.RegexMatches(domainPattern,
									"must be a lower-case domain name such as example.com")},
							},
						},
					},
				},
			},
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}
