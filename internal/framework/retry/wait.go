package retry

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Defaults of StateChangeConf.
const (
	DefaultNotFoundChecks = 20
)

// StateChangeConf waits for an object to move from Pending states to a Target state, the way
// terraform-plugin-sdk's StateChangeConf does.
//
// Refresh returns the object and its state. A NotFoundError (see NotFound) means the object is not
// visible: that is success when Target is empty (waiting for a deletion), and tolerated
// NotFoundChecks times in a row otherwise (a new object that the API does not show yet). Any other
// error ends the wait with that error.
type StateChangeConf[T any] struct {
	Pending []string
	Target  []string
	Refresh func(ctx context.Context) (T, string, error)
	Timeout time.Duration
	Pacing  Pacing
	// NotFoundChecks is how many consecutive not-found refreshes are tolerated before the wait fails
	// (default DefaultNotFoundChecks).
	NotFoundChecks int
	// ContinuousTargetOccurrence is how many refreshes in a row must see a target state (default 1):
	// more than one guards against eventually consistent reads that flip back.
	ContinuousTargetOccurrence int
}

// Wait polls until a target state is seen often enough in a row, and returns the last object.
// Errors: TimeoutError (the deadline, or ctx's, passed; LastState is the last state seen),
// UnexpectedStateError, NotFoundError, or Refresh's own error.
func (c *StateChangeConf[T]) Wait(ctx context.Context) (T, error) {
	notFoundChecks := c.NotFoundChecks
	if notFoundChecks <= 0 {
		notFoundChecks = DefaultNotFoundChecks
	}
	occurrence := max(c.ContinuousTargetOccurrence, 1)
	w := newPoller(c.Pacing, c.Timeout)

	var (
		zero, last T
		lastState  string
		lastErr    error
		notFound   int
		inTarget   int
	)
	timeout := func() (T, error) {
		return zero, &TimeoutError{Timeout: c.Timeout, LastState: lastState, ExpectedState: c.Target, LastError: lastErr}
	}
	if err := w.start(ctx); err != nil {
		if errors.Is(err, errTimedOut) || errors.Is(err, context.DeadlineExceeded) {
			return timeout()
		}
		return zero, err
	}
	for {
		obj, state, err := c.Refresh(ctx)
		switch {
		case IsNotFound(err):
			lastErr = err
			if len(c.Target) == 0 {
				inTarget++
				if inTarget >= occurrence {
					return obj, nil
				}
				break
			}
			inTarget = 0
			notFound++
			if notFound > notFoundChecks {
				var nf *NotFoundError
				errors.As(err, &nf)
				return zero, &NotFoundError{LastError: nf.LastError, Message: nf.Message, Retries: notFound - 1}
			}
		case err != nil:
			if ctx.Err() != nil {
				lastErr = err
				return timeout()
			}
			return zero, err
		default:
			last, lastState, lastErr, notFound = obj, state, nil, 0
			switch {
			case slices.Contains(c.Target, state):
				inTarget++
				if inTarget >= occurrence {
					return last, nil
				}
			case slices.Contains(c.Pending, state):
				inTarget = 0
			default:
				return last, &UnexpectedStateError{State: state, ExpectedState: c.Target}
			}
		}
		if err := w.wait(ctx); err != nil {
			if errors.Is(err, errTimedOut) || errors.Is(err, context.DeadlineExceeded) {
				return timeout()
			}
			return zero, err
		}
	}
}
