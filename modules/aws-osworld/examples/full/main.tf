# A VPC of its own, an explicit subnet, an SSH key, and the E2B endpoint beside OSWorld: the sandbox
# manager deployed into an existing cluster, its wildcard certificate through Route 53, *.<domain> and pools.

terraform {
  required_providers {
    sandbox = {
      source = "sandboxstack/sandbox"
    }
  }
}

variable "kubeconfig" {
  type        = string
  description = "Kubeconfig of the cluster the manager goes into (for EKS: aws eks update-kubeconfig, then kubectl config view --raw --minify)."
  sensitive   = true
}

provider "sandbox" {
  aws {
    region = "us-east-1"
  }
}

module "osworld" {
  source = "../.."

  name                 = "osworld"
  region               = "us-east-1"
  vpc_cidr_block       = "10.20.0.0/16"
  subnet_cidr_block    = "10.20.1.0/24"
  availability_zone    = "us-east-1a"
  image_ids            = { "us-east-1" = "ami-0d23263edb96951d8" }
  instance_type        = "t3.medium"
  key_name             = "osworld_key"
  host_ssh_cidr_blocks = ["203.0.113.0/24"]
  tags                 = { project = "osworld" }

  domain            = "sbx.example.com"
  route53_zone_name = "example.com"
  kubeconfig        = var.kubeconfig
  acme_email        = "ops@example.com"

  manager_replicas = 2
  manager_service_annotations = {
    "service.beta.kubernetes.io/aws-load-balancer-type" = "nlb"
  }
  pool_sizes   = { code_interpreter = 2, desktop = 2, browser = 1 }
  api_key_name = "osworld"
}

output "dotenv" {
  value = module.osworld.dotenv
}

# eval "$(terraform output -raw e2b_exports)"
output "e2b_exports" {
  value     = module.osworld.e2b_exports
  sensitive = true
}
