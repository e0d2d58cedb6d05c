# --- OSWorld's configuration ---------------------------------------------------------------------------

output "aws_region" {
  description = "AWS_REGION of OSWorld's .env."
  value       = data.sandbox_aws_ami.env.region
}

output "aws_subnet_id" {
  description = "AWS_SUBNET_ID of OSWorld's .env: the subnet of the environment machines."
  value       = local.subnet_id
}

output "aws_security_group_id" {
  description = "AWS_SECURITY_GROUP_ID of OSWorld's .env: the osworld-env security group."
  value       = sandbox_aws_security_group.env.id
}

output "image_id_map_entry" {
  description = "The region's entry of OSWorld's IMAGE_ID_MAP (desktop_env/providers/aws/manager.py): { region = AMI ID }."
  value       = { (data.sandbox_aws_ami.env.region) = data.sandbox_aws_ami.env.id }
}

output "instance_type" {
  description = "OSWorld's INSTANCE_TYPE (desktop_env/providers/aws/manager.py)."
  value       = var.instance_type
}

output "key_name" {
  description = "OSWorld's KEY_NAME: the EC2 key pair of the environment machines (null: none)."
  value       = var.key_name
}

output "dotenv" {
  description = "OSWorld's .env: the three variables it reads, then the settings its desktop_env/providers/aws/manager.py holds as constants, as comments. terraform output -raw dotenv >> .env"
  value       = <<-EOT
    AWS_REGION=${data.sandbox_aws_ami.env.region}
    AWS_SUBNET_ID=${local.subnet_id}
    AWS_SECURITY_GROUP_ID=${sandbox_aws_security_group.env.id}
    # IMAGE_ID_MAP["${data.sandbox_aws_ami.env.region}"] = "${data.sandbox_aws_ami.env.id}"
    # INSTANCE_TYPE = "${var.instance_type}"
    # KEY_NAME = ${var.key_name == null ? "None" : "\"${var.key_name}\""}
  EOT
}

output "host_security_group_id" {
  description = "ID of the osworld-host security group, for the host machine that runs OSWorld."
  value       = sandbox_aws_security_group.host.id
}

output "vpc_id" {
  description = "ID of the VPC (the default one, the existing one, or the one created)."
  value       = local.vpc_id
}

# --- The E2B endpoint (null unless the manager is deployed) ---------------------------------------------

output "e2b_domain" {
  description = "E2B_DOMAIN, when the manager is deployed."
  value       = local.manager ? sandbox_manager_deployment.this[0].e2b_domain : null
}

output "e2b_api_key" {
  description = "E2B_API_KEY, when the manager is deployed: the API key the module created (e2b_…)."
  value       = local.manager ? sandbox_api_key.this[0].key : null
  sensitive   = true
}

output "e2b_exports" {
  description = "Shell lines to paste before running an E2B program (export E2B_DOMAIN=…, export E2B_API_KEY=…), when the manager is deployed. Print with terraform output -raw e2b_exports."
  value       = local.manager ? "export E2B_DOMAIN=${sandbox_manager_deployment.this[0].e2b_domain}\nexport E2B_API_KEY=${sandbox_api_key.this[0].key}\n" : null
  sensitive   = true
}

output "api_url" {
  description = "The manager's API URL (https://api.<domain>), when it is deployed."
  value       = local.manager ? sandbox_manager_deployment.this[0].api_url : null
}

output "admin_key" {
  description = "The manager's admin key, when it is deployed, for sandbox_pool and sandbox_api_key resources of other configurations."
  value       = local.manager ? sandbox_manager_deployment.this[0].admin_key : null
  sensitive   = true
}

output "load_balancer_address" {
  description = "Host name or IP address of the manager's load balancer, where *.<domain> points, when it is deployed."
  value       = local.manager ? sandbox_manager_deployment.this[0].load_balancer_address : null
}

output "manager_address" {
  description = "host:port of the manager's load balancer, for the connect_address of sandbox_pool and sandbox_api_key resources elsewhere, when it is deployed."
  value       = local.manager ? sandbox_manager_deployment.this[0].manager_address : null
}
