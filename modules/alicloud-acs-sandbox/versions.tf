terraform {
  # 1.9: validations that refer to other variables; 1.11: the write-only private keys of the manager and
  # the CAS upload.
  required_version = ">= 1.11"

  required_providers {
    sandbox = {
      source = "sandboxstack/sandbox"
    }
  }
}
