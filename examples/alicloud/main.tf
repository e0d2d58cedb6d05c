# Sandbox infrastructure on Alibaba Cloud: adopt an existing VPC (Terraform manages it from now on), add a
# vSwitch for the hosts, a security group for OSWorld environments and an ACS (serverless Kubernetes)
# cluster for the sandbox pods. See README.md: it runs against
# real Alibaba Cloud or, without an account, the local fakes.

terraform {
  required_providers {
    sandbox = {
      source = "sandboxstack/sandbox"
    }
  }
}

variable "vpc_name" {
  type        = string
  description = "Name of the existing VPC to adopt. `terraform destroy` deletes it with the rest."
  default     = "shared-vpc"
}

variable "zone_id" {
  type        = string
  description = "Zone of the vSwitch, in the provider's region (ALIBABA_CLOUD_REGION)."
  default     = "cn-hangzhou-a"
}

# Region, AccessKey and endpoints come from ALIBABA_CLOUD_REGION, ALIBABA_CLOUD_ACCESS_KEY_ID,
# ALIBABA_CLOUD_ACCESS_KEY_SECRET and ALIBABA_CLOUD_ENDPOINT_<PRODUCT> (as `make cloud-fakes` prints them).
provider "sandbox" {}

# Finds the VPC by name, so that the import below needs no ID pasted in.
data "sandbox_alicloud_vpc" "existing" {
  name = var.vpc_name
}

import {
  to = sandbox_alicloud_vpc.adopted
  id = data.sandbox_alicloud_vpc.existing.id
}

# CIDR block, name and description are read from Alibaba Cloud; only the tags are Terraform's.
resource "sandbox_alicloud_vpc" "adopted" {
  tags = {
    managed-by = "sandboxstack"
  }
}

resource "sandbox_alicloud_vswitch" "hosts" {
  vpc_id     = sandbox_alicloud_vpc.adopted.id
  zone_id    = var.zone_id
  cidr_block = cidrsubnet(sandbox_alicloud_vpc.adopted.cidr_block, 8, 10)
  name       = "sandbox-hosts"
}

# SSH and VNC from anywhere; the environment's ports from inside the VPC (its CIDR block); all traffic out.
resource "sandbox_alicloud_security_group" "osworld" {
  vpc_id = sandbox_alicloud_vpc.adopted.id
  name   = "osworld-env"
  preset = "osworld-env"
}

# The cluster's service CIDR must not overlap the VPC's (checked at plan time).
resource "sandbox_alicloud_acs_cluster" "sandboxes" {
  name         = "sandboxes"
  vpc_id       = sandbox_alicloud_vpc.adopted.id
  vswitch_ids  = [sandbox_alicloud_vswitch.hosts.id]
  service_cidr = "172.21.0.0/20"
}

output "cluster_id" {
  value = sandbox_alicloud_acs_cluster.sandboxes.id
}

# `terraform output -raw kubeconfig > kubeconfig && KUBECONFIG=$PWD/kubeconfig kubectl get ns`
output "kubeconfig" {
  value     = sandbox_alicloud_acs_cluster.sandboxes.kubeconfig
  sensitive = true
}

output "vpc_cidr_block" {
  value = sandbox_alicloud_vpc.adopted.cidr_block
}

output "vswitch_id" {
  value = sandbox_alicloud_vswitch.hosts.id
}

output "security_group_rules" {
  value = [for r in sandbox_alicloud_security_group.osworld.preset_rules : "${r.direction} ${r.protocol} ${r.port_range} ${r.cidr_ip}"]
}
