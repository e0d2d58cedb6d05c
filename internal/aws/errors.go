package aws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/smithy-go"
	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// EC2 error codes the resources act on.
const (
	errCodeDependencyViolation   = "DependencyViolation"
	errCodeInvalidVPCIDNotFound  = "InvalidVpcID.NotFound"
	errCodeInvalidSubnetNotFound = "InvalidSubnetID.NotFound"
	errCodeInvalidSubnetRange    = "InvalidSubnet.Range"
	errCodeInvalidSubnetConflict = "InvalidSubnet.Conflict"
	errCodeInvalidParameterValue = "InvalidParameterValue"
)

// isCode reports whether err is an AWS API error with one of codes.
func isCode(err error, codes ...string) bool { return retry.OnErrorCodes(codes...)(err) }

// Codes of rejected credentials, over EC2, STS and Route 53.
var credentialCodes = []string{
	"AuthFailure", "InvalidClientTokenId", "SignatureDoesNotMatch", "IncompleteSignature", "UnrecognizedClientException",
	"ExpiredToken", "ExpiredTokenException", "InvalidAccessKeyId", "MissingAuthenticationToken", "InvalidSignatureException",
}

var permissionCodes = []string{"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"}

var throttleCodes = []string{"RequestLimitExceeded", "Throttling", "ThrottlingException", "PriorRequestNotComplete", "TooManyRequestsException"}

// addError is framework.AddError with the AWS advisor.
func addError(diags *diag.Diagnostics, op framework.Op, err error, advisors ...framework.Advisor) {
	framework.AddError(diags, op, err, append(advisors, advise)...)
}

// advise words what AWS answers in terms of the provider's settings.
func advise(op framework.Op, err error) (framework.Advice, bool) {
	var ce *ConfigError
	if errors.As(err, &ce) {
		return framework.Advice{Summary: ce.Summary, Detail: ce.Error() + "."}, true
	}
	switch {
	case isCode(err, credentialCodes...):
		return framework.Advice{Summary: "AWS Rejected the Credentials",
			Hint: "Check the credentials the provider uses: access_key and secret_key in the provider's aws block, else " +
				EnvAccessKey + " and " + EnvSecretKey + " (and AWS_SESSION_TOKEN for temporary ones), else the profile " +
				"(profile in the aws block, or " + EnvProfile + "). If you point the provider at another endpoint (endpoints " +
				"in the aws block, or AWS_ENDPOINT_URL_*), use the credentials that endpoint expects."}, true
	case isCode(err, permissionCodes...):
		return framework.Advice{Summary: "AWS Permission Denied",
			Hint: fmt.Sprintf("The credentials the provider uses lack a permission. Allow %s for them in IAM (or ask "+
				"your administrator), then apply again.", iamAction(err))}, true
	case isCode(err, throttleCodes...):
		return framework.Advice{Summary: "AWS Throttled the Requests",
			Hint: fmt.Sprintf("AWS kept throttling after %d attempts. Apply again later, or with a lower -parallelism.", MaxSDKAttempts)}, true
	}
	var netErr *net.OpError
	if errors.As(err, &netErr) && !errors.Is(err, context.DeadlineExceeded) {
		return framework.Advice{Summary: "AWS API Unreachable",
			Hint: "Check the network. If the provider is pointed at another endpoint (endpoints in the aws block, or " +
				"AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>), check that it is up."}, true
	}
	return framework.Advice{}, false
}

// iamAction is the IAM action of the failed call, like "ec2:CreateVpc".
func iamAction(err error) string {
	var oe *smithy.OperationError
	if !errors.As(err, &oe) {
		return "the action named in the error"
	}
	service := strings.ToLower(strings.ReplaceAll(oe.ServiceID, " ", ""))
	return service + ":" + oe.OperationName
}

// resourceBase is the base of every AWS resource: the framework's, plus the clients.
type resourceBase struct {
	framework.ResourceBase
}

func newResourceBase(typeSuffix string) resourceBase {
	return resourceBase{framework.NewResourceBase(typeSuffix)}
}

// conns returns the AWS clients, or adds a diagnostic that says which setting is missing.
func (b *resourceBase) conns(ctx context.Context, diags *diag.Diagnostics) *Conns {
	return connsOrDiag(ctx, b.ProviderData(), diags)
}

// dataSourceBase is resourceBase for data sources.
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
		addError(diags, framework.Op{Verb: "configuring", Kind: "the AWS clients"}, err)
		return nil
	}
	return c
}
