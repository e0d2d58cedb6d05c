package framework

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

func TestLazyBuildsOnceAndRetriesFailures(t *testing.T) {
	d := &ProviderData{}
	var builds atomic.Int32
	fail := atomic.Bool{}
	fail.Store(true)
	build := func(context.Context) (*int, error) {
		builds.Add(1)
		if fail.Load() {
			return nil, errors.New("no region")
		}
		v := 7
		return &v, nil
	}
	if _, err := Lazy(context.Background(), d, "aws", build); err == nil {
		t.Fatal("a failed build returned no error")
	}
	fail.Store(false)
	var wg sync.WaitGroup
	got := make([]*int, 8)
	for i := range got {
		wg.Go(func() {
			v, err := Lazy(context.Background(), d, "aws", build)
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	if builds.Load() != 2 {
		t.Errorf("built %d times, want 2 (one failure, then once for all callers)", builds.Load())
	}
	for _, v := range got {
		if v != got[0] {
			t.Fatal("callers got different values")
		}
	}
	// Another key is another value.
	if _, err := Lazy(context.Background(), d, "alibaba", func(context.Context) (string, error) { return "x", nil }); err != nil {
		t.Fatal(err)
	}
}

func TestTimingPace(t *testing.T) {
	p := retry.Pacing{Delay: 10 * time.Second, Interval: 2 * time.Second, MaxInterval: 15 * time.Second}
	if got := (Timing{}).Pace(p); got != p {
		t.Errorf("the zero Timing changed the pacing: %+v", got)
	}
	got := Timing{MaxInterval: 10 * time.Millisecond, SkipDelays: true}.Pace(p)
	if got.Delay != 0 || got.Interval != 10*time.Millisecond || got.MaxInterval != 10*time.Millisecond {
		t.Errorf("fast timing: %+v", got)
	}
	got = Timing{MaxInterval: 10 * time.Millisecond}.Pace(retry.Pacing{Delay: time.Minute})
	if got.Delay != 10*time.Millisecond || got.Interval != 10*time.Millisecond {
		t.Errorf("capped delay and default interval: %+v", got)
	}
}

func TestImportIDParse(t *testing.T) {
	endpointName := ImportID{Sep: "|", Parts: []string{"endpoint", "name"}, Optional: 1, Example: "http://127.0.0.1:3000|warm"}
	for in, want := range map[string][]string{
		"warm":                        {"", "warm"},
		"http://127.0.0.1:3000|warm":  {"http://127.0.0.1:3000", "warm"},
		" https://m.example | warm  ": {"https://m.example", "warm"},
	} {
		var d diag.Diagnostics
		if got := endpointName.Parse(in, &d); d.HasError() || !slices.Equal(got, want) {
			t.Errorf("Parse(%q) = %q, %v", in, got, d)
		}
	}
	for _, in := range []string{"", "|warm", "http://h|", "  "} {
		var d diag.Diagnostics
		if got := endpointName.Parse(in, &d); !d.HasError() || got != nil {
			t.Errorf("Parse(%q) accepted: %q", in, got)
		}
	}
	var d diag.Diagnostics
	ImportID{Sep: "/", Parts: []string{"vpc_id", "id"}}.Parse("vpc-1", &d)
	if !d.HasError() || !strings.Contains(d[0].Detail(), "Expected <vpc_id>/<id>, got \"vpc-1\"") {
		t.Errorf("required parts: %v", d)
	}
	d = nil
	endpointName.Parse("", &d)
	if want := "Expected <name> or <endpoint>|<name> (for example http://127.0.0.1:3000|warm)"; !strings.Contains(d[0].Detail(), want) {
		t.Errorf("detail %q, want it to contain %q", d[0].Detail(), want)
	}
	if got := endpointName.Format("", "warm"); got != "warm" {
		t.Errorf("Format = %q", got)
	}
	if got := endpointName.Format("http://h", "warm"); got != "http://h|warm" {
		t.Errorf("Format = %q", got)
	}
}

func TestAddError(t *testing.T) {
	op := Op{Verb: "creating", Kind: "AWS subnet", ID: "subnet-1", Timeout: "create"}
	var d diag.Diagnostics
	AddError(&d, op, errors.New("boom"))
	if d[0].Summary() != "Error creating AWS subnet" || d[0].Detail() != "While creating AWS subnet subnet-1: boom" {
		t.Errorf("plain: %q / %q", d[0].Summary(), d[0].Detail())
	}

	d = nil
	AddError(&d, op, fmt.Errorf("waiting: %w", &retry.TimeoutError{Timeout: time.Minute, LastState: "pending"}))
	if d[0].Summary() != "Timed Out Creating AWS subnet" || !strings.Contains(d[0].Detail(), `timeouts { create = "30m" }`) {
		t.Errorf("timeout: %q / %q", d[0].Summary(), d[0].Detail())
	}

	d = nil
	advisor := func(op Op, err error) (Advice, bool) {
		if err.Error() != "bad cidr" {
			return Advice{}, false
		}
		return Advice{Summary: "Invalid Subnet CIDR", Hint: "Pick a CIDR inside the VPC's.", Attribute: path.Root("cidr_block")}, true
	}
	AddError(&d, op, errors.New("bad cidr"), advisor)
	withPath, ok := d[0].(diag.DiagnosticWithPath)
	if !ok || !withPath.Path().Equal(path.Root("cidr_block")) || d[0].Summary() != "Invalid Subnet CIDR" ||
		d[0].Detail() != "While creating AWS subnet subnet-1: bad cidr\n\nPick a CIDR inside the VPC's." {
		t.Errorf("advised: %#v", d[0])
	}
}

func TestWithTimeout(t *testing.T) {
	get := func(_ context.Context, def time.Duration) (time.Duration, diag.Diagnostics) { return 3 * def, nil }
	var d diag.Diagnostics
	ctx, cancel, timeout := WithTimeout(context.Background(), get, time.Minute, &d)
	defer cancel()
	dl, ok := ctx.Deadline()
	if !ok || timeout != 3*time.Minute || time.Until(dl) > 3*time.Minute || time.Until(dl) < 2*time.Minute {
		t.Errorf("timeout %s, deadline in %s", timeout, time.Until(dl))
	}
}

func TestBasesConfigure(t *testing.T) {
	b := NewResourceBase("aws_vpc")
	var meta resource.MetadataResponse
	b.Metadata(context.Background(), resource.MetadataRequest{ProviderTypeName: "sandbox"}, &meta)
	if meta.TypeName != "sandbox_aws_vpc" {
		t.Errorf("type name %q", meta.TypeName)
	}
	if b.ProviderData() == nil {
		t.Fatal("ProviderData before Configure is nil")
	}
	pd := &ProviderData{UserAgent: "ua"}
	var resp resource.ConfigureResponse
	b.Configure(context.Background(), resource.ConfigureRequest{ProviderData: pd}, &resp)
	if resp.Diagnostics.HasError() || b.ProviderData() != pd {
		t.Fatalf("configure: %v", resp.Diagnostics)
	}
	resp = resource.ConfigureResponse{}
	b.Configure(context.Background(), resource.ConfigureRequest{ProviderData: "nope"}, &resp)
	if !resp.Diagnostics.HasError() {
		t.Error("wrong provider data type accepted")
	}
}
