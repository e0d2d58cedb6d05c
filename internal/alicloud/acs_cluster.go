package alicloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/responses"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/cs"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// Default operation timeouts of sandbox_alicloud_acs_cluster: a cluster takes minutes to come up.
const (
	defaultClusterCreateTimeout = 60 * time.Minute
	defaultClusterUpdateTimeout = 30 * time.Minute
	defaultClusterDeleteTimeout = 30 * time.Minute
)

const (
	clusterKind        = "Alibaba Cloud ACS cluster"
	defaultServiceCIDR = "172.21.0.0/20"
	defaultClusterSpec = "ack.pro.small"
)

// Cluster states (DescribeClusterDetail "state").
const (
	clusterInitial  = "initial"
	clusterRunning  = "running"
	clusterFailed   = "failed"
	clusterUpdating = "updating"
)

// clusterPacing polls a cluster's state: every 10 s at most, as it changes over minutes.
var clusterPacing = retry.Pacing{Interval: 2 * time.Second, MaxInterval: 10 * time.Second}

var (
	clusterIDPattern   = regexp.MustCompile(`^c[0-9a-z]{16,40}$`)
	clusterNamePattern = regexp.MustCompile(`^[A-Za-z0-9_\p{Han}][A-Za-z0-9_\-\p{Han}]{0,62}$`)
)

var (
	_ resource.Resource                = (*acsClusterResource)(nil)
	_ resource.ResourceWithConfigure   = (*acsClusterResource)(nil)
	_ resource.ResourceWithImportState = (*acsClusterResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*acsClusterResource)(nil)
)

// NewACSClusterResource is the sandbox_alicloud_acs_cluster resource.
func NewACSClusterResource() resource.Resource {
	return &acsClusterResource{newResourceBase("alicloud_acs_cluster")}
}

type acsClusterResource struct {
	resourceBase
}

type acsClusterModel struct {
	ID                 types.String   `tfsdk:"id"`
	Name               types.String   `tfsdk:"name"`
	VPCID              types.String   `tfsdk:"vpc_id"`
	VSwitchIDs         types.List     `tfsdk:"vswitch_ids"`
	ServiceCIDR        types.String   `tfsdk:"service_cidr"`
	ClusterSpec        types.String   `tfsdk:"cluster_spec"`
	KubernetesVersion  types.String   `tfsdk:"kubernetes_version"`
	DeletionProtection types.Bool     `tfsdk:"deletion_protection"`
	Tags               types.Map      `tfsdk:"tags"`
	KubeconfigMinutes  types.Int64    `tfsdk:"kubeconfig_validity_minutes"`
	SecurityGroupID    types.String   `tfsdk:"security_group_id"`
	APIServerEndpoint  types.String   `tfsdk:"api_server_endpoint"`
	Kubeconfig         types.String   `tfsdk:"kubeconfig"`
	KubeconfigExpires  types.String   `tfsdk:"kubeconfig_expiration"`
	Timeouts           timeouts.Value `tfsdk:"timeouts"`
}

