data "sandbox_aws_vpc" "default" {
  default = true
}

# The machines of OSWorld's AWS guideline: SSH and VNC from anywhere, the env ports from inside
# the VPC (its own CIDR, read from AWS), all traffic out.
resource "sandbox_aws_security_group" "osworld_env" {
  vpc_id      = data.sandbox_aws_vpc.default.id
  name        = "osworld-env"
  description = "OSWorld environment machines"
  preset      = "osworld-env"
}

# A sandbox manager behind HTTPS, plus SSH from an office network, and only HTTPS out.
resource "sandbox_aws_security_group" "manager" {
  vpc_id = data.sandbox_aws_vpc.default.id
  name   = "sandbox-manager"
  preset = "sandbox-manager"

  ingress = [
    { protocol = "tcp", from_port = 22, to_port = 22, cidr_ipv4 = "203.0.113.0/24", description = "office SSH" },
  ]
  egress = [
    { protocol = "tcp", from_port = 443, to_port = 443, cidr_ipv4 = "0.0.0.0/0" },
  ]

  tags = {
    Name = "sandbox-manager"
  }
}
