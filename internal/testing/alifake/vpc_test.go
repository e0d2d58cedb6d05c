package alifake_test

import (
	"net/http"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
)

func (s *sdk) createVpc(t *testing.T, name, cidr string) string {
	t.Helper()
	req := vpc.CreateCreateVpcRequest()
	s.vpcEP.ApplyRPC(req.RpcRequest)
	req.VpcName, req.CidrBlock = name, cidr
	return must(s.vpc.CreateVpc(req)).VpcId
}

func (s *sdk) createVSwitch(t *testing.T, vpcID, zone, cidr string) (string, error) {
	t.Helper()
	req := vpc.CreateCreateVSwitchRequest()
	s.vpcEP.ApplyRPC(req.RpcRequest)
	req.VpcId, req.ZoneId, req.CidrBlock, req.VSwitchName = vpcID, zone, cidr, "sbx-"+zone
	resp, err := s.vpc.CreateVSwitch(req)
	if err != nil {
		return "", err
	}
	return resp.VSwitchId, nil
}

func (s *sdk) describeVSwitch(vswID string) (*vpc.DescribeVSwitchAttributesResponse, error) {
	req := vpc.CreateDescribeVSwitchAttributesRequest()
	s.vpcEP.ApplyRPC(req.RpcRequest)
	req.VSwitchId = vswID
	return s.vpc.DescribeVSwitchAttributes(req)
}

