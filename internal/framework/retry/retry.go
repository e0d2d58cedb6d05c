// Package retry waits for cloud objects to reach a state and retries calls that fail while a
// change propagates: the provider's own small version of what terraform-plugin-sdk's helper/retry
// and terraform-provider-aws's tfresource do, without the SDKv2 dependency.
//
// Every wait is paced by a Pacing (initial delay, first poll interval, growth cap) and a Clock, so
// tests against fakes poll without sleeping for nothing and unit tests run on a fake clock.
package retry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Clock is the time a wait runs on.
type Clock interface {
	Now() time.Time
	// Sleep waits d, or until ctx ends (then it returns ctx.Err()).
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
func RealClock() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Default pacing: the first poll after Delay, then every Interval, doubling up to MaxInterval.
const (
	DefaultInterval    = time.Second
	DefaultMaxInterval = 10 * time.Second
)

// Pacing is how a wait spaces its attempts. Zero fields take the defaults above; Clock nil is the
// wall clock.
type Pacing struct {
	// Delay is waited once before the first attempt.
	Delay time.Duration
	// Interval is the wait after the first attempt; each following wait doubles, up to MaxInterval.
	Interval    time.Duration
	MaxInterval time.Duration
	Clock       Clock
}

func (p Pacing) normalized() Pacing {
	if p.Interval <= 0 {
		p.Interval = DefaultInterval
	}
	if p.MaxInterval <= 0 {
		p.MaxInterval = max(DefaultMaxInterval, p.Interval)
	}
	if p.MaxInterval < p.Interval {
		p.MaxInterval = p.Interval
	}
	if p.Clock == nil {
		p.Clock = RealClock()
	}
	return p
}

// poller hands out the waits of one Pacing and knows the deadline.
type poller struct {
	p        Pacing
	next     time.Duration
	deadline time.Time
}

func newPoller(p Pacing, timeout time.Duration) *poller {
	p = p.normalized()
	return &poller{p: p, next: p.Interval, deadline: p.Clock.Now().Add(timeout)}
}

// start waits the initial delay. It returns false when the deadline or ctx ends first.
func (w *poller) start(ctx context.Context) error {
	if w.p.Delay <= 0 {
		return ctx.Err()
	}
	return w.sleep(ctx, w.p.Delay)
}

// wait sleeps until the next attempt; errTimedOut when the deadline comes first.
func (w *poller) wait(ctx context.Context) error {
	d := w.next
	w.next = min(w.next*2, w.p.MaxInterval)
	return w.sleep(ctx, d)
}

func (w *poller) sleep(ctx context.Context, d time.Duration) error {
	left := w.deadline.Sub(w.p.Clock.Now())
	if left <= 0 {
		return errTimedOut
	}
	if d > left {
		// Sleep to the deadline and try once more there: the last chance is at the deadline, not before it.
		d = left
	}
	return w.p.Clock.Sleep(ctx, d)
}

func (w *poller) expired() bool { return !w.p.Clock.Now().Before(w.deadline) }

var errTimedOut = errors.New("timed out")

// NotFoundError says the object a call or a wait looked for does not exist.
type NotFoundError struct {
	// LastError is the API's answer, when there was one.
	LastError error
	// Message describes what was looked for, when there was no API error (an empty list, say).
	Message string
	// Retries is how many consecutive refreshes found nothing (waits only).
	Retries int
}

func (e *NotFoundError) Error() string {
	switch {
	case e.LastError != nil && e.Retries > 0:
		return fmt.Sprintf("not found after %d attempts: %v", e.Retries+1, e.LastError)
	case e.LastError != nil:
		return e.LastError.Error()
	case e.Message != "":
		return e.Message
	}
	return "not found"
}

func (e *NotFoundError) Unwrap() error { return e.LastError }

// NotFound marks err (an API's "does not exist" answer) as not found.
func NotFound(err error) error { return &NotFoundError{LastError: err} }

// NotFoundf is a not-found error without an API error behind it (a lookup that matched nothing).
func NotFoundf(format string, args ...any) error {
	return &NotFoundError{Message: fmt.Sprintf(format, args...)}
}

// IsNotFound reports whether err is, or wraps, a NotFoundError.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}

// TimeoutError is a wait or retry that ran out of time.
type TimeoutError struct {
	Timeout       time.Duration
	LastState     string
	ExpectedState []string
	// LastError is the last attempt's error, if it failed.
	LastError error
}

func (e *TimeoutError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "timed out after %s", e.Timeout)
	if len(e.ExpectedState) > 0 {
		fmt.Fprintf(&b, " waiting for state %s", strings.Join(e.ExpectedState, " or "))
	}
	if e.LastState != "" {
		fmt.Fprintf(&b, " (last state: %s)", e.LastState)
	}
	if e.LastError != nil {
		fmt.Fprintf(&b, ": %v", e.LastError)
	}
	return b.String()
}

