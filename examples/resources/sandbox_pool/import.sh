# A pool on the provider's manager, by name:
terraform import sandbox_pool.code code-interpreter

# A pool on another manager: <endpoint>|<name> (the admin key comes from the configuration or SANDBOX_ADMIN_KEY).
# The ID carries no connect_address or ca_certificate: for a manager that needs them, set them with the
# same endpoint in the provider's manager block while importing.
terraform import sandbox_pool.base 'https://api.sandbox.example.com|base'
