# The region's default VPC.
data "sandbox_alicloud_vpc" "default" {
  default = true
}

# A VPC someone else manages, by tags (or by id or name).
data "sandbox_alicloud_vpc" "shared" {
  tags = {
    env = "shared"
  }
}

output "shared_vpc_cidr" {
  value = data.sandbox_alicloud_vpc.shared.cidr_block
}
