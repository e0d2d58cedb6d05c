// Package acctest holds what the provider's acceptance tests share: provider factories, pre-checks
// per cloud, random names with a fixed prefix, and the TestMain that points the provider at the
// cloud fakes when no real credentials are configured.
//
// Against the fakes (the default), every test runs offline in `make test`. With real AWS
// credentials in the environment (AWS_ACCESS_KEY_ID or AWS_PROFILE, plus a region) and no endpoint
// override, the same tests run unchanged against real AWS; with ALIBABA_CLOUD_ACCESS_KEY_ID (and
// ALIBABA_CLOUD_ACCESS_KEY_SECRET, ALIBABA_CLOUD_REGION) and no ALIBABA_CLOUD_ENDPOINT_* override,
// against real Alibaba Cloud. Only the fault-injection tests, which need a fake by nature, always use
// a fake of their own.
package acctest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	sdkacctest "github.com/hashicorp/terraform-plugin-testing/helper/acctest"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/alicloud"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/aws"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/provider"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/awsfake"
)

// ResourcePrefix starts the name of everything a test creates, so leaks are easy to find and sweep.
const ResourcePrefix = "tf-acc-test"

// RandomName is a unique name with ResourcePrefix.
func RandomName() string { return sdkacctest.RandomWithPrefix(ResourcePrefix) }

// FastTiming is the pacing against fakes: no initial delays, polls at most 20 ms apart.
var FastTiming = framework.Timing{MaxInterval: 20 * time.Millisecond, SkipDelays: true}

// Factories is the provider, served in-process, for resource.TestCase.ProtoV6ProviderFactories.
// Against fakes its waits are fast; against a real cloud they are the production ones.
func Factories() map[string]func() (tfprotov6.ProviderServer, error) {
	timing := framework.Timing{}
	if usingFakesOnly() {
		timing = FastTiming
	}
	return factories(timing)
}

// FakeFactories is the provider with fast waits, for tests that always run against a fake.
func FakeFactories() map[string]func() (tfprotov6.ProviderServer, error) {
	return factories(FastTiming)
}

func factories(t framework.Timing) map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"sandbox": providerserver.NewProtocol6WithError(provider.New("test", provider.WithTiming(t))()),
	}
}

// The shared fakes of this test binary, when Main started them.
var (
	sharedMu   sync.Mutex
	sharedFake *awsfake.Server
	sharedAli  *alifake.Fake
)

// usingFakesOnly reports whether every cloud the tests reach is a fake (then waits are fast).
func usingFakesOnly() bool {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	return (sharedFake != nil || sharedAli != nil) && (sharedFake != nil || !RealAWSConfigured()) &&
		(sharedAli != nil || !RealAlibabaConfigured())
}

func usingAWSFake() bool {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	return sharedFake != nil
}

// RealAWSConfigured reports whether the environment names real AWS credentials.
func RealAWSConfigured() bool {
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		if os.Getenv(v) != "" {
			return true
		}
	}
	return false
}

// Main is the TestMain of packages with cloud acceptance tests. Under TF_ACC, and when no real AWS
// credentials are configured, it starts the AWS fakes and points the standard AWS environment
// variables (AWS_ENDPOINT_URL_EC2, ..., AWS_ACCESS_KEY_ID, AWS_REGION) at them, so that test
// configurations need no provider block and run unchanged against real AWS otherwise. Likewise,
// without real Alibaba Cloud credentials it starts the Alibaba Cloud fakes and sets ALIBABA_CLOUD_*
// (credentials, region, ALIBABA_CLOUD_ENDPOINT_<PRODUCT>).
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("TF_ACC") != "" && !RealAWSConfigured() {
		fake, err := awsfake.Start(awsfake.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, "acctest: start the AWS fakes:", err)
			return 1
		}
		defer fake.Close()
		for _, kv := range fake.Env() {
			k, v, _ := strings.Cut(kv, "=")
			os.Setenv(k, v)
		}
		os.Unsetenv("AWS_ENDPOINT_URL")
		sharedMu.Lock()
		sharedFake = fake
		sharedMu.Unlock()
	}
	if os.Getenv("TF_ACC") != "" && !RealAlibabaConfigured() {
		fake, err := alifake.Start(alifake.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, "acctest: start the Alibaba Cloud fakes:", err)
			return 1
		}
		defer fake.Close()
		for _, e := range fake.Env() {
			os.Setenv(e.Name, e.Value)
		}
		sharedMu.Lock()
		sharedAli = fake
		sharedMu.Unlock()
	}
	return m.Run()
}

