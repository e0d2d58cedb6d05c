resource "sandbox_api_key" "agents" {
  name = "agents"
}

# Hand the key to whatever runs the E2B SDK, for example as E2B_API_KEY.
output "e2b_api_key" {
  value     = sandbox_api_key.agents.key
  sensitive = true
}