func (r *acsClusterResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	stable := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "An Alibaba Cloud ACS (Container Compute Service, serverless Kubernetes) cluster: a managed " +
			"Kubernetes cluster (`cluster_type = ManagedKubernetes`, `profile = Acs`) in an existing VPC. Create waits " +
			"through the cluster's states until it is `running` (progress is logged), then reads its kubeconfig; a cluster " +
			"that ends `failed` is an error quoting Alibaba Cloud's reason (the resource stays in the state, tainted, so the " +
			"next apply deletes and recreates it). Delete turns deletion protection off first when it is on, and waits until " +
			"the cluster is gone. Defaults of the `timeouts`: create 60m, update 30m, delete 30m.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The cluster's ID.",
				PlanModifiers:       stable,
			},
			"name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The cluster's name: 1 to 63 letters, digits, underscores or hyphens, not starting with a hyphen. Changed in place.",
				Validators:          []validator.String{stringvalidator.RegexMatches(clusterNamePattern, "must be 1 to 63 letters, digits, underscores or hyphens, not starting with a hyphen")},
			},
			"vpc_id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "ID of the VPC of the cluster. Changing it replaces the cluster.",
				PlanModifiers:       replace,
				Validators:          []validator.String{stringvalidator.RegexMatches(vpcIDPattern, "must be a VPC ID such as vpc-bp1qpo0kug3a20qqe4l1c")},
			},
			"vswitch_ids": schema.ListAttribute{
				Required:            true,
				ElementType:         types.StringType,
				MarkdownDescription: "IDs of the vSwitches (of `vpc_id`) the cluster's pods use, 1 to 5, ideally in different zones. Changing them replaces the cluster.",
				PlanModifiers:       []planmodifier.List{listplanmodifier.RequiresReplace()},
				Validators: []validator.List{listvalidator.SizeBetween(1, 5), listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(stringvalidator.RegexMatches(vswitchIDPattern, "must be a vSwitch ID such as vsw-bp1s5fnvk4gn2tws03624"))},
			},
			"service_cidr": schema.StringAttribute{
				Optional: true,
				Computed: true,
				Default:  stringdefault.StaticString(defaultServiceCIDR),
				MarkdownDescription: "CIDR block of the cluster's Services, /16 to /25; it must not overlap the VPC's CIDR block " +
					"(checked at plan time when the VPC exists). Default `" + defaultServiceCIDR + "`. Changing it replaces the cluster.",
				PlanModifiers: replace,
				Validators:    []validator.String{cidrValidator{minPrefix: 16, maxPrefix: 25}},
			},
			"cluster_spec": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(defaultClusterSpec),
				MarkdownDescription: "The cluster's specification; ACS clusters are `" + defaultClusterSpec + "` (the default). Changing it replaces the cluster.",
				PlanModifiers:       replace,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"kubernetes_version": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "Kubernetes version, for example `1.33.3-aliyun.1`. Left out, Alibaba Cloud picks its " +
					"default and this attribute shows it. This resource does not upgrade clusters: changing it replaces the cluster.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown(), stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"deletion_protection": schema.BoolAttribute{
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
				MarkdownDescription: "Whether Alibaba Cloud refuses to delete the cluster (in the console or API). `terraform destroy` turns it off first. Default `false`. Changed in place.",
			},
			"tags": tagsAttribute("cluster"),
			"kubeconfig_validity_minutes": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "When set (15 to 4320), the `kubeconfig` is a temporary one valid for this many minutes " +
					"(`TemporaryDurationMinutes`), fetched again on refresh once it has expired. Left out, Alibaba Cloud hands " +
					"out its long-lived kubeconfig.",
				Validators: []validator.Int64{int64validator.Between(15, 4320)},
			},
			"security_group_id": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "ID of a security group of `vpc_id` for the cluster's pods, for example a " +
					"`sandbox_alicloud_security_group` with the `sandbox-manager` preset; it is left in place when the cluster is " +
					"deleted. Without it, Alibaba Cloud creates a group for the cluster and deletes it with the cluster. Changing it " +
					"replaces the cluster.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown(), stringplanmodifier.RequiresReplaceIfConfigured()},
				Validators:    []validator.String{stringvalidator.RegexMatches(sgIDPattern, "must be a security group ID such as sg-bp67acfmxazb4p0m6u8h")},
			},
			"api_server_endpoint": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "URL of the cluster's Kubernetes API server.",
				PlanModifiers:       stable,
			},
			"kubeconfig": schema.StringAttribute{
				Computed:  true,
				Sensitive: true,
				MarkdownDescription: "Kubeconfig (YAML) of the cluster for the provider's RAM identity, from " +
					"`DescribeClusterUserKubeconfig`. Read once and kept; fetched again only when it is missing or has expired.",
				PlanModifiers: stable,
			},
			"kubeconfig_expiration": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "When the `kubeconfig`'s credentials expire (RFC 3339), as Alibaba Cloud reports it.",
				PlanModifiers:       stable,
			},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

