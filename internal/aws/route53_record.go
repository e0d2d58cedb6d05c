package aws

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

const recordKind = "Route 53 record"

// Default operation timeouts of sandbox_aws_route53_record: a change normally reaches every Route 53
// server within a minute, but can take much longer.
const (
	defaultRecordCreateTimeout = 30 * time.Minute
	defaultRecordUpdateTimeout = 30 * time.Minute
	defaultRecordDeleteTimeout = 30 * time.Minute
)

var recordTypes = []string{"A", "AAAA", "CNAME", "TXT"}

var zoneIDPattern = regexp.MustCompile(`^(/hostedzone/)?Z[A-Z0-9]{1,31}$`)

var (
	_ resource.Resource                     = (*recordResource)(nil)
	_ resource.ResourceWithConfigure        = (*recordResource)(nil)
	_ resource.ResourceWithImportState      = (*recordResource)(nil)
	_ resource.ResourceWithConfigValidators = (*recordResource)(nil)
	_ resource.ResourceWithValidateConfig   = (*recordResource)(nil)
)

// NewRoute53RecordResource is the sandbox_aws_route53_record resource.
func NewRoute53RecordResource() resource.Resource {
	return &recordResource{newResourceBase("aws_route53_record")}
}

type recordResource struct {
	resourceBase
}

type recordModel struct {
	ID       types.String   `tfsdk:"id"`
	ZoneID   types.String   `tfsdk:"zone_id"`
	Name     types.String   `tfsdk:"name"`
	Type     types.String   `tfsdk:"type"`
	TTL      types.Int64    `tfsdk:"ttl"`
	Records  types.Set      `tfsdk:"records"`
	Alias    types.Object   `tfsdk:"alias"`
	FQDN     types.String   `tfsdk:"fqdn"`
	Timeouts timeouts.Value `tfsdk:"timeouts"`
}

type aliasModel struct {
	Name                 types.String `tfsdk:"name"`
	ZoneID               types.String `tfsdk:"zone_id"`
	EvaluateTargetHealth types.Bool   `tfsdk:"evaluate_target_health"`
}

var aliasAttrTypes = map[string]attr.Type{
	"name": types.StringType, "zone_id": types.StringType, "evaluate_target_health": types.BoolType,
}

// recordImportID is ZONEID_NAME_TYPE; the name may hold underscores (_acme-challenge...).
const recordImportIDExample = "Z0123456789ABCDEFGHIJ_*.sbx.example.com_A"

func (r *recordResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A Route 53 record set (simple routing): values with a TTL, or an alias to a load balancer. " +
			"Create and update wait until Route 53 reports the change `INSYNC` on all its servers. Create refuses to " +
			"overwrite an existing set (import it instead). Wildcard names such as `*.sbx.example.com` work as written " +
			"(Route 53 shows `*` as `\\052`); TXT values are written without quotes (the provider quotes them, and " +
			"splits values longer than 255 characters).",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "`<zone_id>_<name>_<type>`, the import identifier.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"zone_id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "ID of the hosted zone (`Z…`). Changing it replaces the record.",
				PlanModifiers:       replace,
				Validators:          []validator.String{stringvalidator.RegexMatches(zoneIDPattern, "must be a hosted zone ID such as Z0123456789ABCDEFGHIJ")},
			},
			"name": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Fully qualified name of the record, inside the zone, for example `*.sbx.example.com` " +
					"(a trailing dot is optional). Changing it replaces the record.",
				PlanModifiers: replace,
				Validators:    []validator.String{stringvalidator.LengthBetween(1, 255)},
			},
			"type": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "`A`, `AAAA`, `CNAME` or `TXT`. Changing it replaces the record.",
				PlanModifiers:       replace,
				Validators:          []validator.String{stringvalidator.OneOf(recordTypes...)},
			},
			"ttl": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: "Seconds resolvers may cache the values. Required with `records`; not used with `alias`.",
				Validators:          []validator.Int64{int64validator.Between(0, 2147483647)},
			},
			"records": schema.SetAttribute{
				Optional:    true,
				ElementType: types.StringType,
				MarkdownDescription: "The values: IPv4 addresses (A), IPv6 addresses (AAAA), one host name (CNAME) or " +
					"text (TXT, unquoted). Changed in place.",
				Validators: []validator.Set{setvalidator.SizeAtLeast(1), setvalidator.ValueStringsAre(stringvalidator.LengthBetween(1, 4000))},
			},
			"alias": schema.SingleNestedAttribute{
				Optional: true,
				MarkdownDescription: "An alias to an AWS resource, for example an Application or Network Load Balancer " +
					"(its `dns_name` and `zone_id`), instead of `records`. Changed in place.",
				Attributes: map[string]schema.Attribute{
					"name": schema.StringAttribute{
						Required:            true,
						MarkdownDescription: "DNS name of the target (the load balancer's `dns_name`).",
						Validators:          []validator.String{stringvalidator.LengthBetween(1, 255)},
					},
					"zone_id": schema.StringAttribute{
						Required:            true,
						MarkdownDescription: "Hosted zone ID of the target (the load balancer's canonical hosted zone ID).",
						Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
					},
					"evaluate_target_health": schema.BoolAttribute{
						Required:            true,
						MarkdownDescription: "Whether Route 53 answers with this record only while the target is healthy.",
					},
				},
			},
			"fqdn": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The name fully qualified, lower case, without the trailing dot.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *recordResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{
		resourcevalidator.ExactlyOneOf(path.MatchRoot("records"), path.MatchRoot("alias")),
		resourcevalidator.Conflicting(path.MatchRoot("ttl"), path.MatchRoot("alias")),
		resourcevalidator.RequiredTogether(path.MatchRoot("ttl"), path.MatchRoot("records")),
	}
}

