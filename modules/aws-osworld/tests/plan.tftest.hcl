# The module's logic, planned against a mocked provider (no cloud): which VPC and subnet, the .env text,
# the manager only with its inputs, and the validations' messages. `terraform test` in the module.

mock_provider "sandbox" {
  mock_data "sandbox_aws_vpc" {
    defaults = {
      id         = "vpc-0d3f5a7b9c1e2f4a6"
      cidr_block = "172.31.0.0/16"
    }
  }
  mock_data "sandbox_aws_ami" {
    defaults = {
      id     = "ami-0d23263edb96951d8"
      region = "us-east-1"
    }
  }
  mock_data "sandbox_aws_route53_zone" {
    defaults = {
      zone_id = "Z0123456789ABCDEFGHIJ"
    }
  }
  mock_resource "sandbox_aws_subnet" {
    defaults = {
      id = "subnet-0a1b2c3d4e5f60718"
    }
  }
  mock_resource "sandbox_aws_security_group" {
    defaults = {
      id = "sg-0a1b2c3d4e5f60718"
    }
  }
  mock_resource "sandbox_manager_deployment" {
    defaults = {
      e2b_domain            = "sbx.example.com"
      manager_endpoint      = "https://api.sbx.example.com"
      load_balancer_address = "a1b2c3.elb.us-east-1.amazonaws.com"
      dns_record_type       = "CNAME"
      manager_address       = "a1b2c3.elb.us-east-1.amazonaws.com:443"
      admin_key             = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    }
  }
  mock_resource "sandbox_api_key" {
    defaults = {
      key = "e2b_0123456789abcdef"
    }
  }
}

variables {
  region = "us-east-1"
}

run "default_vpc" {
  command = apply

  assert {
    condition     = length(sandbox_aws_vpc.this) == 0 && data.sandbox_aws_vpc.existing[0].default == true
    error_message = "Without vpc_id or vpc_cidr_block the module must read the default VPC and create none."
  }
  assert {
    condition     = sandbox_aws_subnet.this[0].cidr_block == "172.31.200.0/24"
    error_message = "The subnet must default to 172.31.200.0/24 in a default VPC."
  }
  assert {
    condition     = sandbox_aws_security_group.env.preset == "osworld-env" && sandbox_aws_security_group.env.name == "osworld-env"
    error_message = "The environment machines' group must be osworld-env with the osworld-env preset."
  }
  assert {
    condition     = sandbox_aws_security_group.host.name == "osworld-host" && length(sandbox_aws_security_group.host.ingress) == 1
    error_message = "The host's group must be osworld-host with SSH from anywhere."
  }
  assert {
    condition     = output.dotenv == "AWS_REGION=us-east-1\nAWS_SUBNET_ID=subnet-0a1b2c3d4e5f60718\nAWS_SECURITY_GROUP_ID=sg-0a1b2c3d4e5f60718\n# IMAGE_ID_MAP[\"us-east-1\"] = \"ami-0d23263edb96951d8\"\n# INSTANCE_TYPE = \"t3.medium\"\n# KEY_NAME = None\n"
    error_message = "Unexpected dotenv: ${output.dotenv}"
  }
  assert {
    condition     = output.image_id_map_entry == { "us-east-1" = "ami-0d23263edb96951d8" }
    error_message = "image_id_map_entry must be the region's entry."
  }
  assert {
    condition     = output.e2b_domain == null && length(sandbox_manager_deployment.this) == 0 && length(sandbox_pool.this) == 0
    error_message = "Without domain the module must deploy nothing of the E2B endpoint."
  }
}

run "new_vpc_and_key" {
  command = plan

  variables {
    vpc_cidr_block       = "10.20.0.0/20"
    key_name             = "osworld_key"
    host_ssh_cidr_blocks = []
  }

  assert {
    condition     = length(sandbox_aws_vpc.this) == 1 && length(data.sandbox_aws_vpc.existing) == 0
    error_message = "With vpc_cidr_block the module must create the VPC."
  }
  assert {
    condition     = sandbox_aws_subnet.this[0].cidr_block == "10.20.15.0/24"
    error_message = "In a /20 the subnet must default to its last /24, got ${sandbox_aws_subnet.this[0].cidr_block}."
  }
  assert {
    condition     = length(sandbox_aws_security_group.host.ingress) == 0
    error_message = "host_ssh_cidr_blocks = [] must open no SSH."
  }
  assert {
    condition     = output.key_name == "osworld_key"
    error_message = "key_name must be passed through."
  }
}

