package aws

import (
	"context"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// Propagation windows: how long a new object may be invisible, or a change unseen, before the
// provider gives up (terraform-provider-aws's ec2PropagationTimeout).
const propagationTimeout = 5 * time.Minute

// ec2Pacing is how EC2 waits poll: at once, then after 1 s, doubling up to 10 s.
var ec2Pacing = retry.Pacing{Interval: time.Second, MaxInterval: 10 * time.Second}

func waitVPCAvailable(ctx context.Context, c *Conns, id string, timeout time.Duration) (*ec2types.Vpc, error) {
	conf := retry.StateChangeConf[*ec2types.Vpc]{
		Pending: []string{string(ec2types.VpcStatePending)},
		Target:  []string{string(ec2types.VpcStateAvailable)},
		Refresh: func(ctx context.Context) (*ec2types.Vpc, string, error) {
			v, err := findVPCByID(ctx, c.EC2, id)
			if err != nil {
				return nil, "", err
			}
			return v, string(v.State), nil
		},
		Timeout: timeout,
		Pacing:  c.Pace(ec2Pacing),
	}
	return conf.Wait(ctx)
}

// waitVPCAttribute waits until DescribeVpcAttribute shows the value just set.
func waitVPCAttribute(ctx context.Context, c *Conns, id string, name ec2types.VpcAttributeName, want bool) error {
	return waitAttribute(ctx, c, func(ctx context.Context) (bool, error) { return findVPCAttribute(ctx, c.EC2, id, name) }, want)
}

func waitAttribute(ctx context.Context, c *Conns, read func(context.Context) (bool, error), want bool) error {
	conf := retry.StateChangeConf[bool]{
		Pending: []string{stateOf(!want)},
		Target:  []string{stateOf(want)},
		Refresh: func(ctx context.Context) (bool, string, error) {
			v, err := read(ctx)
			return v, stateOf(v), err
		},
		Timeout: propagationTimeout,
		Pacing:  c.Pace(ec2Pacing),
	}
	_, err := conf.Wait(ctx)
	return err
}

func stateOf(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// waitVPCDeleted waits until the VPC is gone.
func waitVPCDeleted(ctx context.Context, c *Conns, id string, timeout time.Duration) error {
	return retry.UntilNotFound(ctx, timeout, c.Pace(ec2Pacing), func(ctx context.Context) error {
		_, err := findVPCByID(ctx, c.EC2, id)
		return err
	})
}

func waitSubnetAvailable(ctx context.Context, c *Conns, id string, timeout time.Duration) (*ec2types.Subnet, error) {
	conf := retry.StateChangeConf[*ec2types.Subnet]{
		Pending: []string{string(ec2types.SubnetStatePending)},
		Target:  []string{string(ec2types.SubnetStateAvailable)},
		Refresh: func(ctx context.Context) (*ec2types.Subnet, string, error) {
			s, err := findSubnetByID(ctx, c.EC2, id)
			if err != nil {
				return nil, "", err
			}
			return s, string(s.State), nil
		},
		Timeout: timeout,
		Pacing:  c.Pace(ec2Pacing),
	}
	return conf.Wait(ctx)
}

// waitSubnetMapPublicIP waits until the subnet shows the map-public-IP setting just made.
func waitSubnetMapPublicIP(ctx context.Context, c *Conns, id string, want bool) error {
	return waitAttribute(ctx, c, func(ctx context.Context) (bool, error) {
		s, err := findSubnetByID(ctx, c.EC2, id)
		if err != nil {
			return false, err
		}
		return awssdk.ToBool(s.MapPublicIpOnLaunch), nil
	}, want)
}

func waitSubnetDeleted(ctx context.Context, c *Conns, id string, timeout time.Duration) error {
	return retry.UntilNotFound(ctx, timeout, c.Pace(ec2Pacing), func(ctx context.Context) error {
		_, err := findSubnetByID(ctx, c.EC2, id)
		return err
	})
}

// deleteRetryingDependencies calls del until it stops failing with DependencyViolation (an
// interface or a group still being released) or timeout passes. NotFound is success.
func deleteRetryingDependencies(ctx context.Context, c *Conns, timeout time.Duration, notFoundCode string, del func(context.Context) error) error {
	err := retry.Retry(ctx, timeout, c.Pace(retry.Pacing{Interval: 2 * time.Second, MaxInterval: 15 * time.Second}),
		retry.OnErrorCodes(errCodeDependencyViolation), del)
	if isCode(err, notFoundCode) {
		return nil
	}
	return err
}

// tagSpecifications tags a new object in its create call.
func tagSpecifications(t ec2types.ResourceType, tags map[string]string) []ec2types.TagSpecification {
	if len(tags) == 0 {
		return nil
	}
	return []ec2types.TagSpecification{{ResourceType: t, Tags: ec2Tags(tags)}}
}

// updateTags makes the object's tags go from old to new.
func updateTags(ctx context.Context, conn *ec2.Client, id string, old, new map[string]string) error {
	var remove []ec2types.Tag
	for k := range old {
		if _, ok := new[k]; !ok {
			remove = append(remove, ec2types.Tag{Key: awssdk.String(k)})
		}
	}
	set := map[string]string{}
	for k, v := range new {
		if ov, ok := old[k]; !ok || ov != v {
			set[k] = v
		}
	}
	if len(remove) > 0 {
		if _, err := conn.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: remove}); err != nil {
			return err
		}
	}
	if len(set) > 0 {
		if _, err := conn.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: ec2Tags(set)}); err != nil {
			return err
		}
	}
	return nil
}
