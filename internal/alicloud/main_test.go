package alicloud_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acctest"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/alicloud"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
)

// The acceptance tests run the real terraform CLI against the provider served in-process. Without
// real Alibaba Cloud credentials, acctest.Main points the provider at the Alibaba Cloud fakes.
func TestMain(m *testing.M) { acctest.Main(m) }

// describeVPC is the VPC as the API shows it; nil when it does not exist.
func describeVPC(c *alicloud.Conns, id string) (*vpc.Vpc, error) {
	req := vpc.CreateDescribeVpcsRequest()
	alicloud.PointRPC(c, "vpc", req.RpcRequest)
	req.VpcId = id
	resp, err := c.VPC.DescribeVpcs(req)
	if err != nil {
		return nil, err
	}
	for i := range resp.Vpcs.Vpc {
		if resp.Vpcs.Vpc[i].VpcId == id {
			return &resp.Vpcs.Vpc[i], nil
		}
	}
	return nil, nil
}

func describeVSwitch(c *alicloud.Conns, id string) (*vpc.VSwitch, error) {
	req := vpc.CreateDescribeVSwitchesRequest()
	alicloud.PointRPC(c, "vpc", req.RpcRequest)
	req.VSwitchId = id
	resp, err := c.VPC.DescribeVSwitches(req)
	if err != nil {
		return nil, err
	}
	for i := range resp.VSwitches.VSwitch {
		if resp.VSwitches.VSwitch[i].VSwitchId == id {
			return &resp.VSwitches.VSwitch[i], nil
		}
	}
	return nil, nil
}

// describeRules are a security group's rules; nil, nil when the group does not exist.
func describeRules(c *alicloud.Conns, id string) ([]ecs.Permission, error) {
	req := ecs.CreateDescribeSecurityGroupAttributeRequest()
	alicloud.PointRPC(c, "ecs", req.RpcRequest)
	req.SecurityGroupId = id
	req.Direction = "all"
	resp, err := c.ECS.DescribeSecurityGroupAttribute(req)
	if retry.ErrorCode(err) == "InvalidSecurityGroupId.NotFound" {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if resp.Permissions.Permission == nil {
		return []ecs.Permission{}, nil
	}
	return resp.Permissions.Permission, nil
}

// checkDestroyed is a CheckDestroy: every object of the types in the last state is gone from the
// API and, against the shared fake, from the fake's own state too.
func checkDestroyed(t *testing.T) func(*terraform.State) error {
	return func(s *terraform.State) error {
		c := acctest.AlibabaConns(t)
		fake := acctest.SharedAlibabaFake()
		for name, rs := range s.RootModule().Resources {
			if strings.HasPrefix(name, "data.") {
				continue // looked up, not managed
			}
			id := rs.Primary.ID
			switch rs.Type {
			case "sandbox_alicloud_vpc":
				v, err := describeVPC(c, id)
				if err != nil {
					return err
				}
				if v != nil {
					return fmt.Errorf("%s: VPC %s still exists after destroy", name, id)
				}
				if fake != nil && slices.ContainsFunc(fake.VPCs(), func(v alifake.VPCInfo) bool { return v.ID == id }) {
					return fmt.Errorf("%s: the fake still holds VPC %s", name, id)
				}
			case "sandbox_alicloud_vswitch":
				v, err := describeVSwitch(c, id)
				if err != nil {
					return err
				}
				if v != nil {
					return fmt.Errorf("%s: vSwitch %s still exists after destroy", name, id)
				}
				if fake != nil && slices.ContainsFunc(fake.VSwitches(), func(v alifake.VSwitchInfo) bool { return v.ID == id }) {
					return fmt.Errorf("%s: the fake still holds vSwitch %s", name, id)
				}
			case "sandbox_alicloud_security_group":
				rules, err := describeRules(c, id)
				if err != nil {
					return err
				}
				if rules != nil {
					return fmt.Errorf("%s: security group %s still exists after destroy", name, id)
				}
				if fake != nil && slices.ContainsFunc(fake.SecurityGroups(), func(v alifake.SecurityGroupInfo) bool { return v.ID == id }) {
					return fmt.Errorf("%s: the fake still holds security group %s", name, id)
				}
			}
		}
		return nil
	}
}

// checkNoLeftovers is a CheckDestroy for a test's own fake: nothing but what the fake held when the
// check was made (its seeded default VPC and vSwitch) remains.
func checkNoLeftovers(f *acctest.FakeAlibaba) func(*terraform.State) error {
	seeded := map[string]bool{}
	for _, id := range fakeIDs(f.Fake) {
		seeded[id] = true
	}
	return func(*terraform.State) error {
		var left []string
		for _, id := range fakeIDs(f.Fake) {
			if !seeded[id] {
				left = append(left, id)
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("the fake still holds %v after destroy", left)
		}
		return nil
	}
}

// fakeIDs are the IDs of everything a fake holds.
func fakeIDs(f *alifake.Fake) []string {
	var ids []string
	for _, v := range f.VPCs() {
		ids = append(ids, v.ID)
	}
	for _, v := range f.VSwitches() {
		ids = append(ids, v.ID)
	}
	for _, g := range f.SecurityGroups() {
		ids = append(ids, g.ID)
		for _, r := range g.Rules {
			ids = append(ids, r.ID)
		}
	}
	for _, r := range f.Records() {
		ids = append(ids, r.ID)
	}
	for _, c := range f.Clusters() {
		ids = append(ids, c.ID)
	}
	for _, c := range f.Certificates() {
		ids = append(ids, fmt.Sprint(c.ID))
	}
	return ids
}

// idOf reads a resource's ID from the state, for out-of-band changes in a Check.
func idOf(s *terraform.State, addr string) (string, error) {
	rs, ok := s.RootModule().Resources[addr]
	if !ok || rs.Primary == nil || rs.Primary.ID == "" {
		return "", fmt.Errorf("%s is not in the state", addr)
	}
	return rs.Primary.ID, nil
}

// atLeastCalls checks that the fake answered action at least n times (so an injected fault was hit
// and survived).
func atLeastCalls(f *acctest.FakeAlibaba, action string, n int) func(*terraform.State) error {
	return func(*terraform.State) error {
		if got := f.CallCount(action); got < n {
			return fmt.Errorf("the fake answered %s %d times, want at least %d (the fault was not hit)", action, got, n)
		}
		return nil
	}
}
