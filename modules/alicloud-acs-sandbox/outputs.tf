output "e2b_domain" {
  description = "E2B_DOMAIN: what the E2B SDKs take to reach this deployment (https://api.<domain>, <port>-<id>.<domain>)."
  value       = sandbox_manager_deployment.this.e2b_domain
}

output "e2b_api_key" {
  description = "E2B_API_KEY: the API key the module created (e2b_…). Known only to the state of the apply that created it."
  value       = sandbox_api_key.this.key
  sensitive   = true
}

output "exports" {
  description = "Shell lines to paste before running an E2B program: export E2B_DOMAIN=… and export E2B_API_KEY=…. Print with terraform output -raw exports."
  value       = <<-EOT
    export E2B_DOMAIN=${sandbox_manager_deployment.this.e2b_domain}
    export E2B_API_KEY=${sandbox_api_key.this.key}
  EOT
  sensitive   = true
}

output "kubeconfig" {
  description = "Kubeconfig (YAML) of the ACS cluster, for kubectl: terraform output -raw kubeconfig > kubeconfig."
  value       = sandbox_alicloud_acs_cluster.this.kubeconfig
  sensitive   = true
}

output "api_url" {
  description = "The manager's API URL (https://api.<domain>)."
  value       = sandbox_manager_deployment.this.api_url
}

output "admin_key" {
  description = "The manager's admin key, for sandbox_pool and sandbox_api_key resources of other configurations."
  value       = sandbox_manager_deployment.this.admin_key
  sensitive   = true
}

output "load_balancer_address" {
  description = "Host name or IP address of the manager's load balancer, where *.<domain> points."
  value       = sandbox_manager_deployment.this.load_balancer_address
}

output "manager_address" {
  description = "host:port of the manager's load balancer, for the connect_address of sandbox_pool and sandbox_api_key resources elsewhere (reaches the manager before DNS has the record)."
  value       = sandbox_manager_deployment.this.manager_address
}

output "cluster_id" {
  description = "ID of the ACS cluster."
  value       = sandbox_alicloud_acs_cluster.this.id
}

output "vpc_id" {
  description = "ID of the VPC (the existing one, or the one created)."
  value       = local.vpc_id
}

output "vswitch_ids" {
  description = "IDs of the vSwitches, in the order of the vswitches input."
  value       = [for v in var.vswitches : sandbox_alicloud_vswitch.this[v.cidr_block].id]
}

output "security_group_id" {
  description = "ID of the security group (HTTPS and HTTP in)."
  value       = sandbox_alicloud_security_group.this.id
}

output "cas_certificate_id" {
  description = "ID of the wildcard certificate in Certificate Management Service (CertId)."
  value       = sandbox_alicloud_cas_certificate.this.id
}

output "certificate_not_after" {
  description = "When the wildcard certificate expires (RFC 3339), as CAS reads it. An ACME certificate is renewed by the first apply within 30 days of it."
  value       = sandbox_alicloud_cas_certificate.this.not_after
}
