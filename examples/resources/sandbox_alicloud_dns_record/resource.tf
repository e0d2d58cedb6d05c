# Every sandbox host name under sbx.example.com points at the sandbox gateway.
resource "sandbox_alicloud_dns_record" "sandboxes" {
  domain_name = "example.com"
  rr          = "*.sbx"
  type        = "A"
  value       = "203.0.113.10"
  ttl         = 600
}

# A TXT record; several with the same name may coexist.
resource "sandbox_alicloud_dns_record" "verification" {
  domain_name = "example.com"
  rr          = "_verify.sbx"
  type        = "TXT"
  value       = "sandboxstack-site-verification=abc123"
}
