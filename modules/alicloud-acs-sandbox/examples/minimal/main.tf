# The least the module needs: a new VPC with one vSwitch, and the domain whose Alidns zone takes the
# wildcard record and the ACME challenges (Let's Encrypt production).

terraform {
  required_providers {
    sandbox = {
      source = "sandboxstack/sandbox"
    }
  }
}

# Region and AccessKey from ALIBABA_CLOUD_REGION, ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET.
provider "sandbox" {}

module "sandbox" {
  source = "../.."

  region         = "cn-hangzhou"
  vpc_cidr_block = "10.0.0.0/16"
  vswitches      = [{ zone_id = "cn-hangzhou-h", cidr_block = "10.0.1.0/24" }]
  domain         = "sbx.example.com"
  dns_domain     = "example.com"
  acme_email     = "ops@example.com"
}

# eval "$(terraform output -raw exports)"
output "exports" {
  value     = module.sandbox.exports
  sensitive = true
}
