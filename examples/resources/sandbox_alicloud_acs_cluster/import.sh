# An ACS cluster is imported by its cluster ID; its kubeconfig is read on the refresh that follows.
terraform import sandbox_alicloud_acs_cluster.sandboxes c8155823d057948c69a1f8c3b4dd8a5d2
