# OSWorld's AWS guideline: a VPC (the default one unless told otherwise), a subnet for the environment
# machines, the security groups of the environment machines and of the host, and the region's environment
# image; and, with a domain and a cluster, the E2B sandbox manager beside it.

locals {
  manager = var.domain != null

  pool_sizes = {
    "code-interpreter" = var.pool_sizes.code_interpreter
    "desktop"          = var.pool_sizes.desktop
    "browser"          = var.pool_sizes.browser
  }
}

# --- Network --------------------------------------------------------------------------------------------

# An existing VPC, or the default one, is only read: destroying the module leaves it alone.
data "sandbox_aws_vpc" "existing" {
  count = var.vpc_cidr_block == null ? 1 : 0

  id      = var.vpc_id
  default = var.vpc_id == null ? true : null
}

resource "sandbox_aws_vpc" "this" {
  count = var.vpc_cidr_block == null ? 0 : 1

  cidr_block           = var.vpc_cidr_block
  enable_dns_hostnames = true
  tags                 = merge(var.tags, { Name = var.name })
}

locals {
  vpc_id         = var.vpc_cidr_block == null ? data.sandbox_aws_vpc.existing[0].id : sandbox_aws_vpc.this[0].id
  vpc_cidr_block = var.vpc_cidr_block == null ? data.sandbox_aws_vpc.existing[0].cidr_block : var.vpc_cidr_block

  # A /24 near the end of the VPC's block: 172.31.200.0/24 in a default VPC (172.31.0.0/16).
  vpc_prefix        = tonumber(split("/", local.vpc_cidr_block)[1])
  subnet_new_bits   = max(24 - local.vpc_prefix, 0)
  subnet_cidr_block = coalesce(var.subnet_cidr_block, cidrsubnet(local.vpc_cidr_block, local.subnet_new_bits, min(200, pow(2, local.subnet_new_bits) - 1)))
}

resource "sandbox_aws_subnet" "this" {
  count = var.subnet_id == null ? 1 : 0

  vpc_id                  = local.vpc_id
  cidr_block              = local.subnet_cidr_block
  availability_zone       = var.availability_zone
  map_public_ip_on_launch = true
  tags                    = merge(var.tags, { Name = "${var.name}-env" })
}

locals {
  subnet_id = var.subnet_id == null ? sandbox_aws_subnet.this[0].id : var.subnet_id
}

# The environment machines: SSH 22 and VNC 5910 from anywhere; 80, 5000, 8006, 8080, 8081 and 9222 from
# inside the VPC (its CIDR blocks, read from AWS); all traffic out.
resource "sandbox_aws_security_group" "env" {
  vpc_id      = local.vpc_id
  name        = "${var.name}-env"
  description = "OSWorld environment machines"
  preset      = "osworld-env"
  tags        = merge(var.tags, { Name = "${var.name}-env" })
}

# The host machine that runs OSWorld: its monitor on 8080, and SSH.
resource "sandbox_aws_security_group" "host" {
  vpc_id      = local.vpc_id
  name        = "${var.name}-host"
  description = "OSWorld host machine"
  preset      = "osworld-host"
  ingress     = [for cidr in var.host_ssh_cidr_blocks : { protocol = "tcp", from_port = 22, to_port = 22, cidr_ipv4 = cidr, description = "SSH" }]
  tags        = merge(var.tags, { Name = "${var.name}-host" })
}

# The region's environment image must exist there; its region is the provider's.
data "sandbox_aws_ami" "env" {
  image_id = var.image_ids[var.region]

  lifecycle {
    postcondition {
      condition     = self.region == var.region
      error_message = "The provider is configured for region ${self.region}, the module for ${var.region}: set the provider's aws region (or AWS_REGION) to ${var.region}, or region to ${self.region}."
    }
  }
}

# --- The E2B endpoint (with domain, route53_zone_name and kubeconfig) -----------------------------------

data "sandbox_aws_route53_zone" "this" {
  count = local.manager ? 1 : 0

  name = var.route53_zone_name
}

resource "sandbox_acme_certificate" "this" {
  count = local.manager && var.tls_certificate == null ? 1 : 0

  names               = ["*.${var.domain}"]
  account_email       = var.acme_email
  directory_url       = var.acme_directory_url
  ca_certificates_pem = var.acme_server_ca_certificates

  dns_challenge {
    route53 {
      hosted_zone_id = data.sandbox_aws_route53_zone.this[0].zone_id
    }
    recursive_nameservers  = var.acme_recursive_nameservers
    skip_propagation_check = var.acme_skip_propagation_check
  }
}

locals {
  acme = length(sandbox_acme_certificate.this) > 0

  # What the manager serves: the certificate followed by its issuers.
  chain_pem = local.acme ? join("", [
    for pem in [sandbox_acme_certificate.this[0].certificate_pem, sandbox_acme_certificate.this[0].issuer_pem] : "${trimspace(pem)}\n" if trimspace(pem) != ""
  ]) : var.tls_certificate
  private_key = local.acme ? sandbox_acme_certificate.this[0].private_key_pem : var.tls_private_key
}

resource "sandbox_manager_deployment" "this" {
  count = local.manager ? 1 : 0

  kubeconfig      = var.kubeconfig
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

# *.<domain> (api.<domain> and every <port>-<id>.<domain>) at the manager's load balancer: a CNAME to
# an ELB's host name, an A record to a load balancer's IP.
resource "sandbox_aws_route53_record" "wildcard" {
  count = local.manager ? 1 : 0

  zone_id = data.sandbox_aws_route53_zone.this[0].zone_id
  name    = "*.${var.domain}"
  type    = sandbox_manager_deployment.this[0].dns_record_type
  records = [sandbox_manager_deployment.this[0].load_balancer_address]
  ttl     = var.dns_ttl

  lifecycle {
    precondition {
      condition     = sandbox_manager_deployment.this[0].load_balancer_address != null
      error_message = "The manager's Service has no load balancer address: the cluster gave its LoadBalancer Service neither an IP nor a host name."
    }
  }
}

# Pools and the key go to the load balancer directly (connect_address), so they do not wait for DNS.
resource "sandbox_pool" "this" {
  for_each = { for template, size in local.pool_sizes : template => size if local.manager && size > 0 }

  endpoint        = sandbox_manager_deployment.this[0].manager_endpoint
  admin_key       = sandbox_manager_deployment.this[0].admin_key
  connect_address = sandbox_manager_deployment.this[0].manager_address
  ca_certificate  = var.ca_certificate
  name            = each.key
  template        = each.key
  size            = each.value
  wait_for_ready  = var.wait_for_pools
}

resource "sandbox_api_key" "this" {
  count = local.manager ? 1 : 0

  endpoint        = sandbox_manager_deployment.this[0].manager_endpoint
  admin_key       = sandbox_manager_deployment.this[0].admin_key
  connect_address = sandbox_manager_deployment.this[0].manager_address
  ca_certificate  = var.ca_certificate
  name            = var.api_key_name
}
