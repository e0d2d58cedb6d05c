# --- Where ---------------------------------------------------------------------------------------------

variable "name" {
  type        = string
  description = "Name of the VPC (when created), vSwitches, security group, ACS cluster and CAS certificate."
  default     = "e2b-sandbox"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_-]{1,39}$", var.name))
    error_message = "name must be 2 to 40 letters, digits, underscores or hyphens, starting with a letter."
  }
}

variable "region" {
  type        = string
  description = "The Alibaba Cloud region, such as cn-hangzhou. The provider must be configured for the same region (its alicloud block or ALIBABA_CLOUD_REGION): the vSwitch zones are checked against it."

  validation {
    condition     = can(regex("^[a-z]{2}-[a-z0-9]+(-[a-z0-9]+)*$", var.region))
    error_message = "region must be an Alibaba Cloud region ID such as cn-hangzhou or ap-southeast-1."
  }
}

variable "vpc_id" {
  type        = string
  description = "ID of an existing VPC to build in (vpc-…). It is read with a data source, never changed or deleted by this module. Exactly one of vpc_id and vpc_cidr_block."
  default     = null

  validation {
    condition     = var.vpc_id == null || can(regex("^vpc-[0-9a-z]{8,32}$", var.vpc_id))
    error_message = "vpc_id must be a VPC ID such as vpc-bp1qpo0kug3a20qqe4l1c."
  }
}

variable "vpc_cidr_block" {
  type        = string
  description = "CIDR block of a VPC to create, such as 10.0.0.0/16. Exactly one of vpc_id and vpc_cidr_block."
  default     = null

  validation {
    condition     = (var.vpc_id == null) != (var.vpc_cidr_block == null)
    error_message = "Set exactly one of vpc_id (an existing VPC) and vpc_cidr_block (a new VPC)."
  }
  validation {
    condition     = var.vpc_cidr_block == null || can(cidrnetmask(var.vpc_cidr_block)) && try(cidrsubnet(var.vpc_cidr_block, 0, 0) == var.vpc_cidr_block, false)
    error_message = "vpc_cidr_block must be an IPv4 network written as its network address, such as 10.0.0.0/16."
  }
}

variable "vswitches" {
  type = list(object({
    zone_id    = string
    cidr_block = string
  }))
  description = "The vSwitches to create for the cluster's pods, 1 to 5, ideally in different zones of the region: zone (such as cn-hangzhou-h) and CIDR block inside the VPC's."

  validation {
    condition     = length(var.vswitches) >= 1 && length(var.vswitches) <= 5
    error_message = "vswitches must list 1 to 5 vSwitches."
  }
  validation {
    condition     = alltrue([for v in var.vswitches : startswith(v.zone_id, "${var.region}-")])
    error_message = "Every vSwitch zone_id must be a zone of the region (${var.region}-…)."
  }
  validation {
    condition     = alltrue([for v in var.vswitches : can(cidrnetmask(v.cidr_block)) && try(cidrsubnet(v.cidr_block, 0, 0) == v.cidr_block, false)])
    error_message = "Every vSwitch cidr_block must be an IPv4 network written as its network address, such as 10.0.1.0/24."
  }
  validation {
    condition     = length(distinct([for v in var.vswitches : v.cidr_block])) == length(var.vswitches)
    error_message = "The vSwitches' CIDR blocks must differ."
  }
}

variable "service_cidr" {
  type        = string
  description = "CIDR block of the ACS cluster's Services, /16 to /25, overlapping neither the VPC nor its vSwitches."
  default     = "172.21.0.0/20"

  validation {
    condition     = can(cidrnetmask(var.service_cidr)) && try(tonumber(split("/", var.service_cidr)[1]) >= 16 && tonumber(split("/", var.service_cidr)[1]) <= 25, false)
    error_message = "service_cidr must be an IPv4 CIDR block from /16 to /25, such as 172.21.0.0/20."
  }
}

