# The public zone of a domain.
data "sandbox_aws_route53_zone" "main" {
  name = "example.com"
}

# A private zone of the same name (associated with VPCs).
data "sandbox_aws_route53_zone" "internal" {
  name         = "example.com"
  private_zone = true
}

output "delegate_to" {
  value = data.sandbox_aws_route53_zone.main.name_servers
}
