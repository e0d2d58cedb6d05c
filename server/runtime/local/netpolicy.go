package local

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// alwaysDenied are destinations no sandbox reaches unless its AllowOut names them: link-local
// addresses, where clouds serve instance metadata and credentials (169.254.169.254).
var alwaysDenied = []string{"169.254.0.0/16"}

// slirpGateway is where slirp4netns routes a sandbox's traffic (its default with --configure).
const slirpGateway = "10.0.2.2"

// EffectiveNetwork is what a sandbox asking for n gets: n itself with its addresses in canonical
// form, or Disabled when this runtime has no outbound networking.
func (r *Runtime) EffectiveNetwork(n sandbox.Network) (sandbox.Network, error) {
	var err error
	if n.AllowOut, err = canonicalPrefixes("allowOut", n.AllowOut); err != nil {
		return n, err
	}
	if n.DenyOut, err = canonicalPrefixes("denyOut", n.DenyOut); err != nil {
		return n, err
	}
	if !r.networking() {
		if len(n.AllowOut) > 0 {
			return n, errors.New("network.allowOut: sandboxes of this manager have no outbound network (slirp4netns is not installed, or --sandbox-no-network)")
		}
		return sandbox.Network{Disabled: true}, nil
	}
	return n, nil
}

// canonicalPrefixes parses IP addresses and CIDRs; host names are refused (they would need a
// filtering proxy, which this runtime does not have).
func canonicalPrefixes(field string, in []string) ([]string, error) {
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		var p netip.Prefix
		var err error
		if strings.Contains(s, "/") {
			p, err = netip.ParsePrefix(s)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(s); err == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			return nil, fmt.Errorf("network.%s: %q is not an IP address or CIDR (host names are not supported)", field, s)
		}
		if !p.Addr().Is4() {
			return nil, fmt.Errorf("network.%s: %q: sandboxes have IPv4 only", field, s)
		}
		out = append(out, p.Masked().String())
	}
	return out, nil
}

// routeCommands are `ip -batch` lines that enforce n in a sandbox's network namespace with routes,
// which root inside cannot change (it has no CAP_NET_ADMIN): a denied prefix gets a prohibit route
// (connections fail with EACCES), an allowed one a route through slirp4netns. The most specific route
// wins, which makes an allowed prefix within a denied one reachable; a denied prefix within an
// allowed one is dropped, so that AllowOut always takes precedence, as in E2B.
func routeCommands(n sandbox.Network) []string {
	deny := append(append([]string{}, alwaysDenied...), n.DenyOut...)
	if n.Disabled {
		// Everything, the DNS forwarder at slirp4netns's 10.0.2.3 included.
		deny = append(deny, "0.0.0.0/0", slirpDNS+"/32")
	}
	allow := make([]netip.Prefix, 0, len(n.AllowOut))
	for _, a := range n.AllowOut {
		allow = append(allow, netip.MustParsePrefix(a))
	}
	var out []string
	seen := map[string]bool{}
	for _, d := range deny {
		p := netip.MustParsePrefix(d)
		covered := false
		for _, a := range allow {
			if a.Bits() <= p.Bits() && a.Contains(p.Addr()) {
				covered = true
			}
		}
		if covered || seen[p.String()] {
			continue
		}
		seen[p.String()] = true
		if p.Bits() == 0 {
			out = append(out, "route replace prohibit default")
		} else {
			out = append(out, "route replace prohibit "+p.String())
		}
	}
	for _, a := range allow {
		if a.Bits() == 0 {
			out = append(out, "route replace default via "+slirpGateway+" dev tap0")
		} else {
			out = append(out, "route replace "+a.String()+" via "+slirpGateway+" dev tap0")
		}
	}
	return out
}

// applyRoutes runs the route commands in the network namespace of pid, with the host's nsenter and
// ip (util-linux, iproute2).
func applyRoutes(ctx context.Context, pid int, cmds []string) error {
	if len(cmds) == 0 {
		return nil
	}
	cmd := exec.CommandContext(ctx, "nsenter", "--net=/proc/"+strconv.Itoa(pid)+"/ns/net", "--", "ip", "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("set the sandbox's routes (%s): %w: %s", strings.Join(cmds, "; "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// withSlirp reports whether a sandbox with policy n gets slirp4netns at all: not when it may reach
// nothing.
func withSlirp(n sandbox.Network) bool { return !n.Disabled || len(n.AllowOut) > 0 }

// splitRoutes separates the commands that need slirp4netns's device (the default route, routes
// through its gateway) from those that do not.
func splitRoutes(cmds []string) (before, after []string) {
	for _, c := range cmds {
		if strings.Contains(c, " default") || strings.Contains(c, " via ") {
			after = append(after, c)
		} else {
			before = append(before, c)
		}
	}
	return before, after
}
