// Package pool holds the resources and data sources that work through a sandbox manager's admin
// API: sandbox_pool, sandbox_api_key and the sandbox_templates data source.
//
// Each of them finds its manager the same way: the resource's own endpoint/admin_key attributes
// when set, else the provider's manager block, else the SANDBOX_ENDPOINT/SANDBOX_ADMIN_KEY
// environment variables (the provider resolves its block and the environment into
// ManagerDefaults). Per-resource settings exist because a manager created in the same apply has an
// endpoint that is unknown when the provider is configured.
package pool

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/client"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
)

// Environment variables the provider falls back to.
const (
	EnvEndpoint = "SANDBOX_ENDPOINT"
	EnvAdminKey = "SANDBOX_ADMIN_KEY"
)

// managerLocation is the settings that find a manager, which every type here has; models embed it.
type managerLocation struct {
	Endpoint       types.String `tfsdk:"endpoint"`
	AdminKey       types.String `tfsdk:"admin_key"`
	ConnectAddress types.String `tfsdk:"connect_address"`
	CACertificate  types.String `tfsdk:"ca_certificate"`
}

// client builds the manager client from the settings and the provider's defaults, or adds
// diagnostics that say which setting is missing.
func (l managerLocation) client(d framework.ManagerDefaults, diags *diag.Diagnostics) *client.Client {
	return newClient(l, d, diags)
}

// managerResourceAttributes is the settings' schema for a resource; replaceNote says what moving the
// resource to another manager does.
func managerResourceAttributes(replaceNote, adminKeyNote string) map[string]rschema.Attribute {
	return map[string]rschema.Attribute{
		"endpoint": rschema.StringAttribute{
			Optional:            true,
			MarkdownDescription: strings.TrimSpace(endpointDescription + " " + replaceNote),
			Validators:          []validator.String{EndpointValidator()},
		},
		"admin_key": rschema.StringAttribute{
			Optional:            true,
			Sensitive:           true,
			MarkdownDescription: strings.TrimSpace(adminKeyDescription + " " + adminKeyNote),
			Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
		},
		"connect_address": rschema.StringAttribute{
			Optional:            true,
			MarkdownDescription: ConnectAddressDescription + " " + defaultsNote("connect_address") + " Changing it updates the state only.",
			Validators:          []validator.String{ConnectAddressValidator()},
		},
		"ca_certificate": rschema.StringAttribute{
			Optional:            true,
			MarkdownDescription: CACertificateDescription + " " + defaultsNote("ca_certificate") + " Changing it updates the state only.",
			Validators:          []validator.String{CACertificateValidator()},
		},
	}
}

// managerDataSourceAttributes is the settings' schema for a data source.
func managerDataSourceAttributes() map[string]dschema.Attribute {
	return map[string]dschema.Attribute{
		"endpoint": dschema.StringAttribute{
			Optional:            true,
			MarkdownDescription: endpointDescription,
			Validators:          []validator.String{EndpointValidator()},
		},
		"admin_key": dschema.StringAttribute{
			Optional:            true,
			Sensitive:           true,
			MarkdownDescription: adminKeyDescription,
			Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
		},
		"connect_address": dschema.StringAttribute{
			Optional:            true,
			MarkdownDescription: ConnectAddressDescription + " " + defaultsNote("connect_address"),
			Validators:          []validator.String{ConnectAddressValidator()},
		},
		"ca_certificate": dschema.StringAttribute{
			Optional:            true,
			MarkdownDescription: CACertificateDescription + " " + defaultsNote("ca_certificate"),
			Validators:          []validator.String{CACertificateValidator()},
		},
	}
}

// withAttributes adds the pair to a schema's own attributes.
func withAttributes[A any](own, pair map[string]A) map[string]A {
	for k, v := range pair {
		own[k] = v
	}
	return own
}

// effectiveEndpoint is the endpoint a resource uses: its own, else the default. The second
// result is false when the resource's own value is unknown.
func effectiveEndpoint(own types.String, d framework.ManagerDefaults) (string, bool) {
	if own.IsUnknown() {
		return "", false
	}
	if v := own.ValueString(); !own.IsNull() && v != "" {
		return normalizeEndpoint(v), true
	}
	return normalizeEndpoint(d.Endpoint), true
}

func normalizeEndpoint(s string) string {
	if u, err := client.ParseEndpoint(s); err == nil {
		return u.String()
	}
	return strings.TrimSpace(s)
}

