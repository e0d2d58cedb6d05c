terraform {
  # 1.9: validations that refer to other variables; 1.11: the manager's write-only private key.
  required_version = ">= 1.11"

  required_providers {
    sandbox = {
      source = "sandboxstack/sandbox"
    }
  }
}
