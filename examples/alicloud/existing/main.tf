# Stands in for a VPC made outside this project (the console, another team's Terraform): ../main.tf adopts it.

terraform {
  required_providers {
    sandbox = {
      source = "sandboxstack/sandbox"
    }
  }
}

provider "sandbox" {}

resource "sandbox_alicloud_vpc" "shared" {
  cidr_block  = "10.30.0.0/16"
  name        = "shared-vpc"
  description = "made outside the sandbox configuration"
}