func (e *TimeoutError) Unwrap() error { return e.LastError }

// IsTimeout reports whether err is, or wraps, a TimeoutError.
func IsTimeout(err error) bool {
	var te *TimeoutError
	return errors.As(err, &te)
}

// UnexpectedStateError is a wait that saw a state that is neither pending nor target.
type UnexpectedStateError struct {
	State         string
	ExpectedState []string
	// LastError carries the API's reason for the state, when the refresh gave one.
	LastError error
}

func (e *UnexpectedStateError) Error() string {
	msg := fmt.Sprintf("unexpected state %q, wanted %s", e.State, strings.Join(e.ExpectedState, " or "))
	if e.LastError != nil {
		msg += ": " + e.LastError.Error()
	}
	return msg
}

func (e *UnexpectedStateError) Unwrap() error { return e.LastError }

// coded is an API error with a code: smithy-go's APIError (AWS) and the Alibaba SDK's ServerError
// both have this method.
type coded interface{ ErrorCode() string }

// ErrorCode is the API error code err carries, or "".
func ErrorCode(err error) string {
	var c coded
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	return ""
}

// OnErrorCodes is a retryable predicate: true for API errors with one of codes.
func OnErrorCodes(codes ...string) func(error) bool {
	return func(err error) bool {
		code := ErrorCode(err)
		for _, c := range codes {
			if code != "" && code == c {
				return true
			}
		}
		return false
	}
}

// OnNotFound is a retryable predicate: true for not-found errors.
func OnNotFound(err error) bool { return IsNotFound(err) }

// Do calls f until it succeeds, fails with an error retryable does not accept, or timeout passes.
// A timeout returns a TimeoutError that wraps the last error.
func Do[T any](ctx context.Context, timeout time.Duration, p Pacing, retryable func(error) bool, f func(context.Context) (T, error)) (T, error) {
	w := newPoller(p, timeout)
	var zero T
	if err := w.start(ctx); err != nil && !errors.Is(err, errTimedOut) {
		return zero, err
	}
	var last error // the last retryable error
	for {
		v, err := f(ctx)
		if err != nil && !retryable(err) && last != nil && ctx.Err() != nil {
			// The deadline cut the call short: what kept failing is the last retryable error.
			return zero, &TimeoutError{Timeout: timeout, LastError: last}
		}
		if err == nil || !retryable(err) {
			return v, err
		}
		last = err
		if ctx.Err() != nil || w.expired() {
			return zero, &TimeoutError{Timeout: timeout, LastError: err}
		}
		if werr := w.wait(ctx); werr != nil {
			if errors.Is(werr, errTimedOut) || errors.Is(werr, context.DeadlineExceeded) {
				return zero, &TimeoutError{Timeout: timeout, LastError: err}
			}
			return zero, werr
		}
	}
}

// Retry is Do for calls that return only an error.
func Retry(ctx context.Context, timeout time.Duration, p Pacing, retryable func(error) bool, f func(context.Context) error) error {
	_, err := Do(ctx, timeout, p, retryable, func(ctx context.Context) (struct{}, error) { return struct{}{}, f(ctx) })
	return err
}

// WhenNewResourceNotFound retries not-found answers for timeout, but only when isNew: right after
// a create, the API may not show the new object yet; later, not found means gone.
func WhenNewResourceNotFound[T any](ctx context.Context, timeout time.Duration, p Pacing, isNew bool, f func(context.Context) (T, error)) (T, error) {
	if !isNew {
		return f(ctx)
	}
	return Do(ctx, timeout, p, OnNotFound, f)
}

// UntilNotFound calls f until it reports not found (success) or timeout passes: for deletes whose
// effect shows up late.
func UntilNotFound(ctx context.Context, timeout time.Duration, p Pacing, f func(context.Context) error) error {
	errStillThere := errors.New("still exists")
	err := Retry(ctx, timeout, p, func(err error) bool { return errors.Is(err, errStillThere) }, func(ctx context.Context) error {
		err := f(ctx)
		switch {
		case IsNotFound(err):
			return nil
		case err == nil:
			return errStillThere
		}
		return err
	})
	return err
}
