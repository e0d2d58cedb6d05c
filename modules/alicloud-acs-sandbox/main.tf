# The E2B sandbox manager on Alibaba Cloud Container Service (ACS): network, cluster, wildcard certificate,
# the manager in sandbox-system behind a load balancer, *.<domain> pointing at it, warm pools and an API key.

locals {
  acme = var.tls_certificate == null

  # The host record of *.<domain> inside the Alidns domain: "*" for the domain itself, else "*.sbx".
  wildcard_rr = var.domain == var.dns_domain ? "*" : "*.${trimsuffix(var.domain, ".${var.dns_domain}")}"

  pool_sizes = {
    "code-interpreter" = var.pool_sizes.code_interpreter
    "desktop"          = var.pool_sizes.desktop
    "browser"          = var.pool_sizes.browser
  }
}

# --- Network --------------------------------------------------------------------------------------------

# An existing VPC is only read: destroying the module leaves it alone.
data "sandbox_alicloud_vpc" "existing" {
  count = var.vpc_id == null ? 0 : 1

  id = var.vpc_id
}

resource "sandbox_alicloud_vpc" "this" {
  count = var.vpc_id == null ? 1 : 0

  cidr_block = var.vpc_cidr_block
  name       = var.name
  tags       = var.tags
}

locals {
  vpc_id = var.vpc_id == null ? sandbox_alicloud_vpc.this[0].id : data.sandbox_alicloud_vpc.existing[0].id
}

resource "sandbox_alicloud_vswitch" "this" {
  for_each = { for v in var.vswitches : v.cidr_block => v }

  vpc_id     = local.vpc_id
  zone_id    = each.value.zone_id
  cidr_block = each.value.cidr_block
  name       = "${var.name}-${each.value.zone_id}"
  tags       = var.tags
}

# HTTPS and HTTP in, for the sandbox hosts and the manager's load balancer.
resource "sandbox_alicloud_security_group" "this" {
  vpc_id      = local.vpc_id
  name        = var.name
  description = "E2B sandbox manager: HTTPS and HTTP in"
  preset      = "sandbox-manager"
  tags        = var.tags
}

# --- Cluster --------------------------------------------------------------------------------------------

resource "sandbox_alicloud_acs_cluster" "this" {
  name               = var.name
  vpc_id             = local.vpc_id
  vswitch_ids        = [for v in var.vswitches : sandbox_alicloud_vswitch.this[v.cidr_block].id]
  service_cidr       = var.service_cidr
  kubernetes_version = var.kubernetes_version
  tags               = var.tags
}

# --- Certificate ----------------------------------------------------------------------------------------

resource "sandbox_acme_certificate" "this" {
  count = local.acme ? 1 : 0

  names               = ["*.${var.domain}"]
  account_email       = var.acme_email
  directory_url       = var.acme_directory_url
  ca_certificates_pem = var.acme_server_ca_certificates

  dns_challenge {
    alidns {
      domain = var.dns_domain
    }
    recursive_nameservers  = var.acme_recursive_nameservers
    skip_propagation_check = var.acme_skip_propagation_check
  }
}

locals {
  # The PEM blocks of a certificate given as input: the certificate, then its intermediates.
  given_certificates = local.acme ? [] : regexall("-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----", var.tls_certificate)

  leaf_pem   = local.acme ? sandbox_acme_certificate.this[0].certificate_pem : local.given_certificates[0]
  issuer_pem = local.acme ? sandbox_acme_certificate.this[0].issuer_pem : join("\n", slice(local.given_certificates, 1, length(local.given_certificates)))

  # What the manager serves: the certificate followed by its issuers.
  chain_pem   = join("", [for pem in [local.leaf_pem, local.issuer_pem] : "${trimspace(pem)}\n" if trimspace(pem) != ""])
  private_key = local.acme ? sandbox_acme_certificate.this[0].private_key_pem : var.tls_private_key
}

# The same certificate in Certificate Management Service, for Alibaba Cloud load balancers and gateways.
resource "sandbox_alicloud_cas_certificate" "this" {
  name                  = substr("${var.name}-${replace(var.domain, ".", "-")}", 0, 64)
  certificate_pem       = local.leaf_pem
  certificate_chain_pem = trimspace(local.issuer_pem) == "" ? null : local.issuer_pem
  private_key_wo        = local.private_key
}

# --- Manager --------------------------------------------------------------------------------------------

resource "sandbox_manager_deployment" "this" {
  kubeconfig      = sandbox_alicloud_acs_cluster.this.kubeconfig
  image           = var.manager_image
  image_tag       = var.manager_image_tag
  replicas        = var.manager_replicas
  domain          = var.domain
  tls_certificate = local.chain_pem
  # Write-only: the key goes to the cluster's Secret, not into this resource's state. A new key comes
  # with a new certificate, whose change applies it.
  tls_private_key_wo = local.private_key

  resources       = var.manager_resources
  template_images = var.template_images

  service = {
    type                        = "LoadBalancer"
    annotations                 = var.manager_service_annotations
    load_balancer_source_ranges = var.manager_allowed_cidr_blocks
  }
}

# *.<domain> (api.<domain> and every <port>-<id>.<domain>) at the manager's load balancer.
resource "sandbox_alicloud_dns_record" "wildcard" {
  domain_name = var.dns_domain
  rr          = local.wildcard_rr
  type        = sandbox_manager_deployment.this.dns_record_type
  value       = sandbox_manager_deployment.this.load_balancer_address
  ttl         = var.dns_ttl

  lifecycle {
    precondition {
      condition     = sandbox_manager_deployment.this.load_balancer_address != null
      error_message = "The manager's Service has no load balancer address: the cluster gave its LoadBalancer Service neither an IP nor a host name."
    }
  }
}

# Pools and the key go to the load balancer directly (connect_address), so they do not wait for DNS.
resource "sandbox_pool" "this" {
  for_each = { for template, size in local.pool_sizes : template => size if size > 0 }

  endpoint        = sandbox_manager_deployment.this.manager_endpoint
  admin_key       = sandbox_manager_deployment.this.admin_key
  connect_address = sandbox_manager_deployment.this.manager_address
  ca_certificate  = var.ca_certificate
  name            = each.key
  template        = each.key
  size            = each.value
  wait_for_ready  = var.wait_for_pools
}

resource "sandbox_api_key" "this" {
  endpoint        = sandbox_manager_deployment.this.manager_endpoint
  admin_key       = sandbox_manager_deployment.this.admin_key
  connect_address = sandbox_manager_deployment.this.manager_address
  ca_certificate  = var.ca_certificate
  name            = var.api_key_name
}
