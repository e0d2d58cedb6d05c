package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/alicloud"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// chanWriter hands each write to the test, so it can wait for the exports without polling.
type chanWriter chan string

func (c chanWriter) Write(p []byte) (int, error) {
	c <- string(p)
	return len(p), nil
}

func TestExportsReachTheFakes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chanWriter, 1)
	done := make(chan error, 1)
	var stderr bytes.Buffer
	go func() {
		done <- run(ctx, []string{"-clouds", "aws", "-aws-region", "eu-west-1", "-aws-account-id", "210987654321", "-aws-throttle", "DescribeVpcs=1"}, out, &stderr)
	}()
	var exports string
	select {
	case exports = <-out:
	case err := <-done:
		t.Fatalf("run returned before printing exports: %v\n%s", err, stderr.String())
	}
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(exports), "\n") {
		kv, ok := strings.CutPrefix(line, "export ")
		if !ok {
			t.Fatalf("not an export line: %q", line)
		}
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, strings.Trim(v, "'"))
		names = append(names, k)
	}
	for _, want := range []string{"AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_ROUTE_53", "AWS_ENDPOINT_URL_STS", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Fatalf("exports lack %s:\n%s", want, exports)
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Account) != "210987654321" {
		t.Fatalf("GetCallerIdentity = %v, %v", who, err)
	}
	var apiErr smithy.APIError
	_, err = ec2.NewFromConfig(cfg).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "RequestLimitExceeded" {
		t.Fatalf("-aws-throttle DescribeVpcs=1: first call got %v", err)
	}
	if _, err := ec2.NewFromConfig(cfg).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-clouds", "gcp"},
		{"-host", "0.0.0.0"},
		{"-aws-route53-throttle-code", "SlowDown"},
		{"-aws-throttle", "DescribeVpcs"},
		{"-ali-throttle", "DescribeVpcs"},
		{"-ali-access-key-id", ""},
	} {
		var stderr bytes.Buffer
		if err := run(context.Background(), args, &bytes.Buffer{}, &stderr); err == nil {
			t.Errorf("run %q succeeded", args)
		}
	}
}

// The Alibaba Cloud exports are what the provider reads: its clients, built from the environment
// alone, reach the fakes.
func TestAlibabaExportsReachTheFakes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chanWriter, 1)
	done := make(chan error, 1)
	var stderr bytes.Buffer
	go func() {
		done <- run(ctx, []string{"-clouds", "alicloud", "-ali-region", "cn-shanghai", "-ali-throttle", "DescribeVpcs:next=1"}, out, &stderr)
	}()
	var exports string
	select {
	case exports = <-out:
	case err := <-done:
		t.Fatalf("run returned before printing exports: %v\n%s", err, stderr.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(exports), "\n") {
		kv, ok := strings.CutPrefix(line, "export ")
		if !ok {
			t.Fatalf("not an export line: %q", line)
		}
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, strings.Trim(v, "'"))
	}
	for _, p := range alicloud.Products {
		if !strings.Contains(exports, alicloud.EnvEndpoint(p)+"=") {
			t.Fatalf("exports lack %s:\n%s", alicloud.EnvEndpoint(p), exports)
		}
	}
	c, err := alicloud.ConnsFor(ctx, &framework.ProviderData{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Region != "cn-shanghai" {
		t.Fatalf("region %q from the exports, want cn-shanghai", c.Region)
	}
	req := vpc.CreateDescribeVpcsRequest()
	alicloud.PointRPC(c, "vpc", req.RpcRequest)
	if _, err := c.VPC.DescribeVpcs(req); retry.ErrorCode(err) != "Throttling.User" {
		t.Fatalf("-ali-throttle DescribeVpcs:next=1: first call got %v", err)
	}
	resp, err := c.VPC.DescribeVpcs(req)
	if err != nil || len(resp.Vpcs.Vpc) != 1 || !resp.Vpcs.Vpc[0].IsDefault {
		t.Fatalf("DescribeVpcs = %+v, %v; want the default VPC", resp, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
