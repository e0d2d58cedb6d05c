package alifake

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// state is everything the fakes hold. Guarded by Fake.mu.
type state struct {
	f         *Fake
	seq       int64
	vpcs      map[string]*vpc
	vswitches map[string]*vswitch
	sgs       map[string]*securityGroup
	domains   map[string]*domain
	records   map[string]*record
	certs     map[int64]*certificate
	clusters  map[string]*cluster
	tasks     map[string]*task
	inUse     map[string]bool // ids of vSwitches and security groups used by things the fake does not model
	nextCert  int64
	nextRec   int64
}

func newState(f *Fake) *state {
	return &state{
		f:         f,
		vpcs:      map[string]*vpc{},
		vswitches: map[string]*vswitch{},
		sgs:       map[string]*securityGroup{},
		domains:   map[string]*domain{},
		records:   map[string]*record{},
		certs:     map[int64]*certificate{},
		clusters:  map[string]*cluster{},
		tasks:     map[string]*task{},
		inUse:     map[string]bool{},
		nextCert:  14000001,
		nextRec:   890000000000000001,
	}
}

// meta is what every resource has: creation order and time, and the eventual-consistency knob.
type meta struct {
	seq     int64
	created time.Time
	// hiddenReads counts the reads still to be answered NotFound after the create.
	hiddenReads int
}

// visible reports whether a read may see the resource, counting down hiddenReads.
func (m *meta) visible() bool {
	if m.hiddenReads > 0 {
		m.hiddenReads--
		return false
	}
	return true
}

func (s *state) newMeta() meta {
	s.seq++
	return meta{seq: s.seq, created: s.f.clock.Now().UTC(), hiddenReads: s.f.faults.NotFoundReads}
}

type tag struct{ Key, Value string }

// tagSet keeps tags by key; rendered sorted by key.
type tagSet map[string]string

func (t tagSet) set(tags []tag) {
	for _, tg := range tags {
		t[tg.Key] = tg.Value
	}
}

func (t tagSet) keys() []string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// matches reports whether every filter tag is present (a filter with an empty value matches any value).
func (t tagSet) matches(filter []tag) bool {
	for _, f := range filter {
		v, ok := t[f.Key]
		if !ok || (f.Value != "" && v != f.Value) {
			return false
		}
	}
	return true
}

// rpcTags renders tags as Alibaba's RPC products do: {"Tag":[{"Key","Value","TagKey","TagValue"}]}.
func (t tagSet) rpcTags() map[string]any {
	list := []map[string]any{}
	for _, k := range t.keys() {
		list = append(list, map[string]any{"Key": k, "Value": t[k], "TagKey": k, "TagValue": t[k]})
	}
	return map[string]any{"Tag": list}
}

func randomID(prefix string, n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)[:n]
}

// alibabaID is an id like Alibaba's: prefix + 24 lower-case base36 characters.
func alibabaID(prefix string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + string(b)
}

func timeRPC(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// parseCIDR parses an IPv4 CIDR block whose mask length lies in [minBits, maxBits] and that is
// written in its canonical (masked) form.
func parseCIDR(s string, minBits, maxBits int) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() || p.Bits() < minBits || p.Bits() > maxBits || p.Masked() != p {
		return netip.Prefix{}, false
	}
	return p, true
}

func contains(outer, inner netip.Prefix) bool {
	return outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}

// sortedBySeq returns the values of a map ordered by creation.
func sortedBySeq[T any](m map[string]T, seq func(T) int64) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return seq(out[i]) < seq(out[j]) })
	return out
}

// splitIDs splits a comma-separated id list (DescribeVpcs VpcId, DescribeSecurityGroups ids).
func splitIDs(s string) map[string]bool {
	out := map[string]bool{}
	for _, id := range strings.Split(s, ",") {
		if id = strings.TrimSpace(strings.Trim(id, `[]" `)); id != "" {
			out[id] = true
		}
	}
	return out
}

// seed creates the region's default VPC and vSwitch and the configured domains.
func (s *state) seed() error {
	if !s.f.opts.NoDefaultVPC {
		m := s.newMeta()
		m.hiddenReads = 0
		v := &vpc{meta: m, id: alibabaID("vpc-"), name: "", cidr: netip.MustParsePrefix("172.16.0.0/12"), isDefault: true,
			vrouterID: alibabaID("vrt-"), routeTableID: alibabaID("vtb-"), tags: tagSet{}}
		s.vpcs[v.id] = v
		m = s.newMeta()
		m.hiddenReads = 0
		vs := &vswitch{meta: m, id: alibabaID("vsw-"), vpcID: v.id, zone: s.f.opts.Zones[0],
			cidr: netip.MustParsePrefix("172.16.0.0/20"), isDefault: true, tags: tagSet{}}
		s.vswitches[vs.id] = vs
	}
	for _, name := range s.f.opts.Domains {
		if _, e := s.addDomain(name); e != nil {
			return fmt.Errorf("alifake: domain %q: %v", name, e)
		}
	}
	return nil
}
