package pool

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/client"
)

// Bounds of a pool's resources, as the manager checks them.
const (
	MinCPUMillis = 100
	MaxCPUMillis = 64_000
	MinMemoryMB  = 64
	MaxMemoryMB  = 256 * 1024
)

var resourcesAttrTypes = map[string]attr.Type{
	"cpu_millis": types.Int64Type,
	"memory_mb":  types.Int64Type,
}

// resourcesValue is the manager's answer as the resources attribute. The manager stores 0 for "the
// template's", which is an unset attribute; with neither set the whole block is unset, so a pool
// configured without resources, or imported, reads back as configured.
func resourcesValue(r client.Resources) types.Object {
	if r.CPUMillis == 0 && r.MemoryMB == 0 {
		return types.ObjectNull(resourcesAttrTypes)
	}
	return types.ObjectValueMust(resourcesAttrTypes, map[string]attr.Value{
		"cpu_millis": optionalInt64(r.CPUMillis),
		"memory_mb":  optionalInt64(r.MemoryMB),
	})
}

func optionalInt64(v int64) types.Int64 {
	if v == 0 {
		return types.Int64Null()
	}
	return types.Int64Value(v)
}

// int64Attr reads an Int64 attribute of an object; unset is 0.
func int64Attr(v attr.Value) int64 {
	if i, ok := v.(types.Int64); ok && !i.IsNull() && !i.IsUnknown() {
		return i.ValueInt64()
	}
	return 0
}

// resourcesNotEmpty rejects `resources = {}`: the manager would store nothing, and the next refresh
// would show the block as removed.
type resourcesNotEmpty struct{}

func (resourcesNotEmpty) Description(context.Context) string {
	return "sets cpu_millis, memory_mb or both"
}

func (v resourcesNotEmpty) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (resourcesNotEmpty) ValidateObject(_ context.Context, req validator.ObjectRequest, resp *validator.ObjectResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	for _, a := range req.ConfigValue.Attributes() {
		if !a.IsNull() {
			return
		}
	}
	resp.Diagnostics.AddAttributeError(req.Path, "Empty Sandbox Pool Resources",
		"resources sets neither cpu_millis nor memory_mb. Set at least one of them, or remove the resources attribute "+
			"to keep the template's resources.")
}
