package alicloud

import (
	"context"
	"errors"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// Codes of rejected credentials and of missing permissions (RPC products and the API gateway).
var (
	credentialCodes = []string{"InvalidAccessKeyId.NotFound", "InvalidAccessKeyId.Inactive", "InvalidAccessKeyId",
		"SignatureDoesNotMatch", "IncompleteSignature", "InvalidSecurityToken.Expired", "InvalidSecurityToken.MismatchWithAccessKey"}
	permissionCodes = []string{"Forbidden.RAM", "Forbidden", "NoPermission", "Forbidden.NoPermission"}
	// throttleCodes and transient errors are retried by every call (the SDK's own retry is off).
	throttleCodes = []string{"Throttling", "Throttling.User", "Throttling.Api", "ServiceUnavailable", "SystemBusy", "InternalError", "UnknownError"}
)

// isCode reports whether err is an Alibaba Cloud API error with one of codes.
func isCode(err error, codes ...string) bool { return retry.OnErrorCodes(codes...)(err) }

// callTimeout bounds the retries of one throttled call; callPacing spaces them.
const callTimeout = 5 * time.Minute

var callPacing = retry.Pacing{Interval: time.Second, MaxInterval: 10 * time.Second}

// call runs one API call, retrying throttling and transient server errors (the SDK's own retry is
// off: it would retry blindly, without the operation's deadline).
//
// Calls of one provider instance are serialised: the v1 SDK's Client is not safe for concurrent use
// (every DoAction rewrites its http.Client's timeout and its transport's dialer), and Terraform runs
// resources in parallel. Waits between retries happen outside the lock.
func call[T any](ctx context.Context, c *Conns, f func() (T, error)) (T, error) {
	v, err := retry.Do(ctx, callTimeout, c.Pace(callPacing), retry.OnErrorCodes(throttleCodes...),
		func(context.Context) (T, error) {
			c.sdkMu.Lock()
			defer c.sdkMu.Unlock()
			return f()
		})
	var te *retry.TimeoutError
	if errors.As(err, &te) && te.LastError != nil && isCode(te.LastError, throttleCodes...) {
		return v, te.LastError
	}
	return v, err
}

// addError is framework.AddError with the Alibaba Cloud advisor.
func addError(diags *diag.Diagnostics, op framework.Op, err error, advisors ...framework.Advisor) {
	framework.AddError(diags, op, err, append(advisors, advise)...)
}

// advise words what Alibaba Cloud answers in terms of the provider's settings.
func advise(op framework.Op, err error) (framework.Advice, bool) {
	var ce *ConfigError
	if errors.As(err, &ce) {
		return framework.Advice{Summary: ce.Summary, Detail: ce.Detail}, true
	}
	switch {
	case isCode(err, credentialCodes...):
		return framework.Advice{Summary: "Alibaba Cloud Rejected the Credentials",
			Hint: "Check the AccessKey pair the provider uses: access_key and secret_key in the provider's alicloud block, " +
				"else " + EnvAccessKey + " and " + EnvSecretKey + ". If the provider is pointed at other endpoints (endpoints " +
				"in the alicloud block, or ALIBABA_CLOUD_ENDPOINT_<PRODUCT>), use the keys those endpoints expect."}, true
	case isCode(err, permissionCodes...):
		return framework.Advice{Summary: "Alibaba Cloud Permission Denied",
			Hint: "The RAM user or role of the provider's AccessKey lacks a permission for this action. Grant it in RAM " +
				"(or ask your administrator), then apply again."}, true
	case isCode(err, throttleCodes...):
		return framework.Advice{Summary: "Alibaba Cloud Throttled the Requests",
			Hint: "Alibaba Cloud kept throttling for " + callTimeout.String() + ". Apply again later, or with a lower -parallelism."}, true
	}
	var ce2 *sdkerrors.ClientError
	if errors.As(err, &ce2) && !errors.Is(err, context.DeadlineExceeded) {
		return framework.Advice{Summary: "Alibaba Cloud API Unreachable",
			Hint: "Check the network. If the provider is pointed at other endpoints (endpoints in the alicloud block, or " +
				"ALIBABA_CLOUD_ENDPOINT_<PRODUCT>), check that they are up."}, true
	}
	return framework.Advice{}, false
}

// resourceBase is the base of every Alibaba Cloud resource: the framework's, plus the clients.
type resourceBase struct {
	framework.ResourceBase
}

func newResourceBase(typeSuffix string) resourceBase {
	return resourceBase{framework.NewResourceBase(typeSuffix)}
}

func (b *resourceBase) conns(ctx context.Context, diags *diag.Diagnostics) *Conns {
	return connsOrDiag(ctx, b.ProviderData(), diags)
}

type dataSourceBase struct {
	framework.DataSourceBase
}

func newDataSourceBase(typeSuffix string) dataSourceBase {
	return dataSourceBase{framework.NewDataSourceBase(typeSuffix)}
}

func (b *dataSourceBase) conns(ctx context.Context, diags *diag.Diagnostics) *Conns {
	return connsOrDiag(ctx, b.ProviderData(), diags)
}

func connsOrDiag(ctx context.Context, d *framework.ProviderData, diags *diag.Diagnostics) *Conns {
	c, err := ConnsFor(ctx, d)
	if err != nil {
		addError(diags, framework.Op{Verb: "configuring", Kind: "the Alibaba Cloud clients"}, err)
		return nil
	}
	return c
}