variable "kubernetes_version" {
  type        = string
  description = "Kubernetes version of the ACS cluster, such as 1.33.3-aliyun.1; null lets Alibaba Cloud pick its default."
  default     = null
}

variable "tags" {
  type        = map(string)
  description = "Tags of the VPC (when created), vSwitches, security group and ACS cluster."
  default     = {}

  validation {
    condition     = length(var.tags) <= 20 && alltrue([for k in keys(var.tags) : !startswith(k, "aliyun") && !startswith(k, "acs:")])
    error_message = "tags may hold at most 20 tags, and keys must not start with aliyun or acs:."
  }
}

# --- Domain and certificate ------------------------------------------------------------------------------

variable "domain" {
  type        = string
  description = "The E2B domain (E2B_DOMAIN), such as sbx.example.com: the API is api.<domain>, sandboxes are <port>-<id>.<domain>. It must be dns_domain or a name inside it."

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain))
    error_message = "domain must be a lower-case DNS name such as sbx.example.com."
  }
}

variable "dns_domain" {
  type        = string
  description = "The domain as the Alibaba Cloud DNS (Alidns) console lists it, such as example.com: the wildcard record *.<domain> and the ACME challenges are written there."

  validation {
    condition     = var.domain == var.dns_domain || endswith(var.domain, ".${var.dns_domain}")
    error_message = "domain (${var.domain}) must be dns_domain (${var.dns_domain}) or a name inside it."
  }
}

variable "dns_ttl" {
  type        = number
  description = "TTL in seconds of the wildcard record (Alidns's free edition accepts 600 and more)."
  default     = 600

  validation {
    condition     = var.dns_ttl >= 1 && var.dns_ttl <= 86400 && floor(var.dns_ttl) == var.dns_ttl
    error_message = "dns_ttl must be a whole number of seconds from 1 to 86400."
  }
}

variable "acme_email" {
  type        = string
  description = "Contact email of the ACME account (expiry notices). Used when the certificate is obtained through ACME (tls_certificate is null)."
  default     = null

  validation {
    condition     = var.acme_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.acme_email))
    error_message = "acme_email must be an email address such as ops@example.com."
  }
}

variable "acme_directory_url" {
  type        = string
  description = "ACME directory of the CA issuing the wildcard certificate. Defaults to Let's Encrypt production; use https://acme-staging-v02.api.letsencrypt.org/directory while trying things out (and trust its roots with ca_certificate)."
  default     = "https://acme-v02.api.letsencrypt.org/directory"

  validation {
    condition     = startswith(var.acme_directory_url, "https://")
    error_message = "acme_directory_url must be an https:// URL."
  }
}

variable "acme_server_ca_certificates" {
  type        = string
  description = "PEM roots to trust for the TLS connection to the ACME server itself, for a private CA whose server certificate is not publicly trusted. It does not change which certificates are trusted for the manager (see ca_certificate)."
  default     = null
}

variable "acme_recursive_nameservers" {
  type        = list(string)
  description = "DNS servers (host:port) used to check that the challenge records are visible; null uses the system's resolvers."
  default     = null
}

variable "acme_skip_propagation_check" {
  type        = bool
  description = "Skip checking through DNS that the challenge records are visible before the CA validates (for DNS servers that answer no SOA or NS queries, such as test servers)."
  default     = false
}

variable "tls_certificate" {
  type        = string
  description = "A certificate for *.<domain> to use instead of ACME: PEM, the certificate first, then its intermediates. With tls_private_key; both null obtains one through ACME."
  default     = null

  validation {
    condition     = var.tls_certificate == null || length(regexall("-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----", coalesce(var.tls_certificate, "-"))) > 0
    error_message = "tls_certificate must be PEM: one or more CERTIFICATE blocks, the certificate first."
  }
}

variable "tls_private_key" {
  type        = string
  description = "The private key of tls_certificate (PEM). Both or neither."
  default     = null
  sensitive   = true

  validation {
    condition     = (var.tls_private_key == null) == (var.tls_certificate == null)
    error_message = "Set tls_certificate and tls_private_key together, or neither (the certificate is then obtained through ACME)."
  }
}

