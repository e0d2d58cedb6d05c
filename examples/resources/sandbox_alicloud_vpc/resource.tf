# A new VPC for sandbox hosts.
resource "sandbox_alicloud_vpc" "sandboxes" {
  cidr_block  = "10.20.0.0/16"
  name        = "sandboxes"
  description = "sandbox hosts"

  tags = {
    team = "agents"
  }
}

# Adopting an existing VPC: Terraform manages it from now on (and `terraform destroy` deletes it).
# Its CIDR block, name and description are read from Alibaba Cloud when left out.
import {
  to = sandbox_alicloud_vpc.existing
  id = "vpc-bp1qpo0kug3a20qqe4l1c"
}

resource "sandbox_alicloud_vpc" "existing" {
  tags = {
    managed-by = "terraform"
  }
}
