# Two warm pools and an API key on the sandbox manager that `make run` starts on this machine.
# See README.md for the steps.

terraform {
  required_providers {
    sandbox = {
      source = "sandboxstack/sandbox"
    }
  }
}

variable "endpoint" {
  type        = string
  description = "The local sandbox manager (make run listens on 127.0.0.1:3000)."
  default     = "http://127.0.0.1:3000"
}

# The admin key comes from SANDBOX_ADMIN_KEY, the same variable the manager was started with.
provider "sandbox" {
  manager {
    endpoint = var.endpoint
  }
}

data "sandbox_templates" "local" {}

locals {
  # code-interpreter needs python3 and ipykernel on this machine; fall back to base without them.
  interpreter = contains(data.sandbox_templates.local.available, "code-interpreter") ? "code-interpreter" : "base"
}

resource "sandbox_pool" "base" {
  name     = "base"
  template = "base"
  size     = 2
}

resource "sandbox_pool" "interpreter" {
  name     = "interpreter"
  template = local.interpreter
  size     = 1
  timeout  = 600

  resources = {
    cpu_millis = 1000
    memory_mb  = 1024
  }
}

resource "sandbox_api_key" "local" {
  name = "examples-local"
}

output "templates" {
  value = { for t in data.sandbox_templates.local.templates : t.name => t.available ? "available" : t.reason }
}

output "sdk_environment" {
  description = "Paste into a shell to point an E2B SDK at the local manager (terraform output -raw sdk_environment)."
  value       = <<-EOT
    export E2B_API_URL=${var.endpoint}
    export E2B_SANDBOX_URL=${var.endpoint}
    export E2B_API_KEY=${sandbox_api_key.local.key}
  EOT
  sensitive   = true
}
