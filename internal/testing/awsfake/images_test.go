package awsfake_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/awsfake"
)

func TestDescribeImages(t *testing.T) {
	east, ce := start(t, awsfake.Options{})
	_, cw := start(t, awsfake.Options{Region: "eu-west-1"})

	ubuntu := &ec2.DescribeImagesInput{Owners: []string{"099720109477"}, Filters: []types.Filter{
		{Name: aws.String("name"), Values: []string{"ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"}},
		{Name: aws.String("architecture"), Values: []string{"x86_64"}},
		{Name: aws.String("state"), Values: []string{"available"}},
	}}
	imgs := ok(ce.ec2.DescribeImages(ctx, ubuntu)).must(t).Images
	if len(imgs) != 2 {
		t.Fatalf("found %d ubuntu amd64 images, want 2", len(imgs))
	}
	westImgs := ok(cw.ec2.DescribeImages(ctx, ubuntu)).must(t).Images
	if len(westImgs) != 2 || aws.ToString(westImgs[0].ImageId) == aws.ToString(imgs[0].ImageId) {
		t.Fatal("the same image must have a different ID in another region")
	}

	amazon := ok(ce.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})).must(t).Images
	for _, img := range amazon {
		if aws.ToString(img.ImageOwnerAlias) != "amazon" || !strings.HasPrefix(aws.ToString(img.Name), "al2023-") {
			t.Fatalf("owner amazon returned %s", aws.ToString(img.Name))
		}
	}

	osworld := &ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("name"), Values: []string{"osworld-*"}}}}
	found := ok(ce.ec2.DescribeImages(ctx, osworld)).must(t).Images
	if len(found) != 1 || len(ok(cw.ec2.DescribeImages(ctx, osworld)).must(t).Images) != 0 {
		t.Fatal("the OSWorld-style image must exist in us-east-1 only")
	}
	id := aws.ToString(found[0].ImageId)
	byID := ok(ce.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})).must(t).Images
	if len(byID) != 1 || aws.ToString(byID[0].RootDeviceName) == "" || len(byID[0].BlockDeviceMappings) != 1 {
		t.Fatalf("by ID = %+v", byID)
	}
	_, err := cw.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
	wantCode(t, err, "InvalidAMIID.NotFound")
	_, err = ce.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{"image-1"}})
	wantCode(t, err, "InvalidAMIID.Malformed")

	own := east.AddImage(awsfake.Image{Name: "sandbox-node-1", Architecture: "arm64"})
	self := ok(ce.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})).must(t).Images
	if len(self) != 1 || aws.ToString(self[0].ImageId) != own.ID {
		t.Fatalf("owner self = %+v", self)
	}
}