// ValidateConfig checks the values against the type, so a typo fails the plan, not the apply.
func (r *recordResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m recordModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || m.Type.IsUnknown() || m.Records.IsNull() || m.Records.IsUnknown() {
		return
	}
	var values []types.String
	resp.Diagnostics.Append(m.Records.ElementsAs(ctx, &values, false)...)
	typ := m.Type.ValueString()
	if typ == "CNAME" && len(values) > 1 {
		resp.Diagnostics.AddAttributeError(path.Root("records"), "Several CNAME Values",
			"A CNAME record has exactly one value (a host name). Use A/AAAA records for several addresses.")
	}
	for _, v := range values {
		if v.IsUnknown() {
			continue
		}
		s := v.ValueString()
		addr, err := netip.ParseAddr(s)
		switch {
		case typ == "A" && (err != nil || !addr.Is4()):
			resp.Diagnostics.AddAttributeError(path.Root("records"), "Invalid A Record Value", fmt.Sprintf("%q is not an IPv4 address.", s))
		case typ == "AAAA" && (err != nil || !addr.Is6() || addr.Is4In6()):
			resp.Diagnostics.AddAttributeError(path.Root("records"), "Invalid AAAA Record Value", fmt.Sprintf("%q is not an IPv6 address.", s))
		case typ == "TXT" && strings.HasPrefix(s, `"`) && strings.HasSuffix(s, `"`) && len(s) > 1:
			resp.Diagnostics.AddAttributeWarning(path.Root("records"), "Quoted TXT Value",
				fmt.Sprintf("The TXT value %s is quoted. The provider quotes values itself, so the quotes become part of the text. "+
					"Remove them unless you mean that.", s))
		}
	}
}

func (m *recordModel) recordSet(ctx context.Context) (*r53types.ResourceRecordSet, error) {
	typ := r53types.RRType(m.Type.ValueString())
	rs := &r53types.ResourceRecordSet{Name: awssdk.String(canonicalRecordName(m.Name.ValueString())), Type: typ}
	if !m.Alias.IsNull() {
		var a aliasModel
		if d := m.Alias.As(ctx, &a, basetypes.ObjectAsOptions{}); d.HasError() {
			return nil, fmt.Errorf("reading alias: %v", d)
		}
		rs.AliasTarget = &r53types.AliasTarget{DNSName: a.Name.ValueStringPointer(), HostedZoneId: a.ZoneID.ValueStringPointer(),
			EvaluateTargetHealth: a.EvaluateTargetHealth.ValueBool()}
		return rs, nil
	}
	var values []string
	if d := m.Records.ElementsAs(ctx, &values, false); d.HasError() {
		return nil, fmt.Errorf("reading records: %v", d)
	}
	slices.Sort(values)
	rs.TTL = m.TTL.ValueInt64Pointer()
	rs.ResourceRecords = wireRecords(typ, values)
	return rs, nil
}

