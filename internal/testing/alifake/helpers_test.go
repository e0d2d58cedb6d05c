package alifake_test

import (
	"errors"
	"testing"

	sdkpkg "github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/alidns"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/cas"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/cs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/alicloud"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
)

// sdk holds unchanged v1 SDK clients and the parsed endpoints of one Fake.
type sdk struct {
	vpc    *vpc.Client
	ecs    *ecs.Client
	dns    *alidns.Client
	cas    *cas.Client
	cs     *cs.Client
	vpcEP  alicloud.Endpoint
	ecsEP  alicloud.Endpoint
	dnsEP  alicloud.Endpoint
	casEP  alicloud.Endpoint
	csEP   alicloud.Endpoint
	region string
}

func newSDK(t *testing.T, f *alifake.Fake, ak, sk string) *sdk {
	t.Helper()
	cred := credentials.NewAccessKeyCredential(ak, sk)
	// The clients are configured as production ones are (HTTPS); the parsed endpoint's scheme wins per
	// request, which is what lets the provider reach an http:// fake.
	cfg := func() *sdkpkg.Config { return sdkpkg.NewConfig().WithScheme("HTTPS") }
	s := &sdk{region: f.Region()}
	var err error
	check := func(e error) {
		t.Helper()
		if e != nil {
			t.Fatal(e)
		}
	}
	s.vpc, err = vpc.NewClientWithOptions(f.Region(), cfg(), cred)
	check(err)
	s.ecs, err = ecs.NewClientWithOptions(f.Region(), cfg(), cred)
	check(err)
	s.dns, err = alidns.NewClientWithOptions(f.Region(), cfg(), cred)
	check(err)
	s.cas, err = cas.NewClientWithOptions(f.Region(), cfg(), cred)
	check(err)
	s.cs, err = cs.NewClientWithOptions(f.Region(), cfg(), cred)
	check(err)
	for p, ep := range map[alifake.Product]*alicloud.Endpoint{alifake.VPC: &s.vpcEP, alifake.ECS: &s.ecsEP,
		alifake.Alidns: &s.dnsEP, alifake.CAS: &s.casEP, alifake.CS: &s.csEP} {
		*ep, err = alicloud.ParseEndpoint(f.URL(p))
		check(err)
	}
	return s
}

func clientFor(t *testing.T, f *alifake.Fake) *sdk {
	ak, sk := f.Credentials()
	return newSDK(t, f, ak, sk)
}

// serverError asserts err is the SDK's *ServerError with code and HTTP status.
func serverError(t *testing.T, err error, status int, code string) *sdkerrors.ServerError {
	t.Helper()
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T), want *errors.ServerError %s", err, err, code)
	}
	if se.HttpStatus() != status || se.ErrorCode() != code {
		t.Fatalf("error status %d code %q (message %q), want %d %q", se.HttpStatus(), se.ErrorCode(), se.Message(), status, code)
	}
	if se.RequestId() == "" && code != "" {
		t.Errorf("error %s has no RequestId", code)
	}
	return se
}

// callFailed carries an unexpected error from must to the test's deferred failOnError.
type callFailed struct{ err error }

// must returns v, or ends the test (through failOnError, deferred at the test's start) when err is set.
// It lets a test chain SDK calls as must(client.Call(req)).
func must[T any](v T, err error) T {
	if err != nil {
		panic(callFailed{err})
	}
	return v
}

// failOnError turns a must failure into t.Fatal; every test that uses must defers it first.
func failOnError(t *testing.T) {
	if r := recover(); r != nil {
		if cf, ok := r.(callFailed); ok {
			t.Fatalf("unexpected error: %v", cf.err)
		}
		panic(r)
	}
}