variable "ca_certificate" {
  type        = string
  description = "PEM roots to trust, besides the system's, when Terraform talks to the manager (pools, API key): the roots of a staging or test ACME CA, or of the CA of tls_certificate when it is private."
  default     = null

  validation {
    condition     = var.ca_certificate == null || can(regex("-----BEGIN CERTIFICATE-----", var.ca_certificate))
    error_message = "ca_certificate must be PEM (-----BEGIN CERTIFICATE-----)."
  }
}

# --- Manager and pools ---------------------------------------------------------------------------------

variable "manager_replicas" {
  type        = number
  description = "Replicas of the sandbox manager in sandbox-system."
  default     = 2

  validation {
    condition     = var.manager_replicas >= 1 && var.manager_replicas <= 20 && floor(var.manager_replicas) == var.manager_replicas
    error_message = "manager_replicas must be a whole number from 1 to 20."
  }
}

variable "manager_image" {
  type        = string
  description = "The manager's image repository, without tag; null: the provider's default (ghcr.io/sandboxstack/sandbox-manager)."
  default     = null
}

variable "manager_image_tag" {
  type        = string
  description = "The manager's image tag; null: the provider's version."
  default     = null
}

variable "manager_resources" {
  type = object({
    cpu_request    = optional(string)
    memory_request = optional(string)
    cpu_limit      = optional(string)
    memory_limit   = optional(string)
  })
  description = "Requests and limits of each manager container, as Kubernetes quantities (such as 250m, 256Mi); null or a left-out field: the provider's defaults (100m, 128Mi, 1, 512Mi)."
  default     = null
}

variable "template_images" {
  type = object({
    registry   = optional(string)
    tag        = optional(string)
    envd_image = optional(string)
  })
  description = "Where the manager finds the templates' images (<registry>/sandbox-<template>:<tag>) and envd's, for a mirror of them; null or a left-out field: the provider's defaults (ghcr.io/sandboxstack, the manager's tag)."
  default     = null
}

variable "manager_service_annotations" {
  type        = map(string)
  description = "Annotations of the manager's LoadBalancer Service, such as the load balancer's specification or address type."
  default     = {}
}

variable "manager_allowed_cidr_blocks" {
  type        = list(string)
  description = "Where the manager's load balancer accepts connections from (the Service's loadBalancerSourceRanges); null: anywhere."
  default     = null

  validation {
    condition     = var.manager_allowed_cidr_blocks == null || alltrue([for c in coalesce(var.manager_allowed_cidr_blocks, []) : can(cidrnetmask(c))])
    error_message = "manager_allowed_cidr_blocks must be IPv4 CIDR blocks such as 203.0.113.0/24."
  }
}

variable "pool_sizes" {
  type = object({
    code_interpreter = optional(number, 1)
    desktop          = optional(number, 0)
    browser          = optional(number, 0)
  })
  description = "Warm sandboxes to keep of the code-interpreter, desktop and browser templates, 0 to 100 each (0: no pool). Left out: code_interpreter 1, desktop 0, browser 0."
  default     = {}

  validation {
    condition     = alltrue([for s in [var.pool_sizes.code_interpreter, var.pool_sizes.desktop, var.pool_sizes.browser] : s >= 0 && s <= 100 && floor(s) == s])
    error_message = "Every pool size must be a whole number from 0 to 100."
  }
}

variable "wait_for_pools" {
  type        = bool
  description = "Whether the apply waits until every pool has its warm sandboxes."
  default     = true
}

variable "api_key_name" {
  type        = string
  description = "Label of the API key the module creates (E2B_API_KEY)."
  default     = "e2b"

  validation {
    condition     = length(var.api_key_name) >= 1 && length(var.api_key_name) <= 128 && trimspace(var.api_key_name) == var.api_key_name
    error_message = "api_key_name must be 1 to 128 bytes without leading or trailing spaces."
  }
}
