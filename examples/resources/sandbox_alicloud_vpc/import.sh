# A VPC is imported by its ID.
terraform import sandbox_alicloud_vpc.existing vpc-bp1qpo0kug3a20qqe4l1c