func (r *recordResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan recordModel
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
	zoneID := cleanZoneID(plan.ZoneID.ValueString())
	id := recordID(zoneID, plan.Name.ValueString(), plan.Type.ValueString())
	op := framework.Op{Verb: "creating", Kind: recordKind, ID: id, Timeout: "create"}
	rs, err := plan.recordSet(ctx)
	if err != nil {
		addError(&resp.Diagnostics, op, err)
		return
	}
	if err := changeRecordSet(ctx, c, zoneID, r53types.ChangeActionCreate, rs, "created by terraform-provider-sandbox", true); err != nil {
		addError(&resp.Diagnostics, op, err, recordAdvisor(id))
		return
	}
	tflog.Info(ctx, "created Route 53 record", map[string]any{"id": id})
	plan.ID, plan.FQDN = types.StringValue(id), types.StringValue(fqdnOf(plan.Name.ValueString()))
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *recordResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state recordModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	zoneID := cleanZoneID(state.ZoneID.ValueString())
	id := state.ID.ValueString()
	rs, err := findRecordSet(ctx, c.Route53, zoneID, state.Name.ValueString(), r53types.RRType(state.Type.ValueString()))
	if retry.IsNotFound(err) {
		tflog.Warn(ctx, "Route 53 record is gone; removing it from state", map[string]any{"id": id})
		resp.Diagnostics.Append(framework.NotFoundWarning(recordKind, id))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addError(&resp.Diagnostics, framework.Op{Verb: "reading", Kind: recordKind, ID: id}, err)
		return
	}
	resp.Diagnostics.Append(recordInto(ctx, rs, &state)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// recordInto copies what Route 53 has into m, keeping m's spelling of names that mean the same.
func recordInto(ctx context.Context, rs *r53types.ResourceRecordSet, m *recordModel) (diags diag.Diagnostics) {
	if !sameRecordName(m.Name.ValueString(), awssdk.ToString(rs.Name)) {
		m.Name = types.StringValue(fqdnOf(awssdk.ToString(rs.Name)))
	}
	m.FQDN = types.StringValue(fqdnOf(awssdk.ToString(rs.Name)))
	if a := rs.AliasTarget; a != nil {
		name := strings.TrimSuffix(awssdk.ToString(a.DNSName), ".")
		var prior aliasModel
		if !m.Alias.IsNull() && !m.Alias.IsUnknown() {
			diags.Append(m.Alias.As(ctx, &prior, basetypes.ObjectAsOptions{})...)
			if sameRecordName(prior.Name.ValueString(), name) {
				name = prior.Name.ValueString()
			}
		}
		m.Alias = types.ObjectValueMust(aliasAttrTypes, map[string]attr.Value{
			"name": types.StringValue(name), "zone_id": types.StringValue(awssdk.ToString(a.HostedZoneId)),
			"evaluate_target_health": types.BoolValue(a.EvaluateTargetHealth),
		})
		m.TTL, m.Records = types.Int64Null(), types.SetNull(types.StringType)
		return diags
	}
	m.Alias = types.ObjectNull(aliasAttrTypes)
	m.TTL = types.Int64PointerValue(rs.TTL)
	values := recordValues(rs)
	if rs.Type == r53types.RRTypeCname && !m.Records.IsNull() {
		// Keep the configured spelling of a host name Route 53 returns with or without the dot.
		var prior []string
		diags.Append(m.Records.ElementsAs(ctx, &prior, false)...)
		if len(prior) == 1 && len(values) == 1 && sameRecordName(prior[0], values[0]) {
			values = prior
		}
	}
	m.Records = types.SetValueMust(types.StringType, stringValues(values))
	return diags
}

func stringValues(s []string) []attr.Value {
	out := make([]attr.Value, 0, len(s))
	for _, v := range s {
		out = append(out, types.StringValue(v))
	}
	return out
}

func (r *recordResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan recordModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, _ := framework.WithTimeout(ctx, plan.Timeouts.Update, defaultRecordUpdateTimeout, &resp.Diagnostics)
	defer cancel()
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	zoneID := cleanZoneID(plan.ZoneID.ValueString())
	id := recordID(zoneID, plan.Name.ValueString(), plan.Type.ValueString())
	op := framework.Op{Verb: "updating", Kind: recordKind, ID: id, Timeout: "update"}
	rs, err := plan.recordSet(ctx)
	if err != nil {
		addError(&resp.Diagnostics, op, err)
		return
	}
	if err := changeRecordSet(ctx, c, zoneID, r53types.ChangeActionUpsert, rs, "updated by terraform-provider-sandbox", true); err != nil {
		addError(&resp.Diagnostics, op, err, recordAdvisor(id))
		return
	}
	plan.ID, plan.FQDN = types.StringValue(id), types.StringValue(fqdnOf(plan.Name.ValueString()))
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *recordResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state recordModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, _ := framework.WithTimeout(ctx, state.Timeouts.Delete, defaultRecordDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	zoneID := cleanZoneID(state.ZoneID.ValueString())
	err := deleteRecordSet(ctx, c, zoneID, state.Name.ValueString(), r53types.RRType(state.Type.ValueString()))
	if err != nil && !isCode(err, "NoSuchHostedZone") && !retry.IsNotFound(err) {
		addError(&resp.Diagnostics, framework.Op{Verb: "deleting", Kind: recordKind, ID: state.ID.ValueString(), Timeout: "delete"}, err)
		return
	}
	tflog.Info(ctx, "deleted Route 53 record", map[string]any{"id": state.ID.ValueString()})
}

// ImportState takes <zone_id>_<name>_<type>.
func (r *recordResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	zoneID, name, typ, ok := parseRecordID(req.ID)
	if !ok {
		resp.Diagnostics.AddError("Unexpected Import Identifier",
			fmt.Sprintf("Expected <zone_id>_<name>_<type> with type one of %s (for example %s), got %q.",
				strings.Join(recordTypes, ", "), recordImportIDExample, req.ID))
		return
	}
	for attrName, v := range map[string]string{"id": recordID(zoneID, name, typ), "zone_id": zoneID, "name": name, "type": typ} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attrName), v)...)
	}
}