// ModifyPlan refuses, at plan time, a service CIDR that overlaps the VPC's CIDR block, when the VPC
// already exists (its ID is known).
func (r *acsClusterResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan acsClusterModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.VPCID.IsUnknown() || plan.ServiceCIDR.IsUnknown() {
		return
	}
	if !req.State.Raw.IsNull() {
		var state acsClusterModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if state.VPCID.Equal(plan.VPCID) && state.ServiceCIDR.Equal(plan.ServiceCIDR) {
			return // accepted already
		}
	}
	svc, err := netip.ParsePrefix(plan.ServiceCIDR.ValueString())
	if err != nil {
		return // the attribute validator has said so
	}
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	vpcID := plan.VPCID.ValueString()
	v, err := findVPCByID(ctx, c, vpcID)
	if retry.IsNotFound(err) {
		resp.Diagnostics.AddAttributeError(path.Root("vpc_id"), "VPC Not Found",
			fmt.Sprintf("There is no VPC %s in %s (for these credentials). Check vpc_id, or the provider's region.", vpcID, c.Region))
		return
	}
	if err != nil {
		tflog.Warn(ctx, "could not read the cluster's VPC to check its service CIDR at plan time", map[string]any{"vpc_id": vpcID, "error": err.Error()})
		return
	}
	outer, err := netip.ParsePrefix(v.CidrBlock)
	if err != nil || !outer.Overlaps(svc) {
		return
	}
	resp.Diagnostics.AddAttributeError(path.Root("service_cidr"), "Service CIDR Overlaps the VPC",
		fmt.Sprintf("The cluster's service_cidr %s overlaps the CIDR block of VPC %s (%s): Service addresses would "+
			"collide with the VPC's. Choose a block outside it, for example %s.", svc, vpcID, outer, suggestServiceCIDR(outer)))
}

// suggestServiceCIDR is a /20 that does not overlap vpc.
func suggestServiceCIDR(vpc netip.Prefix) string {
	for _, s := range []string{defaultServiceCIDR, "192.168.0.0/20", "10.254.0.0/20", "172.31.240.0/20"} {
		p := netip.MustParsePrefix(s)
		if !p.Overlaps(vpc) {
			return s
		}
	}
	return "a block outside " + vpc.String()
}

// createClusterBody is CreateCluster's JSON body for an ACS cluster.
type createClusterBody struct {
	Name               string       `json:"name"`
	RegionID           string       `json:"region_id"`
	ClusterType        string       `json:"cluster_type"`
	Profile            string       `json:"profile"`
	ClusterSpec        string       `json:"cluster_spec"`
	KubernetesVersion  string       `json:"kubernetes_version,omitempty"`
	VpcID              string       `json:"vpcid"`
	VSwitchIDs         []string     `json:"vswitch_ids"`
	ServiceCIDR        string       `json:"service_cidr"`
	DeletionProtection bool         `json:"deletion_protection"`
	IPStack            string       `json:"ip_stack"`
	SecurityGroupID    string       `json:"security_group_id,omitempty"`
	Tags               []clusterTag `json:"tags,omitempty"`
}

