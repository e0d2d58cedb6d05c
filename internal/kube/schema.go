package kube

import (
	"context"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sandboxstack/terraform-provider-sandbox/deploy"
)

// DefaultImage is the manager image's repository; its tag defaults to the provider's version.
const DefaultImage = "ghcr.io/sandboxstack/sandbox-manager"

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

var (
	serviceAttrTypes = map[string]attr.Type{
		"type":                        types.StringType,
		"annotations":                 types.MapType{ElemType: types.StringType},
		"load_balancer_source_ranges": types.ListType{ElemType: types.StringType},
	}
	resourcesAttrTypes = map[string]attr.Type{
		"cpu_request": types.StringType, "memory_request": types.StringType,
		"cpu_limit": types.StringType, "memory_limit": types.StringType,
	}
	templateImagesAttrTypes = map[string]attr.Type{
		"registry": types.StringType, "tag": types.StringType, "envd_image": types.StringType,
	}
	poolAttrTypes = map[string]attr.Type{"name": types.StringType, "template": types.StringType, "size": types.Int64Type}
)

func (r *deploymentResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	dnsLabelValidator := stringvalidator.RegexMatches(dnsLabel, "must be a namespace name: lowercase letters, digits and '-', at most 63 characters")
	// The deployment owns its namespaces (destroy deletes them), so they cannot be the cluster's own.
	ownNamespace := []validator.String{dnsLabelValidator,
		stringvalidator.NoneOf("default", "kube-system", "kube-public", "kube-node-lease")}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The sandbox manager deployed into a Kubernetes cluster (any cluster: ACS, EKS, kind): its " +
			"namespaces, the `SandboxPool` CRD, a service account with least-privilege RBAC, the NetworkPolicies that " +
			"fence the sandboxes in, Secrets with the TLS pair and a generated admin key, the Deployment, its Service " +
			"and a PodDisruptionBudget, and the warm pools to start with. Everything is applied with server-side apply " +
			"(field manager `" + deploy.FieldManager + "`), so a later apply takes back fields changed by hand.\n\n" +
			"Create and update wait, within the `timeouts` (defaults: create 15m, update 15m, delete 10m), until the " +
			"Deployment is available and the load balancer has an address, logging the progress; a pod that cannot " +
			"run (an image that cannot be pulled, a crash loop, no node with room for it after 90 s while no node " +
			"autoscaler is adding one) fails the apply with the pod's own reason. Refresh notices a deleted " +
			"Deployment, a changed replica count or image, and any other object deleted by hand (see `objects`); " +
			"the next apply restores them. " +
			"Destroy deletes everything applied, the sandbox namespace with every sandbox in it included, and waits " +
			"until it is gone.\n\n" +
			"The outputs feed the rest of a configuration: `load_balancer_address` and `dns_record_type` for the " +
			"wildcard DNS record `*.<domain>`, `manager_endpoint`, `admin_key` and `manager_address` for " +
			"`sandbox_pool` and `sandbox_api_key`, `e2b_domain` for the clients' `E2B_DOMAIN`.\n\n" +
			"Import with the namespace as ID (`terraform import sandbox_manager_deployment.this sandbox-system`); the " +
			"import reads the cluster through the kubeconfig named by the `KUBECONFIG` environment variable.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The manager's namespace.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"kubeconfig": schema.StringAttribute{
				Optional:  true,
				Sensitive: true,
				MarkdownDescription: "A kubeconfig (YAML text, its current context) of the cluster, such as " +
					"`sandbox_alicloud_acs_cluster`'s `kubeconfig`. Conflicts with `host`. With neither `kubeconfig` nor " +
					"`host`, the kubeconfig files named by the `KUBECONFIG` environment variable are used.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"host": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "URL of the cluster's API server (`https://...`), with `cluster_ca_certificate` and `token`, instead of a `kubeconfig`.",
				Validators:          []validator.String{stringvalidator.RegexMatches(regexp.MustCompile(`^https?://`), "must be an http(s) URL")},
			},
			"cluster_ca_certificate": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "PEM CA certificate(s) of the API server at `host` (the system roots when unset).",
			},
			"token": schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "Bearer token for the API server at `host`.",
			},
			"namespace": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(deploy.DefaultNamespace),
				MarkdownDescription: "Namespace of the manager (default `" + deploy.DefaultNamespace + "`). Changing it replaces the deployment. Destroy deletes it.",
				PlanModifiers:       replace,
				Validators:          ownNamespace,
			},
			"sandbox_namespace": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(deploy.DefaultSandboxNamespace),
				MarkdownDescription: "Namespace the sandboxes run in (default `" + deploy.DefaultSandboxNamespace + "`), locked down by NetworkPolicies and Pod Security `baseline`. Changing it replaces the deployment. Destroy deletes it.",
				PlanModifiers:       replace,
				Validators:          ownNamespace,
			},
			"image": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(DefaultImage),
				MarkdownDescription: "The manager image's repository, without a tag (default `" + DefaultImage + "`).",
				Validators:          []validator.String{stringvalidator.RegexMatches(regexp.MustCompile(`^[^\s:@]+(:[0-9]+)?(/[^\s:@]+)*$`), "must be an image repository without a tag or digest")},
			},
			"image_tag": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				MarkdownDescription: "The manager image's tag (default: the provider's version, so the manager matches the provider).",
				Validators:          []validator.String{stringvalidator.RegexMatches(regexp.MustCompile(`^[\w][\w.-]{0,127}$`), "must be an image tag")},
			},
			"replicas": schema.Int64Attribute{
				Optional:            true,
				Computed:            true,
				Default:             int64default.StaticInt64(deploy.DefaultReplicas),
				MarkdownDescription: "Number of manager replicas (default 2), spread over the nodes; they share all state through the Kubernetes API.",
				Validators:          []validator.Int64{int64validator.Between(1, 100)},
			},
			"domain": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "The E2B domain: clients set `E2B_DOMAIN` to it and reach `api.<domain>` and " +
					"`<port>-<sandbox>.<domain>`, so a wildcard DNS record `*.<domain>` must point at the load balancer.",
				Validators: []validator.String{stringvalidator.RegexMatches(
					regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`),
					"must be a lower-case DNS name with at least two labels")},
			},
			"tls_certificate": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "PEM certificate chain for `*.<domain>` (leaf first), such as `sandbox_acme_certificate`'s. " +
					"With it the manager serves HTTPS on the Service's port 443 (E2B SDKs use HTTPS); without it only HTTP on port 80.",
			},
			"tls_private_key": schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "PEM private key of `tls_certificate`, kept in the state. Prefer `tls_private_key_wo`.",
			},
			"tls_private_key_wo": schema.StringAttribute{
				Optional:  true,
				WriteOnly: true,
				Sensitive: true,
				MarkdownDescription: "PEM private key of `tls_certificate`, write-only: sent to the cluster's Secret, never " +
					"stored in the state. Change `tls_private_key_wo_version` to apply a new key.",
			},
			"tls_private_key_wo_version": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: "Any number; changing it applies `tls_private_key_wo` again (with a renewed certificate, say).",
			},
			"service": schema.SingleNestedAttribute{
				Optional: true,
				Computed: true,
				Default: objectdefault.StaticValue(types.ObjectValueMust(serviceAttrTypes, map[string]attr.Value{
					"type": types.StringValue(deploy.ServiceLoadBalancer), "annotations": types.MapNull(types.StringType),
					"load_balancer_source_ranges": types.ListNull(types.StringType),
				})),
				MarkdownDescription: "How the manager is exposed: by default a `LoadBalancer` Service.",
				Attributes: map[string]schema.Attribute{
					"type": schema.StringAttribute{
						Optional:            true,
						Computed:            true,
						Default:             stringdefault.StaticString(deploy.ServiceLoadBalancer),
						MarkdownDescription: "`LoadBalancer` (default), `NodePort` or `ClusterIP` (behind an ingress of your own).",
						Validators:          []validator.String{stringvalidator.OneOf(deploy.ServiceLoadBalancer, deploy.ServiceNodePort, deploy.ServiceClusterIP)},
					},
					"annotations": schema.MapAttribute{
						Optional:    true,
						ElementType: types.StringType,
						MarkdownDescription: "Annotations of the Service, for the cloud's load balancer: for example " +
							"`service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type = \"internet\"` (Alibaba SLB/NLB) " +
							"or `service.beta.kubernetes.io/aws-load-balancer-type = \"nlb\"` (AWS NLB).",
					},
					"load_balancer_source_ranges": schema.ListAttribute{
						Optional:            true,
						ElementType:         types.StringType,
						MarkdownDescription: "CIDRs allowed to reach the load balancer (all when unset). `LoadBalancer` only.",
						Validators:          []validator.List{listvalidator.ValueStringsAre(cidrValidator{})},
					},
				},
			},
			"resources": schema.SingleNestedAttribute{
				Optional: true,
				Computed: true,
				Default: objectdefault.StaticValue(types.ObjectValueMust(resourcesAttrTypes, map[string]attr.Value{
					"cpu_request": types.StringValue(deploy.DefaultCPURequest), "memory_request": types.StringValue(deploy.DefaultMemoryRequest),
					"cpu_limit": types.StringValue(deploy.DefaultCPULimit), "memory_limit": types.StringValue(deploy.DefaultMemoryLimit),
				})),
				MarkdownDescription: "Requests and limits of each manager container, as Kubernetes quantities.",
				Attributes: map[string]schema.Attribute{
					"cpu_request":    quantityAttribute("CPU request", deploy.DefaultCPURequest),
					"memory_request": quantityAttribute("Memory request", deploy.DefaultMemoryRequest),
					"cpu_limit":      quantityAttribute("CPU limit", deploy.DefaultCPULimit),
					"memory_limit":   quantityAttribute("Memory limit", deploy.DefaultMemoryLimit),
				},
			},
			"template_images": schema.SingleNestedAttribute{
				Optional:            true,
				Computed:            true,
				MarkdownDescription: "Where the manager finds the templates' images: `<registry>/sandbox-<template>:<tag>`, and envd's.",
				Attributes: map[string]schema.Attribute{
					"registry": schema.StringAttribute{
						Optional:            true,
						Computed:            true,
						Default:             stringdefault.StaticString(deploy.DefaultTemplateRegistry),
						MarkdownDescription: "Registry (and path) of the template images (default `" + deploy.DefaultTemplateRegistry + "`).",
						Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
					},
					"tag": schema.StringAttribute{
						Optional:            true,
						Computed:            true,
						MarkdownDescription: "Tag of the template images (default `image_tag`).",
						Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
					},
					"envd_image": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Full reference of the envd image injected into every sandbox (default `<registry>/envd:<tag>`).",
						Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
					},
				},
			},
			"pools": schema.ListNestedAttribute{
				Optional:            true,
				MarkdownDescription: "Warm pools to create with the deployment (`SandboxPool` objects in `sandbox_namespace`, which the manager fills). Pools managed with `sandbox_pool` are separate.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"template": schema.StringAttribute{
						Required:            true,
						MarkdownDescription: "Template of the pool's sandboxes, such as `code-interpreter`.",
						Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
					},
					"size": schema.Int64Attribute{
						Required:            true,
						MarkdownDescription: "Number of warm sandboxes, 0 to 100.",
						Validators:          []validator.Int64{int64validator.Between(0, 100)},
					},
					"name": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Name of the pool (default: the template's name).",
						Validators:          []validator.String{dnsLabelValidator},
					},
				}},
			},
			"wait_for_rollout": schema.BoolAttribute{
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(true),
				MarkdownDescription: "Whether create and update wait for the rollout and the load balancer's address (default `true`).",
			},
			"e2b_domain":             computedString("The E2B domain (`domain`): what clients set `E2B_DOMAIN` to."),
			"api_url":                computedString("`https://api.<domain>` (`http://` without `tls_certificate`): the E2B API."),
			"manager_endpoint":       computedString("The manager's URL for `sandbox_pool`, `sandbox_api_key` and `sandbox_templates` `endpoint` (the same as `api_url`)."),
			"load_balancer_ip":       computedString("IP address of the load balancer, when it has one."),
			"load_balancer_hostname": computedString("Host name of the load balancer, when it has one (AWS NLBs have a host name, not an IP)."),
			"load_balancer_address":  computedString("What the wildcard DNS record `*.<domain>` points at: the load balancer's host name, else its IP."),
			"dns_record_type":        computedString("Type of the wildcard DNS record: `CNAME` for a host name, `A` for an IP."),
			"manager_address": computedString("`<load_balancer_address>:443` (`:80` without TLS), for `sandbox_pool`'s `connect_address` " +
				"while DNS does not point at the load balancer yet; null without a load balancer."),
			"admin_key": schema.StringAttribute{
				Computed:  true,
				Sensitive: true,
				MarkdownDescription: "The manager's admin key (64 hex characters), generated at create and kept in the Secret `" +
					deploy.AdminKeySecret + "`: `admin_key` of `sandbox_pool` and `sandbox_api_key`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"objects": schema.ListAttribute{
				Computed:    true,
				ElementType: types.StringType,
				MarkdownDescription: "The Kubernetes objects this resource applied, as `Kind namespace/name` in apply order. " +
					"Refresh leaves out those deleted outside Terraform (a Service, a PodDisruptionBudget, RBAC, the CRD), " +
					"so the next plan shows them and the apply creates them again.",
			},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func computedString(desc string) schema.StringAttribute {
	return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
}

func quantityAttribute(what, def string) schema.StringAttribute {
	return schema.StringAttribute{
		Optional:            true,
		Computed:            true,
		Default:             stringdefault.StaticString(def),
		MarkdownDescription: what + " of the manager container, a Kubernetes quantity (default `" + def + "`).",
		Validators:          []validator.String{quantityValidator{}},
	}
}

// ConfigValidators: one way to connect, one private key.
func (r *deploymentResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{
		resourcevalidator.Conflicting(path.MatchRoot("kubeconfig"), path.MatchRoot("host")),
		resourcevalidator.Conflicting(path.MatchRoot("kubeconfig"), path.MatchRoot("token")),
		resourcevalidator.Conflicting(path.MatchRoot("kubeconfig"), path.MatchRoot("cluster_ca_certificate")),
		resourcevalidator.RequiredTogether(path.MatchRoot("host"), path.MatchRoot("token")),
		resourcevalidator.Conflicting(path.MatchRoot("tls_private_key"), path.MatchRoot("tls_private_key_wo")),
		resourcevalidator.PreferWriteOnlyAttribute(path.MatchRoot("tls_private_key"), path.MatchRoot("tls_private_key_wo")),
	}
}
