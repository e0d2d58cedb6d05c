// Package aws holds the provider's AWS resources and data sources (sandbox_aws_*), with their
// finders and waiters, and the AWS clients they share.
//
// Clients are built from the provider's aws block and the standard AWS chain (environment, shared
// config and credentials files, instance roles) the first time an AWS resource needs them, so a
// configuration without AWS resources never loads AWS settings or contacts AWS.
package aws

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	awsretry "github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// Environment variables of the standard AWS chain that the provider's diagnostics name.
const (
	EnvRegion    = "AWS_REGION"
	EnvProfile   = "AWS_PROFILE"
	EnvAccessKey = "AWS_ACCESS_KEY_ID"
	EnvSecretKey = "AWS_SECRET_ACCESS_KEY"
)

// MaxSDKAttempts is how often the SDK tries one request that fails with a retryable error
// (throttling, 5xx, connection resets) before the provider sees the error; terraform-provider-aws
// uses 25 too.
const MaxSDKAttempts = 25

// Conns are the AWS clients of one provider instance.
type Conns struct {
	Region    string
	Partition string
	EC2       *ec2.Client
	Route53   *route53.Client
	STS       *sts.Client
	timing    framework.Timing

	// route53TXTMu serialises the read-merge-UPSERT of challenge TXT record sets, so that two
	// challenges of this provider instance at one name (a wildcard and its apex) never overwrite
	// each other's value.
	route53TXTMu sync.Mutex
}

// ConnsFor returns the provider's AWS clients, building them on first use.
func ConnsFor(ctx context.Context, d *framework.ProviderData) (*Conns, error) {
	return framework.Lazy(ctx, d, "aws", func(ctx context.Context) (*Conns, error) { return newConns(ctx, d) })
}

// Pace is p under the provider's timing (tests against fakes shorten it).
func (c *Conns) Pace(p retry.Pacing) retry.Pacing { return c.timing.Pace(p) }

// ConfigError is an AWS setting that is missing or wrong; it names the provider attribute and the
// environment variable that set it.
type ConfigError struct {
	Summary string
	Detail  string
	Err     error
}

func (e *ConfigError) Error() string {
	if e.Err != nil {
		return e.Detail + ": " + e.Err.Error()
	}
	return e.Detail
}

func (e *ConfigError) Unwrap() error { return e.Err }

func newConns(ctx context.Context, d *framework.ProviderData) (*Conns, error) {
	s := d.AWS
	if (s.AccessKey == "") != (s.SecretKey == "") {
		return nil, &ConfigError{Summary: "Incomplete AWS Credentials",
			Detail: "The provider's aws block sets only one of access_key and secret_key. Set both, or neither to use " +
				EnvAccessKey + " and " + EnvSecretKey + ", " + EnvProfile + " or the shared credentials file"}
	}
	timing := d.Timing
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() awssdk.Retryer {
			return awsretry.NewStandard(func(o *awsretry.StandardOptions) {
				o.MaxAttempts = MaxSDKAttempts
				// The provider's waits have their own deadlines; a client-side token bucket only turns
				// a throttling storm into "retry quota exceeded" errors.
				o.RateLimiter = ratelimit.None
				if timing.MaxInterval > 0 {
					o.MaxBackoff = timing.MaxInterval
				}
			})
		}),
	}
	if s.Region != "" {
		opts = append(opts, config.WithRegion(s.Region))
	}
	if s.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(s.Profile))
	}
	if s.AccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, "")))
	}
	if ua := userAgent(d.UserAgent); ua != nil {
		opts = append(opts, config.WithAPIOptions([]func(*middleware.Stack) error{ua}))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		var noProfile config.SharedConfigProfileNotExistError
		if errors.As(err, &noProfile) {
			return nil, &ConfigError{Summary: "AWS Profile Not Found",
				Detail: fmt.Sprintf("The AWS profile %q (profile in the provider's aws block, or %s) is not in the shared "+
					"config or credentials files. Fix the name, or add the profile with `aws configure --profile %s`",
					noProfile.Profile, EnvProfile, noProfile.Profile), Err: err}
		}
		return nil, &ConfigError{Summary: "Invalid AWS Configuration",
			Detail: "Loading the AWS settings (the provider's aws block, AWS_* environment variables, shared config files) failed",
			Err:    err}
	}
	if cfg.Region == "" {
		return nil, &ConfigError{Summary: "Missing AWS Region",
			Detail: "No AWS region is configured. Set region in the provider's aws block, the " + EnvRegion +
				" environment variable, or region in the shared config file's profile"}
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return nil, &ConfigError{Summary: "Missing AWS Credentials",
			Detail: "No AWS credentials were found. Set access_key and secret_key in the provider's aws block, the " +
				EnvAccessKey + " and " + EnvSecretKey + " environment variables, or a profile (profile in the aws block, or " +
				EnvProfile + ") from the shared credentials file",
			Err: err}
	}
	endpoint := func(url string) *string {
		if url == "" {
			return nil
		}
		return awssdk.String(url)
	}
	c := &Conns{
		Region:    cfg.Region,
		Partition: partitionOf(cfg.Region),
		timing:    timing,
		EC2: ec2.NewFromConfig(cfg, func(o *ec2.Options) {
			if u := endpoint(s.Endpoints.EC2); u != nil {
				o.BaseEndpoint = u
			}
		}),
		Route53: route53.NewFromConfig(cfg, func(o *route53.Options) {
			if u := endpoint(s.Endpoints.Route53); u != nil {
				o.BaseEndpoint = u
			}
		}),
		STS: sts.NewFromConfig(cfg, func(o *sts.Options) {
			if u := endpoint(s.Endpoints.STS); u != nil {
				o.BaseEndpoint = u
			}
		}),
	}
	return c, nil
}

// userAgent adds "terraform-provider-sandbox/<version>" to every request's User-Agent.
func userAgent(ua string) func(*middleware.Stack) error {
	product, _, _ := strings.Cut(ua, " ")
	name, version, ok := strings.Cut(product, "/")
	if !ok || name == "" {
		return nil
	}
	return awsmiddleware.AddUserAgentKeyValue(name, version)
}

// partitionOf is the ARN partition of a region.
func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "eu-isoe-"):
		return "aws-iso-e"
	}
	return "aws"
}

// arn builds an ARN of this connection's partition and region.
func (c *Conns) arn(service, account, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", c.Partition, service, c.Region, account, resource)
}