run "existing_subnet" {
  command = plan

  variables {
    subnet_id = "subnet-0123456789abcdef0"
  }

  assert {
    condition     = length(sandbox_aws_subnet.this) == 0 && output.aws_subnet_id == "subnet-0123456789abcdef0"
    error_message = "With subnet_id the module must create no subnet and use the one given."
  }
}

run "e2b_endpoint" {
  command = apply

  override_resource {
    target = sandbox_acme_certificate.this[0]
    values = {
      # tests/testdata/leaf.pem, ca.pem and leaf-key.pem (override values cannot call file()).
      certificate_pem = <<-EOT
        -----BEGIN CERTIFICATE-----
        MIIBrzCCAVSgAwIBAgIUNBB76YwlLXGHrOLQidIDtpLFKaUwCgYIKoZIzj0EAwIw
        GTEXMBUGA1UEAwwOTW9kdWxlIFRlc3QgQ0EwIBcNMjYxMjAzMTMzODMwWhgPMjEy
        NjExMDkxMzM4MzBaMBwxGjAYBgNVBAMMESouc2J4LmV4YW1wbGUuY29tMFkwEwYH
        KoZIzj0CAQYIKoZIzj0DAQcDQgAEUd+DbCeI4JUfrscpZMLwEeNKj7xtcF8NlcvA
        a4P1szvwIQ3CoCq8OLBKQIiDRxRTjDDZ8+JaPuc/UMJgA8AQFKN1MHMwHAYDVR0R
        BBUwE4IRKi5zYnguZXhhbXBsZS5jb20wEwYDVR0lBAwwCgYIKwYBBQUHAwEwHQYD
        VR0OBBYEFFUPHLbyb6/aYU27/Tg812MCZJVLMB8GA1UdIwQYMBaAFKIQcyKpkcnB
        aSa846lSyhgvxPbKMAoGCCqGSM49BAMCA0kAMEYCIQDvNITJn1Lh60f859Z7IWal
        l5WQaqY41Jlikkzd9QF0bQIhAMXK1bYZoUiqg0vIKQCqRc3NUp5BHl1pg3uNXP3l
        s/yu
        -----END CERTIFICATE-----
      EOT
      issuer_pem      = <<-EOT
        -----BEGIN CERTIFICATE-----
        MIIBmTCCAT+gAwIBAgIUeIhYHrA5a9YO8sNFEaKVWGmDKjowCgYIKoZIzj0EAwIw
        GTEXMBUGA1UEAwwOTW9kdWxlIFRlc3QgQ0EwIBcNMjYxMjAzMTMzODMwWhgPMjEy
        NjExMDkxMzM4MzBaMBkxFzAVBgNVBAMMDk1vZHVsZSBUZXN0IENBMFkwEwYHKoZI
        zj0CAQYIKoZIzj0DAQcDQgAEQ+2D1pkON4xxFHyT/goSEAy0c/fcgL/QCTWBEqp0
        t0Om2W+bxGAoxNSY5rytHp/2m1p9zNQPS6ZZZg1KELUHYqNjMGEwHQYDVR0OBBYE
        FKIQcyKpkcnBaSa846lSyhgvxPbKMB8GA1UdIwQYMBaAFKIQcyKpkcnBaSa846lS
        yhgvxPbKMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgIEMAoGCCqGSM49
        BAMCA0gAMEUCIFCyLB4rOCZ9tP3gCArz1MwhccwCdGavn3/pNglRyi77AiEAp2+K
        W3+gsmP/v/jkIY+No4SYyaKZ75+pMHbRvPRgMFs=
        -----END CERTIFICATE-----
      EOT
      private_key_pem = <<-EOT
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgoKvUnzAo4vKKb+oq
        2LUq4sTU8+aJjcBItGZd7H0+rM6hRANCAARR34NsJ4jglR+uxylkwvAR40qPvG1w
        Xw2Vy8Brg/WzO/AhDcKgKrw4sEpAiINHFFOMMNnz4lo+5z9QwmADwBAU
        -----END PRIVATE KEY-----
      EOT
    }
  }

  variables {
    domain            = "sbx.example.com"
    route53_zone_name = "example.com"
    kubeconfig        = "apiVersion: v1\nkind: Config\n"
    pool_sizes        = { code_interpreter = 2, browser = 1 }
  }

  assert {
    condition     = sandbox_acme_certificate.this[0].names == tolist(["*.sbx.example.com"])
    error_message = "The certificate must be for *.<domain>."
  }
  assert {
    condition     = sandbox_manager_deployment.this[0].tls_certificate == "${trimspace(file("tests/testdata/leaf.pem"))}\n${trimspace(file("tests/testdata/ca.pem"))}\n"
    error_message = "The manager must serve the certificate followed by its issuer."
  }
  assert {
    condition     = sandbox_aws_route53_record.wildcard[0].name == "*.sbx.example.com" && sandbox_aws_route53_record.wildcard[0].type == "CNAME" && sandbox_aws_route53_record.wildcard[0].records == toset(["a1b2c3.elb.us-east-1.amazonaws.com"])
    error_message = "The wildcard record must point at the load balancer with its record type."
  }
  assert {
    condition     = keys(sandbox_pool.this) == ["browser", "code-interpreter"] && sandbox_pool.this["code-interpreter"].size == 2
    error_message = "Pools of size 0 must not exist; the others must have their sizes."
  }
  assert {
    condition     = sandbox_pool.this["browser"].connect_address == "a1b2c3.elb.us-east-1.amazonaws.com:443" && sandbox_api_key.this[0].endpoint == "https://api.sbx.example.com"
    error_message = "Pools and the key must reach the manager at its endpoint through the load balancer."
  }
  assert {
    condition     = output.e2b_exports == "export E2B_DOMAIN=sbx.example.com\nexport E2B_API_KEY=e2b_0123456789abcdef\n"
    error_message = "Unexpected e2b_exports."
  }
}

