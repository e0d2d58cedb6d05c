package framework

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// Op names what the provider was doing when an error happened, for diagnostics:
// Op{Verb: "creating", Kind: "AWS subnet", ID: "subnet-0abc"} reads "creating AWS subnet subnet-0abc".
type Op struct {
	// Verb is lower-case and continuous: "creating", "reading", "waiting for", ...
	Verb string
	// Kind is what the object is, as users know it: "AWS VPC", "sandbox pool".
	Kind string
	// ID identifies the object when known (an ID, or a quoted name).
	ID string
	// Timeout is the operation's name in the timeouts block ("create", "update", "delete"), when it has one.
	Timeout string
}

func (o Op) String() string {
	s := strings.TrimSpace(o.Verb + " " + o.Kind)
	if o.ID != "" {
		s += " " + o.ID
	}
	return s
}

// Advice is what a diagnostic tells the user about an error.
type Advice struct {
	// Summary is a short title; empty means "Error <verb> <kind>".
	Summary string
	// Detail is the whole explanation: what happened and what to do. Empty means the error text
	// followed by Hint.
	Detail string
	// Hint is appended to the default detail: what to do.
	Hint string
	// Attribute, when set, is the configuration attribute the error is about.
	Attribute path.Path
}

// Advisor words errors it recognises; ok is false for the others. Each API area has one (the AWS
// error codes, the sandbox manager's answers).
type Advisor func(op Op, err error) (advice Advice, ok bool)

// AddError adds one error diagnostic for err during op. The first advisor that recognises err words
// it; a retry.TimeoutError that none recognises points at the timeouts block; anything else gets
// "While <op>: <err>".
func AddError(diags *diag.Diagnostics, op Op, err error, advisors ...Advisor) {
	a, ok := Advice{}, false
	for _, adv := range advisors {
		if a, ok = adv(op, err); ok {
			break
		}
	}
	if !ok {
		a = timeoutAdvice(op, err)
	}
	summary := a.Summary
	if summary == "" {
		summary = "Error " + strings.TrimSpace(op.Verb+" "+op.Kind)
	}
	detail := a.Detail
	if detail == "" {
		detail = fmt.Sprintf("While %s: %v", op, err)
		if a.Hint != "" {
			detail += "\n\n" + a.Hint
		}
	}
	if len(a.Attribute.Steps()) > 0 {
		diags.AddAttributeError(a.Attribute, summary, detail)
		return
	}
	diags.AddError(summary, detail)
}

func timeoutAdvice(op Op, err error) Advice {
	var te *retry.TimeoutError
	if !errors.As(err, &te) && !errors.Is(err, context.DeadlineExceeded) {
		return Advice{}
	}
	a := Advice{Summary: "Timed Out " + titleFirst(strings.TrimSpace(op.Verb+" "+op.Kind))}
	if op.Timeout != "" {
		a.Hint = fmt.Sprintf("The operation did not finish within its %s timeout. If the API is just slow, raise it in the "+
			"resource's timeouts block (timeouts { %s = \"30m\" }) and apply again.", op.Timeout, op.Timeout)
	} else {
		a.Hint = "The API did not answer in time; apply again, and check the service's health if it keeps happening."
	}
	return a
}

func titleFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// NotFoundWarning is the diagnostic for an object that vanished outside Terraform: Read removes it
// from state and the next plan creates it again.
func NotFoundWarning(kind, id string) diag.Diagnostic {
	return diag.NewWarningDiagnostic(titleFirst(kind)+" Not Found",
		fmt.Sprintf("%s %s no longer exists (deleted outside Terraform?). It was removed from the state; the next apply "+
			"creates it again.", kind, id))
}
