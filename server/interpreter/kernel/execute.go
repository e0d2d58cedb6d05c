package kernel

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Stream is output the code wrote to stdout or stderr.
type Stream struct {
	Name      string // "stdout" or "stderr"
	Text      string
	Timestamp string // ISO 8601, from the kernel message header
}

// Result is a rich result: the value of the last expression
// (execute_result, Main) or something displayed (display_data).
type Result struct {
	Main           bool
	ExecutionCount int
	Data           map[string]any // MIME type → value
	Metadata       map[string]any
}

// Error is an exception raised by the executed code.
type Error struct {
	Name      string   `json:"ename"`
	Value     string   `json:"evalue"`
	Traceback []string `json:"traceback"`
}

// Callbacks receive an execution's output as it arrives. Nil callbacks are skipped.
type Callbacks struct {
	Input  func(executionCount int)
	Stream func(Stream)
	Result func(Result)
	Error  func(Error)
}

// Request is one execute_request.
type Request struct {
	Code string
	// Silent runs the code without broadcasting output or storing history.
	Silent bool
}

// Reply is the outcome of an execution (execute_reply).
type Reply struct {
	Status         string // "ok", "error" or "aborted"
	ExecutionCount int
	Error          *Error // set when Status is "error"
}

type executeRequest struct {
	Code            string         `json:"code"`
	Silent          bool           `json:"silent"`
	StoreHistory    bool           `json:"store_history"`
	UserExpressions map[string]any `json:"user_expressions"`
	AllowStdin      bool           `json:"allow_stdin"`
	StopOnError     bool           `json:"stop_on_error"`
}

type executeReply struct {
	Status         string   `json:"status"`
	ExecutionCount int      `json:"execution_count"`
	Name           string   `json:"ename"`
	Value          string   `json:"evalue"`
	Traceback      []string `json:"traceback"`
}

type mimeBundle struct {
	ExecutionCount int            `json:"execution_count"`
	Data           map[string]any `json:"data"`
	Metadata       map[string]any `json:"metadata"`
}

// Execute runs code and calls cb for its output until the kernel reports the
// execution finished (execute_reply on shell and status idle on iopub).
//
// If ctx is cancelled the kernel is interrupted and Execute waits up to
// Config.InterruptGrace for the code to stop; it then returns ctx's error
// (and the reply, if one arrived).
func (k *Kernel) Execute(ctx context.Context, r Request, cb Callbacks) (*Reply, error) {
	s, err := k.session()
	if err != nil {
		return nil, err
	}
	// With stop_on_error, ipykernel aborts requests that arrive shortly after
	// a failed one; an aborted request never ran, so it is safe to resend.
	for attempt := 0; ; attempt++ {
		reply, err := s.execute(ctx, k.cfg.InterruptGrace, r, cb)
		if err != nil || reply.Status != "aborted" || attempt == maxAbortRetries {
			return reply, err
		}
		s.log.Debug("execute_request aborted by the kernel; resending", "attempt", attempt+1)
		select {
		case <-time.After(abortRetryDelay):
		case <-ctx.Done():
			return reply, ctx.Err()
		}
	}
}

const (
	maxAbortRetries = 5
	abortRetryDelay = 20 * time.Millisecond
)

func (s *session) execute(ctx context.Context, interruptGrace time.Duration, r Request, cb Callbacks) (*Reply, error) {
	req, err := newRequest(s.id, "execute_request", executeRequest{
		Code:            r.Code,
		Silent:          r.Silent,
		StoreHistory:    !r.Silent,
		UserExpressions: map[string]any{},
		StopOnError:     true,
	})
	if err != nil {
		return nil, err
	}
	sub := s.subscribe(req.Header.MsgID)
	defer s.unsubscribe(req.Header.MsgID)
	if err := s.send(s.shell, req); err != nil {
		return nil, err
	}

	var (
		reply     *Reply
		idle      bool
		cancelled = ctx.Done()
		grace     <-chan time.Time
		retry     <-chan time.Time
	)
	for reply == nil || !idle {
		select {
		case m := <-sub.ch:
			if m.Channel == "shell" && m.Header.MsgType == "execute_reply" {
				if reply, err = decodeReply(m); err != nil {
					return nil, err
				}
				continue
			}
			if m.Channel == "iopub" {
				done, err := dispatchIOPub(m, cb)
				if err != nil {
					s.log.Warn("bad iopub message", "type", m.Header.MsgType, "err", err)
				}
				idle = idle || done
			}
		case <-cancelled:
			cancelled = nil
			if err := s.interrupt(); err != nil {
				s.log.Warn("interrupt cancelled execution", "err", err)
			}
			grace = time.After(interruptGrace)
			retry = time.After(250 * time.Millisecond)
		case <-retry:
			// A SIGINT that lands before the kernel starts running the code is
			// ignored; repeat it until the kernel answers.
			if reply == nil {
				if err := s.interrupt(); err != nil {
					s.log.Warn("interrupt cancelled execution", "err", err)
				}
				retry = time.After(250 * time.Millisecond)
			}
		case <-grace:
			return reply, fmt.Errorf("execution not stopped after interrupt: %w", ctx.Err())
		case <-s.closed:
			return reply, s.reason
		}
	}
	if err := ctx.Err(); err != nil {
		return reply, fmt.Errorf("execution interrupted: %w", err)
	}
	return reply, nil
}

func decodeReply(m *Message) (*Reply, error) {
	var c executeReply
	if err := json.Unmarshal(m.Content, &c); err != nil {
		return nil, fmt.Errorf("decode execute_reply: %w", err)
	}
	r := &Reply{Status: c.Status, ExecutionCount: c.ExecutionCount}
	if c.Status == "error" {
		r.Error = &Error{Name: c.Name, Value: c.Value, Traceback: c.Traceback}
	}
	return r, nil
}

// dispatchIOPub hands one iopub message to the callbacks and reports
// whether it was the final "status: idle".
func dispatchIOPub(m *Message, cb Callbacks) (idle bool, err error) {
	switch m.Header.MsgType {
	case "status":
		var c struct {
			State string `json:"execution_state"`
		}
		if err := json.Unmarshal(m.Content, &c); err != nil {
			return false, err
		}
		return c.State == "idle", nil
	case "execute_input":
		var c struct {
			ExecutionCount int `json:"execution_count"`
		}
		if err := json.Unmarshal(m.Content, &c); err != nil {
			return false, err
		}
		if cb.Input != nil {
			cb.Input(c.ExecutionCount)
		}
	case "stream":
		var c struct {
			Name string `json:"name"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(m.Content, &c); err != nil {
			return false, err
		}
		if cb.Stream != nil {
			cb.Stream(Stream{Name: c.Name, Text: c.Text, Timestamp: m.Header.Date})
		}
	case "execute_result", "display_data":
		var c mimeBundle
		if err := json.Unmarshal(m.Content, &c); err != nil {
			return false, err
		}
		if cb.Result != nil {
			cb.Result(Result{
				Main:           m.Header.MsgType == "execute_result",
				ExecutionCount: c.ExecutionCount,
				Data:           c.Data,
				Metadata:       c.Metadata,
			})
		}
	case "error":
		var c Error
		if err := json.Unmarshal(m.Content, &c); err != nil {
			return false, err
		}
		if cb.Error != nil {
			cb.Error(c)
		}
	}
	return false, nil
}