// recordID is the resource's ID: zone, name as users write it (no trailing dot, '*' decoded), type.
func recordID(zoneID, name, typ string) string {
	return cleanZoneID(zoneID) + "_" + fqdnOf(name) + "_" + typ
}

func parseRecordID(id string) (zoneID, name, typ string, ok bool) {
	first, last := strings.Index(id, "_"), strings.LastIndex(id, "_")
	if first <= 0 || last <= first+1 || last == len(id)-1 {
		return "", "", "", false
	}
	zoneID, name, typ = cleanZoneID(id[:first]), id[first+1:last], strings.ToUpper(id[last+1:])
	if !zoneIDPattern.MatchString(zoneID) || !slices.Contains(recordTypes, typ) {
		return "", "", "", false
	}
	return zoneID, fqdnOf(name), typ, true
}

// recordAdvisor words Route 53's refusals of a change batch.
func recordAdvisor(id string) framework.Advisor {
	return func(op framework.Op, err error) (framework.Advice, bool) {
		var icb *r53types.InvalidChangeBatch
		switch {
		case isCode(err, "NoSuchHostedZone"):
			return framework.Advice{Summary: "Hosted Zone Not Found", Attribute: path.Root("zone_id"),
				Hint: "Check zone_id (the sandbox_aws_route53_zone data source finds a zone by name)."}, true
		case errors.As(err, &icb):
			msgs := strings.Join(icb.Messages, "; ")
			if msgs == "" {
				msgs = awssdk.ToString(icb.Message)
			}
			a := framework.Advice{Summary: "Route 53 Refused the Record",
				Detail: fmt.Sprintf("While %s, Route 53 refused the change: %s.", op, msgs)}
			if strings.Contains(msgs, "already exists") {
				a.Detail += fmt.Sprintf("\n\nThe record set exists already, outside this configuration. Import it "+
					"(terraform import <address> %s) to manage it here, or delete it first.", id)
			}
			return a, true
		}
		return framework.Advice{}, false
	}
}
