# The newest Ubuntu 24.04 image from Canonical in the provider's region.
data "sandbox_aws_ami" "ubuntu" {
  name_pattern = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"
  owners       = ["099720109477"]
  architecture = "x86_64"
  most_recent  = true
}

# An image by ID: AMI IDs are per region, so an ID of another region fails the plan with a message
# saying so (OSWorld's IMAGE_ID_MAP lists one ID per region).
data "sandbox_aws_ami" "osworld" {
  image_id = "ami-0d23263edb96951d8"
}
