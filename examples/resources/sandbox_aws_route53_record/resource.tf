data "sandbox_aws_route53_zone" "main" {
  name = "example.com"
}

# Every sandbox host name under sbx.example.com points at the sandbox manager's load balancer.
resource "sandbox_aws_route53_record" "sandboxes" {
  zone_id = data.sandbox_aws_route53_zone.main.zone_id
  name    = "*.sbx.example.com"
  type    = "A"

  alias = {
    name                   = "sbx-alb-1234567890.us-east-1.elb.amazonaws.com"
    zone_id                = "Z35SXDOTRQ7X7K" # the load balancer's canonical hosted zone ID
    evaluate_target_health = true
  }
}

# Plain values with a TTL; TXT values are written without quotes.
resource "sandbox_aws_route53_record" "manager" {
  zone_id = data.sandbox_aws_route53_zone.main.zone_id
  name    = "sbx.example.com"
  type    = "A"
  ttl     = 300
  records = ["203.0.113.10"]
}

resource "sandbox_aws_route53_record" "verification" {
  zone_id = data.sandbox_aws_route53_zone.main.zone_id
  name    = "sbx.example.com"
  type    = "TXT"
  ttl     = 300
  records = ["sandboxstack-verification=0123456789abcdef"]
}
