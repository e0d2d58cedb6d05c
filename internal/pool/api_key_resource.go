package pool

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/client"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
)

// MaxKeyNameLength is the manager's bound on an API key's name, in bytes.
const MaxKeyNameLength = 128

var (
	_ resource.Resource                = (*apiKeyResource)(nil)
	_ resource.ResourceWithConfigure   = (*apiKeyResource)(nil)
	_ resource.ResourceWithImportState = (*apiKeyResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*apiKeyResource)(nil)
)

// NewAPIKeyResource is the sandbox_api_key resource.
func NewAPIKeyResource() resource.Resource {
	return &apiKeyResource{ResourceBase: framework.NewResourceBase("api_key")}
}

type apiKeyResource struct {
	framework.ResourceBase
}

type apiKeyModel struct {
	ID        types.String `tfsdk:"id"`
	Name      types.String `tfsdk:"name"`
	Key       types.String `tfsdk:"key"`
	CreatedAt types.String `tfsdk:"created_at"`
	managerLocation
}

func (r *apiKeyResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	stable := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "An API key of a sandbox manager: the `E2B_API_KEY` an E2B SDK sends. The manager stores keys " +
			"hashed and shows the secret only once, when the key is created, so `key` is known only to the Terraform state " +
			"that created it: an imported key has no `key`. Changing the name or the manager replaces the key (a new " +
			"secret); rotating the admin key does not.",
		Attributes: withAttributes(map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The key's ID on the manager (not secret).",
				PlanModifiers:       stable,
			},
			"name": schema.StringAttribute{
				Required: true,
				MarkdownDescription: fmt.Sprintf("A label for the key, at most %d bytes, without leading or trailing spaces. "+
					"Changing it replaces the key.", MaxKeyNameLength),
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{
					stringvalidator.LengthBetween(1, MaxKeyNameLength),
					noSurroundingSpace{},
				},
			},
			"key": schema.StringAttribute{
				Computed:  true,
				Sensitive: true,
				MarkdownDescription: "The secret (`e2b_…`), for `E2B_API_KEY`. Set only by the apply that creates the key; " +
					"null after an import, because the manager cannot show it again.",
				PlanModifiers: stable,
			},
			"created_at": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "When the manager created the key (RFC 3339).",
				PlanModifiers:       stable,
			},
		}, managerResourceAttributes("Pointing the resource at another manager replaces the key.", "Changing it updates the state only.")),
	}
}

func (r *apiKeyResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	planEndpointChange(ctx, r.ProviderData().Manager, req, resp)
}

func (r *apiKeyResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan apiKeyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	c := plan.client(r.ProviderData().Manager, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	name := plan.Name.ValueString()
	k, err := c.CreateKey(ctx, name)
	if err != nil {
		addClientError(&resp.Diagnostics, c, fmt.Sprintf("creating API key %q", name), err)
		return
	}
	tflog.Info(ctx, "created API key", map[string]any{"key_id": k.ID, "name": k.Name})
	plan.ID = types.StringValue(k.ID)
	plan.Key = types.StringValue(k.Key)
	plan.CreatedAt = types.StringValue(k.CreatedAt)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *apiKeyResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state apiKeyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := state.client(r.ProviderData().Manager, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	k, err := c.GetKey(ctx, id)
	if client.IsNotFound(err) {
		tflog.Warn(ctx, "API key is gone from the manager; removing it from state", map[string]any{"key_id": id, "endpoint": c.Endpoint()})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addClientError(&resp.Diagnostics, c, fmt.Sprintf("reading API key %q", id), err)
		return
	}
	state.Name = types.StringValue(k.Name)
	state.CreatedAt = types.StringValue(k.CreatedAt)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// Update only records a new admin_key: every attribute the manager holds forces replacement.
func (r *apiKeyResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan apiKeyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *apiKeyResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state apiKeyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := state.client(r.ProviderData().Manager, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	err := c.DeleteKey(ctx, id)
	switch {
	case err == nil || client.IsNotFound(err):
		tflog.Info(ctx, "deleted API key", map[string]any{"key_id": id})
	case client.IsConflict(err):
		resp.Diagnostics.AddError("API Key Cannot Be Deleted",
			fmt.Sprintf("The sandbox manager at %s refused to delete API key %q: %v.\n\nThe key was seeded from the "+
				"manager's SANDBOX_API_KEYS environment variable; remove it there and restart the manager, or drop it "+
				"from Terraform with `terraform state rm`.", c.Endpoint(), id, err))
	default:
		addClientError(&resp.Diagnostics, c, fmt.Sprintf("deleting API key %q", id), err)
	}
}

// ImportState accepts "<id>" (the provider's manager) or "<endpoint>|<id>". The secret cannot be
// imported.
func (r *apiKeyResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	endpoint, id := splitImportID(req.ID, "id", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
	if endpoint != "" {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("endpoint"), endpoint)...)
	}
	resp.Diagnostics.AddWarning("API Key Secret Not Imported",
		"The sandbox manager stores API keys hashed and shows the secret only when a key is created, so the imported "+
			"sandbox_api_key has no key attribute (it stays null). Whoever holds the secret can keep using it. To have "+
			"Terraform hold a secret, create a new key instead (for example with terraform apply -replace=<address>).")
}

// noSurroundingSpace rejects names the manager would trim, which would show a perpetual diff.
type noSurroundingSpace struct{}

func (noSurroundingSpace) Description(context.Context) string {
	return "value must not start or end with whitespace"
}

func (v noSurroundingSpace) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (noSurroundingSpace) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if v := req.ConfigValue.ValueString(); strings.TrimSpace(v) != v {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid API Key Name",
			fmt.Sprintf("%q starts or ends with whitespace, which the sandbox manager removes; remove it in the configuration.", v))
	}
}
