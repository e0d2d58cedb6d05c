package alifake

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
)

// Leftovers lists what the fake holds beyond what it started with, as "kind id" strings: what a
// complete terraform destroy must leave empty. The region's default VPC and vSwitch don't count, nor do
// Alidns domains (a domain is registered, not created by a configuration; tests add theirs through
// Options.Domains or AddDomain). Clusters whose deletion has finished are gone; one still deleting
// counts.
func (f *Fake) Leftovers() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.st
	s.reapClusters()
	var out []string
	for _, v := range sortedBySeq(s.vpcs, func(x *vpc) int64 { return x.seq }) {
		if !v.isDefault {
			out = append(out, "vpc "+v.id)
		}
	}
	for _, vs := range sortedBySeq(s.vswitches, func(x *vswitch) int64 { return x.seq }) {
		if !vs.isDefault {
			out = append(out, "vswitch "+vs.id)
		}
	}
	for _, sg := range sortedBySeq(s.sgs, func(x *securityGroup) int64 { return x.seq }) {
		out = append(out, "security-group "+sg.id)
	}
	for _, r := range sortedBySeq(s.records, func(x *record) int64 { return x.seq }) {
		out = append(out, "dns-record "+r.id+" "+r.fqdn()+" "+r.rtype)
	}
	certs := slices.Collect(maps.Values(s.certs))
	slices.SortFunc(certs, func(a, b *certificate) int { return cmp.Compare(a.seq, b.seq) })
	for _, c := range certs {
		out = append(out, "certificate "+strconv.FormatInt(c.id, 10))
	}
	for _, cl := range sortedBySeq(s.clusters, func(x *cluster) int64 { return x.seq }) {
		out = append(out, "cluster "+cl.id+" ("+s.clusterState(cl)+")")
	}
	return out
}
