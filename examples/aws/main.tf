# A network for sandbox hosts on AWS: a new VPC with one subnet per zone, next to the region's default VPC
# (looked up, not managed). See README.md: it runs against real AWS or, without an account, the local fakes.

terraform {
  required_providers {
    sandbox = {
      source = "sandboxstack/sandbox"
    }
  }
}

variable "name" {
  type        = string
  description = "Name tag of everything created."
  default     = "sandboxes"
}

variable "cidr_block" {
  type        = string
  description = "The new VPC's block; each subnet takes a /24 of it."
  default     = "10.20.0.0/16"
}

variable "availability_zones" {
  type        = list(string)
  description = "Zones of the provider's region (AWS_REGION), one subnet each."
  default     = ["us-east-1a", "us-east-1b"]
}

# Region and credentials come from the standard AWS chain (AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID, ...),
# endpoints from AWS_ENDPOINT_URL_* when set (as `make cloud-fakes` prints them).
provider "sandbox" {}

data "sandbox_aws_vpc" "default" {
  default = true
}

resource "sandbox_aws_vpc" "sandboxes" {
  cidr_block           = var.cidr_block
  enable_dns_hostnames = true
  tags = {
    Name = var.name
  }
}

resource "sandbox_aws_subnet" "hosts" {
  for_each = toset(var.availability_zones)

  vpc_id                  = sandbox_aws_vpc.sandboxes.id
  cidr_block              = cidrsubnet(var.cidr_block, 8, index(var.availability_zones, each.key) + 1)
  availability_zone       = each.key
  map_public_ip_on_launch = true
  tags = {
    Name = "${var.name}-${each.key}"
  }
}

output "vpc_id" {
  value = sandbox_aws_vpc.sandboxes.id
}

output "subnet_ids" {
  value = { for zone, s in sandbox_aws_subnet.hosts : zone => s.id }
}

output "default_vpc" {
  value = {
    id         = data.sandbox_aws_vpc.default.id
    cidr_block = data.sandbox_aws_vpc.default.cidr_block
  }
}
