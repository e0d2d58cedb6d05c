# The AWS settings come from the provider's aws block, else the standard AWS chain
# (AWS_REGION, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ...). The Alibaba Cloud settings
# come from its alicloud block, else ALIBABA_CLOUD_REGION, ALIBABA_CLOUD_ACCESS_KEY_ID and
# ALIBABA_CLOUD_ACCESS_KEY_SECRET. A configuration needs only the block of the DNS service it uses.
provider "sandbox" {
  aws {
    region = "eu-west-1"
  }
  alicloud {
    region = "cn-hangzhou"
  }
}

# A wildcard certificate for sandbox hosts (3000-abc123.sbx.example.com) and the base name, from
# Let's Encrypt, validated through the Route 53 hosted zone of sbx.example.com. The account key is
# generated and kept in the state (sensitive).
resource "sandbox_acme_certificate" "sandboxes" {
  # Try a configuration out against staging first: production has strict rate limits.
  directory_url = "https://acme-staging-v02.api.letsencrypt.org/directory"
  account_email = "ops@example.com"
  names         = ["*.sbx.example.com", "sbx.example.com"]
  key_type      = "P256"

  # Renewed in place by the first apply after fewer than 30 days are left.
  min_days_remaining = 30

  dns_challenge {
    route53 {
      hosted_zone_id = "Z0123456789ABCDEFGHIJ"
    }
  }
}

# The same through Alibaba Cloud DNS: the challenge records go into the Alidns domain example.cn (the
# names must be inside it, and its NS records must point at Alibaba Cloud DNS). A wildcard and its base
# name get one TXT record each at _acme-challenge.sbx.example.cn; the provider deletes only its own.
resource "sandbox_acme_certificate" "sandboxes_cn" {
  directory_url = "https://acme-staging-v02.api.letsencrypt.org/directory"
  account_email = "ops@example.com"
  names         = ["*.sbx.example.cn", "sbx.example.cn"]

  dns_challenge {
    alidns {
      domain = "example.cn"
    }
  }
}

# Serve the certificate followed by its chain, with its key.
output "fullchain_pem" {
  value = "${sandbox_acme_certificate.sandboxes.certificate_pem}${sandbox_acme_certificate.sandboxes.issuer_pem}"
}

output "certificate_expires" {
  value = sandbox_acme_certificate.sandboxes.certificate_not_after
}
