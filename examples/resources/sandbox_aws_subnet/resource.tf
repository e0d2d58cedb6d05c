resource "sandbox_aws_vpc" "sandboxes" {
  cidr_block = "10.20.0.0/16"
}

resource "sandbox_aws_subnet" "hosts" {
  vpc_id                  = sandbox_aws_vpc.sandboxes.id
  cidr_block              = "10.20.1.0/24"
  availability_zone       = "eu-west-1a"
  map_public_ip_on_launch = true

  tags = {
    Name = "sandbox-hosts"
  }

  timeouts {
    delete = "30m" # lingering network interfaces can take a while to go
  }
}
