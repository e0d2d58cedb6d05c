package alicloud_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acctest"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
)

const recordAddr = "sandbox_alicloud_dns_record.test"

// testDomain is an Alidns domain for the test's records: ALIBABA_CLOUD_DNS_DOMAIN against real
// Alibaba Cloud, else a new domain of the shared fake.
func testDomain(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("ALIBABA_CLOUD_DNS_DOMAIN"); d != "" {
		return d
	}
	f := acctest.SharedAlibabaFake()
	if f == nil {
		t.Fatal("DNS record tests against real Alibaba Cloud need ALIBABA_CLOUD_DNS_DOMAIN, a domain hosted in Alidns")
	}
	d := strings.ToLower(acctest.RandomName()) + ".example.com"
	if err := f.AddDomain(d); err != nil {
		t.Fatal(err)
	}
	return d
}

func recordConfig(domain, rr, rtype, value string, ttl int) string {
	return fmt.Sprintf(`
resource "sandbox_alicloud_dns_record" "test" {
  domain_name = %q
  rr          = %q
  type        = %q
  value       = %q
  ttl         = %d
}
`, domain, rr, rtype, value, ttl)
}

// checkRecord asserts what Alidns holds for the record in the state.
func checkRecord(t *testing.T, rr, rtype, value string, ttl int64) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		id, err := idOf(s, recordAddr)
		if err != nil {
			return err
		}
		got, err := acctest.AlibabaConns(t).DNS().Get(context.Background(), id)
		if err != nil {
			return err
		}
		if got.RR != rr || got.Type != rtype || got.Value != value || got.TTL != ttl {
			return fmt.Errorf("record %s is %+v, want %s %s %q TTL %d", id, got, rr, rtype, value, ttl)
		}
		return nil
	}
}

// checkRecordsDestroyed is a CheckDestroy for records.
func checkRecordsDestroyed(t *testing.T) func(*terraform.State) error {
	return func(s *terraform.State) error {
		for name, rs := range s.RootModule().Resources {
			if rs.Type != "sandbox_alicloud_dns_record" {
				continue
			}
			_, err := acctest.AlibabaConns(t).DNS().Get(context.Background(), rs.Primary.ID)
			if !retry.IsNotFound(err) {
				return fmt.Errorf("%s: record %s still exists after destroy (%v)", name, rs.Primary.ID, err)
			}
		}
		return nil
	}
}

func TestAccAlicloudDNSRecord_basic(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run it")
	}
	acctest.PreCheckAlibaba(t)
	domain := testDomain(t)
	sameID := statecheck.CompareValue(compare.ValuesSame())
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkRecordsDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: recordConfig(domain, "*.sbx", "A", "203.0.113.10", 600),
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(recordAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(recordAddr, tfjsonpath.New("fqdn"), knownvalue.StringExact("*.sbx."+domain)),
				},
				Check: checkRecord(t, "*.sbx", "A", "203.0.113.10", 600),
			},
			{
				ResourceName:            recordAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				// Value and TTL change in place.
				Config: recordConfig(domain, "*.sbx", "A", "203.0.113.11", 1200),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(recordAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{sameID.AddStateValue(recordAddr, tfjsonpath.New("id"))},
				Check:             checkRecord(t, "*.sbx", "A", "203.0.113.11", 1200),
			},
			{
				// So do the name and the type.
				Config: recordConfig(domain, "sbx", "CNAME", "lb.example.net", 1200),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(recordAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(recordAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(recordAddr, tfjsonpath.New("fqdn"), knownvalue.StringExact("sbx."+domain)),
				},
				Check: checkRecord(t, "sbx", "CNAME", "lb.example.net", 1200),
			},
		},
	})
}

// Two TXT records with one name coexist (ACME DNS-01 for a wildcard and its base name needs that).
func TestAccAlicloudDNSRecord_txtPair(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run it")
	}
	acctest.PreCheckAlibaba(t)
	domain := testDomain(t)
	config := fmt.Sprintf(`
resource "sandbox_alicloud_dns_record" "one" {
  domain_name = %[1]q
  rr          = "_acme-challenge.sbx"
  type        = "TXT"
  value       = "token-one"
}

resource "sandbox_alicloud_dns_record" "two" {
  domain_name = %[1]q
  rr          = "_acme-challenge.sbx"
  type        = "TXT"
  value       = "token-two"
}
`, domain)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkRecordsDestroyed(t),
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("sandbox_alicloud_dns_record.one", tfjsonpath.New("ttl"), knownvalue.Int64Exact(600)),
				statecheck.CompareValuePairs("sandbox_alicloud_dns_record.one", tfjsonpath.New("id"),
					"sandbox_alicloud_dns_record.two", tfjsonpath.New("id"), compare.ValuesDiffer()),
			},
		}},
	})
}

