# A security group is imported by its ID; the rules it has become ingress and egress. For a group
# made with a preset, set preset again and drop the preset's rules from ingress/egress: the next
# apply changes only the state, not the rules.
terraform import sandbox_aws_security_group.manager sg-0123456789abcdef0
