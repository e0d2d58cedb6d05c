package awsfake

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The methods below let tests look at and change the fake's state directly, without the API: to assert
// that a destroy left nothing behind, or to delete something out of band and so simulate drift.

// snapshot copies the records of m, oldest first, each as view makes it (callers clone what the copy
// would otherwise share with the fake's state, such as tags).
func snapshot[R, T any](m map[string]R, seq func(R) int, view func(R) T) []T {
	var out []T
	for _, r := range sortedValues(m, seq) {
		out = append(out, view(r))
	}
	return out
}

// VPCs returns the VPCs the fake holds, oldest first.
func (s *Server) VPCs() []VPC {
	s.mu.Lock()
	defer s.mu.Unlock()
	return snapshot(s.st.vpcs, func(v *vpcRec) int { return v.seq }, func(v *vpcRec) VPC {
		c := v.VPC
		c.Tags = maps.Clone(v.Tags)
		return c
	})
}

// Subnets returns the subnets the fake holds, oldest first.
func (s *Server) Subnets() []Subnet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return snapshot(s.st.subnets, func(v *subnetRec) int { return v.seq }, func(v *subnetRec) Subnet {
		c := v.Subnet
		c.Tags = maps.Clone(v.Tags)
		return c
	})
}

// SecurityGroups returns the security groups the fake holds, oldest first.
func (s *Server) SecurityGroups() []SecurityGroup {
	s.mu.Lock()
	defer s.mu.Unlock()
	return snapshot(s.st.groups, func(v *sgRec) int { return v.seq }, func(v *sgRec) SecurityGroup {
		c := v.SecurityGroup
		c.Tags = maps.Clone(v.Tags)
		return c
	})
}

// SecurityGroupRules returns every security group rule, oldest first.
func (s *Server) SecurityGroupRules() []SecurityGroupRule {
	s.mu.Lock()
	defer s.mu.Unlock()
	return snapshot(s.st.rules, func(v *ruleRec) int { return v.seq }, func(v *ruleRec) SecurityGroupRule {
		c := v.SecurityGroupRule
		c.Tags = maps.Clone(v.Tags)
		return c
	})
}

// Images returns the images DescribeImages can find, oldest first.
func (s *Server) Images() []Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Image
	for _, img := range s.imagesInOrder() {
		c := *img
		c.Tags = maps.Clone(img.Tags)
		out = append(out, c)
	}
	return out
}

// AddImage makes an image visible to DescribeImages. ID, State and CreationDate get defaults when empty.
func (s *Server) AddImage(img Image) Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	if img.ID == "" {
		img.ID = randomID("ami-", 17)
	}
	img.State = orDefault(img.State, "available")
	img.CreationDate = orDefault(img.CreationDate, s.now().UTC().Format("2006-01-02T15:04:05.000Z"))
	img.VirtualizationType = orDefault(img.VirtualizationType, "hvm")
	img.RootDeviceName = orDefault(img.RootDeviceName, "/dev/sda1")
	img.PlatformDetails = orDefault(img.PlatformDetails, "Linux/UNIX")
	img.Architecture = orDefault(img.Architecture, "x86_64")
	img.OwnerID = orDefault(img.OwnerID, s.accountID)
	if img.Tags == nil {
		img.Tags = map[string]string{}
	}
	c := img
	c.Tags = maps.Clone(img.Tags)
	s.st.images[img.ID] = &c
	return img
}

// NetworkInterfaces returns the network interfaces tests added, oldest first.
func (s *Server) NetworkInterfaces() []NetworkInterface {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []NetworkInterface
	for _, e := range sortedValues(s.st.enis, func(e *eniRec) int { return e.seq }) {
		out = append(out, e.snapshot())
	}
	return out
}

// HostedZones returns the hosted zones, oldest first.
func (s *Server) HostedZones() []HostedZone {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []HostedZone
	for _, z := range sortedValues(s.st.zones, func(z *zoneRec) int { return z.seq }) {
		c := z.HostedZone
		c.NameServers = slices.Clone(z.NameServers)
		c.Tags = maps.Clone(z.Tags)
		out = append(out, c)
	}
	return out
}

// RecordSets returns a zone's record sets in ListResourceRecordSets order (nil for an unknown zone).
func (s *Server) RecordSets(zoneID string) []RecordSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	z, ok := s.st.zones[strings.TrimPrefix(zoneID, "/hostedzone/")]
	if !ok {
		return nil
	}
	var out []RecordSet
	for _, rs := range z.sortedSets() {
		out = append(out, cloneSet(rs))
	}
	return out
}

