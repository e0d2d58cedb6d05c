package awsfake_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/awsfake"
)

// TestEnvironment proves the variables Env prints (and the standalone command exports) are the ones
// config.LoadDefaultConfig reads: every service reaches its fake with no code-level override.
func TestEnvironment(t *testing.T) {
	s := awsfake.StartTest(t, awsfake.Options{Region: "ap-southeast-2"})
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_PROFILE", "")
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "ap-southeast-2" {
		t.Fatalf("region %q", cfg.Region)
	}
	who := ok(sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})).must(t)
	if aws.ToString(who.Account) != s.AccountID() {
		t.Fatalf("account %s", aws.ToString(who.Account))
	}
	if n := len(ok(ec2.NewFromConfig(cfg).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})).must(t).Vpcs); n != 1 {
		t.Fatalf("%d VPCs, want the default one", n)
	}
	ok(route53.NewFromConfig(cfg).ListHostedZones(ctx, &route53.ListHostedZonesInput{})).must(t)
}

// TestCombinedEndpoint: one AWS_ENDPOINT_URL for every service, routed by the signature's scope.
func TestCombinedEndpoint(t *testing.T) {
	s := awsfake.StartTest(t, awsfake.Options{})
	id, secret := s.Credentials()
	cfg := clientConfig(s, id, secret)
	cfg.BaseEndpoint = aws.String(s.URL())
	who := ok(sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})).must(t)
	if aws.ToString(who.Account) != s.AccountID() {
		t.Fatalf("account %s", aws.ToString(who.Account))
	}
	if n := len(ok(ec2.NewFromConfig(cfg).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})).must(t).Vpcs); n != 1 {
		t.Fatalf("%d VPCs", n)
	}
	ok(route53.NewFromConfig(cfg).ListHostedZones(ctx, &route53.ListHostedZonesInput{})).must(t)
}
