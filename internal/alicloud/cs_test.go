package alicloud

import (
	"errors"
	"net/http"
	"testing"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// CS answers errors in lower case, which the v1 SDK's ServerError does not read; csErr recovers the code.
func TestCSErr(t *testing.T) {
	body := `{"code":"ErrorClusterNotFound","message":"The specified cluster c1 does not exist.","requestId":"R-1","status":404}`
	err := csErr(sdkerrors.NewServerError(http.StatusNotFound, body, ""))
	var ce *csError
	if !errors.As(err, &ce) || ce.Code != errClusterNotFound || ce.RequestID != "R-1" || ce.Status != 404 {
		t.Fatalf("csErr = %#v, want ErrorClusterNotFound with request ID R-1", err)
	}
	if retry.ErrorCode(err) != errClusterNotFound || !isCode(err, errClusterNotFound) {
		t.Errorf("the code is not visible to retry.ErrorCode: %q", retry.ErrorCode(err))
	}

	// The API gateway's own errors (throttling, signatures) are capitalised and pass unchanged.
	gw := sdkerrors.NewServerError(http.StatusBadRequest, `{"Code":"Throttling.User","Message":"slow down","RequestId":"R-2"}`, "")
	if got := csErr(gw); got != gw || !isCode(got, throttleCodes...) {
		t.Errorf("csErr(gateway error) = %v, want it unchanged and retryable", got)
	}

	// A 404 without a JSON body is still "not found".
	if got := csErr(sdkerrors.NewServerError(http.StatusNotFound, "not found", "")); !isCode(got, errClusterNotFound) {
		t.Errorf("csErr(bare 404) = %v, want ErrorClusterNotFound", got)
	}
}

func TestKubeconfigServer(t *testing.T) {
	cfg := `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://a.example:6443"}
- name: b
  cluster: {server: "https://b.example:6443"}
contexts:
- name: use-b
  context: {cluster: b, user: u}
current-context: use-b
users:
- name: u
  user: {token: t}
`
	if got := kubeconfigServer(cfg); got != "https://b.example:6443" {
		t.Errorf("kubeconfigServer = %q, want the current context's server", got)
	}
	if got := kubeconfigServer("not yaml: ["); got != "" {
		t.Errorf("kubeconfigServer(garbage) = %q, want empty", got)
	}
}