run "own_certificate" {
  command = plan

  variables {
    domain            = "sbx.example.com"
    route53_zone_name = "example.com"
    kubeconfig        = "apiVersion: v1\nkind: Config\n"
    tls_certificate   = "${file("tests/testdata/leaf.pem")}${file("tests/testdata/ca.pem")}"
    tls_private_key   = file("tests/testdata/leaf-key.pem")
  }

  assert {
    condition     = length(sandbox_acme_certificate.this) == 0 && sandbox_manager_deployment.this[0].tls_certificate == "${file("tests/testdata/leaf.pem")}${file("tests/testdata/ca.pem")}"
    error_message = "A certificate given as input must replace ACME."
  }
}

run "region_mismatch" {
  command = plan

  override_data {
    target = data.sandbox_aws_ami.env
    values = {
      id     = "ami-0d23263edb96951d8"
      region = "eu-west-1"
    }
  }

  expect_failures = [data.sandbox_aws_ami.env]
}

run "vpc_id_and_cidr" {
  command = plan

  variables {
    vpc_id         = "vpc-0123456789abcdef0"
    vpc_cidr_block = "10.0.0.0/16"
  }

  expect_failures = [var.vpc_cidr_block]
}

run "no_image_for_region" {
  command = plan

  variables {
    region = "eu-central-1"
  }

  expect_failures = [var.image_ids]
}

run "domain_without_cluster" {
  command = plan

  variables {
    domain            = "sbx.example.com"
    route53_zone_name = "example.com"
  }

  expect_failures = [var.kubeconfig]
}

run "domain_outside_zone" {
  command = plan

  variables {
    domain            = "sbx.example.org"
    route53_zone_name = "example.com"
    kubeconfig        = "apiVersion: v1\nkind: Config\n"
  }

  expect_failures = [var.route53_zone_name]
}

run "certificate_without_key" {
  command = plan

  variables {
    domain            = "sbx.example.com"
    route53_zone_name = "example.com"
    kubeconfig        = "apiVersion: v1\nkind: Config\n"
    tls_certificate   = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
  }

  expect_failures = [var.tls_private_key]
}
