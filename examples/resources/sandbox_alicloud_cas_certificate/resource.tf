# Upload the wildcard certificate of the sandbox domain to CAS, for a load balancer to use. The
# private key is write-only (Terraform 1.11 or later): it is sent on upload and never stored in the state.
resource "sandbox_alicloud_cas_certificate" "sandboxes" {
  name                  = "sbx-example-com"
  certificate_pem       = file("${path.module}/sbx.example.com.crt")
  certificate_chain_pem = file("${path.module}/sbx.example.com.chain.crt")
  private_key_wo        = file("${path.module}/sbx.example.com.key")
}
