package alifake_test

import (
	"flag"
	"testing"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
)

func TestFlagsBecomeOptions(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fl := alifake.RegisterFlags(fs, "ali-")
	err := fs.Parse([]string{"-ali-region", "cn-beijing", "-ali-domains", "a.test, b.test", "-ali-not-found-reads", "2",
		"-ali-cluster-create-time", "1m", "-ali-throttle", "DescribeVpcs:next=3", "-ali-throttle", "DescribeVpcs:every=5",
		"-ali-dependency-failures", "DeleteVpc=1", "-ali-cluster-failure", "no quota"})
	if err != nil {
		t.Fatal(err)
	}
	opts, err := fl.Options()
	if err != nil {
		t.Fatal(err)
	}
	if opts.Region != "cn-beijing" || len(opts.Domains) != 2 || opts.Domains[1] != "b.test" || opts.Faults.NotFoundReads != 2 ||
		opts.Faults.ClusterCreateTime != time.Minute || opts.Faults.Throttle["DescribeVpcs"] != (alifake.Throttle{Next: 3, Every: 5}) ||
		opts.Faults.DependencyFailures["DeleteVpc"] != 1 || opts.Faults.ClusterFailure != "no quota" {
		t.Errorf("options: %+v", opts)
	}

	for _, bad := range [][]string{{"-ali-throttle", "DescribeVpcs"}, {"-ali-throttle", "DescribeVpcs:often=2"},
		{"-ali-dependency-failures", "DeleteVpc"}, {"-ali-access-key-secret", ""}} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fl := alifake.RegisterFlags(fs, "ali-")
		if err := fs.Parse(bad); err != nil {
			t.Fatal(err)
		}
		if _, err := fl.Options(); err == nil {
			t.Errorf("flags %q accepted", bad)
		}
	}
}
