# Keep two code-interpreter sandboxes warm: Sandbox.create("code-interpreter") gets one at once.
resource "sandbox_pool" "code" {
  name     = "code-interpreter"
  template = "code-interpreter"
  size     = 2
  timeout  = 600 # seconds a claimed sandbox lives unless the client extends it

  # Each sandbox gets one and a half cores and 2 GiB, whatever the template says.
  resources = {
    cpu_millis = 1500
    memory_mb  = 2048
  }

  timeouts {
    create = "5m"
  }
}

# A pool on another manager than the provider's, for example one created in the same configuration.
resource "sandbox_pool" "base" {
  name           = "base"
  template       = "base"
  size           = 1
  wait_for_ready = false
  endpoint       = "https://api.sandbox.example.com"
  admin_key      = var.other_admin_key

  # Until the wildcard DNS record of sandbox.example.com has propagated, dial the manager's load
  # balancer directly (the certificate is still checked against api.sandbox.example.com) ...
  connect_address = "203.0.113.10:443"
  # ... and trust the staging ACME CA that issued the manager's certificate.
  ca_certificate = file("${path.module}/staging-root.pem")
}

variable "other_admin_key" {
  type      = string
  sensitive = true
}
