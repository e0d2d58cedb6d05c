# The sandbox manager in an ACS cluster, behind an internet-facing Alibaba Cloud NLB, with HTTPS from
# an ACME wildcard certificate and a warm code-interpreter pool.
resource "sandbox_manager_deployment" "this" {
  kubeconfig = sandbox_alicloud_acs_cluster.this.kubeconfig
  domain     = "sandbox.example.com"
  replicas   = 2

  tls_certificate            = "${sandbox_acme_certificate.wildcard.certificate_pem}${sandbox_acme_certificate.wildcard.issuer_pem}"
  tls_private_key_wo         = sandbox_acme_certificate.wildcard.private_key_pem
  tls_private_key_wo_version = 1 # raise it to apply a renewed key

  service = {
    annotations = {
      "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type" = "internet"
    }
  }

  pools = [{ template = "code-interpreter", size = 2 }]
}

# *.sandbox.example.com → the load balancer (an A record for an IP, a CNAME for a host name).
resource "sandbox_alicloud_dns_record" "wildcard" {
  domain_name = "example.com"
  rr          = "*.sandbox"
  type        = sandbox_manager_deployment.this.dns_record_type
  value       = sandbox_manager_deployment.this.load_balancer_address
}

# More pools, through the manager's admin API, reachable before the DNS record has spread.
resource "sandbox_pool" "desktop" {
  name            = "desktop"
  template        = "desktop"
  size            = 1
  endpoint        = sandbox_manager_deployment.this.manager_endpoint
  admin_key       = sandbox_manager_deployment.this.admin_key
  connect_address = sandbox_manager_deployment.this.manager_address
}

output "e2b_domain" {
  value = sandbox_manager_deployment.this.e2b_domain # E2B_DOMAIN for the SDKs
}
