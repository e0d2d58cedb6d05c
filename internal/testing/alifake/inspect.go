package alifake

import (
	"cmp"
	"errors"
	"maps"
	"slices"
	"strconv"
	"time"
)

// The inspection API shows tests what the fakes hold without going through the cloud API (no reads
// are counted, no faults fire) and changes it behind the provider's back to simulate drift.

// VPCInfo is a VPC as the fake holds it.
type VPCInfo struct {
	ID, Name, Description, CIDR string
	IsDefault                   bool
	Tags                        map[string]string
}

// VSwitchInfo is a vSwitch as the fake holds it.
type VSwitchInfo struct {
	ID, VPCID, Zone, Name, Description, CIDR string
	Tags                                     map[string]string
}

// RuleInfo is a security group rule as the fake holds it.
type RuleInfo struct {
	ID, Direction, IPProtocol, PortRange, Policy, Priority, NicType, Description string
	SourceCidrIP, DestCidrIP, SourceGroupID, DestGroupID                         string
}

// SecurityGroupInfo is a security group as the fake holds it.
type SecurityGroupInfo struct {
	ID, VPCID, Name, Description, Type string
	Tags                               map[string]string
	Rules                              []RuleInfo
}

// RecordInfo is an Alidns record as the fake holds it.
type RecordInfo struct {
	ID, Domain, RR, Type, Value, Line, Status string
	FQDN                                      string
	TTL                                       int64
}

// CertificateInfo is an uploaded certificate as the fake holds it.
type CertificateInfo struct {
	ID                            int64
	Name, CommonName, Fingerprint string
	SANs                          []string
	NotAfter                      time.Time
	CertPEM                       string
}

// ClusterInfo is a CS cluster as the fake holds it; State is computed from the Clock.
type ClusterInfo struct {
	ID, Name, State, ClusterType, Profile, ClusterSpec, Version, VPCID, ServiceCIDR, SecurityGroupID string
	VSwitchIDs                                                                                       []string
	DeletionProtection                                                                               bool
}

// VPCs lists the VPCs in creation order.
func (f *Fake) VPCs() []VPCInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []VPCInfo
	for _, v := range sortedBySeq(f.st.vpcs, func(x *vpc) int64 { return x.seq }) {
		out = append(out, VPCInfo{ID: v.id, Name: v.name, Description: v.description, CIDR: v.cidr.String(),
			IsDefault: v.isDefault, Tags: maps.Clone(v.tags)})
	}
	return out
}

// VSwitches lists the vSwitches in creation order.
func (f *Fake) VSwitches() []VSwitchInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []VSwitchInfo
	for _, vs := range sortedBySeq(f.st.vswitches, func(x *vswitch) int64 { return x.seq }) {
		out = append(out, VSwitchInfo{ID: vs.id, VPCID: vs.vpcID, Zone: vs.zone, Name: vs.name, Description: vs.description,
			CIDR: vs.cidr.String(), Tags: maps.Clone(vs.tags)})
	}
	return out
}

// SecurityGroups lists the security groups (with their rules) in creation order.
func (f *Fake) SecurityGroups() []SecurityGroupInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []SecurityGroupInfo
	for _, sg := range sortedBySeq(f.st.sgs, func(x *securityGroup) int64 { return x.seq }) {
		info := SecurityGroupInfo{ID: sg.id, VPCID: sg.vpcID, Name: sg.name, Description: sg.description, Type: sg.sgType,
			Tags: maps.Clone(sg.tags)}
		for _, r := range sg.rules {
			info.Rules = append(info.Rules, RuleInfo{ID: r.id, Direction: r.direction, IPProtocol: r.protocol,
				PortRange: r.portRange, Policy: r.policy, Priority: r.priority, NicType: r.nicType, Description: r.description,
				SourceCidrIP: r.sourceCidr, DestCidrIP: r.destCidr, SourceGroupID: r.sourceGroup, DestGroupID: r.destGroup})
		}
		out = append(out, info)
	}
	return out
}

// Records lists the Alidns records in creation order.
func (f *Fake) Records() []RecordInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []RecordInfo
	for _, r := range sortedBySeq(f.st.records, func(x *record) int64 { return x.seq }) {
		out = append(out, RecordInfo{ID: r.id, Domain: r.domain, RR: r.rr, Type: r.rtype, Value: r.value, Line: r.line,
			Status: r.status, FQDN: r.fqdn(), TTL: r.ttl})
	}
	return out
}

