package awsfake

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// NetworkInterface is an elastic network interface. The fake creates none itself: tests add them with
// AddNetworkInterface to stand for what other services leave in a subnet (Lambda, load balancers,
// instances), which is what makes real subnet and security group deletes fail with DependencyViolation.
type NetworkInterface struct {
	ID           string
	SubnetID     string
	VPCID        string
	Description  string
	PrivateIP    string
	GroupIDs     []string
	Status       string // "in-use" while attached, "available" after DetachNetworkInterface
	AttachmentID string // empty once detached
	Tags         map[string]string
}

type eniRec struct {
	NetworkInterface
	meta
}

var eniKind = kind{"eni-", "networkInterface ID", "InvalidNetworkInterfaceID", "network-interface"}

// AddNetworkInterface puts a network interface into a subnet, with the given security groups (the VPC's
// default group when none), attached to something if attached is true. The subnet, its VPC and the groups
// can't be deleted while it exists.
func (s *Server) AddNetworkInterface(subnetID string, groupIDs []string, description string, attached bool) (NetworkInterface, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.st.subnets[subnetID]
	if !ok {
		return NetworkInterface{}, fmt.Errorf("awsfake: no subnet %q", subnetID)
	}
	if len(groupIDs) == 0 {
		if g := s.st.defaultGroup(sub.VPCID); g != nil {
			groupIDs = []string{g.ID}
		}
	}
	for _, id := range groupIDs {
		if g, ok := s.st.groups[id]; !ok || g.VPCID != sub.VPCID {
			return NetworkInterface{}, fmt.Errorf("awsfake: no security group %q in VPC %s", id, sub.VPCID)
		}
	}
	prefix, _ := parseCIDR(sub.CIDR)
	addr := prefix.Addr()
	for range 4 + s.st.enisIn(subnetID) { // AWS reserves the first four addresses of a subnet
		addr = addr.Next()
	}
	eni := &eniRec{NetworkInterface: NetworkInterface{
		ID: randomID("eni-", 17), SubnetID: subnetID, VPCID: sub.VPCID, Description: description,
		PrivateIP: addr.String(), GroupIDs: slices.Clone(groupIDs), Status: "available", Tags: map[string]string{},
	}, meta: s.st.nextMeta(false)}
	if attached {
		eni.Status, eni.AttachmentID = "in-use", randomID("eni-attach-", 17)
	}
	s.st.enis[eni.ID] = eni
	return eni.snapshot(), nil
}

func (e *eniRec) snapshot() NetworkInterface {
	c := e.NetworkInterface
	c.GroupIDs = slices.Clone(e.GroupIDs)
	c.Tags = maps.Clone(e.Tags)
	return c
}

func (st *state) enisIn(subnetID string) int {
	n := 0
	for _, e := range st.enis {
		if e.SubnetID == subnetID {
			n++
		}
	}
	return n
}

// eniUsing returns a network interface that depends on the resource (subnet, VPC or group), if any.
func (st *state) eniUsing(id string) *eniRec {
	for _, e := range sortedValues(st.enis, func(e *eniRec) int { return e.seq }) {
		if e.SubnetID == id || e.VPCID == id || slices.Contains(e.GroupIDs, id) {
			return e
		}
	}
	return nil
}

type xENI struct {
	ID               string      `xml:"networkInterfaceId"`
	SubnetID         string      `xml:"subnetId"`
	VpcID            string      `xml:"vpcId"`
	AvailabilityZone string      `xml:"availabilityZone"`
	Description      string      `xml:"description"`
	OwnerID          string      `xml:"ownerId"`
	RequesterManaged bool        `xml:"requesterManaged"`
	Status           string      `xml:"status"`
	MacAddress       string      `xml:"macAddress"`
	PrivateIP        string      `xml:"privateIpAddress"`
	SourceDestCheck  bool        `xml:"sourceDestCheck"`
	InterfaceType    string      `xml:"interfaceType"`
	Groups           []xGroupID  `xml:"groupSet>item"`
	Attachment       *xENIAttach `xml:"attachment,omitempty"`
	Tags             []xTag      `xml:"tagSet>item,omitempty"`
}

