package alicloud

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// Default operation timeouts of sandbox_alicloud_dns_record (the Alicloud provider's).
const (
	defaultRecordCreateTimeout = 4 * time.Minute
	defaultRecordUpdateTimeout = 3 * time.Minute
	defaultRecordDeleteTimeout = 6 * time.Minute
)

const recordKind = "Alidns record"

var (
	// rrPattern is a host record: "@", "www", "*.sbx", "_acme-challenge.sbx".
	rrPattern     = regexp.MustCompile(`^(@|(\*|[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*)$`)
	domainPattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	hostPattern   = regexp.MustCompile(`^([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$`)
)

var (
	_ resource.Resource                   = (*dnsRecordResource)(nil)
	_ resource.ResourceWithConfigure      = (*dnsRecordResource)(nil)
	_ resource.ResourceWithImportState    = (*dnsRecordResource)(nil)
	_ resource.ResourceWithValidateConfig = (*dnsRecordResource)(nil)
)

// NewDNSRecordResource is the sandbox_alicloud_dns_record resource.
func NewDNSRecordResource() resource.Resource {
	return &dnsRecordResource{newResourceBase("alicloud_dns_record")}
}

type dnsRecordResource struct {
	resourceBase
}

type dnsRecordModel struct {
	ID         types.String   `tfsdk:"id"`
	DomainName types.String   `tfsdk:"domain_name"`
	RR         types.String   `tfsdk:"rr"`
	Type       types.String   `tfsdk:"type"`
	Value      types.String   `tfsdk:"value"`
	TTL        types.Int64    `tfsdk:"ttl"`
	FQDN       types.String   `tfsdk:"fqdn"`
	Timeouts   timeouts.Value `tfsdk:"timeouts"`
}

func (r *dnsRecordResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A record of a domain hosted in Alibaba Cloud DNS (Alidns): `A`, `CNAME` or `TXT`. A wildcard " +
			"record is `rr = \"*.sbx\"`. Host record, type, value and TTL change in place; the domain replaces the record. " +
			"Timeouts default to create 4m, update 3m, delete 6m.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The record's ID (Alidns `RecordId`).",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"domain_name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The domain (zone) in Alidns, for example `example.com`. Changing it replaces the record.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:          []validator.String{stringvalidator.RegexMatches(domainPattern, "must be a lower-case domain name such as example.com")},
			},
			"rr": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Host record: the name within the domain, such as `www`, `*.sbx` (a wildcard), " +
					"`_acme-challenge.sbx`, or `@` for the domain itself.",
				Validators: []validator.String{stringvalidator.RegexMatches(rrPattern, "must be @ or labels such as www, *.sbx or _acme-challenge.sbx")},
			},
			"type": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Record type: `A`, `CNAME` or `TXT`.",
				Validators:          []validator.String{stringvalidator.OneOf("A", "CNAME", "TXT")},
			},
			"value": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Record value: an IPv4 address for `A`, a host name for `CNAME`, text (up to 512 " +
					"characters) for `TXT`.",
				Validators: []validator.String{stringvalidator.LengthBetween(1, 512)},
			},
			"ttl": schema.Int64Attribute{
				Optional:            true,
				Computed:            true,
				Default:             int64default.StaticInt64(600),
				MarkdownDescription: "Time to live in seconds, 1 to 86400 (default 600; Alidns's free edition accepts 600 and more).",
				Validators:          []validator.Int64{int64validator.Between(1, 86400)},
			},
			"fqdn": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The record's full name, such as `*.sbx.example.com`.",
			},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

// ValidateConfig checks the value against the type.
func (r *dnsRecordResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m dnsRecordModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || m.Type.IsUnknown() || m.Value.IsUnknown() || m.Type.IsNull() || m.Value.IsNull() {
		return
	}
	v := m.Value.ValueString()
	switch m.Type.ValueString() {
	case "A":
		if a, err := netip.ParseAddr(v); err != nil || !a.Is4() {
			resp.Diagnostics.AddAttributeError(path.Root("value"), "Invalid Record Value",
				fmt.Sprintf("An A record's value must be an IPv4 address such as 203.0.113.10, got %q.", v))
		}
	case "CNAME":
		if !hostPattern.MatchString(v) {
			resp.Diagnostics.AddAttributeError(path.Root("value"), "Invalid Record Value",
				fmt.Sprintf("A CNAME record's value must be a host name such as lb.example.net, got %q.", v))
		}
	}
}