// newClient builds the client for a resource from its own settings and the defaults, or adds
// diagnostics that say which setting is missing.
func newClient(l managerLocation, d framework.ManagerDefaults, diags *diag.Diagnostics) *client.Client {
	own := func(v types.String) string {
		if v.IsNull() || v.IsUnknown() {
			return ""
		}
		return v.ValueString()
	}
	ep := cmp.Or(own(l.Endpoint), d.Endpoint)
	key := cmp.Or(own(l.AdminKey), d.AdminKey)
	connect, ca := own(l.ConnectAddress), own(l.CACertificate)
	// The provider's connect address and CA belong to the provider's manager: a resource that names
	// another manager must not dial the provider's load balancer or trust its CA.
	if normalizeEndpoint(ep) == normalizeEndpoint(d.Endpoint) {
		connect, ca = cmp.Or(connect, d.ConnectAddress), cmp.Or(ca, d.CACertificate)
	}
	if ep == "" {
		diags.AddAttributeError(path.Root("endpoint"), "Missing Sandbox Manager Endpoint",
			"No sandbox manager endpoint is configured. Set endpoint on this resource, endpoint in the provider's "+
				"manager block, or the "+EnvEndpoint+" environment variable (for a local manager started with `make run`: "+
				"http://127.0.0.1:3000).")
	}
	if key == "" {
		diags.AddAttributeError(path.Root("admin_key"), "Missing Sandbox Manager Admin Key",
			"No admin key is configured. Set admin_key on this resource, admin_key in the provider's manager block, or "+
				"the "+EnvAdminKey+" environment variable to the admin key the sandbox manager was started with "+
				"(its own "+EnvAdminKey+").")
	}
	if diags.HasError() {
		return nil
	}
	opts := []client.Option{client.WithUserAgent(cmp.Or(d.UserAgent, "terraform-provider-sandbox"))}
	if connect != "" {
		opts = append(opts, client.WithConnectAddress(connect))
	}
	if ca != "" {
		opts = append(opts, client.WithCACertificate(ca))
	}
	c, err := client.New(ep, key, opts...)
	if err != nil {
		diags.AddError("Invalid Sandbox Manager Connection Settings", err.Error())
		return nil
	}
	return c
}

// addClientError turns a client error into a diagnostic that says what to do. action is
// lower-case, like "creating sandbox pool \"warm\"".
func addClientError(diags *diag.Diagnostics, c *client.Client, action string, err error) {
	framework.AddError(diags, framework.Op{Verb: action}, err, managerAdvisor(c))
}

// managerAdvisor words the manager client's errors: unreachable, timed out, refused key, admin
// API off, anything else.
func managerAdvisor(c *client.Client) framework.Advisor {
	return func(op framework.Op, err error) (framework.Advice, bool) {
		action := op.String()
		var re *client.RequestError
		var ae *client.APIError
		switch {
		case errors.As(err, &re) && errors.Is(err, context.DeadlineExceeded):
			return framework.Advice{Summary: "Sandbox Manager Timed Out",
				Detail: fmt.Sprintf("While %s, the sandbox manager at %s did not answer in time (%s %s: %v). "+
					"Check that the manager is healthy, or raise the operation's timeout in the resource's timeouts block.",
					action, c.Endpoint(), re.Method, re.URL, re.Err)}, true
		case errors.As(err, &re):
			return framework.Advice{Summary: "Sandbox Manager Unreachable",
				Detail: fmt.Sprintf("While %s, the sandbox manager at %s could not be reached (%s %s: %v).\n\n"+
					"Check that the manager is running (a local one: `make run`) and that endpoint (on the resource), "+
					"endpoint in the provider's manager block, or %s points at it. Before the endpoint's DNS record "+
					"exists, set connect_address to the manager's load balancer; a certificate from a staging or test "+
					"CA needs ca_certificate.",
					action, c.Endpoint(), re.Method, re.URL, re.Err, EnvEndpoint)}, true
		case errors.As(err, &ae) && ae.StatusCode == 401:
			return framework.Advice{Summary: "Sandbox Manager Rejected the Admin Key",
				Detail: fmt.Sprintf("While %s, the sandbox manager at %s answered 401 (%s).\n\n"+
					"Set admin_key (on the resource or in the provider's manager block) or %s to the admin key the "+
					"manager was started with (the manager's own %s).", action, c.Endpoint(), ae.Message, EnvAdminKey, EnvAdminKey)}, true
		case errors.As(err, &ae) && ae.StatusCode == 403:
			return framework.Advice{Summary: "Sandbox Manager Admin API Disabled",
				Detail: fmt.Sprintf("While %s, the sandbox manager at %s answered 403 (%s).\n\n"+
					"The admin API is off unless the manager is started with %s set; restart it with a key "+
					"(for example `%s=$(openssl rand -hex 20) make run`) and configure the same key here.",
					action, c.Endpoint(), ae.Message, EnvAdminKey, EnvAdminKey)}, true
		}
		return framework.Advice{Summary: "Sandbox Manager Error",
			Detail: fmt.Sprintf("While %s, the sandbox manager at %s: %v", action, c.Endpoint(), err)}, true
	}
}

