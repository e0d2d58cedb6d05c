data "sandbox_templates" "all" {}

# Names of the templates this manager can run now.
output "available_templates" {
  value = data.sandbox_templates.all.available
}

# Why the others cannot run (for example a missing host program on the local runtime).
output "unavailable_templates" {
  value = { for t in data.sandbox_templates.all.templates : t.name => t.reason if !t.available }
}
