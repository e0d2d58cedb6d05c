# --- OSWorld's guideline -----------------------------------------------------------------------------------

variable "name" {
  type        = string
  description = "Prefix of the security groups (<name>-env, <name>-host) and of the Name tags; the default gives the guideline's osworld-env and osworld-host."
  default     = "osworld"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_-]{0,59}$", var.name))
    error_message = "name must be 1 to 60 letters, digits, underscores or hyphens, starting with a letter."
  }
}

variable "region" {
  type        = string
  description = "The AWS region, such as us-east-1: picks the image of image_ids and is AWS_REGION of the .env. The provider must be configured for the same region (its aws block or AWS_REGION); the plan fails otherwise."

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "region must be an AWS region such as us-east-1."
  }
}

variable "vpc_id" {
  type        = string
  description = "ID of an existing VPC (vpc-…), read with a data source and never changed or deleted by this module. With neither vpc_id nor vpc_cidr_block, the region's default VPC, as the guideline does."
  default     = null

  validation {
    condition     = var.vpc_id == null || can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC ID such as vpc-0123456789abcdef0."
  }
}

variable "vpc_cidr_block" {
  type        = string
  description = "CIDR block of a VPC to create (/16 to /24), such as 10.20.0.0/16, instead of using an existing one."
  default     = null

  validation {
    condition     = var.vpc_id == null || var.vpc_cidr_block == null
    error_message = "Set at most one of vpc_id (an existing VPC) and vpc_cidr_block (a new VPC); neither uses the default VPC."
  }
  validation {
    condition     = var.vpc_cidr_block == null || can(cidrnetmask(var.vpc_cidr_block)) && try(cidrsubnet(var.vpc_cidr_block, 0, 0) == var.vpc_cidr_block && tonumber(split("/", var.vpc_cidr_block)[1]) >= 16 && tonumber(split("/", var.vpc_cidr_block)[1]) <= 24, false)
    error_message = "vpc_cidr_block must be an IPv4 network from /16 to /24 written as its network address, such as 10.20.0.0/16."
  }
}

variable "subnet_id" {
  type        = string
  description = "ID of an existing subnet of the VPC (subnet-…) for the environment machines, used as is. Null creates one (see subnet_cidr_block)."
  default     = null

  validation {
    condition     = var.subnet_id == null || can(regex("^subnet-[0-9a-f]{8,17}$", var.subnet_id))
    error_message = "subnet_id must be a subnet ID such as subnet-0123456789abcdef0."
  }
}

variable "subnet_cidr_block" {
  type        = string
  description = "CIDR block of the subnet to create, inside the VPC's and overlapping none of its subnets. Null takes a /24 near the end of the VPC's block (172.31.200.0/24 in a default VPC, which the default subnets leave free)."
  default     = null

  validation {
    condition     = var.subnet_id == null || var.subnet_cidr_block == null
    error_message = "Set at most one of subnet_id (an existing subnet) and subnet_cidr_block (a new subnet)."
  }
  validation {
    condition     = var.subnet_cidr_block == null || can(cidrnetmask(var.subnet_cidr_block)) && try(cidrsubnet(var.subnet_cidr_block, 0, 0) == var.subnet_cidr_block, false)
    error_message = "subnet_cidr_block must be an IPv4 network written as its network address, such as 172.31.200.0/24."
  }
}

variable "availability_zone" {
  type        = string
  description = "Availability zone of the subnet to create, such as us-east-1a; null lets AWS pick."
  default     = null

  validation {
    condition     = var.availability_zone == null || startswith(coalesce(var.availability_zone, "-"), var.region)
    error_message = "availability_zone must be a zone of the region (${var.region}a, …)."
  }
}

variable "image_ids" {
  type        = map(string)
  description = "OSWorld's environment image (AMI) per region, OSWorld's IMAGE_ID_MAP. The default is the map of OSWorld's desktop_env/providers/aws/manager.py (its 1920x1080 images); give your own (for example an image copied to another region) to override it. The image of region is looked up, so a missing or foreign image fails the plan."
  default = {
    "us-east-1" = "ami-0d23263edb96951d8"
    "ap-east-1" = "ami-06850864d18fad836"
  }

  validation {
    condition     = alltrue([for id in values(var.image_ids) : can(regex("^ami-[0-9a-f]{8,17}$", id))])
    error_message = "Every image_ids value must be an AMI ID such as ami-0123456789abcdef0."
  }
  validation {
    condition     = contains(keys(var.image_ids), var.region)
    error_message = "image_ids has no image for region ${var.region}: copy OSWorld's image into it and add it (image_ids = { \"${var.region}\" = \"ami-…\" })."
  }
}

