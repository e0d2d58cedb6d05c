# The manager block is optional: without it the provider reads SANDBOX_ENDPOINT and SANDBOX_ADMIN_KEY.
provider "sandbox" {
  manager {
    endpoint  = "http://127.0.0.1:3000" # `make run` listens here
    admin_key = var.sandbox_admin_key   # the SANDBOX_ADMIN_KEY the manager was started with
  }
}

variable "sandbox_admin_key" {
  type      = string
  sensitive = true
}