func (r *acsClusterResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan acsClusterModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, timeout := framework.WithTimeout(ctx, plan.Timeouts.Create, defaultClusterCreateTimeout, &resp.Diagnostics)
	defer cancel()
	c := r.conns(ctx, &resp.Diagnostics)
	tags := tagsFrom(ctx, plan.Tags, &resp.Diagnostics)
	var vswitches []string
	resp.Diagnostics.Append(plan.VSwitchIDs.ElementsAs(ctx, &vswitches, false)...)
	if resp.Diagnostics.HasError() {
		return
	}
	body := createClusterBody{Name: plan.Name.ValueString(), RegionID: c.Region, ClusterType: "ManagedKubernetes",
		Profile: "Acs", ClusterSpec: plan.ClusterSpec.ValueString(), KubernetesVersion: plan.KubernetesVersion.ValueString(),
		VpcID: plan.VPCID.ValueString(), VSwitchIDs: vswitches, ServiceCIDR: plan.ServiceCIDR.ValueString(),
		DeletionProtection: plan.DeletionProtection.ValueBool(), IPStack: "ipv4"}
	if !plan.SecurityGroupID.IsUnknown() && !plan.SecurityGroupID.IsNull() {
		body.SecurityGroupID = plan.SecurityGroupID.ValueString()
	}
	for _, k := range sortedKeys(tags) {
		body.Tags = append(body.Tags, clusterTag{Key: k, Value: tags[k]})
	}
	op := framework.Op{Verb: "creating", Kind: clusterKind, ID: fmt.Sprintf("%q", body.Name), Timeout: "create"}
	in := cs.CreateCreateClusterRequest()
	if err := csJSON(in.RoaRequest, body); err != nil {
		addError(&resp.Diagnostics, op, err)
		return
	}
	raw, err := csCall(ctx, c, in, in.RoaRequest)
	if err != nil {
		addError(&resp.Diagnostics, op, err, clusterAdvisor)
		return
	}
	var out struct {
		ClusterID string `json:"cluster_id"`
		TaskID    string `json:"task_id"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.ClusterID == "" {
		addError(&resp.Diagnostics, op, fmt.Errorf("CreateCluster answered without a cluster_id: %s", raw))
		return
	}
	id := out.ClusterID
	op.ID = id
	tflog.Info(ctx, "created ACS cluster; waiting for it to run", map[string]any{"cluster_id": id, "task_id": out.TaskID})
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("timeouts"), plan.Timeouts)...)

	d, err := waitClusterRunning(ctx, c, id, out.TaskID, timeout, clusterInitial)
	if err != nil {
		op.Verb = "waiting for"
		addError(&resp.Diagnostics, op, err, clusterAdvisor)
		return
	}
	planned := plan.Tags
	clusterInto(d, &plan)
	plan.Tags = tagsValue(d.tagMap(), planned)
	if err := fetchKubeconfig(ctx, c, &plan); err != nil {
		// The cluster runs: keep what is known of it (the resource is tainted by the error).
		for _, v := range []*types.String{&plan.Kubeconfig, &plan.KubeconfigExpires, &plan.APIServerEndpoint} {
			if v.IsUnknown() {
				*v = types.StringValue("")
			}
		}
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		op.Verb = "reading the kubeconfig of"
		addError(&resp.Diagnostics, op, err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// clusterFailedError is a cluster that ended in state failed, with Alibaba Cloud's reason.
type clusterFailedError struct {
	ID, Reason string
}

func (e *clusterFailedError) Error() string {
	return fmt.Sprintf("cluster %s failed: %s", e.ID, e.Reason)
}

// waitClusterRunning polls the cluster until it is running. A failed cluster is a clusterFailedError
// with the reason from its task (DescribeTaskInfo) when taskID is known.
func waitClusterRunning(ctx context.Context, c *Conns, id, taskID string, timeout time.Duration, pending ...string) (*clusterDetail, error) {
	start, last := time.Now(), ""
	conf := retry.StateChangeConf[*clusterDetail]{
		Pending: pending,
		Target:  []string{clusterRunning},
		Refresh: func(ctx context.Context) (*clusterDetail, string, error) {
			d, err := findCluster(ctx, c, id)
			if err != nil {
				return nil, "", err
			}
			if d.State != last {
				tflog.Info(ctx, "ACS cluster state", map[string]any{"cluster_id": id, "state": d.State,
					"elapsed": time.Since(start).Round(time.Second).String()})
				last = d.State
			}
			if d.State == clusterFailed {
				return nil, "", &clusterFailedError{ID: id, Reason: failureReason(ctx, c, taskID)}
			}
			return d, d.State, nil
		},
		Timeout: timeout,
		Pacing:  c.Pace(clusterPacing),
	}
	return conf.Wait(ctx)
}

// failureReason is what DescribeTaskInfo says about a failed task.
func failureReason(ctx context.Context, c *Conns, taskID string) string {
	const unknown = "Alibaba Cloud gave no reason; see the cluster's event log in the Container Service console"
	if taskID == "" {
		return unknown
	}
	t, err := describeTask(ctx, c, taskID)
	if err != nil {
		tflog.Warn(ctx, "could not read the failed cluster's task", map[string]any{"task_id": taskID, "error": err.Error()})
		return unknown
	}
	if r := t.reason(); r != "" {
		return r
	}
	return unknown
}

// clusterAdvisor words a failed cluster and CS's refusals of the configuration.
func clusterAdvisor(op framework.Op, err error) (framework.Advice, bool) {
	var fe *clusterFailedError
	switch {
	case errors.As(err, &fe):
		return framework.Advice{Summary: "ACS Cluster Creation Failed",
			Detail: fmt.Sprintf("Alibaba Cloud could not create the ACS cluster %s: %s\n\nThe cluster stays in the state as "+
				"tainted; fix the cause, and the next apply deletes it and creates it again (or run terraform destroy).", fe.ID, fe.Reason)}, true
	case isCode(err, "ErrorServiceCidrConflict"):
		return framework.Advice{Summary: "Service CIDR Overlaps the VPC", Attribute: path.Root("service_cidr"),
			Hint: "Choose a service_cidr outside the VPC's CIDR block."}, true
	case isCode(err, "ErrorVpcNotFound", "ErrorVSwitchNotFound", "ErrorVSwitchNotInVpc"):
		return framework.Advice{Summary: "Invalid ACS Cluster Network",
			Hint: "Check vpc_id and vswitch_ids: the vSwitches must exist and belong to the VPC."}, true
	}
	return framework.Advice{}, false
}

// fetchKubeconfig reads the cluster's kubeconfig into m, and the API server endpoint from it when the
// cluster detail gave none.
func fetchKubeconfig(ctx context.Context, c *Conns, m *acsClusterModel) error {
	cfg, expiration, err := userKubeconfig(ctx, c, m.ID.ValueString(), m.KubeconfigMinutes.ValueInt64())
	if err != nil {
		return err
	}
	m.Kubeconfig = types.StringValue(cfg)
	m.KubeconfigExpires = types.StringValue(expiration)
	if m.APIServerEndpoint.IsNull() || m.APIServerEndpoint.IsUnknown() || m.APIServerEndpoint.ValueString() == "" {
		m.APIServerEndpoint = types.StringValue(kubeconfigServer(cfg))
	}
	return nil
}

// kubeconfigServer is the API server URL of a kubeconfig's current context, or "".
func kubeconfigServer(cfg string) string {
	k, err := clientcmd.Load([]byte(cfg))
	if err != nil {
		return ""
	}
	ctxName := k.CurrentContext
	if kc, ok := k.Contexts[ctxName]; ok {
		if cl, ok := k.Clusters[kc.Cluster]; ok {
			return cl.Server
		}
	}
	for _, cl := range k.Clusters {
		return cl.Server
	}
	return ""
}

// kubeconfigStale reports whether the kubeconfig in m must be fetched again: missing, or expired.
func kubeconfigStale(m *acsClusterModel) bool {
	if m.Kubeconfig.IsNull() || m.Kubeconfig.IsUnknown() || m.Kubeconfig.ValueString() == "" {
		return true
	}
	exp, err := time.Parse(time.RFC3339, m.KubeconfigExpires.ValueString())
	return err == nil && !time.Now().Before(exp)
}

func clusterInto(d *clusterDetail, m *acsClusterModel) {
	m.ID = types.StringValue(d.ClusterID)
	m.Name = types.StringValue(d.Name)
	m.VPCID = types.StringValue(d.VpcID)
	vs, _ := types.ListValueFrom(context.Background(), types.StringType, d.vswitches())
	m.VSwitchIDs = vs
	if s := d.serviceCIDR(); s != "" {
		m.ServiceCIDR = types.StringValue(s)
	}
	m.ClusterSpec = types.StringValue(d.ClusterSpec)
	m.KubernetesVersion = types.StringValue(d.CurrentVersion)
	m.DeletionProtection = types.BoolValue(d.DeletionProtection)
	m.SecurityGroupID = types.StringValue(d.SecurityGroupID)
	if e := d.apiServerEndpoint(); e != "" {
		m.APIServerEndpoint = types.StringValue(e)
	}
	m.Tags = tagsValue(d.tagMap(), m.Tags)
}

func (r *acsClusterResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state acsClusterModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	d, err := findCluster(ctx, c, id)
	if retry.IsNotFound(err) {
		tflog.Warn(ctx, "ACS cluster is gone; removing it from state", map[string]any{"cluster_id": id})
		resp.Diagnostics.Append(framework.NotFoundWarning(clusterKind, id))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addError(&resp.Diagnostics, framework.Op{Verb: "reading", Kind: clusterKind, ID: id}, err)
		return
	}
	clusterInto(d, &state)
	if state.APIServerEndpoint.IsNull() {
		state.APIServerEndpoint = types.StringValue("")
	}
	if kubeconfigStale(&state) && (d.State == clusterRunning || d.State == clusterUpdating) {
		if err := fetchKubeconfig(ctx, c, &state); err != nil {
			resp.Diagnostics.AddWarning("Kubeconfig Not Refreshed",
				fmt.Sprintf("The kubeconfig of ACS cluster %s could not be read: %v. The next refresh tries again.", id, err))
		}
	}
	if state.Kubeconfig.IsNull() {
		state.Kubeconfig, state.KubeconfigExpires = types.StringValue(""), types.StringValue("")
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *acsClusterResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state acsClusterModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, timeout := framework.WithTimeout(ctx, plan.Timeouts.Update, defaultClusterUpdateTimeout, &resp.Diagnostics)
	defer cancel()
	c := r.conns(ctx, &resp.Diagnostics)
	oldTags, newTags := tagsFrom(ctx, state.Tags, &resp.Diagnostics), tagsFrom(ctx, plan.Tags, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	op := framework.Op{Verb: "updating", Kind: clusterKind, ID: id, Timeout: "update"}
	body := map[string]any{}
	if !plan.Name.Equal(state.Name) {
		body["cluster_name"] = plan.Name.ValueString()
	}
	if !plan.DeletionProtection.Equal(state.DeletionProtection) {
		body["deletion_protection"] = plan.DeletionProtection.ValueBool()
	}
	if len(body) > 0 {
		if err := modifyCluster(ctx, c, id, body); err != nil {
			addError(&resp.Diagnostics, op, err)
			return
		}
	}
	if remove, set := tagDiff(oldTags, newTags); len(remove) > 0 || len(set) > 0 {
		if err := modifyClusterTags(ctx, c, id, newTags); err != nil {
			addError(&resp.Diagnostics, op, err)
			return
		}
	}
	d, err := waitClusterRunning(ctx, c, id, "", timeout, clusterUpdating)
	if err != nil {
		op.Verb = "waiting for the update of"
		addError(&resp.Diagnostics, op, err, clusterAdvisor)
		return
	}
	planned := plan.Tags
	plan.Kubeconfig, plan.KubeconfigExpires, plan.APIServerEndpoint = state.Kubeconfig, state.KubeconfigExpires, state.APIServerEndpoint
	clusterInto(d, &plan)
	plan.Tags = tagsValue(d.tagMap(), planned)
	if !plan.KubeconfigMinutes.Equal(state.KubeconfigMinutes) || kubeconfigStale(&plan) {
		if err := fetchKubeconfig(ctx, c, &plan); err != nil {
			op.Verb = "reading the kubeconfig of"
			addError(&resp.Diagnostics, op, err)
			return
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// clusterDeleteRetryable are the codes DeleteCluster answers while the cluster is busy or something
// still holds its resources.
var clusterDeleteRetryable = []string{"DependencyViolation", "ErrorClusterNotRunning", "ErrorClusterStatus", "ErrCheckClusterStatus"}

func (r *acsClusterResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state acsClusterModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, timeout := framework.WithTimeout(ctx, state.Timeouts.Delete, defaultClusterDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	op := framework.Op{Verb: "deleting", Kind: clusterKind, ID: id, Timeout: "delete"}
	d, err := findCluster(ctx, c, id)
	if retry.IsNotFound(err) {
		return
	}
	if err != nil {
		addError(&resp.Diagnostics, op, err)
		return
	}
	if d.DeletionProtection {
		tflog.Info(ctx, "turning off the ACS cluster's deletion protection", map[string]any{"cluster_id": id})
		if err := modifyCluster(ctx, c, id, map[string]any{"deletion_protection": false}); err != nil {
			op.Verb = "turning off the deletion protection of"
			addError(&resp.Diagnostics, op, err)
			return
		}
		if _, err := waitClusterRunning(ctx, c, id, "", timeout, clusterUpdating); err != nil {
			op.Verb = "turning off the deletion protection of"
			addError(&resp.Diagnostics, op, err)
			return
		}
	}
	err = deleteRetrying(ctx, c, timeout, []string{errClusterNotFound}, clusterDeleteRetryable, func() error {
		in := cs.CreateDeleteClusterRequest()
		c.roa("cs", in.RoaRequest)
		in.ClusterId = id
		return csErr(c.CS.DoAction(in, responses.NewCommonResponse()))
	})
	if err != nil {
		addError(&resp.Diagnostics, op, err, dependencyAdvisor("cluster", "load balancers, NAT gateways or other resources of the cluster"))
		return
	}
	start := time.Now()
	if err := retry.UntilNotFound(ctx, timeout, c.Pace(clusterPacing), func(ctx context.Context) error {
		d, err := findCluster(ctx, c, id)
		if err == nil {
			tflog.Debug(ctx, "waiting for the ACS cluster to be deleted", map[string]any{"cluster_id": id, "state": d.State,
				"elapsed": time.Since(start).Round(time.Second).String()})
		}
		return err
	}); err != nil {
		op.Verb = "waiting for the deletion of"
		addError(&resp.Diagnostics, op, err)
		return
	}
	tflog.Info(ctx, "deleted ACS cluster", map[string]any{"cluster_id": id})
}

// ImportState takes the cluster's ID. The kubeconfig is read on the refresh that follows.
func (r *acsClusterResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id := strings.TrimSpace(req.ID)
	if !clusterIDPattern.MatchString(id) {
		resp.Diagnostics.AddError("Unexpected Import Identifier",
			fmt.Sprintf("Expected an ACS cluster ID such as c8155823d057948c69a1f8c3b4dd8a5d2, got %q.", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
}
