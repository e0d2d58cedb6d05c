package pool

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/client"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// PoolNamePattern is what the manager accepts as a pool name: a DNS label, because pools become
// Kubernetes objects in the kube runtime.
var PoolNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// MaxPoolSize is the manager's upper bound on a pool's size.
const MaxPoolSize = 100

// Default operation timeouts of sandbox_pool.
const (
	defaultPoolCreateTimeout = 10 * time.Minute
	defaultPoolUpdateTimeout = 10 * time.Minute
	defaultPoolDeleteTimeout = 5 * time.Minute
)

// privateTemplateKey remembers the canonical template name the manager answered with, so that a
// pool configured with an alias (say "code-interpreter-v1") does not show a diff after the manager
// stores the canonical name.
const privateTemplateKey = "canonical_template"

var (
	_ resource.Resource                = (*poolResource)(nil)
	_ resource.ResourceWithConfigure   = (*poolResource)(nil)
	_ resource.ResourceWithImportState = (*poolResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*poolResource)(nil)
)

// NewPoolResource is the sandbox_pool resource.
func NewPoolResource() resource.Resource {
	return &poolResource{ResourceBase: framework.NewResourceBase("pool")}
}

type poolResource struct {
	framework.ResourceBase
}

type poolModel struct {
	ID           types.String `tfsdk:"id"`
	Name         types.String `tfsdk:"name"`
	Template     types.String `tfsdk:"template"`
	Size         types.Int64  `tfsdk:"size"`
	Timeout      types.Int64  `tfsdk:"timeout"`
	Resources    types.Object `tfsdk:"resources"`
	WaitForReady types.Bool   `tfsdk:"wait_for_ready"`
	managerLocation
	Timeouts timeouts.Value `tfsdk:"timeouts"`
}

func (r *poolResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A warm pool on a sandbox manager: `size` sandboxes of `template` kept started, so that " +
			"`Sandbox.create(template)` through any E2B SDK gets one at once instead of waiting for a start.\n\n" +
			"The number of warm sandboxes that are ready right now changes whenever a client claims one; it is not an " +
			"attribute (it would show a change on every plan). With `wait_for_ready` (the default), create and update " +
			"wait, within the `timeouts` (defaults: create 10m, update 10m, delete 5m), until the pool has `size` warm " +
			"sandboxes.",
		Attributes: withAttributes(map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The pool's name (the manager identifies pools by name).",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Name of the pool: lowercase letters, digits and `-`, starting and ending with a letter " +
					"or digit, at most 63 characters. Changing it replaces the pool.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{
					stringvalidator.RegexMatches(PoolNamePattern,
						"must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"),
				},
			},
			"template": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Template of the pool's sandboxes, by name or alias (see the `sandbox_templates` data " +
					"source). Changed in place: the manager replaces the warm sandboxes of the old template.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"size": schema.Int64Attribute{
				Required:            true,
				MarkdownDescription: fmt.Sprintf("Number of warm sandboxes to keep, 0 to %d. Changed in place.", MaxPoolSize),
				Validators:          []validator.Int64{int64validator.Between(0, MaxPoolSize)},
			},
			"timeout": schema.Int64Attribute{
				Optional: true,
				Computed: true,
				Default:  int64default.StaticInt64(0),
				MarkdownDescription: "Default timeout, in seconds, of a sandbox taken from this pool: it is killed that long " +
					"after the client claims it unless the client extends it. `0` (the default) keeps the timeout the " +
					"client's create request asks for.",
				Validators: []validator.Int64{int64validator.Between(0, 1<<31)},
			},
			"resources": schema.SingleNestedAttribute{
				Optional: true,
				MarkdownDescription: "CPU and memory of each sandbox of the pool, overriding the template's; reported to " +
					"E2B clients as the sandbox's `cpuCount` (whole CPUs, rounded up) and `memoryMB`. The local runtime " +
					"enforces them with cgroups where the machine lets it (else the manager logs that it runs without " +
					"limits); the Kubernetes runtime sets them as the pod's requests and limits. Changed in place: the " +
					"manager replaces the warm sandboxes; sandboxes already claimed keep what they started with. Omit " +
					"it to keep the template's resources.",
				Attributes: map[string]schema.Attribute{
					"cpu_millis": schema.Int64Attribute{
						Optional: true,
						MarkdownDescription: fmt.Sprintf("CPU in millicores (`1000` = one core), %d to %d. Unset keeps the template's.",
							MinCPUMillis, MaxCPUMillis),
						Validators: []validator.Int64{int64validator.Between(MinCPUMillis, MaxCPUMillis)},
					},
					"memory_mb": schema.Int64Attribute{
						Optional:            true,
						MarkdownDescription: fmt.Sprintf("Memory in MB, %d to %d. Unset keeps the template's.", MinMemoryMB, MaxMemoryMB),
						Validators:          []validator.Int64{int64validator.Between(MinMemoryMB, MaxMemoryMB)},
					},
				},
				Validators: []validator.Object{resourcesNotEmpty{}},
			},
			"wait_for_ready": schema.BoolAttribute{
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(true),
				MarkdownDescription: "Whether create and update wait until the pool has `size` warm sandboxes (default " +
					"`true`). If the wait exceeds the create/update timeout the apply fails, and a new pool is marked " +
					"tainted; a template that cannot run on the manager (see `sandbox_templates`) never gets ready. Set " +
					"`false` to return as soon as the manager has accepted the settings.",
			},
		}, managerResourceAttributes("Pointing the resource at another manager replaces the pool.", "")),
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

