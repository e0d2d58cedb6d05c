package aws_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acctest"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/awsfake"
)

// TestAccAMIDataSource finds the newest Ubuntu image by name pattern and owner, then the same image
// by ID.
func TestAccAMIDataSource(t *testing.T) {
	const byName, byID = "data.sandbox_aws_ami.ubuntu", "data.sandbox_aws_ami.by_id"
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAWS(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{{
			Config: `
data "sandbox_aws_ami" "ubuntu" {
  name_pattern = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"
  owners       = ["099720109477"]
  architecture = "x86_64"
  most_recent  = true
}

data "sandbox_aws_ami" "by_id" {
  image_id = data.sandbox_aws_ami.ubuntu.id
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(byName, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^ami-[0-9a-f]+$`))),
				statecheck.ExpectKnownValue(byName, tfjsonpath.New("name"), knownvalue.StringRegexp(regexp.MustCompile(`^ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24\.04-amd64-server-\d{8}(\.\d+)?$`))),
				statecheck.ExpectKnownValue(byName, tfjsonpath.New("owner_id"), knownvalue.StringExact("099720109477")),
				statecheck.ExpectKnownValue(byName, tfjsonpath.New("state"), knownvalue.StringExact("available")),
				statecheck.CompareValuePairs(byName, tfjsonpath.New("id"), byID, tfjsonpath.New("id"), compare.ValuesSame()),
				statecheck.CompareValuePairs(byName, tfjsonpath.New("name"), byID, tfjsonpath.New("name"), compare.ValuesSame()),
				statecheck.CompareValuePairs(byName, tfjsonpath.New("creation_date"), byID, tfjsonpath.New("creation_date"), compare.ValuesSame()),
			},
		}},
	})
}

// TestAccAMIDataSource_fake pins what the fake's images resolve to: most_recent takes the newest of
// two, and several matches without it are an error that lists them. The first lookups are
// throttled and retried.
func TestAccAMIDataSource_fake(t *testing.T) {
	fake := acctest.StartFakeAWS(t, awsfake.Faults{})
	fake.ThrottleNext("DescribeImages", 2)
	var newest awsfake.Image
	for _, img := range fake.Images() {
		if strings.HasPrefix(img.Name, "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-") && img.CreationDate > newest.CreationDate {
			newest = img
		}
	}
	pattern := func(mostRecent bool) string {
		return fake.ProviderConfig() + fmt.Sprintf(`
data "sandbox_aws_ami" "ubuntu" {
  name_pattern = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"
  owners       = ["099720109477"]
  most_recent  = %t
}
`, mostRecent)
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		Steps: []resource.TestStep{
			{
				Config: pattern(true),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.sandbox_aws_ami.ubuntu", tfjsonpath.New("id"), knownvalue.StringExact(newest.ID)),
					statecheck.ExpectKnownValue("data.sandbox_aws_ami.ubuntu", tfjsonpath.New("creation_date"), knownvalue.StringExact(newest.CreationDate)),
					statecheck.ExpectKnownValue("data.sandbox_aws_ami.ubuntu", tfjsonpath.New("region"), knownvalue.StringExact("us-east-1")),
				},
				Check: func(*terraform.State) error {
					if n := fake.ErrorCount("RequestLimitExceeded"); n != 2 {
						return fmt.Errorf("the fake throttled %d DescribeImages calls, want 2", n)
					}
					return nil
				},
			},
			{
				Config:      pattern(false),
				ExpectError: regexp.MustCompile(`(?s)Several AMIs Match.*2 images in us-east-1.*most_recent = true`),
			},
		},
	})
}

// TestAccAMIDataSource_otherRegion: an image ID of another region (as in OSWorld's IMAGE_ID_MAP)
// and a name only published in another region fail with messages that say AMIs are per region.
func TestAccAMIDataSource_otherRegion(t *testing.T) {
	east := acctest.StartFakeAWS(t, awsfake.Faults{})
	west := &acctest.FakeAWS{Server: awsfake.StartTest(t, awsfake.Options{Region: "eu-west-1"})}
	var osworldID string
	for _, img := range east.Images() {
		if strings.HasPrefix(img.Name, "osworld-") {
			osworldID = img.ID
		}
	}
	if osworldID == "" {
		t.Fatal("the us-east-1 fake has no OSWorld-style image")
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		Steps: []resource.TestStep{
			{
				Config: east.ProviderConfig() + fmt.Sprintf(`
data "sandbox_aws_ami" "osworld" {
  image_id = %q
}
`, osworldID),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.sandbox_aws_ami.osworld", tfjsonpath.New("name"), knownvalue.StringExact("osworld-ubuntu-22.04-desktop-20261020")),
				},
			},
			{
				Config: west.ProviderConfig() + fmt.Sprintf(`
data "sandbox_aws_ami" "osworld" {
  image_id = %q
}
`, osworldID),
				ExpectError: regexp.MustCompile(`(?s)AMI Not Available in eu-west-1.*` + osworldID + `.*per region.*IMAGE_ID_MAP`),
			},
			{
				Config: west.ProviderConfig() + `
data "sandbox_aws_ami" "osworld" {
  name_pattern = "osworld-*"
}
`,
				ExpectError: regexp.MustCompile(`(?s)No Matching AMI in eu-west-1.*osworld-\*.*per region`),
			},
		},
	})
}
