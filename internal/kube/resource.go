// Package kube is the sandbox_manager_deployment resource: the sandbox manager applied into a
// Kubernetes cluster from the objects of package deploy, with server-side apply, a rollout wait that
// reports why pods do not run, drift detection and a complete teardown.
package kube

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/sandboxstack/terraform-provider-sandbox/deploy"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// Default operation timeouts.
const (
	defaultCreateTimeout = 15 * time.Minute
	defaultUpdateTimeout = 15 * time.Minute
	defaultDeleteTimeout = 10 * time.Minute
)

// kind names the resource in diagnostics.
const kind = "sandbox manager deployment"

// pacing of the waits: a rollout takes seconds to minutes.
var pacing = retry.Pacing{Interval: 500 * time.Millisecond, MaxInterval: 3 * time.Second}

var (
	_ resource.Resource                     = (*deploymentResource)(nil)
	_ resource.ResourceWithConfigure        = (*deploymentResource)(nil)
	_ resource.ResourceWithImportState      = (*deploymentResource)(nil)
	_ resource.ResourceWithModifyPlan       = (*deploymentResource)(nil)
	_ resource.ResourceWithValidateConfig   = (*deploymentResource)(nil)
	_ resource.ResourceWithConfigValidators = (*deploymentResource)(nil)
)

// NewManagerDeploymentResource is the sandbox_manager_deployment resource.
func NewManagerDeploymentResource() resource.Resource {
	return &deploymentResource{ResourceBase: framework.NewResourceBase("manager_deployment")}
}

type deploymentResource struct {
	framework.ResourceBase
}

