# A record set is imported by <zone_id>_<name>_<type>; wildcard names are written with '*'.
terraform import sandbox_aws_route53_record.sandboxes 'Z0123456789ABCDEFGHIJ_*.sbx.example.com_A'
