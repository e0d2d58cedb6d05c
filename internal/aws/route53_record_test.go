package aws_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acctest"
	sbxaws "github.com/sandboxstack/terraform-provider-sandbox/internal/aws"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/awsfake"
)

// createZone makes a public hosted zone outside Terraform (records go in zones users already have)
// and deletes it, with anything left in it, at the end of the test.
func createZone(t *testing.T, c *sbxaws.Conns, name string, vpcID string) string {
	t.Helper()
	in := &route53.CreateHostedZoneInput{Name: awssdk.String(name), CallerReference: awssdk.String(acctest.RandomName())}
	if vpcID != "" {
		in.VPC = &r53types.VPC{VPCId: awssdk.String(vpcID), VPCRegion: r53types.VPCRegion(c.Region)}
		in.HostedZoneConfig = &r53types.HostedZoneConfig{PrivateZone: true}
	}
	out, err := c.Route53.CreateHostedZone(testContext(t), in)
	if err != nil {
		t.Fatalf("create hosted zone %s: %v", name, err)
	}
	id := strings.TrimPrefix(awssdk.ToString(out.HostedZone.Id), "/hostedzone/")
	t.Cleanup(func() {
		ctx := context.Background()
		sets, err := c.Route53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: &id})
		if err == nil {
			for _, rs := range sets.ResourceRecordSets {
				if rs.Type != r53types.RRTypeNs && rs.Type != r53types.RRTypeSoa {
					t.Errorf("zone %s still holds %s %s after the test", name, rs.Type, awssdk.ToString(rs.Name))
					_, _ = c.Route53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: &id,
						ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionDelete, ResourceRecordSet: &rs}}}})
				}
			}
		}
		if _, err := c.Route53.DeleteHostedZone(ctx, &route53.DeleteHostedZoneInput{Id: &id}); err != nil {
			t.Errorf("delete hosted zone %s: %v", id, err)
		}
	})
	return id
}

// recordSetStrings are the zone's sets other than NS and SOA, as "name type ttl values" lines, with
// the names as Route 53 returns them.
func recordSetStrings(t *testing.T, c *sbxaws.Conns, zoneID string) ([]string, error) {
	out, err := c.Route53.ListResourceRecordSets(testContext(t), &route53.ListResourceRecordSetsInput{HostedZoneId: &zoneID})
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, rs := range out.ResourceRecordSets {
		if rs.Type == r53types.RRTypeNs || rs.Type == r53types.RRTypeSoa {
			continue
		}
		if a := rs.AliasTarget; a != nil {
			lines = append(lines, fmt.Sprintf("%s %s alias %s %s %t", awssdk.ToString(rs.Name), rs.Type, awssdk.ToString(a.DNSName), awssdk.ToString(a.HostedZoneId), a.EvaluateTargetHealth))
			continue
		}
		var values []string
		for _, r := range rs.ResourceRecords {
			values = append(values, awssdk.ToString(r.Value))
		}
		sort.Strings(values)
		lines = append(lines, fmt.Sprintf("%s %s %d %s", awssdk.ToString(rs.Name), rs.Type, awssdk.ToInt64(rs.TTL), strings.Join(values, ",")))
	}
	sort.Strings(lines)
	return lines, nil
}

