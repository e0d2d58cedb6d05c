# OSWorld's AWS guideline as Terraform: the default VPC (adopted, not managed), a subnet for the
# environment machines, the security groups of the env machines and of the host, the image lookup,
# and the .env lines OSWorld reads. See README.md: it runs against real AWS or the local fakes.

terraform {
  required_providers {
    sandbox = {
      source = "sandboxstack/sandbox"
    }
  }
}

variable "subnet_cidr_block" {
  type        = string
  description = "The env machines' subnet, inside the default VPC; null takes 172.31.200.0/24 (a /24 the default subnets leave free)."
  default     = null
}

variable "image_id" {
  type        = string
  description = "The env image of this region (OSWorld's IMAGE_ID_MAP); null looks it up by image_name_pattern."
  default     = null
}

variable "image_name_pattern" {
  type        = string
  description = "Name of the env image to look up when image_id is null."
  default     = "osworld-*"
}

variable "image_owners" {
  type        = list(string)
  description = "Accounts whose images the name lookup accepts (null: any)."
  default     = null
}

# Region and credentials from the standard AWS chain (AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID, ...),
# endpoints from AWS_ENDPOINT_URL_* when set (as `make cloud-fakes` prints them).
provider "sandbox" {}

# The guideline uses the default VPC: look it up, Terraform does not manage it.
data "sandbox_aws_vpc" "default" {
  default = true
}

resource "sandbox_aws_subnet" "osworld" {
  vpc_id                  = data.sandbox_aws_vpc.default.id
  cidr_block              = coalesce(var.subnet_cidr_block, cidrsubnet(data.sandbox_aws_vpc.default.cidr_block, 8, 200))
  map_public_ip_on_launch = true
  tags = {
    Name = "osworld-env"
  }
}

# 22 and 5910 from anywhere; 80, 5000, 8006, 8080, 8081 and 9222 from the VPC's own CIDR (172.31.0.0/16
# in a default VPC, read from AWS); all traffic out.
resource "sandbox_aws_security_group" "env" {
  vpc_id      = data.sandbox_aws_vpc.default.id
  name        = "osworld-env"
  description = "OSWorld environment machines"
  preset      = "osworld-env"
}

# The host machine that runs OSWorld: its monitor on 8080, and SSH to manage it.
resource "sandbox_aws_security_group" "host" {
  vpc_id      = data.sandbox_aws_vpc.default.id
  name        = "osworld-host"
  description = "OSWorld host machine"
  preset      = "osworld-host"
  ingress = [
    { protocol = "tcp", from_port = 22, to_port = 22, cidr_ipv4 = "0.0.0.0/0", description = "SSH" },
  ]
}

# AMI IDs are per region: a wrong region's ID fails here, with a message that says so.
data "sandbox_aws_ami" "env" {
  image_id     = var.image_id
  name_pattern = var.image_id == null ? var.image_name_pattern : null
  owners       = var.image_id == null ? var.image_owners : null
  most_recent  = true
}

output "dotenv" {
  description = "The lines of OSWorld's .env file."
  value       = <<-EOT
    AWS_REGION=${data.sandbox_aws_ami.env.region}
    AWS_SUBNET_ID=${sandbox_aws_subnet.osworld.id}
    AWS_SECURITY_GROUP_ID=${sandbox_aws_security_group.env.id}
  EOT
}

output "image_id" {
  description = "The env image of this region, for IMAGE_ID_MAP."
  value       = data.sandbox_aws_ami.env.id
}

output "host_security_group_id" {
  description = "The security group of the host machine."
  value       = sandbox_aws_security_group.host.id
}
