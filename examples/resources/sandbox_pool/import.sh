# A pool on the provider's manager, by name:
terraform import sandbox_pool.code code-interpreter

# A pool on another manager: <endpoint>|<name> (the admin key comes from the configuration or SANDBOX_ADMIN_KEY).
terraform import sandbox_pool.base 'https://sandbox.example.com|base'
