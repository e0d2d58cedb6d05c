# A subnet is imported by its ID.
terraform import sandbox_aws_subnet.hosts subnet-0123456789abcdef0
