package aws

import (
	"context"
	"fmt"
	"sort"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// AWS limits on tags.
const (
	maxTags           = 50
	maxTagKeyLength   = 128
	maxTagValueLength = 256
)

func tagsAttribute(what string) schema.MapAttribute {
	return schema.MapAttribute{
		Optional:    true,
		ElementType: types.StringType,
		MarkdownDescription: "Tags of the " + what + ", at most 50; keys up to 128 characters, values up to 256. Keys " +
			"starting with `aws:` are reserved by AWS.",
		Validators: tagValidators(),
	}
}

func tagValidators() []validator.Map {
	return []validator.Map{
		mapvalidator.SizeAtMost(maxTags),
		mapvalidator.KeysAre(stringvalidator.LengthBetween(1, maxTagKeyLength), notReservedTagKey{}),
		mapvalidator.ValueStringsAre(stringvalidator.LengthAtMost(maxTagValueLength)),
	}
}

func ec2Tags(m map[string]string) []ec2types.Tag {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]ec2types.Tag, 0, len(m))
	for _, k := range keys {
		out = append(out, ec2types.Tag{Key: awssdk.String(k), Value: awssdk.String(m[k])})
	}
	return out
}

func tagsOf(tags []ec2types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
	}
	return m
}

// tagsValue is the API's tags as the attribute: null when there are none and the prior value was
// null, so an untagged object configured without tags shows no diff.
func tagsValue(tags []ec2types.Tag, prior types.Map) types.Map {
	if len(tags) == 0 && (prior.IsNull() || prior.IsUnknown()) {
		return types.MapNull(types.StringType)
	}
	m := make(map[string]string, len(tags))
	for k, v := range tagsOf(tags) {
		m[k] = v
	}
	v, _ := types.MapValueFrom(context.Background(), types.StringType, m)
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

// notReservedTagKey rejects keys with the aws: prefix, which only AWS may set.
type notReservedTagKey struct{}

func (notReservedTagKey) Description(context.Context) string {
	return "tag keys must not start with aws: (reserved by AWS)"
}

func (v notReservedTagKey) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (notReservedTagKey) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if k := req.ConfigValue.ValueString(); strings.HasPrefix(strings.ToLower(k), "aws:") {
		resp.Diagnostics.AddAttributeError(req.Path, "Reserved Tag Key",
			fmt.Sprintf("The tag key %q starts with aws:, which AWS reserves for its own tags. Use another key.", k))
	}
}
