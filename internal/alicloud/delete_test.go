package alicloud

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
)

func serverError(code string) error {
	return sdkerrors.NewServerError(http.StatusBadRequest, fmt.Sprintf(`{"Code":%q,"Message":"test","RequestId":"r"}`, code), "")
}

// The vSwitch delete retries what DeleteVSwitch answers while the vSwitch is busy or still used, and
// only that.
func TestVSwitchDeleteRetries(t *testing.T) {
	c := &Conns{timing: framework.Timing{MaxInterval: time.Millisecond, SkipDelays: true}}
	ctx := context.Background()
	answers := []error{serverError("IncorrectVSwitchStatus"), serverError("OperationConflict"),
		serverError("DependencyViolation.EniExist"), serverError("Throttling.User"), serverError("TaskConflict"), nil}
	calls := 0
	err := deleteRetrying(ctx, c, time.Minute, []string{errVSwitchNotFound}, vswitchDeleteRetryable, func() error {
		calls++
		return answers[calls-1]
	})
	if err != nil || calls != len(answers) {
		t.Fatalf("deleteRetrying = %v after %d calls, want success after %d", err, calls, len(answers))
	}

	calls = 0
	err = deleteRetrying(ctx, c, time.Minute, []string{errVSwitchNotFound}, vswitchDeleteRetryable, func() error {
		calls++
		return serverError("Forbidden.RAM")
	})
	if calls != 1 || !isCode(err, "Forbidden.RAM") {
		t.Fatalf("a permission error was retried (%d calls) or lost: %v", calls, err)
	}

	err = deleteRetrying(ctx, c, time.Minute, []string{errVSwitchNotFound}, vswitchDeleteRetryable, func() error {
		return serverError(errVSwitchNotFound)
	})
	if err != nil {
		t.Fatalf("a vSwitch that is gone already: %v", err)
	}

	// Within the timeout only: the last refusal is what the user sees.
	err = deleteRetrying(ctx, c, 20*time.Millisecond, []string{errVSwitchNotFound}, vswitchDeleteRetryable, func() error {
		return serverError("DependencyViolation")
	})
	if !hasCodePrefix(err, "DependencyViolation") {
		t.Fatalf("after the timeout: %v, want the DependencyViolation", err)
	}
}
