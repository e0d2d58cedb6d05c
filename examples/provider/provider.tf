# Every block is optional.
provider "sandbox" {
  # Without the manager block the provider reads SANDBOX_ENDPOINT and SANDBOX_ADMIN_KEY.
  manager {
    endpoint  = "http://127.0.0.1:3000" # `make run` listens here
    admin_key = var.sandbox_admin_key   # the SANDBOX_ADMIN_KEY the manager was started with
  }

  # Without the aws block (or for what it leaves out) the standard AWS chain applies: AWS_REGION,
  # AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws/config, AWS_ENDPOINT_URL_*.
  aws {
    region  = "eu-west-1"
    profile = "sandbox"
  }

  # Without the alicloud block (or for what it leaves out) the provider reads ALIBABA_CLOUD_REGION,
  # ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET and ALIBABA_CLOUD_ENDPOINT_<PRODUCT>.
  alicloud {
    region = "cn-hangzhou"
    # endpoints { vpc = "https://vpc-vpc.cn-hangzhou.aliyuncs.com" } # a VPC endpoint, a proxy, or a local fake
  }
}

variable "sandbox_admin_key" {
  type      = string
  sensitive = true
}
