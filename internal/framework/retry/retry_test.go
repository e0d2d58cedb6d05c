package retry_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry/retrytest"
)

// apiError is an API error with a code, like smithy-go's.
type apiError struct{ code string }

func (e *apiError) Error() string     { return "api error " + e.code }
func (e *apiError) ErrorCode() string { return e.code }

// script is a Refresh that answers from a list, one answer per call, repeating the last.
type step struct {
	state string
	err   error
}

func script(steps ...step) (func(context.Context) (string, string, error), *int) {
	calls := 0
	return func(context.Context) (string, string, error) {
		s := steps[min(calls, len(steps)-1)]
		calls++
		if s.err != nil {
			return "", "", s.err
		}
		return "obj:" + s.state, s.state, nil
	}, &calls
}

func pacing(c *retrytest.Clock) retry.Pacing {
	return retry.Pacing{Interval: time.Second, MaxInterval: 4 * time.Second, Clock: c}
}

func TestWaitPendingToTarget(t *testing.T) {
	clock := retrytest.NewClock()
	refresh, calls := script(step{state: "pending"}, step{state: "pending"}, step{state: "pending"}, step{state: "available"})
	conf := retry.StateChangeConf[string]{
		Pending: []string{"pending"}, Target: []string{"available"},
		Refresh: refresh, Timeout: time.Minute, Pacing: pacing(clock),
	}
	got, err := conf.Wait(context.Background())
	if err != nil || got != "obj:available" {
		t.Fatalf("Wait = %q, %v", got, err)
	}
	if *calls != 4 {
		t.Errorf("refreshed %d times, want 4", *calls)
	}
	// Intervals double up to MaxInterval.
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}; !slices.Equal(clock.Sleeps(), want) {
		t.Errorf("sleeps = %v, want %v", clock.Sleeps(), want)
	}
}

func TestWaitDelayComesFirst(t *testing.T) {
	clock := retrytest.NewClock()
	refresh, _ := script(step{state: "available"})
	p := pacing(clock)
	p.Delay = 7 * time.Second
	conf := retry.StateChangeConf[string]{Target: []string{"available"}, Refresh: refresh, Timeout: time.Minute, Pacing: p}
	if _, err := conf.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{7 * time.Second}; !slices.Equal(clock.Sleeps(), want) {
		t.Errorf("sleeps = %v, want %v", clock.Sleeps(), want)
	}
}

func TestWaitContinuousTargetOccurrence(t *testing.T) {
	clock := retrytest.NewClock()
	// An eventually consistent read: seen, not seen, then seen for good.
	notFound := retry.NotFound(&apiError{"InvalidGroup.NotFound"})
	refresh, calls := script(step{state: "created"}, step{err: notFound}, step{state: "created"}, step{state: "created"}, step{state: "created"})
	conf := retry.StateChangeConf[string]{
		Target: []string{"created"}, Refresh: refresh, Timeout: time.Minute, Pacing: pacing(clock),
		ContinuousTargetOccurrence: 3,
	}
	if _, err := conf.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if *calls != 5 {
		t.Errorf("refreshed %d times, want 5 (the not-found read resets the run)", *calls)
	}
}

func TestWaitNotFoundChecks(t *testing.T) {
	clock := retrytest.NewClock()
	api := &apiError{"InvalidSubnetID.NotFound"}
	refresh, calls := script(step{err: retry.NotFound(api)})
	conf := retry.StateChangeConf[string]{
		Pending: []string{"pending"}, Target: []string{"available"}, Refresh: refresh,
		Timeout: time.Hour, Pacing: pacing(clock), NotFoundChecks: 3,
	}
	_, err := conf.Wait(context.Background())
	var nf *retry.NotFoundError
	if !errors.As(err, &nf) || nf.Retries != 3 || !errors.Is(err, api) {
		t.Fatalf("err = %#v, want NotFoundError after 3 retries wrapping the API error", err)
	}
	if *calls != 4 {
		t.Errorf("refreshed %d times, want 4", *calls)
	}
	if retry.ErrorCode(err) != "InvalidSubnetID.NotFound" {
		t.Errorf("ErrorCode = %q", retry.ErrorCode(err))
	}
}