// ModifyPlan fills in what follows from other attributes: the image tag (the provider's version),
// the template images' tag, and the outputs that are known before apply.
func (r *deploymentResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, config deploymentModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if config.ImageTag.IsNull() {
		plan.ImageTag = types.StringValue(r.ProviderData().Version)
	}
	if plan.TemplateImages.IsUnknown() || plan.TemplateImages.IsNull() {
		plan.TemplateImages = objectValue(templateImagesAttrTypes, map[string]attr.Value{
			"registry": types.StringValue(deploy.DefaultTemplateRegistry), "tag": plan.ImageTag, "envd_image": types.StringNull(),
		})
	} else {
		var t templateImagesModel
		resp.Diagnostics.Append(plan.TemplateImages.As(ctx, &t, objectAsOptions)...)
		if t.Tag.IsUnknown() || t.Tag.IsNull() {
			t.Tag = plan.ImageTag
		}
		plan.TemplateImages = objectValue(templateImagesAttrTypes, map[string]attr.Value{
			"registry": t.Registry, "tag": t.Tag, "envd_image": t.EnvdImage,
		})
	}
	plan.ID = plan.Namespace
	plan.E2BDomain = plan.Domain
	switch {
	case plan.Domain.IsUnknown() || plan.TLSCertificate.IsUnknown():
		plan.APIURL, plan.ManagerEndpoint = types.StringUnknown(), types.StringUnknown()
	default:
		u := apiURL(plan.Domain.ValueString(), plan.tls())
		plan.APIURL, plan.ManagerEndpoint = types.StringValue(u), types.StringValue(u)
	}
	plan.Objects = types.ListUnknown(types.StringType)
	if plan.refsKnown() {
		var d diag.Diagnostics // invalid settings are reported by the apply, with their attribute
		if refs := plan.refs(ctx, &d); !d.HasError() {
			plan.Objects = objectsValue(refs)
		}
	}
	// The load balancer keeps its address unless the Service changes or was deleted.
	if !req.State.Raw.IsNull() {
		var state deploymentModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		switch {
		case !state.hasObject(coreRef("Service", state.Namespace.ValueString(), deploy.ManagerName)):
			unknown := types.StringUnknown()
			plan.LoadBalancerIP, plan.LoadBalancerHostname = unknown, unknown
			plan.LoadBalancerAddress, plan.DNSRecordType, plan.ManagerAddress = unknown, unknown, unknown
		case plan.Service.Equal(state.Service) && plan.TLSCertificate.IsNull() == state.TLSCertificate.IsNull():
			plan.LoadBalancerIP, plan.LoadBalancerHostname = state.LoadBalancerIP, state.LoadBalancerHostname
			plan.LoadBalancerAddress, plan.DNSRecordType, plan.ManagerAddress = state.LoadBalancerAddress, state.DNSRecordType, state.ManagerAddress
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func apiURL(domain string, tls bool) string {
	if tls {
		return "https://api." + domain
	}
	return "http://api." + domain
}

// session is one operation's connection to the cluster.
type session struct {
	clients *Clients
	applier *Applier
}

func (r *deploymentResource) session(ctx context.Context, m *deploymentModel, diags *diag.Diagnostics) *session {
	cfg, err := m.connection().RESTConfig(r.ProviderData().UserAgent)
	if err != nil {
		diags.AddError("Invalid Cluster Connection", err.Error())
		return nil
	}
	clients, err := NewClients(cfg)
	if err != nil {
		diags.AddError("Invalid Cluster Connection", err.Error())
		return nil
	}
	logf := func(msg string, kv ...any) {
		fields := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			fields[fmt.Sprint(kv[i])] = kv[i+1]
		}
		tflog.Info(ctx, msg, fields)
	}
	return &session{clients: clients, applier: &Applier{Clients: clients, FieldManager: deploy.FieldManager,
		Pacing: r.ProviderData().Timing.Pace(pacing), Log: logf}}
}

func (r *deploymentResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan, config deploymentModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...) // the write-only key is only in the config
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, _ := framework.WithTimeout(ctx, plan.Timeouts.Create, defaultCreateTimeout, &resp.Diagnostics)
	defer cancel()
	s := r.session(ctx, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	key, err := newAdminKey()
	if err != nil {
		resp.Diagnostics.AddError("Cannot Generate the Admin Key", err.Error())
		return
	}
	plan.AdminKey = types.StringValue(key)
	r.apply(ctx, s, &plan, &config, nil, "create", &resp.State, &resp.Diagnostics)
}

func (r *deploymentResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, config, state deploymentModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, _ := framework.WithTimeout(ctx, plan.Timeouts.Update, defaultUpdateTimeout, &resp.Diagnostics)
	defer cancel()
	s := r.session(ctx, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if plan.AdminKey.IsUnknown() || plan.AdminKey.IsNull() {
		// An imported deployment whose admin-key Secret is gone gets a new key.
		key, err := newAdminKey()
		if err != nil {
			resp.Diagnostics.AddError("Cannot Generate the Admin Key", err.Error())
			return
		}
		plan.AdminKey = types.StringValue(key)
	}
	r.apply(ctx, s, &plan, &config, &state, "update", &resp.State, &resp.Diagnostics)
}

// apply applies the plan's objects, deletes what the previous state had and the plan does not (a
// removed pool, the TLS Secret when TLS is turned off), waits for the rollout and saves the state.
// After a failed wait the state is saved too, with the error: Terraform then taints a new
// deployment, so the next apply starts over.
func (r *deploymentResource) apply(ctx context.Context, s *session, plan, config, prior *deploymentModel, timeout string,
	state stateSetter, diags *diag.Diagnostics) {
	op := framework.Op{Verb: "applying", Kind: kind, ID: plan.Namespace.ValueString(), Timeout: timeout}
	privateKey := plan.TLSPrivateKey.ValueString()
	if !config.TLSPrivateKeyWO.IsNull() {
		privateKey = config.TLSPrivateKeyWO.ValueString()
	}
	if plan.tls() && privateKey == "" {
		diags.AddAttributeError(path.Root("tls_private_key_wo"), "Missing TLS Private Key",
			"tls_certificate is set but neither tls_private_key nor tls_private_key_wo has a value.")
		return
	}
	cfg := plan.deployConfig(ctx, plan.AdminKey.ValueString(), privateKey, false, diags)
	if diags.HasError() {
		return
	}
	objs, err := deploy.Objects(cfg)
	if err != nil {
		diags.AddError("Invalid Deployment Settings", err.Error())
		return
	}
	plan.Objects = objectsValue(plan.refs(ctx, diags))
	var stale []Ref
	if prior != nil {
		keep := map[Ref]bool{}
		for _, ref := range RefsOf(objs) {
			keep[ref] = true
		}
		for _, ref := range prior.refs(ctx, diags) {
			if !keep[ref] {
				stale = append(stale, ref)
			}
		}
	}
	started := time.Now()
	if err := s.applier.Apply(ctx, objs); err != nil {
		if prior == nil {
			// Some objects may exist already: keep the deployment in the state (tainted), so that
			// the next apply or a destroy removes them.
			plan.setAddress(Address{})
			plan.TLSPrivateKeyWO = types.StringNull()
			diags.Append(state.Set(ctx, plan)...)
		}
		framework.AddError(diags, op, err)
		return
	}
	if len(stale) > 0 {
		op.Verb = "deleting what was removed from"
		if err := s.applier.Delete(ctx, stale); err != nil {
			framework.AddError(diags, op, err)
			return
		}
	}
	plan.LoadBalancerIP, plan.LoadBalancerHostname = types.StringNull(), types.StringNull()
	rollout := &Rollout{Kube: s.clients.Kube, Namespace: cfg.Namespace, Name: deploy.ManagerName,
		LoadBalancer: cfg.Service.Type == deploy.ServiceLoadBalancer, Pacing: s.applier.Pacing, Log: s.applier.Log}
	var addr Address
	if plan.WaitForRollout.ValueBool() {
		addr, err = rollout.Wait(ctx)
		if err == nil {
			tflog.Info(ctx, "sandbox manager rolled out", map[string]any{"namespace": cfg.Namespace,
				"replicas": cfg.Replicas, "image": cfg.Image, "duration": time.Since(started).Round(time.Millisecond).String()})
		}
	} else {
		addr, err = currentAddress(ctx, s, cfg.Namespace)
	}
	plan.setAddress(addr)
	plan.TLSPrivateKeyWO = types.StringNull()
	diags.Append(state.Set(ctx, plan)...)
	if err != nil {
		op.Verb = "waiting for the rollout of"
		framework.AddError(diags, op, err, rolloutAdvisor)
	}
}

type stateSetter interface {
	Set(ctx context.Context, val any) diag.Diagnostics
}

// rolloutAdvisor words a pod that cannot run.
func rolloutAdvisor(op framework.Op, err error) (framework.Advice, bool) {
	pe, ok := err.(*PodError)
	if !ok {
		return framework.Advice{}, false
	}
	hint := "Look at the pod with kubectl describe pod -n " + op.ID + " " + pe.Pod + "."
	switch pe.Reason {
	case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull":
		hint = "The cluster cannot pull the manager image: check image and image_tag, and that the nodes can reach the registry."
	case "CrashLoopBackOff":
		hint = "The manager exits after it starts; its last run's output is above (kubectl logs -n " + op.ID + " " + pe.Pod + " --previous shows more)."
	case "CreateContainerConfigError":
		hint = "A Secret or ConfigMap the pod needs is missing or incomplete."
	case "Unschedulable":
		hint = "No node can take the pod: lower the requests in resources, or give the cluster nodes (or a node autoscaler) with room for it."
	}
	return framework.Advice{Summary: "Sandbox Manager Pod Cannot Run", Hint: hint}, true
}

func currentAddress(ctx context.Context, s *session, namespace string) (Address, error) {
	svc, err := s.clients.Kube.CoreV1().Services(namespace).Get(ctx, deploy.ManagerName, getOptions)
	if err != nil {
		return Address{}, fmt.Errorf("reading Service %s/%s: %w", namespace, deploy.ManagerName, err)
	}
	if in := svc.Status.LoadBalancer.Ingress; len(in) > 0 {
		return Address{IP: in[0].IP, Hostname: in[0].Hostname}, nil
	}
	return Address{}, nil
}

// setAddress sets the load balancer outputs.
func (m *deploymentModel) setAddress(a Address) {
	str := func(s string) types.String {
		if s == "" {
			return types.StringNull()
		}
		return types.StringValue(s)
	}
	m.LoadBalancerIP, m.LoadBalancerHostname = str(a.IP), str(a.Hostname)
	address, recordType := a.IP, "A"
	if a.Hostname != "" {
		address, recordType = a.Hostname, "CNAME"
	}
	m.LoadBalancerAddress = str(address)
	port := "80"
	if m.tls() {
		port = "443"
	}
	if address == "" {
		m.DNSRecordType, m.ManagerAddress = types.StringNull(), types.StringNull()
	} else {
		m.DNSRecordType, m.ManagerAddress = types.StringValue(recordType), types.StringValue(net.JoinHostPort(address, port))
	}
	m.E2BDomain = m.Domain
	u := apiURL(m.Domain.ValueString(), m.tls())
	m.APIURL, m.ManagerEndpoint = types.StringValue(u), types.StringValue(u)
	m.ID = m.Namespace
}

func (r *deploymentResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state deploymentModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, _ := framework.WithTimeout(ctx, state.Timeouts.Delete, defaultDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	s := r.session(ctx, &state, &resp.Diagnostics)
	refs := state.refs(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	started := time.Now()
	if err := s.applier.Delete(ctx, refs); err != nil {
		framework.AddError(&resp.Diagnostics, framework.Op{Verb: "deleting", Kind: kind, ID: state.Namespace.ValueString(), Timeout: "delete"}, err)
		return
	}
	tflog.Info(ctx, "sandbox manager deleted", map[string]any{"namespace": state.Namespace.ValueString(),
		"duration": time.Since(started).Round(time.Millisecond).String()})
}

func (r *deploymentResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !dnsLabel.MatchString(req.ID) {
		resp.Diagnostics.AddError("Unexpected Import Identifier",
			fmt.Sprintf("Expected the manager's namespace (for example %s), got %q.", deploy.DefaultNamespace, req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("namespace"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("wait_for_rollout"), true)...)
}

// newAdminKey is 32 random bytes in hex.
func newAdminKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