// splitImportID parses "<endpoint>|<id>" or "<id>"; what names the id part.
func splitImportID(raw, what string, diags *diag.Diagnostics) (endpoint, id string) {
	format := framework.ImportID{Sep: "|", Parts: []string{"endpoint", what}, Optional: 1,
		Example: "http://127.0.0.1:3000|..."}
	parts := format.Parse(raw, diags)
	if parts == nil {
		return "", ""
	}
	endpoint, id = parts[0], parts[1]
	if endpoint != "" {
		if _, err := client.ParseEndpoint(endpoint); err != nil {
			diags.AddError("Unexpected Import Identifier", fmt.Sprintf("The endpoint part of %q: %v", raw, err))
			return "", ""
		}
	}
	return endpoint, id
}

// EndpointValidator checks that a string is an http(s) URL usable as a manager endpoint.
func EndpointValidator() validator.String { return endpointValidator{} }

type endpointValidator struct{}

func (endpointValidator) Description(context.Context) string {
	return "value must be an http:// or https:// URL without query or fragment"
}

func (v endpointValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (endpointValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := client.ParseEndpoint(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Sandbox Manager Endpoint", err.Error())
	}
}

// ConnectAddressValidator checks that a string is host:port.
func ConnectAddressValidator() validator.String { return connectAddressValidator{} }

type connectAddressValidator struct{}

func (connectAddressValidator) Description(context.Context) string {
	return "value must be host:port, for example 203.0.113.10:443"
}

func (v connectAddressValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (connectAddressValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := client.ParseConnectAddress(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Sandbox Manager Connect Address", err.Error())
	}
}

// CACertificateValidator checks that a string holds PEM certificates.
func CACertificateValidator() validator.String { return caCertificateValidator{} }

type caCertificateValidator struct{}

func (caCertificateValidator) Description(context.Context) string {
	return "value must be one or more PEM certificates"
}

func (v caCertificateValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (caCertificateValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := client.CertPool(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Sandbox Manager CA Certificate", err.Error())
	}
}

// ConnectAddressDescription and CACertificateDescription say what the connection settings are for;
// the provider's manager block uses them too.
const (
	ConnectAddressDescription = "Network address (`host:port`) to connect to instead of what the endpoint's host name " +
		"resolves to, for example the manager's load balancer (`203.0.113.10:443`, or its host name) while the wildcard " +
		"DNS record of the sandbox domain has not propagated yet. The request and TLS still use the endpoint's host name: " +
		"the manager's certificate is verified against it, not against this address."
	CACertificateDescription = "PEM certificate(s) of a certificate authority to trust, in addition to the system's, for " +
		"the manager's TLS certificate: for example the staging CA of an ACME server or a test CA. Not needed for a " +
		"certificate from a public CA."
)

// defaultsNote says where an unset connection setting comes from.
func defaultsNote(attr string) string {
	return "Defaults to `" + attr + "` in the provider's `manager` block when this uses the provider's manager (`endpoint` " +
		"unset or the same); a resource that names another manager never uses the provider's."
}

// locationAttributes are the endpoint/admin_key descriptions shared by every type here.
const (
	endpointDescription = "URL of the sandbox manager (for example `http://127.0.0.1:3000`). Defaults to `endpoint` in the " +
		"provider's `manager` block, then the `" + EnvEndpoint + "` environment variable. Set it here when the manager is created " +
		"in the same configuration, because a provider cannot be configured from values known only after apply."
	adminKeyDescription = "Admin key of the sandbox manager (the manager's own `" + EnvAdminKey + "`). Defaults to `admin_key` " +
		"in the provider's `manager` block, then the `" + EnvAdminKey + "` environment variable. Stored in state (sensitive)."
)

// planEndpointChange marks a resource for replacement when it moves to another manager: the
// object on the old manager cannot be updated through the new one.
func planEndpointChange(ctx context.Context, d framework.ManagerDefaults, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return // create or destroy
	}
	var before, after types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("endpoint"), &before)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("endpoint"), &after)...)
	if resp.Diagnostics.HasError() {
		return
	}
	old, _ := effectiveEndpoint(before, d)
	now, known := effectiveEndpoint(after, d)
	if !known || old != now {
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("endpoint"))
	}
}

func asAPIError(err error, target **client.APIError) bool { return errors.As(err, target) }
