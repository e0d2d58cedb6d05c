package alifake_test

import (
	"net/http"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
)

func (s *sdk) permissions(sgID, direction string) []ecs.Permission {
	req := ecs.CreateDescribeSecurityGroupAttributeRequest()
	s.ecsEP.ApplyRPC(req.RpcRequest)
	req.SecurityGroupId, req.Direction = sgID, direction
	return must(s.ecs.DescribeSecurityGroupAttribute(req)).Permissions.Permission
}

func TestSecurityGroupRules(t *testing.T) {
	defer failOnError(t)
	f := alifake.New(t, alifake.Options{})
	s := clientFor(t, f)
	vpcID := s.createVpc(t, "sbx", "10.0.0.0/16")

	creq := ecs.CreateCreateSecurityGroupRequest()
	s.ecsEP.ApplyRPC(creq.RpcRequest)
	creq.VpcId, creq.SecurityGroupName, creq.Description = vpcID, "sbx-sandboxes", "sandbox pods"
	creq.Tag = &[]ecs.CreateSecurityGroupTag{{Key: "owner", Value: "sbx"}}
	sgID := must(s.ecs.CreateSecurityGroup(creq)).SecurityGroupId

	bad := ecs.CreateCreateSecurityGroupRequest()
	s.ecsEP.ApplyRPC(bad.RpcRequest)
	bad.VpcId = "vpc-nothere"
	_, err := s.ecs.CreateSecurityGroup(bad)
	serverError(t, err, http.StatusNotFound, "InvalidVpcId.NotFound")

	lreq := ecs.CreateDescribeSecurityGroupsRequest()
	s.ecsEP.ApplyRPC(lreq.RpcRequest)
	lreq.VpcId = vpcID
	groups := must(s.ecs.DescribeSecurityGroups(lreq)).SecurityGroups.SecurityGroup
	if len(groups) != 1 || groups[0].SecurityGroupId != sgID || groups[0].SecurityGroupType != "normal" ||
		groups[0].Tags.Tag[0].TagKey != "owner" {
		t.Fatalf("DescribeSecurityGroups: %+v", groups)
	}

	// Ingress by top-level fields; the same rule again succeeds without a second rule.
	for range 2 {
		req := ecs.CreateAuthorizeSecurityGroupRequest()
		s.ecsEP.ApplyRPC(req.RpcRequest)
		req.SecurityGroupId, req.IpProtocol, req.PortRange, req.SourceCidrIp = sgID, "tcp", "443/443", "0.0.0.0/0"
		req.Priority, req.Description = "1", "https"
		must(s.ecs.AuthorizeSecurityGroup(req))
	}
	// Two more through Permissions.N, one of them egress-only fields on an egress call.
	preq := ecs.CreateAuthorizeSecurityGroupRequest()
	s.ecsEP.ApplyRPC(preq.RpcRequest)
	preq.SecurityGroupId = sgID
	preq.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{
		{IpProtocol: "tcp", PortRange: "80/80", SourceCidrIp: "0.0.0.0/0", Policy: "accept", Description: "http"},
		{IpProtocol: "tcp", PortRange: "5900/5999", SourceCidrIp: "10.0.0.0/8", Priority: "2"},
	}
	must(s.ecs.AuthorizeSecurityGroup(preq))
	ereq := ecs.CreateAuthorizeSecurityGroupEgressRequest()
	s.ecsEP.ApplyRPC(ereq.RpcRequest)
	ereq.SecurityGroupId, ereq.IpProtocol, ereq.PortRange, ereq.DestCidrIp = sgID, "all", "-1/-1", "0.0.0.0/0"
	must(s.ecs.AuthorizeSecurityGroupEgress(ereq))

	in := s.permissions(sgID, "ingress")
	if len(in) != 3 {
		t.Fatalf("ingress rules: %+v", in)
	}
	for _, p := range in {
		if p.SecurityGroupRuleId == "" || p.Direction != "ingress" || p.NicType != "intranet" || p.Policy != "Accept" {
			t.Errorf("ingress rule: %+v", p)
		}
	}
	if in[0].PortRange != "443/443" || in[0].IpProtocol != "TCP" || in[0].Description != "https" || in[2].Priority != "2" {
		t.Errorf("ingress rules as stored: %+v", in)
	}
	out := s.permissions(sgID, "egress")
	if len(out) != 1 || out[0].DestCidrIp != "0.0.0.0/0" || out[0].IpProtocol != "ALL" {
		t.Errorf("egress rules: %+v", out)
	}
	if all := s.permissions(sgID, ""); len(all) != 4 {
		t.Errorf("all rules: %d, want 4", len(all))
	}

	// Invalid input is refused as ECS does.
	for name, set := range map[string]func(*ecs.AuthorizeSecurityGroupRequest){
		"InvalidIpPortRange.Malformed": func(r *ecs.AuthorizeSecurityGroupRequest) {
			r.IpProtocol, r.PortRange, r.SourceCidrIp = "tcp", "-1/-1", "0.0.0.0/0"
		},
		"InvalidIpProtocol.Malformed": func(r *ecs.AuthorizeSecurityGroupRequest) {
			r.IpProtocol, r.PortRange, r.SourceCidrIp = "sctp", "1/2", "0.0.0.0/0"
		},
		"InvalidPriority.Malformed": func(r *ecs.AuthorizeSecurityGroupRequest) {
			r.IpProtocol, r.PortRange, r.SourceCidrIp, r.Priority = "tcp", "22/22", "0.0.0.0/0", "101"
		},
		"InvalidParam.Conflict": func(r *ecs.AuthorizeSecurityGroupRequest) {
			r.IpProtocol, r.PortRange, r.SourceCidrIp = "tcp", "22/22", "0.0.0.0/0"
			r.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: "23/23", SourceCidrIp: "0.0.0.0/0"}}
		},
	} {
		req := ecs.CreateAuthorizeSecurityGroupRequest()
		s.ecsEP.ApplyRPC(req.RpcRequest)
		req.SecurityGroupId = sgID
		set(req)
		_, err := s.ecs.AuthorizeSecurityGroup(req)
		serverError(t, err, http.StatusBadRequest, name)
	}

	// Revoke by SecurityGroupRuleId.N, then by fields (Priority and Description are not part of a rule's identity).
	rreq := ecs.CreateRevokeSecurityGroupRequest()
	s.ecsEP.ApplyRPC(rreq.RpcRequest)
	rreq.SecurityGroupId, rreq.SecurityGroupRuleId = sgID, &[]string{in[0].SecurityGroupRuleId}
	must(s.ecs.RevokeSecurityGroup(rreq))
	rf := ecs.CreateRevokeSecurityGroupRequest()
	s.ecsEP.ApplyRPC(rf.RpcRequest)
	rf.SecurityGroupId, rf.IpProtocol, rf.PortRange, rf.SourceCidrIp = sgID, "tcp", "5900/5999", "10.0.0.0/8"
	must(s.ecs.RevokeSecurityGroup(rf))
	left := s.permissions(sgID, "ingress")
	if len(left) != 1 || left[0].PortRange != "80/80" {
		t.Errorf("ingress after revokes: %+v", left)
	}
	gone := ecs.CreateRevokeSecurityGroupRequest()
	s.ecsEP.ApplyRPC(gone.RpcRequest)
	gone.SecurityGroupId, gone.SecurityGroupRuleId = sgID, &[]string{in[0].SecurityGroupRuleId}
	_, err = s.ecs.RevokeSecurityGroup(gone)
	serverError(t, err, http.StatusNotFound, "InvalidSecurityGroupRuleId.NotFound")
	reg := ecs.CreateRevokeSecurityGroupEgressRequest()
	s.ecsEP.ApplyRPC(reg.RpcRequest)
	reg.SecurityGroupId, reg.SecurityGroupRuleId = sgID, &[]string{out[0].SecurityGroupRuleId}
	must(s.ecs.RevokeSecurityGroupEgress(reg))
	if n := len(s.permissions(sgID, "egress")); n != 0 {
		t.Errorf("%d egress rules left", n)
	}

	// A group referenced by another group's rule, or in use, cannot be deleted.
	other := ecs.CreateCreateSecurityGroupRequest()
	s.ecsEP.ApplyRPC(other.RpcRequest)
	other.VpcId = vpcID
	otherID := must(s.ecs.CreateSecurityGroup(other)).SecurityGroupId
	ref := ecs.CreateAuthorizeSecurityGroupRequest()
	s.ecsEP.ApplyRPC(ref.RpcRequest)
	ref.SecurityGroupId, ref.IpProtocol, ref.PortRange, ref.SourceGroupId = otherID, "tcp", "22/22", sgID
	must(s.ecs.AuthorizeSecurityGroup(ref))
	deleteSG := func(id string) error {
		req := ecs.CreateDeleteSecurityGroupRequest()
		s.ecsEP.ApplyRPC(req.RpcRequest)
		req.SecurityGroupId = id
		_, err := s.ecs.DeleteSecurityGroup(req)
		return err
	}
	serverError(t, deleteSG(sgID), http.StatusForbidden, "DependencyViolation")
	must(0, deleteSG(otherID))
	f.SetInUse(sgID, true)
	serverError(t, deleteSG(sgID), http.StatusForbidden, "DependencyViolation")
	f.SetInUse(sgID, false)
	must(0, deleteSG(sgID))
	serverError(t, deleteSG(sgID), http.StatusNotFound, "InvalidSecurityGroupId.NotFound")

	zreq := ecs.CreateDescribeZonesRequest()
	s.ecsEP.ApplyRPC(zreq.RpcRequest)
	if z := must(s.ecs.DescribeZones(zreq)).Zones.Zone; len(z) != 3 || z[0].ZoneId != f.Zones()[0] {
		t.Errorf("DescribeZones: %+v", z)
	}
}