type xGroupID struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName"`
}

type xENIAttach struct {
	AttachmentID        string `xml:"attachmentId"`
	DeviceIndex         int    `xml:"deviceIndex"`
	Status              string `xml:"status"`
	InstanceOwnerID     string `xml:"instanceOwnerId"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

func (s *Server) xENI(e *eniRec) xENI {
	out := xENI{
		ID: e.ID, SubnetID: e.SubnetID, VpcID: e.VPCID, Description: e.Description, OwnerID: s.accountID,
		Status: e.Status, MacAddress: "02:" + strings.Join(splitPairs(strings.TrimPrefix(e.ID, "eni-")[:10]), ":"),
		PrivateIP: e.PrivateIP, SourceDestCheck: true, InterfaceType: "interface", Tags: xTags(e.Tags),
	}
	if sub, ok := s.st.subnets[e.SubnetID]; ok {
		out.AvailabilityZone = sub.AvailabilityZone
	}
	for _, id := range e.GroupIDs {
		name := ""
		if g, ok := s.st.groups[id]; ok {
			name = g.Name
		}
		out.Groups = append(out.Groups, xGroupID{id, name})
	}
	if e.AttachmentID != "" {
		out.Attachment = &xENIAttach{AttachmentID: e.AttachmentID, Status: "attached", InstanceOwnerID: s.accountID}
	}
	return out
}

func splitPairs(s string) []string {
	var out []string
	for i := 0; i+1 < len(s); i += 2 {
		out = append(out, s[i:i+2])
	}
	return out
}

func (s *Server) describeNetworkInterfaces(p params) (any, error) {
	filters := parseFilters(p)
	recs, err := selectRecs(eniKind, s.st.enis, p.list("NetworkInterfaceId"), func(e *eniRec) *meta { return &e.meta },
		func(e *eniRec) (bool, error) {
			attrs := map[string][]string{
				"network-interface-id": {e.ID}, "subnet-id": {e.SubnetID}, "vpc-id": {e.VPCID}, "description": {e.Description},
				"status": {e.Status}, "group-id": e.GroupIDs, "private-ip-address": {e.PrivateIP}, "owner-id": {s.accountID},
				"interface-type": {"interface"}, "requester-managed": {"false"},
			}
			if e.AttachmentID != "" {
				attrs["attachment.attachment-id"], attrs["attachment.status"] = []string{e.AttachmentID}, []string{"attached"}
			}
			return matchFilters(filters, attrs, e.Tags)
		})
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(recs, p)
	if err != nil {
		return nil, err
	}
	out := struct {
		ENIs      []xENI `xml:"networkInterfaceSet>item"`
		NextToken string `xml:"nextToken,omitempty"`
	}{NextToken: next}
	for _, e := range page {
		out.ENIs = append(out.ENIs, s.xENI(e))
	}
	return out, nil
}

func (s *Server) detachNetworkInterface(p params) (any, error) {
	id := p.get("AttachmentId")
	if id == "" {
		return nil, missingParameter("attachmentId")
	}
	for _, e := range s.st.enis {
		if e.AttachmentID == id {
			e.AttachmentID, e.Status = "", "available"
			return xReturn{true}, nil
		}
	}
	return nil, errorf(400, "InvalidAttachmentID.NotFound", "Interface attachment '%s' does not exist", id)
}

func (s *Server) deleteNetworkInterface(p params) (any, error) {
	id := p.get("NetworkInterfaceId")
	if id == "" {
		return nil, missingParameter("networkInterfaceId")
	}
	if err := eniKind.checkIDs([]string{id}); err != nil {
		return nil, err
	}
	e, ok := s.st.enis[id]
	if !ok {
		return nil, eniKind.notFound([]string{id})
	}
	if e.Status == "in-use" {
		return nil, errorf(400, "InvalidNetworkInterface.InUse", "Interface: [%s] in use.", id)
	}
	delete(s.st.enis, id)
	return xReturn{true}, nil
}
