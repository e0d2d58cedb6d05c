resource "sandbox_alicloud_vpc" "sandboxes" {
  cidr_block = "10.20.0.0/16"
}

# The sandbox manager: HTTPS and HTTP from anywhere, plus SSH from inside the VPC.
resource "sandbox_alicloud_security_group" "manager" {
  vpc_id = sandbox_alicloud_vpc.sandboxes.id
  name   = "sandbox-manager"
  preset = "sandbox-manager"

  rules = [
    { direction = "ingress", protocol = "tcp", port_range = "22/22", cidr_ip = "10.20.0.0/16", description = "SSH from the VPC" },
  ]
}

# OSWorld environments: SSH and VNC from anywhere, the environment's ports from inside the VPC (its
# CIDR block, read from Alibaba Cloud unless vpc_cidr_block says otherwise), all traffic out.
resource "sandbox_alicloud_security_group" "osworld" {
  vpc_id = sandbox_alicloud_vpc.sandboxes.id
  name   = "osworld-env"
  preset = "osworld-env"
}

# A group with its own rules only.
resource "sandbox_alicloud_security_group" "workers" {
  vpc_id = sandbox_alicloud_vpc.sandboxes.id
  name   = "workers"
  type   = "enterprise"

  rules = [
    { direction = "ingress", protocol = "tcp", port_range = "49983/49983", cidr_ip = "10.20.0.0/16", description = "envd" },
    { direction = "ingress", protocol = "icmp", port_range = "-1/-1", cidr_ip = "10.20.0.0/16" },
    { direction = "egress", protocol = "all", port_range = "-1/-1", cidr_ip = "0.0.0.0/0" },
  ]
}
