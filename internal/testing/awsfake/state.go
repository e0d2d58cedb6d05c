package awsfake

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// VPC is a VPC as the fake holds it.
type VPC struct {
	ID                 string
	CIDR               string
	State              string
	IsDefault          bool
	EnableDNSSupport   bool
	EnableDNSHostnames bool
	Tags               map[string]string
}

// Subnet is a subnet as the fake holds it.
type Subnet struct {
	ID                  string
	VPCID               string
	CIDR                string
	AvailabilityZone    string
	AvailabilityZoneID  string
	State               string
	DefaultForAZ        bool
	MapPublicIPOnLaunch bool
	Tags                map[string]string
}

// SecurityGroup is a security group as the fake holds it (its rules are SecurityGroupRules).
type SecurityGroup struct {
	ID          string
	Name        string
	Description string
	VPCID       string
	Tags        map[string]string
}

// SecurityGroupRule is one rule with one source or destination, as DescribeSecurityGroupRules shows it.
type SecurityGroupRule struct {
	ID                string
	GroupID           string
	Egress            bool
	Protocol          string // "tcp", "udp", "icmp", "icmpv6", "-1" (all) or a protocol number
	FromPort, ToPort  int32
	CIDRIPv4          string
	CIDRIPv6          string
	PrefixListID      string
	ReferencedGroupID string
	Description       string
	Tags              map[string]string
}

// Image is an AMI DescribeImages can return.
type Image struct {
	ID                 string
	Name               string
	Description        string
	OwnerID            string
	OwnerAlias         string // "amazon", "aws-marketplace" or empty
	Architecture       string // x86_64, arm64
	State              string // available, pending, deprecated…
	CreationDate       string // RFC 3339 with milliseconds, as AWS prints it
	Public             bool
	VirtualizationType string
	RootDeviceName     string
	PlatformDetails    string
	Tags               map[string]string
}

// meta is the fake's bookkeeping about one resource.
type meta struct {
	seq          int
	seeded       bool // part of the fresh account, not created by a test
	hiddenReads  int  // describes that still miss it (eventual consistency)
	pendingReads int  // describes that still show it pending (subnets)
	deleteTried  bool
}

type vpcRec struct {
	VPC
	meta
}

type subnetRec struct {
	Subnet
	meta
}

type sgRec struct {
	SecurityGroup
	meta
}

type ruleRec struct {
	SecurityGroupRule
	meta
}

type state struct {
	seq     int
	vpcs    map[string]*vpcRec
	subnets map[string]*subnetRec
	groups  map[string]*sgRec
	rules   map[string]*ruleRec
	images  map[string]*Image
	enis    map[string]*eniRec
	pinned  map[string]int
	zones   map[string]*zoneRec
	changes map[string]*changeRec
	callers map[string]string // CreateHostedZone CallerReference -> zone ID
}

func (st *state) nextMeta(seeded bool) meta {
	st.seq++
	return meta{seq: st.seq, seeded: seeded}
}

var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)

func validRegion(r string) error {
	if !regionPattern.MatchString(r) {
		return fmt.Errorf("region %q is not a region name like us-east-1", r)
	}
	return nil
}

// zoneNames are the region's availability zones: a, b and c.
func zoneNames(region string) []string {
	return []string{region + "a", region + "b", region + "c"}
}

// zoneID imitates AWS's account-independent zone IDs: us-east-1a -> use1-az1.
func zoneID(zone string) string {
	region, letter := zone[:len(zone)-1], zone[len(zone)-1]
	parts := strings.Split(region, "-")
	short := parts[0]
	for _, p := range parts[1 : len(parts)-1] {
		short += p[:1]
	}
	return fmt.Sprintf("%s%s-az%d", short, parts[len(parts)-1], letter-'a'+1)
}

// newState seeds a fresh account: the default VPC 172.31.0.0/16 with a default /20 subnet per zone and its
// default security group, plus the region's public images.
func newState(s *Server) *state {
	st := &state{
		vpcs: map[string]*vpcRec{}, subnets: map[string]*subnetRec{}, groups: map[string]*sgRec{},
		rules: map[string]*ruleRec{}, images: map[string]*Image{}, enis: map[string]*eniRec{}, pinned: map[string]int{},
		zones: map[string]*zoneRec{}, changes: map[string]*changeRec{}, callers: map[string]string{},
	}
	vpc := st.addVPC("172.31.0.0/16", true, true)
	vpc.EnableDNSHostnames = true
	for i, zone := range zoneNames(s.region) {
		sub := &subnetRec{Subnet: Subnet{
			ID: randomID("subnet-", 17), VPCID: vpc.ID, CIDR: fmt.Sprintf("172.31.%d.0/20", i*16),
			AvailabilityZone: zone, AvailabilityZoneID: zoneID(zone), State: "available",
			DefaultForAZ: true, MapPublicIPOnLaunch: true, Tags: map[string]string{},
		}, meta: st.nextMeta(true)}
		st.subnets[sub.ID] = sub
	}
	for _, img := range seedImages(s.region) {
		st.images[img.ID] = img
	}
	return st
}

