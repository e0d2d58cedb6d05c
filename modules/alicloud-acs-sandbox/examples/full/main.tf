# Every input: an existing VPC, two zones, Let's Encrypt staging (and its roots trusted), pools of all
# three templates, three manager replicas behind a load balancer open to one network only.

terraform {
  required_providers {
    sandbox = {
      source = "sandboxstack/sandbox"
    }
  }
}

variable "staging_roots" {
  type        = string
  description = "PEM roots of Let's Encrypt staging (its (STAGING) Pretend Pear X1 and Bogus Broccoli X2), for Terraform to trust the manager's staging certificate."
}

provider "sandbox" {
  alicloud {
    region = "cn-shanghai"
  }
}

module "sandbox" {
  source = "../.."

  name               = "agents"
  region             = "cn-shanghai"
  vpc_id             = "vpc-uf6f7l4fg90oxnh2hs4bp"
  vswitches          = [{ zone_id = "cn-shanghai-l", cidr_block = "172.16.64.0/20" }, { zone_id = "cn-shanghai-m", cidr_block = "172.16.80.0/20" }]
  service_cidr       = "192.168.0.0/20"
  kubernetes_version = "1.33.3-aliyun.1"
  tags               = { team = "agents" }

  domain     = "e2b.agents.example.com"
  dns_domain = "example.com"
  dns_ttl    = 600

  acme_email         = "ops@example.com"
  acme_directory_url = "https://acme-staging-v02.api.letsencrypt.org/directory"
  ca_certificate     = var.staging_roots

  manager_replicas            = 3
  manager_allowed_cidr_blocks = ["203.0.113.0/24"]
  manager_service_annotations = {
    "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-spec" = "slb.s2.small"
  }

  pool_sizes     = { code_interpreter = 4, desktop = 1, browser = 2 }
  wait_for_pools = true
  api_key_name   = "agents"
}

output "exports" {
  value     = module.sandbox.exports
  sensitive = true
}

# terraform output -raw kubeconfig > kubeconfig && KUBECONFIG=$PWD/kubeconfig kubectl -n sandbox-system get pods
output "kubeconfig" {
  value     = module.sandbox.kubeconfig
  sensitive = true
}

output "cas_certificate_id" {
  value = module.sandbox.cas_certificate_id
}