// Certificates lists the uploaded certificates in upload order.
func (f *Fake) Certificates() []CertificateInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []CertificateInfo
	certs := slices.Collect(maps.Values(f.st.certs))
	slices.SortFunc(certs, func(a, b *certificate) int { return cmp.Compare(a.seq, b.seq) })
	for _, c := range certs {
		sans := append([]string(nil), c.leaf.DNSNames...)
		for _, ip := range c.leaf.IPAddresses {
			sans = append(sans, ip.String())
		}
		out = append(out, CertificateInfo{ID: c.id, Name: c.name, CommonName: c.leaf.Subject.CommonName,
			Fingerprint: c.fingerprint, SANs: sans, NotAfter: c.leaf.NotAfter, CertPEM: c.certPEM})
	}
	return out
}

// Clusters lists the CS clusters in creation order (clusters whose deletion finished are gone).
func (f *Fake) Clusters() []ClusterInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st.reapClusters()
	var out []ClusterInfo
	for _, cl := range sortedBySeq(f.st.clusters, func(x *cluster) int64 { return x.seq }) {
		out = append(out, ClusterInfo{ID: cl.id, Name: cl.name, State: f.st.clusterState(cl), ClusterType: cl.clusterType,
			Profile: cl.profile, ClusterSpec: cl.spec, Version: cl.version, VPCID: cl.vpcID, ServiceCIDR: cl.serviceCIDR,
			SecurityGroupID: cl.securityGroupID, VSwitchIDs: append([]string(nil), cl.vswitchIDs...),
			DeletionProtection: cl.deletionProtection})
	}
	return out
}

// ErrNoSuchResource is returned by DeleteOutOfBand for an id the fake does not hold.
var ErrNoSuchResource = errors.New("alifake: no such resource")

// DeleteOutOfBand removes a resource by id as if someone deleted it in the console, ignoring
// dependencies: a VPC, vSwitch, security group, security group rule (sgr-…), DNS record, certificate
// (its decimal CertId) or cluster (gone at once). A removed DNS record is reported to the RecordSink.
func (f *Fake) DeleteOutOfBand(id string) error {
	f.mu.Lock()
	s := f.st
	var notify func()
	found := true
	switch {
	case s.vpcs[id] != nil:
		delete(s.vpcs, id)
	case s.vswitches[id] != nil:
		delete(s.vswitches, id)
	case s.sgs[id] != nil:
		delete(s.sgs, id)
	case s.records[id] != nil:
		r := s.records[id]
		delete(s.records, id)
		c := &rpcCall{}
		s.notify(c, r.fqdn(), r.rtype)
		notify = func() {
			for _, fn := range c.after {
				fn()
			}
		}
	case s.clusters[id] != nil:
		cl := s.clusters[id]
		if cl.autoSecurityGroup != "" {
			delete(s.sgs, cl.autoSecurityGroup)
		}
		delete(s.clusters, id)
	default:
		found = s.deleteRuleOrCert(id)
	}
	f.mu.Unlock()
	if notify != nil {
		notify()
	}
	if !found {
		return ErrNoSuchResource
	}
	return nil
}

func (s *state) deleteRuleOrCert(id string) bool {
	for _, sg := range s.sgs {
		for i, r := range sg.rules {
			if r.id == id {
				sg.rules = append(sg.rules[:i], sg.rules[i+1:]...)
				return true
			}
		}
	}
	if n, err := strconv.ParseInt(id, 10, 64); err == nil && s.certs[n] != nil {
		delete(s.certs, n)
		return true
	}
	return false
}

// SetInUse marks a vSwitch or security group as used by something the fake does not model (an ECS
// instance, an ENI), so that deleting it fails with DependencyViolation until it is released.
func (f *Fake) SetInUse(id string, inUse bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if inUse {
		f.st.inUse[id] = true
	} else {
		delete(f.st.inUse, id)
	}
}

// AddDomain adds an Alidns domain, as the console does.
func (f *Fake) AddDomain(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, e := f.st.addDomain(name); e != nil {
		return e
	}
	return nil
}