variable "instance_type" {
  type        = string
  description = "EC2 instance type of the environment machines (OSWorld's INSTANCE_TYPE); the guideline's example is t3.medium."
  default     = "t3.medium"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type must be an EC2 instance type such as t3.medium."
  }
}

variable "key_name" {
  type        = string
  description = "Name of an existing EC2 key pair for SSH to the environment machines (OSWorld's KEY_NAME); null: none."
  default     = null

  validation {
    condition     = var.key_name == null || try(length(var.key_name) >= 1 && length(var.key_name) <= 255, false)
    error_message = "key_name must be 1 to 255 characters."
  }
}

variable "host_ssh_cidr_blocks" {
  type        = list(string)
  description = "Where the host machine (the osworld-host group) accepts SSH from; [] for nowhere. Its monitor port 8080 is open as the guideline says."
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for c in var.host_ssh_cidr_blocks : can(cidrnetmask(c))])
    error_message = "host_ssh_cidr_blocks must be IPv4 CIDR blocks such as 203.0.113.0/24."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags of everything the module creates in AWS (VPC, subnet, security groups)."
  default     = {}

  validation {
    condition     = length(var.tags) <= 49 && alltrue([for k in keys(var.tags) : !startswith(k, "aws:")])
    error_message = "tags may hold at most 49 tags (the module adds Name), and keys must not start with aws:."
  }
}

# --- The E2B endpoint beside it (optional: domain, route53_zone_name and kubeconfig together) -------------

variable "domain" {
  type        = string
  description = "The E2B domain (E2B_DOMAIN), such as sbx.example.com, inside route53_zone_name. With route53_zone_name and kubeconfig, the module deploys the sandbox manager; null deploys nothing."
  default     = null

  validation {
    condition     = var.domain == null || can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", coalesce(var.domain, "-")))
    error_message = "domain must be a lower-case DNS name such as sbx.example.com."
  }
}

variable "route53_zone_name" {
  type        = string
  description = "Name of the public Route 53 hosted zone holding domain, such as example.com: the wildcard record *.<domain> and the ACME challenges are written there."
  default     = null

  validation {
    condition     = (var.domain == null) == (var.route53_zone_name == null)
    error_message = "Set domain and route53_zone_name together (or neither)."
  }
  validation {
    condition     = var.domain == null || var.route53_zone_name == null || try(var.domain == trimsuffix(var.route53_zone_name, ".") || endswith(var.domain, ".${trimsuffix(var.route53_zone_name, ".")}"), false)
    error_message = "domain must be route53_zone_name or a name inside it."
  }
}

variable "dns_ttl" {
  type        = number
  description = "TTL in seconds of the wildcard record *.<domain>."
  default     = 300

  validation {
    condition     = var.dns_ttl >= 0 && var.dns_ttl <= 2147483647 && floor(var.dns_ttl) == var.dns_ttl
    error_message = "dns_ttl must be a whole number of seconds, 0 or more."
  }
}

variable "kubeconfig" {
  type        = string
  description = "Kubeconfig (YAML text) of an existing Kubernetes cluster (EKS or any other with LoadBalancer Services) to deploy the manager into, with domain and route53_zone_name. For EKS, a kubeconfig with a token (aws eks get-token output) or a static one; the provider does not run exec plugins."
  default     = null
  sensitive   = true

  validation {
    condition     = (var.kubeconfig == null) == (var.domain == null)
    error_message = "Set kubeconfig together with domain and route53_zone_name (or none of them)."
  }
}

# --- Certificate, manager and pools (used only with domain) ---------------------------------------------

variable "acme_email" {
  type        = string
  description = "Contact email of the ACME account (expiry notices). Used when the manager is deployed and its certificate obtained through ACME (tls_certificate is null)."
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
