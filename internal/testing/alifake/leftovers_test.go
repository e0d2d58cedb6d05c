package alifake_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
)

func TestLeftovers(t *testing.T) {
	defer failOnError(t)
	f := alifake.New(t, alifake.Options{Domains: []string{"example.test"}})
	if got := f.Leftovers(); len(got) != 0 {
		t.Fatalf("a fresh fake (default VPC and vSwitch, a domain) has leftovers: %v", got)
	}
	s := clientFor(t, f)
	vpcID := s.createVpc(t, "sbx", "10.0.0.0/16")
	creq := ecs.CreateCreateSecurityGroupRequest()
	s.ecsEP.ApplyRPC(creq.RpcRequest)
	creq.VpcId = vpcID
	sgID := must(s.ecs.CreateSecurityGroup(creq)).SecurityGroupId
	recID := must(s.addRecord("example.test", "*.sbx", "A", "192.0.2.10"))

	want := []string{"vpc " + vpcID, "security-group " + sgID, fmt.Sprintf("dns-record %s *.sbx.example.test A", recID)}
	if got := f.Leftovers(); !slices.Equal(got, want) {
		t.Fatalf("Leftovers = %q, want %q", got, want)
	}
	for _, id := range []string{recID, sgID, vpcID} {
		if err := f.DeleteOutOfBand(id); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.Leftovers(); len(got) != 0 {
		t.Fatalf("after deleting everything: %s", strings.Join(got, ", "))
	}
}
