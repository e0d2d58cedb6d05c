package aws

import (
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestPresetRules(t *testing.T) {
	in, out := presetRules(presetOSWorldEnv, []string{"172.31.0.0/16"})
	if len(in) != 8 || len(out) != 1 || out[0].Protocol != "-1" || out[0].CIDRIPv4 != "0.0.0.0/0" {
		t.Fatalf("osworld-env: %d inbound, %v outbound; want the guideline's 8 and 1", len(in), out)
	}
	public := 0
	for _, r := range in {
		if r.CIDRIPv4 == "0.0.0.0/0" {
			public++
			if r.FromPort != 22 && r.FromPort != 5910 {
				t.Errorf("port %d is open to anywhere", r.FromPort)
			}
		}
	}
	if public != 2 {
		t.Errorf("%d rules from anywhere, want 2 (22 and 5910)", public)
	}
	if in, _ := presetRules(presetOSWorldEnv, []string{"10.0.0.0/16", "10.1.0.0/16"}); len(in) != 2+2*6 {
		t.Errorf("two internal blocks: %d inbound rules, want 14", len(in))
	}
	if in, out := presetRules(presetOSWorldHost, nil); len(in) != 1 || in[0].FromPort != 8080 || len(out) != 0 {
		t.Errorf("osworld-host: %v %v", in, out)
	}
	if in, _ := presetRules(presetSandboxManager, nil); len(in) != 2 {
		t.Errorf("sandbox-manager: %v", in)
	}
}

func TestRulesFromAPI(t *testing.T) {
	in, out := rulesFromAPI([]ec2types.SecurityGroupRule{
		{IpProtocol: awssdk.String("6"), FromPort: awssdk.Int32(22), ToPort: awssdk.Int32(22), CidrIpv4: awssdk.String("0.0.0.0/0")},
		{IsEgress: awssdk.Bool(true), IpProtocol: awssdk.String("-1"), FromPort: awssdk.Int32(0), ToPort: awssdk.Int32(0), CidrIpv4: awssdk.String("0.0.0.0/0")},
	})
	want := sgRule{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDRIPv4: "0.0.0.0/0"}
	if _, ok := in[want]; !ok || len(in) != 1 {
		t.Errorf("inbound %v", in)
	}
	if _, ok := out[defaultEgressRule]; !ok || len(out) != 1 {
		t.Errorf("outbound %v, want the default allow-all rule with ports -1", out)
	}
}

func TestValidateRule(t *testing.T) {
	ok := sgRuleModel{Protocol: types.StringValue("-1"), FromPort: types.Int64Null(), ToPort: types.Int64Null(),
		CIDRIPv4: types.StringValue("0.0.0.0/0"), CIDRIPv6: types.StringNull(), SecurityGroupID: types.StringNull(), Description: types.StringNull()}
	if p := validateRule(ok, "r"); len(p) != 0 {
		t.Errorf("valid rule refused: %v", p)
	}
	if r := ok.rule(); r != defaultEgressRule {
		t.Errorf("rule() = %+v", r)
	}
	unknownPeer := ok
	unknownPeer.CIDRIPv4 = types.StringUnknown()
	if p := validateRule(unknownPeer, "r"); len(p) != 0 {
		t.Errorf("an unknown peer is refused at validation: %v", p)
	}
	twoPeers := ok
	twoPeers.CIDRIPv6 = types.StringValue("::/0")
	if p := validateRule(twoPeers, "r"); len(p) != 1 {
		t.Errorf("two peers: %v", p)
	}
}