// Leftovers lists everything created through the API that still exists, as "kind id" strings: what a
// complete terraform destroy must leave empty. The seeded default VPC, its subnets and group, the default
// rules of groups, and the SOA/NS sets of zones don't count (they go with their parent).
func (s *Server) Leftovers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, v := range sortedValues(s.st.vpcs, func(v *vpcRec) int { return v.seq }) {
		if !v.seeded {
			out = append(out, "vpc "+v.ID)
		}
	}
	for _, v := range sortedValues(s.st.subnets, func(v *subnetRec) int { return v.seq }) {
		if !v.seeded {
			out = append(out, "subnet "+v.ID)
		}
	}
	for _, g := range sortedValues(s.st.groups, func(v *sgRec) int { return v.seq }) {
		if !g.seeded && g.Name != "default" {
			out = append(out, "security-group "+g.ID)
		}
	}
	for _, e := range sortedValues(s.st.enis, func(e *eniRec) int { return e.seq }) {
		out = append(out, "network-interface "+e.ID)
	}
	for _, z := range sortedValues(s.st.zones, func(z *zoneRec) int { return z.seq }) {
		out = append(out, "hosted-zone "+z.ID)
	}
	for _, z := range sortedValues(s.st.zones, func(z *zoneRec) int { return z.seq }) {
		for _, rs := range z.sortedSets() {
			if !(rs.Name == z.Name && (rs.Type == "NS" || rs.Type == "SOA")) {
				out = append(out, fmt.Sprintf("record-set %s %s %s", z.ID, wireName(rs.Name), rs.Type))
			}
		}
	}
	return out
}

// DeleteOutOfBand removes a VPC (with everything in it), subnet (with its network interfaces), security
// group (with its rules, and from the interfaces that use it), security group rule, network interface or
// hosted zone (with its records) as if someone deleted it in the console. No dependency checks apply and
// no RecordSink is told.
func (s *Server) DeleteOutOfBand(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id = strings.TrimPrefix(id, "/hostedzone/")
	switch {
	case s.st.vpcs[id] != nil:
		for eid, e := range s.st.enis {
			if e.VPCID == id {
				delete(s.st.enis, eid)
			}
		}
		for sid, sub := range s.st.subnets {
			if sub.VPCID == id {
				delete(s.st.subnets, sid)
			}
		}
		for gid, g := range s.st.groups {
			if g.VPCID == id {
				s.st.removeGroup(gid)
			}
		}
		delete(s.st.vpcs, id)
	case s.st.subnets[id] != nil:
		for eid, e := range s.st.enis {
			if e.SubnetID == id {
				delete(s.st.enis, eid)
			}
		}
		delete(s.st.subnets, id)
	case s.st.groups[id] != nil:
		for _, e := range s.st.enis {
			e.GroupIDs = slices.DeleteFunc(e.GroupIDs, func(g string) bool { return g == id })
		}
		s.st.removeGroup(id)
	case s.st.rules[id] != nil:
		delete(s.st.rules, id)
	case s.st.enis[id] != nil:
		delete(s.st.enis, id)
	case s.st.zones[id] != nil:
		delete(s.st.callers, s.st.zones[id].CallerReference)
		delete(s.st.zones, id)
	default:
		return fmt.Errorf("awsfake: no resource %q", id)
	}
	return nil
}

// DeleteRecordSetOutOfBand removes a record set (name as given to the API, '*' or \052 both work).
func (s *Server) DeleteRecordSetOutOfBand(zoneID, name, typ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	z, ok := s.st.zones[strings.TrimPrefix(zoneID, "/hostedzone/")]
	if !ok {
		return fmt.Errorf("awsfake: no hosted zone %q", zoneID)
	}
	canon, err := canonicalName(name)
	if err != nil {
		return fmt.Errorf("awsfake: record name %q: %w", name, err)
	}
	for k, rs := range z.sets {
		if rs.Name == canon && rs.Type == typ {
			delete(z.sets, k)
			return nil
		}
	}
	return fmt.Errorf("awsfake: no %s record set %s in zone %s", typ, name, zoneID)
}

// Pin marks a VPC, subnet or security group as in use by something the fake does not model (an instance,
// a NAT gateway): deleting it fails with DependencyViolation until Unpin. AddNetworkInterface is the
// visible alternative that a client can find and clean up.
func (s *Server) Pin(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.pinned[id]++
}

// Unpin undoes one Pin.
func (s *Server) Unpin(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.pinned[id] > 0 {
		s.st.pinned[id]--
	}
}
