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
  endpoint       = "https://sandbox.example.com"
  admin_key      = var.other_admin_key
}

variable "other_admin_key" {
  type      = string
  sensitive = true
}