// addVPC creates a VPC with its default security group (ingress from itself, egress anywhere).
func (st *state) addVPC(cidr string, isDefault, seeded bool) *vpcRec {
	vpc := &vpcRec{VPC: VPC{
		ID: randomID("vpc-", 17), CIDR: cidr, State: "available", IsDefault: isDefault,
		EnableDNSSupport: true, Tags: map[string]string{},
	}, meta: st.nextMeta(seeded)}
	st.vpcs[vpc.ID] = vpc
	sg := &sgRec{SecurityGroup: SecurityGroup{
		ID: randomID("sg-", 17), Name: "default", Description: "default VPC security group", VPCID: vpc.ID,
		Tags: map[string]string{},
	}, meta: st.nextMeta(seeded)}
	st.groups[sg.ID] = sg
	st.addRule(SecurityGroupRule{GroupID: sg.ID, Protocol: "-1", FromPort: -1, ToPort: -1, ReferencedGroupID: sg.ID}, seeded)
	st.addRule(SecurityGroupRule{GroupID: sg.ID, Egress: true, Protocol: "-1", FromPort: -1, ToPort: -1, CIDRIPv4: "0.0.0.0/0"}, seeded)
	return vpc
}

func (st *state) addRule(r SecurityGroupRule, seeded bool) *ruleRec {
	r.ID = randomID("sgr-", 17)
	if r.Tags == nil {
		r.Tags = map[string]string{}
	}
	rec := &ruleRec{SecurityGroupRule: r, meta: st.nextMeta(seeded)}
	st.rules[rec.ID] = rec
	return rec
}

func (st *state) defaultVPC() *vpcRec {
	for _, v := range st.vpcs {
		if v.IsDefault {
			return v
		}
	}
	return nil
}

func (st *state) defaultGroup(vpcID string) *sgRec {
	for _, g := range st.groups {
		if g.VPCID == vpcID && g.Name == "default" {
			return g
		}
	}
	return nil
}

// groupRules returns a group's rules in creation order.
func (st *state) groupRules(groupID string) []*ruleRec {
	var out []*ruleRec
	for _, r := range st.rules {
		if r.GroupID == groupID {
			out = append(out, r)
		}
	}
	sortBySeq(out, func(r *ruleRec) int { return r.seq })
	return out
}

func sortBySeq[T any](items []T, seq func(T) int) {
	sort.Slice(items, func(i, j int) bool { return seq(items[i]) < seq(items[j]) })
}

func sortedValues[K comparable, V any](m map[K]V, seq func(V) int) []V {
	out := slices.Collect(maps.Values(m))
	sortBySeq(out, seq)
	return out
}

// seedImages are the public images of a region. Their IDs derive from region and name, so they are stable
// across runs but differ between regions, as real AMI IDs do. An OSWorld-style desktop image exists in
// us-east-1 only, to exercise "image not available in this region".
func seedImages(region string) []*Image {
	type seed struct {
		name, desc, owner, alias, arch, created, platform string
	}
	seeds := []seed{
		{"ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20260801", "Canonical, Ubuntu, 24.04, amd64 noble image", "099720109477", "", "x86_64", "2026-08-01T10:12:33.000Z", "Linux/UNIX"},
		{"ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20261110", "Canonical, Ubuntu, 24.04, amd64 noble image", "099720109477", "", "x86_64", "2026-11-10T09:41:02.000Z", "Linux/UNIX"},
		{"ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-20261110", "Canonical, Ubuntu, 24.04, arm64 noble image", "099720109477", "", "arm64", "2026-11-10T09:43:17.000Z", "Linux/UNIX"},
		{"al2023-ami-2023.9.20261118.0-kernel-6.12-x86_64", "Amazon Linux 2023 AMI 2023.9.20261118.0 x86_64 HVM kernel-6.12", "137112412989", "amazon", "x86_64", "2026-11-18T22:05:44.000Z", "Linux/UNIX"},
		{"al2023-ami-2023.9.20261118.0-kernel-6.12-arm64", "Amazon Linux 2023 AMI 2023.9.20261118.0 arm64 HVM kernel-6.12", "137112412989", "amazon", "arm64", "2026-11-18T22:06:10.000Z", "Linux/UNIX"},
	}
	if region == "us-east-1" {
		seeds = append(seeds, seed{"osworld-ubuntu-22.04-desktop-20261020", "OSWorld-style Ubuntu 22.04 desktop for computer-use agents", "210987654321", "", "x86_64", "2026-10-20T14:00:00.000Z", "Linux/UNIX"})
	}
	out := make([]*Image, 0, len(seeds))
	for _, sd := range seeds {
		sum := sha256.Sum256([]byte(region + "/" + sd.name))
		out = append(out, &Image{
			ID: "ami-" + hex.EncodeToString(sum[:])[:17], Name: sd.name, Description: sd.desc, OwnerID: sd.owner,
			OwnerAlias: sd.alias, Architecture: sd.arch, State: "available", CreationDate: sd.created, Public: true,
			VirtualizationType: "hvm", RootDeviceName: "/dev/sda1", PlatformDetails: sd.platform, Tags: map[string]string{},
		})
	}
	return out
}

func parseCIDR(s string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil || p.Masked() != p {
		return netip.Prefix{}, false
	}
	return p, true
}

func prefixContains(outer, inner netip.Prefix) bool {
	return outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}