// PreCheckAWS is the PreCheck of AWS tests: TF_ACC is handled by resource.Test; this checks that the
// AWS side is ready, the shared fake or real credentials with a region.
func PreCheckAWS(t *testing.T) {
	t.Helper()
	if usingAWSFake() {
		return
	}
	if !RealAWSConfigured() {
		t.Fatal("AWS acceptance tests need the fakes (run them with TF_ACC=1 through a TestMain that calls acctest.Main) " +
			"or real credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, and AWS_REGION)")
	}
	if _, err := aws.ConnsFor(context.Background(), &framework.ProviderData{}); err != nil {
		t.Fatalf("AWS acceptance tests against real AWS: %v", err)
	}
}

// SharedAWSFake is the fake the provider reaches through the environment, or nil against real AWS.
func SharedAWSFake() *awsfake.Server {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	return sharedFake
}

// AWSConns are SDK clients that reach what the provider reaches (the shared fake or real AWS), for
// checks and out-of-band changes.
func AWSConns(t *testing.T) *aws.Conns {
	t.Helper()
	timing := framework.Timing{}
	if usingAWSFake() {
		timing = FastTiming
	}
	c, err := aws.ConnsFor(context.Background(), &framework.ProviderData{Timing: timing})
	if err != nil {
		t.Fatalf("AWS clients for checks: %v", err)
	}
	return c
}

// FakeAWS is a fake of a test's own, with faults. Its ErrorCount says which faults the provider met.
type FakeAWS struct {
	*awsfake.Server
}

// StartFakeAWS starts a fake for one test (with faults that would disturb other tests sharing a
// fake) and stops it at the end of the test.
func StartFakeAWS(t *testing.T, faults awsfake.Faults) *FakeAWS {
	t.Helper()
	return &FakeAWS{Server: awsfake.StartTest(t, awsfake.Options{Faults: faults})}
}

// ProviderConfig is a provider block that points the aws block at this fake explicitly (endpoints,
// keys and region), rather than through the environment.
func (f *FakeAWS) ProviderConfig() string {
	key, secret := f.Credentials()
	return fmt.Sprintf(`
provider "sandbox" {
  aws {
    region     = %q
    access_key = %q
    secret_key = %q
    endpoints {
      ec2     = %q
      route53 = %q
      sts     = %q
    }
  }
}
`, f.Region(), key, secret, f.EC2URL(), f.Route53URL(), f.STSURL())
}

// Conns are SDK clients of this fake.
func (f *FakeAWS) Conns(t *testing.T) *aws.Conns {
	t.Helper()
	key, secret := f.Credentials()
	c, err := aws.ConnsFor(context.Background(), &framework.ProviderData{
		Timing: FastTiming,
		AWS: framework.AWSSettings{Region: f.Region(), AccessKey: key, SecretKey: secret,
			Endpoints: framework.AWSEndpoints{EC2: f.EC2URL(), Route53: f.Route53URL(), STS: f.STSURL()}},
	})
	if err != nil {
		t.Fatalf("AWS clients of the fake: %v", err)
	}
	return c
}

