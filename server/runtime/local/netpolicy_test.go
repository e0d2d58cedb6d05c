package local

import (
	"slices"
	"testing"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

func TestRouteCommands(t *testing.T) {
	for _, c := range []struct {
		name string
		n    sandbox.Network
		want []string
	}{
		{"default", sandbox.Network{}, []string{"route replace prohibit 169.254.0.0/16"}},
		{"disabled", sandbox.Network{Disabled: true}, []string{
			"route replace prohibit 169.254.0.0/16", "route replace prohibit default", "route replace prohibit 10.0.2.3/32"}},
		{"allow within deny", sandbox.Network{DenyOut: []string{"10.0.0.0/8"}, AllowOut: []string{"10.1.0.0/16"}}, []string{
			"route replace prohibit 169.254.0.0/16", "route replace prohibit 10.0.0.0/8", "route replace 10.1.0.0/16 via 10.0.2.2 dev tap0"}},
		{"deny within allow is dropped", sandbox.Network{DenyOut: []string{"10.1.0.0/16"}, AllowOut: []string{"10.0.0.0/8"}}, []string{
			"route replace prohibit 169.254.0.0/16", "route replace 10.0.0.0/8 via 10.0.2.2 dev tap0"}},
		{"metadata allowed", sandbox.Network{AllowOut: []string{"169.254.169.254/32"}}, []string{
			"route replace prohibit 169.254.0.0/16", "route replace 169.254.169.254/32 via 10.0.2.2 dev tap0"}},
	} {
		if got := routeCommands(c.n); !slices.Equal(got, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
	if _, err := canonicalPrefixes("allowOut", []string{"example.com"}); err == nil {
		t.Error("a host name was accepted")
	}
	if got, err := canonicalPrefixes("denyOut", []string{"10.1.2.3/8", "1.2.3.4"}); err != nil || !slices.Equal(got, []string{"10.0.0.0/8", "1.2.3.4/32"}) {
		t.Errorf("canonical prefixes: %q %v", got, err)
	}
}
