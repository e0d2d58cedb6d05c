# A security group is imported by its ID; rules made by a preset are told apart when the preset is named first.
terraform import sandbox_alicloud_security_group.workers sg-bp1fg655nh68xyz9i4jb
terraform import sandbox_alicloud_security_group.osworld osworld-env/sg-bp1fg655nh68xyz9i4jc