// RealAlibabaConfigured reports whether the environment names real Alibaba Cloud credentials: an
// AccessKey and no endpoint pointing elsewhere.
func RealAlibabaConfigured() bool {
	if os.Getenv(alicloud.EnvAccessKey) == "" {
		return false
	}
	for _, p := range alicloud.Products {
		if os.Getenv(alicloud.EnvEndpoint(p)) != "" {
			return false
		}
	}
	return true
}

// PreCheckAlibaba is the PreCheck of Alibaba Cloud tests: the shared fake, or real credentials with
// a region.
func PreCheckAlibaba(t *testing.T) {
	t.Helper()
	if SharedAlibabaFake() != nil {
		return
	}
	if !RealAlibabaConfigured() {
		t.Fatal("Alibaba Cloud acceptance tests need the fakes (run them with TF_ACC=1 through a TestMain that calls " +
			"acctest.Main) or real credentials (ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET, ALIBABA_CLOUD_REGION)")
	}
	if _, err := alicloud.ConnsFor(context.Background(), &framework.ProviderData{}); err != nil {
		t.Fatalf("Alibaba Cloud acceptance tests against real Alibaba Cloud: %v", err)
	}
}

// SharedAlibabaFake is the Alibaba Cloud fake the provider reaches through the environment, or nil
// against real Alibaba Cloud.
func SharedAlibabaFake() *alifake.Fake {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	return sharedAli
}

// AlibabaConns are SDK clients that reach what the provider reaches (the shared fake or real
// Alibaba Cloud), for checks and out-of-band changes.
func AlibabaConns(t *testing.T) *alicloud.Conns {
	t.Helper()
	timing := framework.Timing{}
	if SharedAlibabaFake() != nil {
		timing = FastTiming
	}
	c, err := alicloud.ConnsFor(context.Background(), &framework.ProviderData{Timing: timing})
	if err != nil {
		t.Fatalf("Alibaba Cloud clients for checks: %v", err)
	}
	return c
}

// FakeAlibaba is an Alibaba Cloud fake of a test's own, with faults; its CallCount says which
// faults the provider met.
type FakeAlibaba struct {
	*alifake.Fake
}

// StartFakeAlibaba starts a fake for one test (with faults that would disturb other tests sharing a
// fake) and stops it at the end of the test.
func StartFakeAlibaba(t *testing.T, faults alifake.Faults) *FakeAlibaba {
	t.Helper()
	return &FakeAlibaba{Fake: alifake.New(t, alifake.Options{Faults: faults})}
}

// ProviderConfig is a provider block that points the alicloud block at this fake explicitly
// (endpoints, keys and region), rather than through the environment.
func (f *FakeAlibaba) ProviderConfig() string {
	key, secret := f.Credentials()
	return fmt.Sprintf(`
provider "sandbox" {
  alicloud {
    region     = %q
    access_key = %q
    secret_key = %q
    endpoints {
      vpc    = %q
      ecs    = %q
      cs     = %q
      alidns = %q
      cas    = %q
    }
  }
}
`, f.Region(), key, secret, f.URL(alifake.VPC), f.URL(alifake.ECS), f.URL(alifake.CS), f.URL(alifake.Alidns), f.URL(alifake.CAS))
}

// Conns are SDK clients of this fake.
func (f *FakeAlibaba) Conns(t *testing.T) *alicloud.Conns {
	t.Helper()
	key, secret := f.Credentials()
	c, err := alicloud.ConnsFor(context.Background(), &framework.ProviderData{
		Timing: FastTiming,
		Alibaba: framework.AlibabaSettings{Region: f.Region(), AccessKey: key, SecretKey: secret,
			Endpoints: framework.AlibabaEndpoints{VPC: f.URL(alifake.VPC), ECS: f.URL(alifake.ECS), CS: f.URL(alifake.CS),
				Alidns: f.URL(alifake.Alidns), CAS: f.URL(alifake.CAS)}},
	})
	if err != nil {
		t.Fatalf("Alibaba Cloud clients of the fake: %v", err)
	}
	return c
}