func checkRecordSets(t *testing.T, c func() *sbxaws.Conns, zoneID string, want ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		got, err := recordSetStrings(t, c(), zoneID)
		if err != nil {
			return err
		}
		sort.Strings(want)
		if !slices.Equal(got, want) {
			return fmt.Errorf("zone %s holds\n  %s\nwant\n  %s", zoneID, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		return nil
	}
}

func recordsConfig(zoneID, zone, ip, ttl, txt string) string {
	return fmt.Sprintf(`
resource "sandbox_aws_route53_record" "wildcard" {
  zone_id = %[1]q
  name    = "*.sbx.%[2]s"
  type    = "A"
  ttl     = %[4]s
  records = [%[3]q]
}

resource "sandbox_aws_route53_record" "txt" {
  zone_id = %[1]q
  name    = "_acme-challenge.sbx.%[2]s"
  type    = "TXT"
  ttl     = 60
  records = [%[5]s]
}
`, zoneID, zone, ip, ttl, txt)
}

// TestAccRoute53Record_basic: a wildcard A record and a TXT record (quoted on the wire, a value
// longer than 255 characters split) are created, imported by ZONEID_NAME_TYPE, and updated in place.
func TestAccRoute53Record_basic(t *testing.T) {
	acctest.PreCheckAWS(t)
	zone := acctest.RandomName() + ".example.com"
	conns := func() *sbxaws.Conns { return acctest.AWSConns(t) }
	zoneID := createZone(t, conns(), zone, "")
	long := strings.Repeat("k", 300)
	const wildcard, txt = "sandbox_aws_route53_record.wildcard", "sandbox_aws_route53_record.txt"
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAWS(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkRecordSets(t, conns, zoneID),
		Steps: []resource.TestStep{
			{
				Config: recordsConfig(zoneID, zone, "10.0.0.1", "60", `"v=token with \"quotes\""`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(wildcard, tfjsonpath.New("id"), knownvalue.StringExact(zoneID+"_*.sbx."+zone+"_A")),
					statecheck.ExpectKnownValue(wildcard, tfjsonpath.New("fqdn"), knownvalue.StringExact("*.sbx."+zone)),
					statecheck.ExpectKnownValue(wildcard, tfjsonpath.New("name"), knownvalue.StringExact("*.sbx."+zone)),
				},
				// Route 53 returns '*' as \052 and TXT values quoted.
				Check: checkRecordSets(t, conns, zoneID,
					`\052.sbx.`+zone+`. A 60 10.0.0.1`,
					`_acme-challenge.sbx.`+zone+`. TXT 60 "v=token with \"quotes\""`),
			},
			{ResourceName: wildcard, ImportState: true, ImportStateVerify: true, ImportStateVerifyIgnore: []string{"timeouts"}},
			{ResourceName: txt, ImportState: true, ImportStateVerify: true, ImportStateVerifyIgnore: []string{"timeouts"}},
			{
				Config: recordsConfig(zoneID, zone, "10.0.0.2", "300", fmt.Sprintf(`"a", %q`, long)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(wildcard, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(txt, plancheck.ResourceActionUpdate),
				}},
				Check: checkRecordSets(t, conns, zoneID,
					`\052.sbx.`+zone+`. A 300 10.0.0.2`,
					fmt.Sprintf(`_acme-challenge.sbx.%s. TXT 60 "a","%s" "%s"`, zone, long[:255], long[255:])),
			},
			{ResourceName: txt, ImportState: true, ImportStateVerify: true, ImportStateVerifyIgnore: []string{"timeouts"}},
			{
				// A wrong import identifier says what is expected.
				ResourceName:  wildcard,
				ImportState:   true,
				ImportStateId: zoneID + "_*.sbx." + zone,
				ExpectError:   regexp.MustCompile(`Expected <zone_id>_<name>_<type>`),
			},
		},
	})
}

// TestAccRoute53Record_alias: an alias to a load balancer, changed in place.
func TestAccRoute53Record_alias(t *testing.T) {
	acctest.PreCheckAWS(t)
	if acctest.SharedAWSFake() == nil {
		t.Skip("needs a load balancer to alias to; against real AWS, see TestAccRoute53Record_basic")
	}
	zone := acctest.RandomName() + ".example.com"
	conns := func() *sbxaws.Conns { return acctest.AWSConns(t) }
	zoneID := createZone(t, conns(), zone, "")
	const lb, lbZone = "sbx-alb-1234567890.us-east-1.elb.amazonaws.com", "Z35SXDOTRQ7X7K"
	config := func(evaluate bool) string {
		return fmt.Sprintf(`
resource "sandbox_aws_route53_record" "alias" {
  zone_id = %q
  name    = "*.sbx.%s"
  type    = "A"
  alias = {
    name                   = %q
    zone_id                = %q
    evaluate_target_health = %t
  }
}
`, zoneID, zone, lb, lbZone, evaluate)
	}
	const addr = "sandbox_aws_route53_record.alias"
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkRecordSets(t, conns, zoneID),
		Steps: []resource.TestStep{
			{
				Config: config(false),
				Check:  checkRecordSets(t, conns, zoneID, fmt.Sprintf(`\052.sbx.%s. A alias %s. %s false`, zone, lb, lbZone)),
			},
			{ResourceName: addr, ImportState: true, ImportStateVerify: true, ImportStateVerifyIgnore: []string{"timeouts"}},
			{
				Config: config(true),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: checkRecordSets(t, conns, zoneID, fmt.Sprintf(`\052.sbx.%s. A alias %s. %s true`, zone, lb, lbZone)),
			},
		},
	})
}

