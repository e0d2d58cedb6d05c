package awsfake

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"sort"
)

const ec2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

// EC2 response elements (lowerCamel, lists as <xxxSet><item>…).

type xTag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

func xTags(m map[string]string) []xTag {
	out := make([]xTag, 0, len(m))
	for k, v := range m {
		out = append(out, xTag{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

type xVpc struct {
	VpcID           string       `xml:"vpcId"`
	OwnerID         string       `xml:"ownerId"`
	State           string       `xml:"state"`
	CidrBlock       string       `xml:"cidrBlock"`
	CidrAssoc       []xCidrAssoc `xml:"cidrBlockAssociationSet>item"`
	DhcpOptionsID   string       `xml:"dhcpOptionsId"`
	InstanceTenancy string       `xml:"instanceTenancy"`
	IsDefault       bool         `xml:"isDefault"`
	Tags            []xTag       `xml:"tagSet>item,omitempty"`
}

type xCidrAssoc struct {
	AssociationID string `xml:"associationId"`
	CidrBlock     string `xml:"cidrBlock"`
	State         string `xml:"cidrBlockState>state"`
}

type xSubnet struct {
	SubnetID          string      `xml:"subnetId"`
	SubnetArn         string      `xml:"subnetArn"`
	State             string      `xml:"state"`
	VpcID             string      `xml:"vpcId"`
	OwnerID           string      `xml:"ownerId"`
	CidrBlock         string      `xml:"cidrBlock"`
	AvailableIPs      int         `xml:"availableIpAddressCount"`
	AvailabilityZone  string      `xml:"availabilityZone"`
	AvailabilityZone2 string      `xml:"availabilityZoneId"`
	DefaultForAz      bool        `xml:"defaultForAz"`
	MapPublicIP       bool        `xml:"mapPublicIpOnLaunch"`
	MapCustomerOwned  bool        `xml:"mapCustomerOwnedIpOnLaunch"`
	AssignIpv6        bool        `xml:"assignIpv6AddressOnCreation"`
	Ipv6Native        bool        `xml:"ipv6Native"`
	EnableDNS64       bool        `xml:"enableDns64"`
	PrivateDNS        xPrivateDNS `xml:"privateDnsNameOptionsOnLaunch"`
	Tags              []xTag      `xml:"tagSet>item,omitempty"`
}

type xPrivateDNS struct {
	HostnameType string `xml:"hostnameType"`
	EnableA      bool   `xml:"enableResourceNameDnsARecord"`
	EnableAAAA   bool   `xml:"enableResourceNameDnsAAAARecord"`
}

type xGroup struct {
	OwnerID     string  `xml:"ownerId"`
	GroupID     string  `xml:"groupId"`
	GroupName   string  `xml:"groupName"`
	Description string  `xml:"groupDescription"`
	VpcID       string  `xml:"vpcId"`
	Arn         string  `xml:"securityGroupArn"`
	Ingress     []xPerm `xml:"ipPermissions>item"`
	Egress      []xPerm `xml:"ipPermissionsEgress>item"`
	Tags        []xTag  `xml:"tagSet>item,omitempty"`
}

type xPerm struct {
	Protocol    string     `xml:"ipProtocol"`
	FromPort    *int32     `xml:"fromPort,omitempty"`
	ToPort      *int32     `xml:"toPort,omitempty"`
	Groups      []xPair    `xml:"groups>item"`
	IPRanges    []xRange   `xml:"ipRanges>item"`
	IPv6Ranges  []xRange6  `xml:"ipv6Ranges>item"`
	PrefixLists []xPrefixL `xml:"prefixListIds>item"`
}

type xPair struct {
	GroupID     string `xml:"groupId"`
	UserID      string `xml:"userId"`
	Description string `xml:"description,omitempty"`
}

type xRange struct {
	CidrIP      string `xml:"cidrIp"`
	Description string `xml:"description,omitempty"`
}

type xRange6 struct {
	CidrIPv6    string `xml:"cidrIpv6"`
	Description string `xml:"description,omitempty"`
}

type xPrefixL struct {
	PrefixListID string `xml:"prefixListId"`
	Description  string `xml:"description,omitempty"`
}

type xRule struct {
	ID           string `xml:"securityGroupRuleId"`
	GroupID      string `xml:"groupId"`
	GroupOwnerID string `xml:"groupOwnerId"`
	IsEgress     bool   `xml:"isEgress"`
	Protocol     string `xml:"ipProtocol"`
	FromPort     int32  `xml:"fromPort"`
	ToPort       int32  `xml:"toPort"`
	CidrIPv4     string `xml:"cidrIpv4,omitempty"`
	CidrIPv6     string `xml:"cidrIpv6,omitempty"`
	PrefixListID string `xml:"prefixListId,omitempty"`
	Referenced   *xRef  `xml:"referencedGroupInfo,omitempty"`
	Description  string `xml:"description,omitempty"`
	Arn          string `xml:"securityGroupRuleArn"`
	Tags         []xTag `xml:"tagSet>item,omitempty"`
}

type xRef struct {
	GroupID string `xml:"groupId"`
	UserID  string `xml:"userId"`
}

type xImage struct {
	ID                 string `xml:"imageId"`
	Location           string `xml:"imageLocation"`
	State              string `xml:"imageState"`
	OwnerID            string `xml:"imageOwnerId"`
	CreationDate       string `xml:"creationDate"`
	IsPublic           bool   `xml:"isPublic"`
	Architecture       string `xml:"architecture"`
	ImageType          string `xml:"imageType"`
	OwnerAlias         string `xml:"imageOwnerAlias,omitempty"`
	Name               string `xml:"name"`
	Description        string `xml:"description,omitempty"`
	RootDeviceType     string `xml:"rootDeviceType"`
	RootDeviceName     string `xml:"rootDeviceName"`
	BlockDevices       []xBDM `xml:"blockDeviceMapping>item"`
	VirtualizationType string `xml:"virtualizationType"`
	Hypervisor         string `xml:"hypervisor"`
	EnaSupport         bool   `xml:"enaSupport"`
	PlatformDetails    string `xml:"platformDetails"`
	UsageOperation     string `xml:"usageOperation"`
	BootMode           string `xml:"bootMode"`
	Tags               []xTag `xml:"tagSet>item,omitempty"`
}

type xBDM struct {
	DeviceName string `xml:"deviceName"`
	EBS        xEBS   `xml:"ebs"`
}

type xEBS struct {
	SnapshotID          string `xml:"snapshotId"`
	VolumeSize          int    `xml:"volumeSize"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
	VolumeType          string `xml:"volumeType"`
	Encrypted           bool   `xml:"encrypted"`
}

type xAZ struct {
	ZoneName           string `xml:"zoneName"`
	ZoneID             string `xml:"zoneId"`
	State              string `xml:"zoneState"`
	OptInStatus        string `xml:"optInStatus"`
	RegionName         string `xml:"regionName"`
	GroupName          string `xml:"groupName"`
	NetworkBorderGroup string `xml:"networkBorderGroup"`
	ZoneType           string `xml:"zoneType"`
}

type xTagDescription struct {
	ResourceID   string `xml:"resourceId"`
	ResourceType string `xml:"resourceType"`
	Key          string `xml:"key"`
	Value        string `xml:"value"`
}

type xAccountAttribute struct {
	Name   string   `xml:"attributeName"`
	Values []string `xml:"attributeValueSet>item>attributeValue"`
}

type xBoolValue struct {
	Value bool `xml:"value"`
}

// innerXML marshals v's fields without an element of its own, so a response's fields become children of
// the <ActionResponse> root. The wrapper lets v be an anonymous struct, which xml.Marshal refuses as a root.
func innerXML(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	type wrapper struct {
		XMLName xml.Name `xml:"r"`
		V       any      `xml:"v"`
	}
	b, err := xml.Marshal(wrapper{V: v})
	if err != nil {
		return nil, err
	}
	b = bytes.TrimPrefix(b, []byte("<r><v>"))
	b = bytes.TrimSuffix(b, []byte("</v></r>"))
	return b, nil
}

func writeXML(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(status)
	w.Write([]byte(xml.Header)) //nolint:errcheck // the client went away
	w.Write(body)               //nolint:errcheck
}

func writeEC2Response(w http.ResponseWriter, action, requestID string, v any) error {
	inner, err := innerXML(v)
	if err != nil {
		return fmt.Errorf("encode %s response: %w", action, err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<%sResponse xmlns="%s"><requestId>%s</requestId>`, action, ec2Namespace, requestID)
	b.Write(inner)
	fmt.Fprintf(&b, `</%sResponse>`, action)
	w.Header().Set("x-amzn-RequestId", requestID)
	writeXML(w, http.StatusOK, b.Bytes())
	return nil
}

func writeEC2Error(w http.ResponseWriter, requestID string, e *apiError) {
	var b bytes.Buffer
	b.WriteString("<Response><Errors><Error><Code>")
	xml.EscapeText(&b, []byte(e.code)) //nolint:errcheck // bytes.Buffer
	b.WriteString("</Code><Message>")
	xml.EscapeText(&b, []byte(e.message)) //nolint:errcheck
	fmt.Fprintf(&b, "</Message></Error></Errors><RequestID>%s</RequestID></Response>", requestID)
	writeXML(w, e.status, b.Bytes())
}
