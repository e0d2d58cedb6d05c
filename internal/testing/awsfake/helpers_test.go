package awsfake_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/awsfake"
)

type clients struct {
	ec2     *ec2.Client
	route53 *route53.Client
	sts     *sts.Client
}

// clientConfig is what a provider would build: static credentials, the fake's region, one attempt per call.
func clientConfig(s *awsfake.Server, keyID, secret string) aws.Config {
	return aws.Config{
		Region:           s.Region(),
		Credentials:      credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		RetryMaxAttempts: 1,
	}
}

func newClients(s *awsfake.Server, cfg aws.Config) clients {
	return clients{
		ec2:     ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(s.EC2URL()) }),
		route53: route53.NewFromConfig(cfg, func(o *route53.Options) { o.BaseEndpoint = aws.String(s.Route53URL()) }),
		sts:     sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(s.STSURL()) }),
	}
}

func start(t *testing.T, opts awsfake.Options) (*awsfake.Server, clients) {
	t.Helper()
	s := awsfake.StartTest(t, opts)
	id, secret := s.Credentials()
	return s, newClients(s, clientConfig(s, id, secret))
}

// errorCode is the smithy.APIError code of err, or "" when err is nil or not an API error.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := errorCode(err); got != code {
		t.Fatalf("want API error %s, got %v", code, err)
	}
}

// result carries a call's two results, so ok(c.ec2.DescribeVpcs(…)).must(t) reads as one expression.
type result[T any] struct {
	v   T
	err error
}

func ok[T any](v T, err error) result[T] { return result[T]{v, err} }

// must returns the value of a call the test expects to succeed, and fails the test otherwise.
func (r result[T]) must(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatalf("unexpected error: %v", r.err)
	}
	return r.v
}

var ctx = context.Background()
