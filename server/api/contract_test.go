package api

import "github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"

// The real manager must satisfy the interface the control plane is written against.
var _ Sandboxes = (*sandbox.Manager)(nil)
