# OSWorld's guideline in the region's default VPC: a subnet, the osworld-env and osworld-host security
# groups, the region's OSWorld image, and the .env lines.

terraform {
  required_providers {
    sandbox = {
      source = "sandboxstack/sandbox"
    }
  }
}

# Credentials from the standard AWS chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...); AWS_REGION=us-east-1.
provider "sandbox" {}

module "osworld" {
  source = "../.."

  region = "us-east-1"
}

# terraform output -raw dotenv >> /path/to/OSWorld/.env
output "dotenv" {
  value = module.osworld.dotenv
}
