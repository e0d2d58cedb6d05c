# The ID is the manager's namespace; the import reads the cluster through the KUBECONFIG file.
KUBECONFIG=~/.kube/config terraform import sandbox_manager_deployment.this sandbox-system
