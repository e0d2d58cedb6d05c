# The module's logic, planned and applied against a mocked provider (no cloud): the VPC read or created,
# the wildcard record, the certificate chain for the manager and for CAS, pools, the export lines, and the
# validations' messages. `terraform test` in the module.

mock_provider "sandbox" {
  mock_data "sandbox_alicloud_vpc" {
    defaults = {
      id         = "vpc-bp1qpo0kug3a20qqe4l1c"
      cidr_block = "172.16.0.0/12"
    }
  }
  mock_resource "sandbox_alicloud_vpc" {
    defaults = {
      id = "vpc-bp1newvpc0000000000000"
    }
  }
  mock_resource "sandbox_alicloud_security_group" {
    defaults = {
      id = "sg-bp1securitygroup0000000"
    }
  }
  mock_resource "sandbox_alicloud_acs_cluster" {
    defaults = {
      id         = "c8155823d057948c69a1f8c3b4dd8a5d2"
      kubeconfig = "apiVersion: v1\nkind: Config\n"
    }
  }
  mock_resource "sandbox_acme_certificate" {
    # tests/testdata/leaf.pem, ca.pem and leaf-key.pem (mock values cannot call file()).
    defaults = {
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
  mock_resource "sandbox_manager_deployment" {
    defaults = {
      e2b_domain            = "sbx.example.com"
      manager_endpoint      = "https://api.sbx.example.com"
      load_balancer_address = "47.96.0.10"
      dns_record_type       = "A"
      manager_address       = "47.96.0.10:443"
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
  region         = "cn-hangzhou"
  vpc_cidr_block = "10.0.0.0/16"
  vswitches      = [{ zone_id = "cn-hangzhou-h", cidr_block = "10.0.1.0/24" }, { zone_id = "cn-hangzhou-i", cidr_block = "10.0.2.0/24" }]
  domain         = "sbx.example.com"
  dns_domain     = "example.com"
  acme_email     = "ops@example.com"
}

run "new_vpc" {
  command = apply

  override_resource {
    target = sandbox_alicloud_vswitch.this["10.0.1.0/24"]
    values = {
      id = "vsw-bp1vswitchh0000000000"
    }
  }
  override_resource {
    target = sandbox_alicloud_vswitch.this["10.0.2.0/24"]
    values = {
      id = "vsw-bp1vswitchi0000000000"
    }
  }

  assert {
    condition     = length(sandbox_alicloud_vpc.this) == 1 && length(data.sandbox_alicloud_vpc.existing) == 0 && sandbox_alicloud_vpc.this[0].cidr_block == "10.0.0.0/16"
    error_message = "With vpc_cidr_block the module must create the VPC."
  }
  assert {
    condition     = sandbox_alicloud_acs_cluster.this.vswitch_ids == tolist(["vsw-bp1vswitchh0000000000", "vsw-bp1vswitchi0000000000"])
    error_message = "The cluster must use the vSwitches in the order given."
  }
  assert {
    condition     = sandbox_alicloud_security_group.this.preset == "sandbox-manager"
    error_message = "The security group must open HTTPS and HTTP (the sandbox-manager preset)."
  }
  assert {
    condition     = sandbox_acme_certificate.this[0].names == tolist(["*.sbx.example.com"]) && sandbox_acme_certificate.this[0].dns_challenge.alidns.domain == "example.com"
    error_message = "The certificate must be *.<domain>, validated in the Alidns domain."
  }
  assert {
    condition     = sandbox_manager_deployment.this.tls_certificate == "${trimspace(file("tests/testdata/leaf.pem"))}\n${trimspace(file("tests/testdata/ca.pem"))}\n"
    error_message = "The manager must serve the certificate followed by its issuer."
  }
  assert {
    condition     = sandbox_manager_deployment.this.kubeconfig == sandbox_alicloud_acs_cluster.this.kubeconfig && sandbox_manager_deployment.this.replicas == 2
    error_message = "The manager must go into the ACS cluster with two replicas."
  }
  assert {
    condition     = sandbox_alicloud_cas_certificate.this.certificate_pem == file("tests/testdata/leaf.pem") && sandbox_alicloud_cas_certificate.this.certificate_chain_pem == file("tests/testdata/ca.pem")
    error_message = "CAS must get the certificate and its chain apart."
  }
  assert {
    condition     = sandbox_alicloud_dns_record.wildcard.rr == "*.sbx" && sandbox_alicloud_dns_record.wildcard.type == "A" && sandbox_alicloud_dns_record.wildcard.value == "47.96.0.10"
    error_message = "*.sbx must point at the load balancer's IP."
  }
  assert {
    condition     = keys(sandbox_pool.this) == ["code-interpreter"] && sandbox_pool.this["code-interpreter"].connect_address == "47.96.0.10:443"
    error_message = "By default one code-interpreter pool, reached through the load balancer."
  }
  assert {
    condition     = output.exports == "export E2B_DOMAIN=sbx.example.com\nexport E2B_API_KEY=e2b_0123456789abcdef\n"
    error_message = "Unexpected exports."
  }
}

run "existing_vpc_apex_domain_own_certificate" {
  command = plan

  variables {
    vpc_id          = "vpc-bp1qpo0kug3a20qqe4l1c"
    vpc_cidr_block  = null
    domain          = "example.com"
    tls_certificate = "${file("tests/testdata/leaf.pem")}${file("tests/testdata/ca.pem")}"
    tls_private_key = file("tests/testdata/leaf-key.pem")
    pool_sizes      = { code_interpreter = 0, desktop = 2, browser = 3 }
  }

  assert {
    condition     = length(sandbox_alicloud_vpc.this) == 0 && sandbox_alicloud_vswitch.this["10.0.1.0/24"].vpc_id == "vpc-bp1qpo0kug3a20qqe4l1c"
    error_message = "With vpc_id the module must read the VPC and create none."
  }
  assert {
    condition     = sandbox_alicloud_dns_record.wildcard.rr == "*"
    error_message = "For the Alidns domain itself the wildcard's host record is *."
  }
  assert {
    condition     = length(sandbox_acme_certificate.this) == 0 && sandbox_alicloud_cas_certificate.this.certificate_pem == chomp(file("tests/testdata/leaf.pem")) && sandbox_alicloud_cas_certificate.this.certificate_chain_pem == chomp(file("tests/testdata/ca.pem"))
    error_message = "A certificate given as input must replace ACME, split into certificate and chain for CAS."
  }
  assert {
    condition     = keys(sandbox_pool.this) == ["browser", "desktop"] && sandbox_pool.this["browser"].size == 3
    error_message = "Pools of size 0 must not exist; the others must have their sizes."
  }
}

run "neither_vpc_id_nor_cidr" {
  command = plan

  variables {
    vpc_cidr_block = null
  }

  expect_failures = [var.vpc_cidr_block]
}

run "zone_of_another_region" {
  command = plan

  variables {
    vswitches = [{ zone_id = "cn-shanghai-l", cidr_block = "10.0.1.0/24" }]
  }

  expect_failures = [var.vswitches]
}

run "domain_outside_dns_domain" {
  command = plan

  variables {
    domain = "sbx.example.org"
  }

  expect_failures = [var.dns_domain]
}

run "key_without_certificate" {
  command = plan

  variables {
    tls_private_key = "-----BEGIN PRIVATE KEY-----\nMIG\n-----END PRIVATE KEY-----\n"
  }

  expect_failures = [var.tls_private_key]
}

run "pool_too_large" {
  command = plan

  variables {
    pool_sizes = { desktop = 101 }
  }

  expect_failures = [var.pool_sizes]
}
