# A CAS certificate is imported by its CertId. The private key cannot be read back and is not needed:
# private_key_wo is write-only, so the configuration may keep it without a plan diff.
terraform import sandbox_alicloud_cas_certificate.sandboxes 12345678
