resource "sandbox_alicloud_vpc" "sandboxes" {
  cidr_block = "10.20.0.0/16"
  name       = "sandboxes"
}

resource "sandbox_alicloud_vswitch" "pods" {
  vpc_id     = sandbox_alicloud_vpc.sandboxes.id
  zone_id    = "cn-hangzhou-h"
  cidr_block = "10.20.8.0/21"
  name       = "sandbox-pods-h"
}

# A serverless (ACS) Kubernetes cluster for the sandbox pods.
resource "sandbox_alicloud_acs_cluster" "sandboxes" {
  name                = "sandboxes"
  vpc_id              = sandbox_alicloud_vpc.sandboxes.id
  vswitch_ids         = [sandbox_alicloud_vswitch.pods.id]
  service_cidr        = "172.21.0.0/20" # must not overlap the VPC
  deletion_protection = true            # terraform destroy turns it off first

  tags = {
    app = "sandboxes"
  }

  timeouts {
    create = "60m"
  }
}

# The kubeconfig is sensitive: `terraform output -raw kubeconfig > kubeconfig` for kubectl, or hand it
# to the kubernetes provider.
output "kubeconfig" {
  value     = sandbox_alicloud_acs_cluster.sandboxes.kubeconfig
  sensitive = true
}
