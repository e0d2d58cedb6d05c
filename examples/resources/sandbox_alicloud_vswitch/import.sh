# A vSwitch is imported by its ID.
terraform import sandbox_alicloud_vswitch.hosts vsw-bp1s5fnvk4gn2tws03624
