# A VPC is imported by its ID.
terraform import sandbox_aws_vpc.existing vpc-0123456789abcdef0