// TestAccRoute53Record_disappears: a record deleted outside Terraform is created again; a record
// changed outside Terraform is put back.
func TestAccRoute53Record_disappears(t *testing.T) {
	acctest.PreCheckAWS(t)
	zone := acctest.RandomName() + ".example.com"
	conns := func() *sbxaws.Conns { return acctest.AWSConns(t) }
	zoneID := createZone(t, conns(), zone, "")
	config := recordsConfig(zoneID, zone, "10.0.0.1", "60", `"t1"`)
	upsert := func(name, typ, value string, ttl int64) error {
		_, err := conns().Route53.ChangeResourceRecordSets(testContext(t), &route53.ChangeResourceRecordSetsInput{HostedZoneId: &zoneID,
			ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
				Name: awssdk.String(name), Type: r53types.RRType(typ), TTL: awssdk.Int64(ttl), ResourceRecords: []r53types.ResourceRecord{{Value: awssdk.String(value)}}}}}}})
		return err
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkRecordSets(t, conns, zoneID),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(*terraform.State) error {
					_, err := conns().Route53.ChangeResourceRecordSets(testContext(t), &route53.ChangeResourceRecordSetsInput{HostedZoneId: &zoneID,
						ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionDelete, ResourceRecordSet: &r53types.ResourceRecordSet{
							Name: awssdk.String("*.sbx." + zone), Type: r53types.RRTypeA, TTL: awssdk.Int64(60),
							ResourceRecords: []r53types.ResourceRecord{{Value: awssdk.String("10.0.0.1")}}}}}}})
					if err != nil {
						return err
					}
					return upsert("_acme-challenge.sbx."+zone, "TXT", `"changed"`, 30)
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("sandbox_aws_route53_record.wildcard", plancheck.ResourceActionCreate),
					plancheck.ExpectResourceAction("sandbox_aws_route53_record.txt", plancheck.ResourceActionUpdate),
				}},
				Check: checkRecordSets(t, conns, zoneID, `\052.sbx.`+zone+`. A 60 10.0.0.1`, `_acme-challenge.sbx.`+zone+`. TXT 60 "t1"`),
			},
			{
				// A set that exists outside Terraform is not overwritten: create fails and says to import it.
				PreConfig: func() {
					if err := upsert("www."+zone, "CNAME", "sbx.example.org", 300); err != nil {
						t.Fatal(err)
					}
				},
				Config: config + fmt.Sprintf(`
resource "sandbox_aws_route53_record" "www" {
  zone_id = %q
  name    = "www.%s"
  type    = "CNAME"
  ttl     = 60
  records = ["sbx.example.net"]
}
`, zoneID, zone),
				ExpectError: regexp.MustCompile(`(?s)Route 53 Refused the Record.*already exists.*terraform import <address>\s+` + zoneID + `_www\.`),
			},
			{
				Config: config,
				Check: func(*terraform.State) error {
					_, err := conns().Route53.ChangeResourceRecordSets(testContext(t), &route53.ChangeResourceRecordSetsInput{HostedZoneId: &zoneID,
						ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionDelete, ResourceRecordSet: &r53types.ResourceRecordSet{
							Name: awssdk.String("www." + zone), Type: r53types.RRTypeCname, TTL: awssdk.Int64(300),
							ResourceRecords: []r53types.ResourceRecord{{Value: awssdk.String("sbx.example.org")}}}}}}})
					return err
				},
			},
		},
	})
}

