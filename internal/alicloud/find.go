package alicloud

import (
	"context"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// Finders return the object or a retry.NotFoundError, so that waiters and Read can tell "gone"
// from a failure.

// Error codes the resources act on.
const (
	errVPCNotFound     = "InvalidVpcId.NotFound"
	errVSwitchNotFound = "InvalidVSwitchId.NotFound"
	errSGNotFound      = "InvalidSecurityGroupId.NotFound"
)

// Status values of VPCs and vSwitches.
const (
	statusPending   = "Pending"
	statusAvailable = "Available"
)

// propagationTimeout is how long a new object may stay invisible to reads.
const propagationTimeout = 5 * time.Minute

// pacing is how waits poll: at once, then after 1 s, doubling up to 10 s.
var pacing = retry.Pacing{Interval: time.Second, MaxInterval: 10 * time.Second}

// hasCodePrefix reports whether err's code starts with one of prefixes ("DependencyViolation"
// matches DependencyViolation.VSwitch too).
func hasCodePrefix(err error, prefixes ...string) bool {
	code := retry.ErrorCode(err)
	for _, p := range prefixes {
		if code != "" && strings.HasPrefix(code, p) {
			return true
		}
	}
	return false
}

// findVPCs lists the VPCs matching req (all pages).
func findVPCs(ctx context.Context, c *Conns, req *vpc.DescribeVpcsRequest) ([]vpc.Vpc, error) {
	var out []vpc.Vpc
	c.rpc("vpc", req.RpcRequest)
	req.PageSize = requests.NewInteger(50)
	for page := 1; ; page++ {
		req.PageNumber = requests.NewInteger(page)
		resp, err := call(ctx, c, func() (*vpc.DescribeVpcsResponse, error) { return c.VPC.DescribeVpcs(req) })
		if isCode(err, errVPCNotFound) {
			return nil, retry.NotFound(err)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, resp.Vpcs.Vpc...)
		if len(resp.Vpcs.Vpc) == 0 || len(out) >= resp.TotalCount {
			return out, nil
		}
	}
}

func findVPCByID(ctx context.Context, c *Conns, id string) (*vpc.Vpc, error) {
	req := vpc.CreateDescribeVpcsRequest()
	req.VpcId = id
	vpcs, err := findVPCs(ctx, c, req)
	if err != nil {
		return nil, err
	}
	for i := range vpcs {
		if vpcs[i].VpcId == id {
			return &vpcs[i], nil
		}
	}
	return nil, retry.NotFoundf("VPC %s not found", id)
}

func vpcTags(v *vpc.Vpc) map[string]string {
	m := map[string]string{}
	for _, t := range v.Tags.Tag {
		m[firstNonEmpty(t.Key, t.TagKey)] = firstNonEmpty(t.Value, t.TagValue)
	}
	return m
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func findVSwitchByID(ctx context.Context, c *Conns, id string) (*vpc.VSwitch, error) {
	req := vpc.CreateDescribeVSwitchesRequest()
	c.rpc("vpc", req.RpcRequest)
	req.VSwitchId = id
	resp, err := call(ctx, c, func() (*vpc.DescribeVSwitchesResponse, error) { return c.VPC.DescribeVSwitches(req) })
	if isCode(err, errVSwitchNotFound) {
		return nil, retry.NotFound(err)
	}
	if err != nil {
		return nil, err
	}
	for i := range resp.VSwitches.VSwitch {
		if resp.VSwitches.VSwitch[i].VSwitchId == id {
			return &resp.VSwitches.VSwitch[i], nil
		}
	}
	return nil, retry.NotFoundf("vSwitch %s not found", id)
}

func vswitchTags(v *vpc.VSwitch) map[string]string {
	m := map[string]string{}
	for _, t := range v.Tags.Tag {
		m[firstNonEmpty(t.Key, t.TagKey)] = firstNonEmpty(t.Value, t.TagValue)
	}
	return m
}

// securityGroupView is a security group with its rules.
type securityGroupView struct {
	group ecs.SecurityGroup
	rules []ecs.Permission
}

// findSecurityGroup reads a security group (DescribeSecurityGroups, for its type and tags) and its
// rules (DescribeSecurityGroupAttribute).
func findSecurityGroup(ctx context.Context, c *Conns, id string) (*securityGroupView, error) {
	req := ecs.CreateDescribeSecurityGroupsRequest()
	c.rpc("ecs", req.RpcRequest)
	req.SecurityGroupId = id
	resp, err := call(ctx, c, func() (*ecs.DescribeSecurityGroupsResponse, error) { return c.ECS.DescribeSecurityGroups(req) })
	if isCode(err, errSGNotFound) {
		return nil, retry.NotFound(err)
	}
	if err != nil {
		return nil, err
	}
	var view *securityGroupView
	for _, g := range resp.SecurityGroups.SecurityGroup {
		if g.SecurityGroupId == id {
			view = &securityGroupView{group: g}
		}
	}
	if view == nil {
		return nil, retry.NotFoundf("security group %s not found", id)
	}
	attr := ecs.CreateDescribeSecurityGroupAttributeRequest()
	c.rpc("ecs", attr.RpcRequest)
	attr.SecurityGroupId = id
	attr.Direction = "all"
	ar, err := call(ctx, c, func() (*ecs.DescribeSecurityGroupAttributeResponse, error) {
		return c.ECS.DescribeSecurityGroupAttribute(attr)
	})
	if isCode(err, errSGNotFound) {
		return nil, retry.NotFound(err)
	}
	if err != nil {
		return nil, err
	}
	view.rules = ar.Permissions.Permission
	return view, nil
}

func sgTags(g *ecs.SecurityGroup) map[string]string {
	m := map[string]string{}
	for _, t := range g.Tags.Tag {
		m[firstNonEmpty(t.Key, t.TagKey)] = firstNonEmpty(t.Value, t.TagValue)
	}
	return m
}
