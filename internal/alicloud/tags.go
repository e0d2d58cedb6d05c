package alicloud

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Alibaba Cloud limits on tags.
const (
	maxTags           = 20
	maxTagKeyLength   = 128
	maxTagValueLength = 128
)

func tagsAttribute(what string) schema.MapAttribute {
	return schema.MapAttribute{
		Optional:    true,
		ElementType: types.StringType,
		MarkdownDescription: "Tags of the " + what + ", at most 20; keys and values up to 128 characters. Keys starting " +
			"with `aliyun` or `acs:` are reserved by Alibaba Cloud. Changed in place.",
		Validators: []validator.Map{
			mapvalidator.SizeAtMost(maxTags),
			mapvalidator.KeysAre(stringvalidator.LengthBetween(1, maxTagKeyLength), notReservedTagKey{}),
			mapvalidator.ValueStringsAre(stringvalidator.LengthAtMost(maxTagValueLength)),
		},
	}
}

// sortedKeys are m's keys in order, so requests are deterministic.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// tagsValue is the API's tags as the attribute: null when there are none and the prior value was
// null, so an untagged object configured without tags shows no diff.
func tagsValue(tags map[string]string, prior types.Map) types.Map {
	if len(tags) == 0 && (prior.IsNull() || prior.IsUnknown()) {
		return types.MapNull(types.StringType)
	}
	v, _ := types.MapValueFrom(context.Background(), types.StringType, tags)
	return v
}

// tagsFrom reads the attribute (null is no tags).
func tagsFrom(ctx context.Context, v types.Map, diags *diag.Diagnostics) map[string]string {
	m := map[string]string{}
	if v.IsNull() || v.IsUnknown() {
		return m
	}
	diags.Append(v.ElementsAs(ctx, &m, false)...)
	return m
}

// tagDiff is what changes from old to new tags: keys to remove, and pairs to set.
func tagDiff(old, new map[string]string) (remove []string, set map[string]string) {
	set = map[string]string{}
	for _, k := range sortedKeys(old) {
		if _, ok := new[k]; !ok {
			remove = append(remove, k)
		}
	}
	for k, v := range new {
		if ov, ok := old[k]; !ok || ov != v {
			set[k] = v
		}
	}
	return remove, set
}

// updateVPCTags changes the tags of a VPC-product resource (resourceType VPC or VSWITCH).
func updateVPCTags(ctx context.Context, c *Conns, resourceType, id string, old, new map[string]string) error {
	remove, set := tagDiff(old, new)
	if len(remove) > 0 {
		req := vpc.CreateUnTagResourcesRequest()
		c.rpc("vpc", req.RpcRequest)
		req.ResourceType, req.ResourceId, req.TagKey = resourceType, &[]string{id}, &remove
		if _, err := call(ctx, c, func() (*vpc.UnTagResourcesResponse, error) { return c.VPC.UnTagResources(req) }); err != nil {
			return fmt.Errorf("removing tags %s: %w", strings.Join(remove, ", "), err)
		}
	}
	if len(set) > 0 {
		var tags []vpc.TagResourcesTag
		for _, k := range sortedKeys(set) {
			tags = append(tags, vpc.TagResourcesTag{Key: k, Value: set[k]})
		}
		req := vpc.CreateTagResourcesRequest()
		c.rpc("vpc", req.RpcRequest)
		req.ResourceType, req.ResourceId, req.Tag = resourceType, &[]string{id}, &tags
		if _, err := call(ctx, c, func() (*vpc.TagResourcesResponse, error) { return c.VPC.TagResources(req) }); err != nil {
			return fmt.Errorf("setting tags: %w", err)
		}
	}
	return nil
}

// updateECSTags changes the tags of an ECS resource (resourceType securitygroup).
func updateECSTags(ctx context.Context, c *Conns, resourceType, id string, old, new map[string]string) error {
	remove, set := tagDiff(old, new)
	if len(remove) > 0 {
		req := ecs.CreateUntagResourcesRequest()
		c.rpc("ecs", req.RpcRequest)
		req.ResourceType, req.ResourceId, req.TagKey = resourceType, &[]string{id}, &remove
		if _, err := call(ctx, c, func() (*ecs.UntagResourcesResponse, error) { return c.ECS.UntagResources(req) }); err != nil {
			return fmt.Errorf("removing tags %s: %w", strings.Join(remove, ", "), err)
		}
	}
	if len(set) > 0 {
		var tags []ecs.TagResourcesTag
		for _, k := range sortedKeys(set) {
			tags = append(tags, ecs.TagResourcesTag{Key: k, Value: set[k]})
		}
		req := ecs.CreateTagResourcesRequest()
		c.rpc("ecs", req.RpcRequest)
		req.ResourceType, req.ResourceId, req.Tag = resourceType, &[]string{id}, &tags
		if _, err := call(ctx, c, func() (*ecs.TagResourcesResponse, error) { return c.ECS.TagResources(req) }); err != nil {
			return fmt.Errorf("setting tags: %w", err)
		}
	}
	return nil
}

// notReservedTagKey rejects keys Alibaba Cloud reserves.
type notReservedTagKey struct{}

func (notReservedTagKey) Description(context.Context) string {
	return "tag keys must not start with aliyun or acs: (reserved by Alibaba Cloud)"
}

func (v notReservedTagKey) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (notReservedTagKey) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	k := strings.ToLower(req.ConfigValue.ValueString())
	if strings.HasPrefix(k, "aliyun") || strings.HasPrefix(k, "acs:") {
		resp.Diagnostics.AddAttributeError(req.Path, "Reserved Tag Key",
			fmt.Sprintf("The tag key %q starts with aliyun or acs:, which Alibaba Cloud reserves. Use another key.", req.ConfigValue.ValueString()))
	}
}
