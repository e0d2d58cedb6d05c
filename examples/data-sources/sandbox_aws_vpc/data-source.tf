# The region's default VPC.
data "sandbox_aws_vpc" "default" {
  default = true
}

# A VPC by tags (exactly one must match); `id = "vpc-…"` finds one by ID.
data "sandbox_aws_vpc" "shared" {
  tags = {
    Name = "shared"
  }
}

resource "sandbox_aws_subnet" "hosts" {
  vpc_id     = data.sandbox_aws_vpc.shared.id
  cidr_block = cidrsubnet(data.sandbox_aws_vpc.shared.cidr_block, 8, 10)
}
