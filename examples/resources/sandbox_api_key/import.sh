# By ID (GET /admin/keys lists them). The secret cannot be imported: key stays null.
terraform import sandbox_api_key.agents 3f2a9c1b7d4e

# On another manager than the provider's: <endpoint>|<id>
terraform import sandbox_api_key.agents 'https://sandbox.example.com|3f2a9c1b7d4e'