// ModifyPlan replaces the pool when the resource moves to another manager.
func (r *poolResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	planEndpointChange(ctx, r.ProviderData().Manager, req, resp)
}

func (r *poolResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan poolModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, timeout := framework.WithTimeout(ctx, plan.Timeouts.Create, defaultPoolCreateTimeout, &resp.Diagnostics)
	defer cancel()
	c := plan.client(r.ProviderData().Manager, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	name := plan.Name.ValueString()
	action := fmt.Sprintf("creating sandbox pool %q", name)

	// PUT would silently take over a pool someone else made: refuse, and point at import.
	switch existing, err := c.GetPool(ctx, name); {
	case err == nil:
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Sandbox Pool Already Exists",
			fmt.Sprintf("The sandbox manager at %s already has a pool %q (template %q, size %d). Import it to manage it "+
				"with Terraform (terraform import <address> %q), or choose another name.",
				c.Endpoint(), name, existing.Template, existing.Size, name))
		return
	case !client.IsNotFound(err):
		addClientError(&resp.Diagnostics, c, action, err)
		return
	}

	r.put(ctx, c, &plan, timeout, action, resp.Private, &resp.State, &resp.Diagnostics)
}

func (r *poolResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state poolModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := state.client(r.ProviderData().Manager, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.Name.ValueString()
	if name == "" {
		name = state.ID.ValueString()
	}
	got, err := c.GetPool(ctx, name)
	if client.IsNotFound(err) {
		tflog.Warn(ctx, "sandbox pool is gone from the manager; removing it from state", map[string]any{"pool": name, "endpoint": c.Endpoint()})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addClientError(&resp.Diagnostics, c, fmt.Sprintf("reading sandbox pool %q", name), err)
		return
	}
	canonical, diags := req.Private.GetKey(ctx, privateTemplateKey)
	resp.Diagnostics.Append(diags...)
	// Keep the configured spelling (an alias) while the manager still holds the template it
	// resolved it to; anything else is a change made outside Terraform.
	if state.Template.IsNull() || string(canonical) != string(templateJSON(got.Template)) {
		state.Template = types.StringValue(got.Template)
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateTemplateKey, templateJSON(got.Template))...)
	}
	state.ID = types.StringValue(got.Name)
	state.Name = types.StringValue(got.Name)
	state.Size = types.Int64Value(got.Size)
	state.Timeout = types.Int64Value(got.Timeout)
	state.Resources = resourcesValue(got.Resources)
	if state.WaitForReady.IsNull() {
		state.WaitForReady = types.BoolValue(true)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *poolResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state poolModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, timeout := framework.WithTimeout(ctx, plan.Timeouts.Update, defaultPoolUpdateTimeout, &resp.Diagnostics)
	defer cancel()
	c := plan.client(r.ProviderData().Manager, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	name := plan.Name.ValueString()
	action := fmt.Sprintf("updating sandbox pool %q", name)
	r.put(ctx, c, &plan, timeout, action, resp.Private, &resp.State, &resp.Diagnostics)
}

// privateKeySetter is the private state of a create or update response.
type privateKeySetter interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

// put makes the manager's pool what plan says (create and update are the same PUT), records the
// result in state, then waits for the warm sandboxes. State is saved before the wait: if the wait
// fails the pool exists, and Terraform marks a new one tainted.
func (r *poolResource) put(ctx context.Context, c *client.Client, plan *poolModel, timeout time.Duration, action string,
	private privateKeySetter, state *tfsdk.State, diags *diag.Diagnostics) {
	name := plan.Name.ValueString()
	got, err := c.PutPool(ctx, name, plan.spec())
	if err != nil {
		addPutError(diags, c, action, err)
		return
	}
	tflog.Info(ctx, "sandbox pool configured on the manager", map[string]any{"action": action, "pool": name, "template": got.Template, "size": got.Size})
	plan.ID = types.StringValue(name)
	plan.Timeout = types.Int64Value(got.Timeout)
	diags.Append(private.SetKey(ctx, privateTemplateKey, templateJSON(got.Template))...)
	diags.Append(state.Set(ctx, plan)...)
	if diags.HasError() || !plan.WaitForReady.ValueBool() {
		return
	}
	waitReady(ctx, c, name, got.Size, timeout, action, r.ProviderData().Timing.Pace(readyPacing), diags)
}

func (r *poolResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state poolModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, _ := framework.WithTimeout(ctx, state.Timeouts.Delete, defaultPoolDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	c := state.client(r.ProviderData().Manager, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.Name.ValueString()
	if err := c.DeletePool(ctx, name); err != nil && !client.IsNotFound(err) {
		addClientError(&resp.Diagnostics, c, fmt.Sprintf("deleting sandbox pool %q", name), err)
		return
	}
	tflog.Info(ctx, "deleted sandbox pool", map[string]any{"pool": name})
}

// ImportState accepts "<name>" (the provider's manager) or "<endpoint>|<name>".
func (r *poolResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	endpoint, name := splitImportID(req.ID, "name", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if !PoolNamePattern.MatchString(name) {
		resp.Diagnostics.AddError("Unexpected Import Identifier",
			fmt.Sprintf("%q is not a pool name: want lowercase letters, digits and '-', at most 63 characters.", name))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("wait_for_ready"), true)...)
	if endpoint != "" {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("endpoint"), endpoint)...)
	}
}

func (m poolModel) spec() client.PoolSpec {
	spec := client.PoolSpec{Template: m.Template.ValueString(), Size: m.Size.ValueInt64(), Timeout: m.Timeout.ValueInt64()}
	if !m.Resources.IsNull() && !m.Resources.IsUnknown() {
		attrs := m.Resources.Attributes()
		spec.Resources.CPUMillis = int64Attr(attrs["cpu_millis"])
		spec.Resources.MemoryMB = int64Attr(attrs["memory_mb"])
	}
	return spec
}

// templateJSON is a private-state value (private state holds JSON).
func templateJSON(name string) []byte { return fmt.Appendf(nil, "%q", name) }

// addPutError words the manager's answer to an unknown template (404 on PUT, whose message names
// the available templates) as a problem with the template attribute.
func addPutError(diags *diag.Diagnostics, c *client.Client, action string, err error) {
	var ae *client.APIError
	if client.IsNotFound(err) && asAPIError(err, &ae) {
		diags.AddAttributeError(path.Root("template"), "Unknown Sandbox Template",
			fmt.Sprintf("While %s, the sandbox manager at %s does not know the template: %s\n\n"+
				"Use one of the templates the manager lists (the sandbox_templates data source shows them with their availability).",
				action, c.Endpoint(), ae.Message))
		return
	}
	if asAPIError(err, &ae) && ae.StatusCode == 400 {
		diags.AddError("Invalid Sandbox Pool", fmt.Sprintf("While %s, the sandbox manager at %s refused the settings: %s", action, c.Endpoint(), ae.Message))
		return
	}
	addClientError(diags, c, action, err)
}

// readyPacing is how waitReady polls: at once, then after 100 ms, doubling up to 2 s.
var readyPacing = retry.Pacing{Interval: 100 * time.Millisecond, MaxInterval: 2 * time.Second}

// waitReady polls the pool until it has size warm sandboxes or the timeout (ctx's deadline) passes.
func waitReady(ctx context.Context, c *client.Client, name string, size int64, timeout time.Duration, action string,
	pacing retry.Pacing, diags *diag.Diagnostics) {
	var last client.Pool
	conf := retry.StateChangeConf[client.Pool]{
		Pending: []string{"warming"},
		Target:  []string{"ready"},
		Refresh: func(ctx context.Context) (client.Pool, string, error) {
			p, err := c.GetPool(ctx, name)
			if err != nil {
				return p, "", err
			}
			last = p
			if p.Ready >= size {
				return p, "ready", nil
			}
			tflog.Debug(ctx, "waiting for warm sandboxes", map[string]any{"pool": name, "ready": p.Ready, "size": size})
			return p, "warming", nil
		},
		Timeout: timeout,
		Pacing:  pacing,
	}
	_, err := conf.Wait(ctx)
	switch {
	case err == nil:
	case retry.IsTimeout(err):
		diags.AddError("Sandbox Pool Not Ready",
			fmt.Sprintf("While %s, the pool had %d of %d warm sandboxes after %s. The manager accepted the settings; "+
				"its sandboxes of template %q did not all start. Check that the template is available (data source "+
				"sandbox_templates, field reason) and the manager's log, then apply again; or raise the timeout in the "+
				"timeouts block, or set wait_for_ready = false.", action, last.Ready, size, timeout, last.Template))
	default:
		addClientError(diags, c, action+" (waiting for warm sandboxes)", err)
	}
}