func TestVPCLifecycle(t *testing.T) {
	defer failOnError(t)
	f := alifake.New(t, alifake.Options{})
	s := clientFor(t, f)

	// The default VPC is seeded and found with IsDefault.
	dreq := vpc.CreateDescribeVpcsRequest()
	s.vpcEP.ApplyRPC(dreq.RpcRequest)
	dreq.IsDefault = requests.NewBoolean(true)
	def := must(s.vpc.DescribeVpcs(dreq))
	if def.TotalCount != 1 || !def.Vpcs.Vpc[0].IsDefault || def.Vpcs.Vpc[0].CidrBlock != "172.16.0.0/12" ||
		len(def.Vpcs.Vpc[0].VSwitchIds.VSwitchId) != 1 {
		t.Fatalf("default VPC: %+v", def.Vpcs)
	}

	// Create with tags; find by id, by name, by tag.
	creq := vpc.CreateCreateVpcRequest()
	s.vpcEP.ApplyRPC(creq.RpcRequest)
	creq.VpcName, creq.CidrBlock, creq.Description = "sbx", "10.0.0.0/8", "sandboxes"
	creq.Tag = &[]vpc.CreateVpcTag{{Key: "owner", Value: "sandboxstack"}}
	vpcID := must(s.vpc.CreateVpc(creq)).VpcId
	for name, set := range map[string]func(*vpc.DescribeVpcsRequest){
		"id":   func(r *vpc.DescribeVpcsRequest) { r.VpcId = vpcID },
		"name": func(r *vpc.DescribeVpcsRequest) { r.VpcName = "sbx" },
		"tag": func(r *vpc.DescribeVpcsRequest) {
			r.Tag = &[]vpc.DescribeVpcsTag{{Key: "owner", Value: "sandboxstack"}}
		},
	} {
		r := vpc.CreateDescribeVpcsRequest()
		s.vpcEP.ApplyRPC(r.RpcRequest)
		set(r)
		got := must(s.vpc.DescribeVpcs(r))
		if got.TotalCount != 1 || got.Vpcs.Vpc[0].VpcId != vpcID || got.Vpcs.Vpc[0].Tags.Tag[0].Key != "owner" {
			t.Errorf("DescribeVpcs by %s: %+v", name, got.Vpcs)
		}
	}
	// Paging: two VPCs, one per page.
	preq := vpc.CreateDescribeVpcsRequest()
	s.vpcEP.ApplyRPC(preq.RpcRequest)
	preq.PageSize, preq.PageNumber = requests.NewInteger(1), requests.NewInteger(2)
	page := must(s.vpc.DescribeVpcs(preq))
	if page.TotalCount != 2 || len(page.Vpcs.Vpc) != 1 || page.Vpcs.Vpc[0].VpcId != vpcID || page.PageNumber != 2 {
		t.Errorf("page 2 of size 1: %+v", page)
	}

	mreq := vpc.CreateModifyVpcAttributeRequest()
	s.vpcEP.ApplyRPC(mreq.RpcRequest)
	mreq.VpcId, mreq.VpcName = vpcID, "sbx-renamed"
	must(s.vpc.ModifyVpcAttribute(mreq))
	areq := vpc.CreateDescribeVpcAttributeRequest()
	s.vpcEP.ApplyRPC(areq.RpcRequest)
	areq.VpcId = vpcID
	attr := must(s.vpc.DescribeVpcAttribute(areq))
	if attr.VpcName != "sbx-renamed" || attr.Description != "sandboxes" || attr.Status != "Available" || attr.RegionId != f.Region() {
		t.Errorf("DescribeVpcAttribute: %+v", attr)
	}

	// vSwitches: validation as the API does it.
	zone := f.Zones()[0]
	vswID := must(s.createVSwitch(t, vpcID, zone, "10.1.0.0/24"))
	_, err := s.createVSwitch(t, vpcID, zone, "10.1.0.128/25")
	serverError(t, err, http.StatusBadRequest, "InvalidCidrBlock.Overlapped")
	_, err = s.createVSwitch(t, vpcID, zone, "192.168.0.0/24")
	serverError(t, err, http.StatusBadRequest, "InvalidCidrBlock.Mismatch")
	_, err = s.createVSwitch(t, vpcID, "mars-1a", "10.2.0.0/24")
	serverError(t, err, http.StatusBadRequest, "InvalidZoneId.NotFound")
	_, err = s.createVSwitch(t, "vpc-missing", zone, "10.2.0.0/24")
	serverError(t, err, http.StatusNotFound, "InvalidVpcId.NotFound")

	vsw := must(s.describeVSwitch(vswID))
	if vsw.VpcId != vpcID || vsw.ZoneId != zone || vsw.CidrBlock != "10.1.0.0/24" || vsw.AvailableIpAddressCount != 252 {
		t.Errorf("DescribeVSwitchAttributes: %+v", vsw)
	}
	lreq := vpc.CreateDescribeVSwitchesRequest()
	s.vpcEP.ApplyRPC(lreq.RpcRequest)
	lreq.VpcId = vpcID
	if l := must(s.vpc.DescribeVSwitches(lreq)); l.TotalCount != 1 || l.VSwitches.VSwitch[0].VSwitchId != vswID {
		t.Errorf("DescribeVSwitches by VpcId: %+v", l.VSwitches)
	}
	msw := vpc.CreateModifyVSwitchAttributeRequest()
	s.vpcEP.ApplyRPC(msw.RpcRequest)
	msw.VSwitchId, msw.Description = vswID, "pods"
	must(s.vpc.ModifyVSwitchAttribute(msw))
	if got := must(s.describeVSwitch(vswID)); got.Description != "pods" {
		t.Errorf("description after modify: %q", got.Description)
	}

	// Tags through TagResources / ListTagResources.
	treq := vpc.CreateTagResourcesRequest()
	s.vpcEP.ApplyRPC(treq.RpcRequest)
	treq.ResourceType, treq.ResourceId = "VSWITCH", &[]string{vswID}
	treq.Tag = &[]vpc.TagResourcesTag{{Key: "tier", Value: "pods"}}
	must(s.vpc.TagResources(treq))
	ltreq := vpc.CreateListTagResourcesRequest()
	s.vpcEP.ApplyRPC(ltreq.RpcRequest)
	ltreq.ResourceType, ltreq.ResourceId = "VSWITCH", &[]string{vswID}
	tr := must(s.vpc.ListTagResources(ltreq)).TagResources.TagResource
	if len(tr) != 1 || tr[0].TagKey != "tier" || tr[0].TagValue != "pods" || tr[0].ResourceId != vswID {
		t.Errorf("ListTagResources: %+v", tr)
	}

	// DeleteVpc is refused while a vSwitch exists, then works; the VPC is gone.
	del := vpc.CreateDeleteVpcRequest()
	s.vpcEP.ApplyRPC(del.RpcRequest)
	del.VpcId = vpcID
	_, err = s.vpc.DeleteVpc(del)
	serverError(t, err, http.StatusBadRequest, "DependencyViolation.VSwitch")
	dsw := vpc.CreateDeleteVSwitchRequest()
	s.vpcEP.ApplyRPC(dsw.RpcRequest)
	dsw.VSwitchId = vswID
	must(s.vpc.DeleteVSwitch(dsw))
	_, err = s.describeVSwitch(vswID)
	serverError(t, err, http.StatusNotFound, "InvalidVSwitchId.NotFound")
	del2 := vpc.CreateDeleteVpcRequest()
	s.vpcEP.ApplyRPC(del2.RpcRequest)
	del2.VpcId = vpcID
	must(s.vpc.DeleteVpc(del2))
	areq2 := vpc.CreateDescribeVpcAttributeRequest()
	s.vpcEP.ApplyRPC(areq2.RpcRequest)
	areq2.VpcId = vpcID
	_, err = s.vpc.DescribeVpcAttribute(areq2)
	serverError(t, err, http.StatusNotFound, "InvalidVpcId.NotFound")
	if n := len(f.VPCs()); n != 1 {
		t.Errorf("fake holds %d VPCs, want only the default one", n)
	}
}

func TestVSwitchPendingThenAvailable(t *testing.T) {
	defer failOnError(t)
	f := alifake.New(t, alifake.Options{Faults: alifake.Faults{PendingReads: 2}})
	s := clientFor(t, f)
	vpcID := s.createVpc(t, "sbx", "10.0.0.0/16")
	vswID := must(s.createVSwitch(t, vpcID, f.Zones()[1], "10.0.1.0/24"))

	dsw := vpc.CreateDeleteVSwitchRequest()
	s.vpcEP.ApplyRPC(dsw.RpcRequest)
	dsw.VSwitchId = vswID
	_, err := s.vpc.DeleteVSwitch(dsw)
	serverError(t, err, http.StatusBadRequest, "IncorrectVSwitchStatus")

	var states []string
	for range 3 {
		states = append(states, must(s.describeVSwitch(vswID)).Status)
	}
	if want := []string{"Pending", "Pending", "Available"}; !equal(states, want) {
		t.Errorf("statuses %v, want %v", states, want)
	}
	dsw2 := vpc.CreateDeleteVSwitchRequest()
	s.vpcEP.ApplyRPC(dsw2.RpcRequest)
	dsw2.VSwitchId = vswID
	must(s.vpc.DeleteVSwitch(dsw2))
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