// TestAccRoute53Record_faults: changes stay PENDING for a few polls and Route 53 throttles requests
// (PriorRequestNotComplete); create, update and delete still finish, and the fake's journal shows
// both faults were met.
func TestAccRoute53Record_faults(t *testing.T) {
	fake := acctest.StartFakeAWS(t, awsfake.Faults{ChangePendingReads: 3, ThrottleEvery: 4})
	conns := func() *sbxaws.Conns { return fake.Conns(t) }
	zone := acctest.RandomName() + ".example.com"
	zoneID := createZone(t, conns(), zone, "")
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy: func(s *terraform.State) error {
			if err := checkRecordSets(t, conns, zoneID)(s); err != nil {
				return err
			}
			if fake.ErrorCount("PriorRequestNotComplete") == 0 {
				return fmt.Errorf("the fake never throttled: the test did not exercise it")
			}
			polls := 0
			for _, c := range fake.Calls() {
				if c.Action == "GetChange" && c.Error == "" {
					polls++
				}
			}
			// 2 creates, 2 updates, 2 deletes, each polled until INSYNC after 3 PENDING answers.
			if polls < 6*4 {
				return fmt.Errorf("GetChange answered %d times, want at least 24 (each change PENDING 3 times)", polls)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{Config: fake.ProviderConfig() + recordsConfig(zoneID, zone, "10.0.0.1", "60", `"t1"`)},
			{Config: fake.ProviderConfig() + recordsConfig(zoneID, zone, "10.0.0.2", "60", `"t2"`),
				Check: checkRecordSets(t, conns, zoneID, `\052.sbx.`+zone+`. A 60 10.0.0.2`, `_acme-challenge.sbx.`+zone+`. TXT 60 "t2"`)},
		},
	})
}

// TestRoute53TXTValues: the record-set layer a DNS-01 solver uses merges values into one TXT set and
// removes them one at a time, deleting the set with the last.
func TestRoute53TXTValues(t *testing.T) {
	fake := acctest.StartFakeAWS(t, awsfake.Faults{ChangePendingReads: 1})
	c := fake.Conns(t)
	zoneID := createZone(t, c, "sbx.example.test", "")
	ctx := testContext(t)
	const name = "_acme-challenge.sbx.example.test"
	check := func(want ...string) {
		t.Helper()
		var got []string
		for _, rs := range fake.RecordSets(zoneID) {
			if rs.Type == "TXT" {
				got = append(got, rs.TXTStrings()...)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("TXT values %q, want %q", got, want)
		}
	}
	for _, v := range []string{"token-wildcard", "token-apex", "token-apex"} { // the repeat changes nothing
		if err := sbxaws.AddTXTValue(ctx, c, "/hostedzone/"+zoneID, name, v, 60); err != nil {
			t.Fatal(err)
		}
	}
	check("token-wildcard", "token-apex")
	if err := sbxaws.RemoveTXTValue(ctx, c, zoneID, name, "token-wildcard"); err != nil {
		t.Fatal(err)
	}
	check("token-apex")
	if err := sbxaws.RemoveTXTValue(ctx, c, zoneID, name, "token-apex"); err != nil {
		t.Fatal(err)
	}
	check()
	if err := sbxaws.RemoveTXTValue(ctx, c, zoneID, name, "token-apex"); err != nil {
		t.Fatalf("removing a value that is gone: %v", err)
	}
}

// TestAccRoute53ZoneDataSource finds a public and a private zone of the same name.
func TestAccRoute53ZoneDataSource(t *testing.T) {
	acctest.PreCheckAWS(t)
	if acctest.SharedAWSFake() == nil {
		t.Skip("creates a private zone in the default VPC; fakes only")
	}
	c := acctest.AWSConns(t)
	zone := acctest.RandomName() + ".example.com"
	publicID := createZone(t, c, zone, "")
	var defaultVPC string
	for _, v := range acctest.SharedAWSFake().VPCs() {
		if v.IsDefault {
			defaultVPC = v.ID
		}
	}
	privateID := createZone(t, c, zone, defaultVPC)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{
				Config: `
data "sandbox_aws_route53_zone" "missing" {
  name = "no-such-zone.example.net"
}
`,
				ExpectError: regexp.MustCompile(`No Matching Route 53 Hosted Zone`),
			},
			{
				Config: fmt.Sprintf(`
data "sandbox_aws_route53_zone" "public" {
  name = "%[1]s."
}

data "sandbox_aws_route53_zone" "private" {
  name         = %[1]q
  private_zone = true
}
`, zone),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.sandbox_aws_route53_zone.public", tfjsonpath.New("zone_id"), knownvalue.StringExact(publicID)),
					statecheck.ExpectKnownValue("data.sandbox_aws_route53_zone.public", tfjsonpath.New("name_servers"), knownvalue.ListSizeExact(4)),
					statecheck.ExpectKnownValue("data.sandbox_aws_route53_zone.public", tfjsonpath.New("private_zone"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("data.sandbox_aws_route53_zone.private", tfjsonpath.New("zone_id"), knownvalue.StringExact(privateID)),
				},
			},
		},
	})
}
