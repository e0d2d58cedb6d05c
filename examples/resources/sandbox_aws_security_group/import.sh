# A security group is imported by its ID; its rules become ingress and egress.
terraform import sandbox_aws_security_group.manager sg-0123456789abcdef0