func (r *dnsRecordResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan dnsRecordModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, _ := framework.WithTimeout(ctx, plan.Timeouts.Create, defaultRecordCreateTimeout, &resp.Diagnostics)
	defer cancel()
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	want := recordOf(plan)
	op := framework.Op{Verb: "creating", Kind: recordKind, ID: want.Type + " " + want.FQDN(), Timeout: "create"}
	got, err := c.DNS().Add(ctx, want)
	if err != nil {
		addError(&resp.Diagnostics, op, err, recordAdvisor)
		return
	}
	tflog.Info(ctx, "created DNS record", map[string]any{"record_id": got.ID, "fqdn": got.FQDN(), "type": got.Type})
	recordInto(got, &plan)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *dnsRecordResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state dnsRecordModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	got, err := c.DNS().Get(ctx, id)
	if retry.IsNotFound(err) {
		resp.Diagnostics.Append(framework.NotFoundWarning(recordKind, id))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addError(&resp.Diagnostics, framework.Op{Verb: "reading", Kind: recordKind, ID: id}, err)
		return
	}
	recordInto(got, &state)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *dnsRecordResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state dnsRecordModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, _ := framework.WithTimeout(ctx, plan.Timeouts.Update, defaultRecordUpdateTimeout, &resp.Diagnostics)
	defer cancel()
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	op := framework.Op{Verb: "updating", Kind: recordKind, ID: id, Timeout: "update"}
	want := recordOf(plan)
	want.ID = id
	if want != recordOf(state).withID(id) {
		if err := c.DNS().Update(ctx, want); err != nil {
			addError(&resp.Diagnostics, op, err, recordAdvisor)
			return
		}
	}
	got, err := c.DNS().Get(ctx, id)
	if err != nil {
		op.Verb = "reading"
		addError(&resp.Diagnostics, op, err)
		return
	}
	recordInto(got, &plan)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *dnsRecordResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state dnsRecordModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, timeout := framework.WithTimeout(ctx, state.Timeouts.Delete, defaultRecordDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	if err := c.DNS().Delete(ctx, id, timeout); err != nil {
		addError(&resp.Diagnostics, framework.Op{Verb: "deleting", Kind: recordKind, ID: id, Timeout: "delete"}, err)
	}
}

// ImportState takes the record's ID (the RecordId the Alidns console and API show).
func (r *dnsRecordResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id := strings.TrimSpace(req.ID)
	if id == "" || strings.Trim(id, "0123456789") != "" {
		resp.Diagnostics.AddError("Unexpected Import Identifier",
			fmt.Sprintf("Expected an Alidns RecordId, a number such as 9000000000000001, got %q.", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
}

func recordOf(m dnsRecordModel) Record {
	return Record{Domain: m.DomainName.ValueString(), RR: m.RR.ValueString(), Type: m.Type.ValueString(),
		Value: m.Value.ValueString(), TTL: m.TTL.ValueInt64()}
}

func (r Record) withID(id string) Record { r.ID = id; return r }

func recordInto(r *Record, m *dnsRecordModel) {
	m.ID = types.StringValue(r.ID)
	m.DomainName = types.StringValue(r.Domain)
	m.RR = types.StringValue(r.RR)
	m.Type = types.StringValue(r.Type)
	m.Value = types.StringValue(r.Value)
	m.TTL = types.Int64Value(r.TTL)
	m.FQDN = types.StringValue(r.FQDN())
}

// recordAdvisor words Alidns's refusals of a record.
func recordAdvisor(op framework.Op, err error) (framework.Advice, bool) {
	switch {
	case isCode(err, errRecordDuplicate):
		return framework.Advice{Summary: "DNS Record Already Exists",
			Hint: "Alidns already has this record (same name, type and value). Import it (terraform import with its " +
				"RecordId, or an import block) instead of creating it again, or change the value."}, true
	case isCode(err, "DomainRecordConflict"):
		return framework.Advice{Summary: "DNS Record Conflicts", Attribute: path.Root("type"),
			Hint: "A CNAME record cannot share its name with records of other types. Remove the other records or use another rr."}, true
	case hasCodePrefix(err, "InvalidDomainName", "IncorrectDomainUser", "DomainNotFound"):
		return framework.Advice{Summary: "Domain Not in Alidns", Attribute: path.Root("domain_name"),
			Hint: "The domain is not hosted in this account's Alibaba Cloud DNS. Add it in the Alidns console (or check " +
				"domain_name and the provider's AccessKey)."}, true
	}
	return framework.Advice{}, false
}
