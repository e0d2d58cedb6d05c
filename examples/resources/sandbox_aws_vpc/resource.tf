# A new VPC for sandbox hosts.
resource "sandbox_aws_vpc" "sandboxes" {
  cidr_block           = "10.20.0.0/16"
  enable_dns_hostnames = true

  tags = {
    Name = "sandboxes"
  }
}

# Adopting an existing VPC: Terraform manages it from now on (and `terraform destroy` deletes it).
# Its CIDR block and DNS settings are read from AWS when left out.
import {
  to = sandbox_aws_vpc.existing
  id = "vpc-0123456789abcdef0"
}

resource "sandbox_aws_vpc" "existing" {
  tags = {
    Name = "shared"
  }
}
