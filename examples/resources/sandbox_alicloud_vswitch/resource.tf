resource "sandbox_alicloud_vpc" "sandboxes" {
  cidr_block = "10.20.0.0/16"
  name       = "sandboxes"
}

# One vSwitch per zone the sandbox hosts run in.
resource "sandbox_alicloud_vswitch" "hosts" {
  vpc_id     = sandbox_alicloud_vpc.sandboxes.id
  zone_id    = "cn-hangzhou-h"
  cidr_block = "10.20.1.0/24"
  name       = "sandbox-hosts-h"

  timeouts {
    delete = "20m" # instances and ENIs in it may take a while to go
  }
}