func TestWaitForDeletion(t *testing.T) {
	clock := retrytest.NewClock()
	refresh, _ := script(step{state: "deleting"}, step{state: "deleting"}, step{err: retry.NotFoundf("no such thing")})
	conf := retry.StateChangeConf[string]{Pending: []string{"deleting"}, Refresh: refresh, Timeout: time.Minute, Pacing: pacing(clock)}
	if _, err := conf.Wait(context.Background()); err != nil {
		t.Fatalf("deletion wait: %v", err)
	}
}

func TestWaitTimeout(t *testing.T) {
	clock := retrytest.NewClock()
	refresh, calls := script(step{state: "pending"})
	conf := retry.StateChangeConf[string]{
		Pending: []string{"pending"}, Target: []string{"available"}, Refresh: refresh,
		Timeout: 10 * time.Second, Pacing: pacing(clock),
	}
	_, err := conf.Wait(context.Background())
	var te *retry.TimeoutError
	if !errors.As(err, &te) || te.LastState != "pending" || !slices.Equal(te.ExpectedState, []string{"available"}) {
		t.Fatalf("err = %v, want a timeout in state pending", err)
	}
	// 1+2+4 = 7 s, then the last poll at the deadline (3 s later), then give up.
	if clock.Slept() != 10*time.Second || *calls != 5 {
		t.Errorf("slept %s over %d refreshes, want 10s over 5", clock.Slept(), *calls)
	}
	if want := "timed out after 10s waiting for state available (last state: pending)"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

func TestWaitUnexpectedState(t *testing.T) {
	clock := retrytest.NewClock()
	refresh, _ := script(step{state: "pending"}, step{state: "failed"})
	conf := retry.StateChangeConf[string]{
		Pending: []string{"pending"}, Target: []string{"available"}, Refresh: refresh, Timeout: time.Minute, Pacing: pacing(clock),
	}
	_, err := conf.Wait(context.Background())
	var ue *retry.UnexpectedStateError
	if !errors.As(err, &ue) || ue.State != "failed" {
		t.Fatalf("err = %v, want unexpected state failed", err)
	}
}

func TestWaitRefreshError(t *testing.T) {
	clock := retrytest.NewClock()
	boom := &apiError{"UnauthorizedOperation"}
	refresh, _ := script(step{state: "pending"}, step{err: boom})
	conf := retry.StateChangeConf[string]{
		Pending: []string{"pending"}, Target: []string{"available"}, Refresh: refresh, Timeout: time.Minute, Pacing: pacing(clock),
	}
	if _, err := conf.Wait(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the refresh error", err)
	}
}

func TestWaitHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	refresh, _ := script(step{state: "pending"})
	conf := retry.StateChangeConf[string]{
		Pending: []string{"pending"}, Target: []string{"available"}, Refresh: refresh, Timeout: time.Minute,
		Pacing: pacing(retrytest.NewClock()),
	}
	if _, err := conf.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestWaitRealClockDeadline(t *testing.T) {
	// The resource's timeout arrives as a context deadline; the wait reports it as a timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	refresh, _ := script(step{state: "pending"})
	conf := retry.StateChangeConf[string]{
		Pending: []string{"pending"}, Target: []string{"available"}, Refresh: refresh, Timeout: time.Hour,
		Pacing: retry.Pacing{Interval: 5 * time.Millisecond, MaxInterval: 5 * time.Millisecond},
	}
	if _, err := conf.Wait(ctx); !retry.IsTimeout(err) {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

func TestDoRetriesNamedCodes(t *testing.T) {
	clock := retrytest.NewClock()
	calls := 0
	v, err := retry.Do(context.Background(), time.Minute, pacing(clock), retry.OnErrorCodes("DependencyViolation"),
		func(context.Context) (int, error) {
			calls++
			if calls < 3 {
				return 0, fmt.Errorf("deleting: %w", &apiError{"DependencyViolation"})
			}
			return 42, nil
		})
	if err != nil || v != 42 || calls != 3 {
		t.Fatalf("Do = %d, %v after %d calls", v, err, calls)
	}
	if want := []time.Duration{time.Second, 2 * time.Second}; !slices.Equal(clock.Sleeps(), want) {
		t.Errorf("sleeps = %v, want %v", clock.Sleeps(), want)
	}
}

func TestDoStopsOnOtherErrors(t *testing.T) {
	calls := 0
	boom := &apiError{"InvalidParameterValue"}
	err := retry.Retry(context.Background(), time.Minute, pacing(retrytest.NewClock()), retry.OnErrorCodes("DependencyViolation"),
		func(context.Context) error { calls++; return boom })
	if !errors.Is(err, boom) || calls != 1 || retry.IsTimeout(err) {
		t.Fatalf("err = %v after %d calls, want the error at once", err, calls)
	}
}

func TestDoTimesOutWithLastError(t *testing.T) {
	clock := retrytest.NewClock()
	dep := &apiError{"DependencyViolation"}
	err := retry.Retry(context.Background(), 20*time.Second, pacing(clock), retry.OnErrorCodes("DependencyViolation"),
		func(context.Context) error { return dep })
	if !retry.IsTimeout(err) || !errors.Is(err, dep) || retry.ErrorCode(err) != "DependencyViolation" {
		t.Fatalf("err = %v, want a timeout wrapping DependencyViolation", err)
	}
	if clock.Slept() != 20*time.Second {
		t.Errorf("slept %s, want the whole 20s", clock.Slept())
	}
}

func TestWhenNewResourceNotFound(t *testing.T) {
	clock := retrytest.NewClock()
	missing := retry.NotFound(&apiError{"InvalidVpcID.NotFound"})
	lookup := func(n *int) func(context.Context) (string, error) {
		return func(context.Context) (string, error) {
			*n++
			if *n < 3 {
				return "", missing
			}
			return "vpc-1", nil
		}
	}
	var n int
	if v, err := retry.WhenNewResourceNotFound(context.Background(), time.Minute, pacing(clock), true, lookup(&n)); err != nil || v != "vpc-1" {
		t.Fatalf("new: %q, %v", v, err)
	}
	n = 0
	if _, err := retry.WhenNewResourceNotFound(context.Background(), time.Minute, pacing(clock), false, lookup(&n)); !retry.IsNotFound(err) || n != 1 {
		t.Fatalf("not new: %v after %d calls, want not found at once", err, n)
	}
}

func TestUntilNotFound(t *testing.T) {
	clock := retrytest.NewClock()
	n := 0
	err := retry.UntilNotFound(context.Background(), time.Minute, pacing(clock), func(context.Context) error {
		n++
		if n < 4 {
			return nil
		}
		return retry.NotFound(&apiError{"InvalidSubnetID.NotFound"})
	})
	if err != nil || n != 4 {
		t.Fatalf("UntilNotFound = %v after %d calls", err, n)
	}
	err = retry.UntilNotFound(context.Background(), 5*time.Second, pacing(clock), func(context.Context) error { return nil })
	if !retry.IsTimeout(err) {
		t.Fatalf("an object that never goes: %v, want a timeout", err)
	}
}

func TestOnErrorCodesIgnoresPlainErrors(t *testing.T) {
	if retry.OnErrorCodes("")(errors.New("x")) {
		t.Error("an error without a code matched the empty code")
	}
	if !retry.OnErrorCodes("A", "B")(fmt.Errorf("wrapped: %w", &apiError{"B"})) {
		t.Error("a wrapped code did not match")
	}
}

func TestDoReportsTheRetriedErrorWhenTheDeadlineCutsACall(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	dep := &apiError{"DependencyViolation"}
	calls := 0
	err := retry.Retry(ctx, time.Minute, pacing(retrytest.NewClock()), retry.OnErrorCodes("DependencyViolation"),
		func(ctx context.Context) error {
			calls++
			if calls == 1 {
				return dep
			}
			cancel() // the resource's timeout ends during the second call
			return ctx.Err()
		})
	if !retry.IsTimeout(err) || !errors.Is(err, dep) {
		t.Fatalf("err = %v, want a timeout that names DependencyViolation", err)
	}
}