func TestAccAlicloudDNSRecord_invalid(t *testing.T) {
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{Config: recordConfig("example.com", "www", "A", "lb.example.net", 600), PlanOnly: true,
				ExpectError: regexp.MustCompile(`An A record's value must be an IPv4 address`)},
			{Config: recordConfig("example.com", "www", "CNAME", "not a host", 600), PlanOnly: true,
				ExpectError: regexp.MustCompile(`must be a host name`)},
			{Config: recordConfig("example.com", "a..b", "TXT", "x", 600), PlanOnly: true,
				ExpectError: regexp.MustCompile(`must be @ or labels`)},
		},
	})
}

// TestAccAlicloudDNSRecord_disappearsAndFaults: a record invisible after its create, throttled
// calls, and a record deleted out of band that the next apply creates again.
func TestAccAlicloudDNSRecord_disappearsAndFaults(t *testing.T) {
	f := acctest.StartFakeAlibaba(t, alifake.Faults{
		NotFoundReads: 2,
		Throttle: map[string]alifake.Throttle{
			"AddDomainRecord":          {Next: 1},
			"DescribeDomainRecordInfo": {Every: 3},
			"DeleteDomainRecord":       {Next: 1},
		},
	})
	if err := f.AddDomain("example.test"); err != nil {
		t.Fatal(err)
	}
	config := f.ProviderConfig() + recordConfig("example.test", "*.sbx", "A", "203.0.113.20", 600)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy:             resource.ComposeTestCheckFunc(checkNoLeftovers(f), atLeastCalls(f, "DeleteDomainRecord", 2)),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: resource.ComposeTestCheckFunc(
					atLeastCalls(f, "AddDomainRecord", 2),
					atLeastCalls(f, "DescribeDomainRecordInfo", 3),
					func(s *terraform.State) error {
						id, err := idOf(s, recordAddr)
						if err != nil {
							return err
						}
						return f.DeleteOutOfBand(id)
					},
				),
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(recordAddr, plancheck.ResourceActionCreate),
				}},
				Check: func(*terraform.State) error {
					recs := f.Records()
					if len(recs) != 1 || recs[0].FQDN != "*.sbx.example.test" || recs[0].Value != "203.0.113.20" {
						return fmt.Errorf("the fake holds %+v, want the recreated wildcard record", recs)
					}
					return nil
				},
			},
		},
	})
}

// AddTXT, for an ACME DNS-01 solver: publishing the same token twice finds the first record.
func TestDNSRecordsAddTXTIsIdempotent(t *testing.T) {
	f := acctest.StartFakeAlibaba(t, alifake.Faults{})
	if err := f.AddDomain("example.test"); err != nil {
		t.Fatal(err)
	}
	dns := f.Conns(t).DNS()
	ctx := context.Background()
	id1, err := dns.AddTXT(ctx, "example.test", "_acme-challenge.sbx", "token", 600)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := dns.AddTXT(ctx, "example.test", "_acme-challenge.sbx", "token", 600)
	if err != nil || id2 != id1 {
		t.Fatalf("second AddTXT = %q, %v; want the first record %q", id2, err, id1)
	}
	if err := dns.Delete(ctx, id1, 0); err != nil {
		t.Fatal(err)
	}
	if err := dns.Delete(ctx, id1, 0); err != nil {
		t.Fatalf("deleting a deleted record: %v", err)
	}
	if recs := f.Records(); len(recs) != 0 {
		t.Fatalf("the fake still holds %+v", recs)
	}
}

// Split turns the full names an ACME solver is given into Alidns's domain and host record.
func TestDNSRecordsSplit(t *testing.T) {
	f := acctest.StartFakeAlibaba(t, alifake.Faults{})
	for _, d := range []string{"example.test", "sbx.corp.example.test"} {
		if err := f.AddDomain(d); err != nil {
			t.Fatal(err)
		}
	}
	dns := f.Conns(t).DNS()
	for fqdn, want := range map[string][2]string{
		"_acme-challenge.sbx.example.test.":     {"example.test", "_acme-challenge.sbx"},
		"*.sbx.example.test":                    {"example.test", "*.sbx"},
		"example.test":                          {"example.test", "@"},
		"_acme-challenge.sbx.corp.example.test": {"sbx.corp.example.test", "_acme-challenge"},
	} {
		domain, rr, err := dns.Split(context.Background(), fqdn)
		if err != nil || domain != want[0] || rr != want[1] {
			t.Errorf("Split(%q) = %q, %q, %v; want %q, %q", fqdn, domain, rr, err, want[0], want[1])
		}
	}
	if _, _, err := dns.Split(context.Background(), "www.other.test"); !retry.IsNotFound(err) {
		t.Errorf("Split of a name outside the account's domains: %v", err)
	}
}
