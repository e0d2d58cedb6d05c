package acmeresource

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acme"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/alicloud"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/aws"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
)

// dnsService is the DNS service of dns_challenge the challenge records are written to, with what
// diagnostics say about it.
type dnsService struct {
	name      string    // "Route 53 hosted zone Z…", "Alidns domain example.com"
	clients   string    // the clients it needs, for "configuring the …"
	attribute path.Path // the attribute that names it
	advise    framework.Advisor
	writer    func(context.Context, *framework.ProviderData) (acme.TXTWriter, error)
	// writeHint says what to check when the record fqdn of name cannot be written.
	writeHint func(name, fqdn string) string
}

// dnsServiceOf is the service ch names; false when it names none (the schema requires exactly one).
func dnsServiceOf(ch *dnsChallengeModel) (dnsService, bool) {
	switch {
	case ch == nil:
		return dnsService{}, false
	case ch.Route53 != nil:
		zone := ch.Route53.HostedZoneID.ValueString()
		return dnsService{
			name:      "Route 53 hosted zone " + zone,
			clients:   "AWS clients for Route 53",
			attribute: path.Root("dns_challenge").AtName("route53").AtName("hosted_zone_id"),
			advise:    aws.Advise,
			writer: func(ctx context.Context, d *framework.ProviderData) (acme.TXTWriter, error) {
				conns, err := aws.ConnsFor(ctx, d)
				if err != nil {
					return nil, err
				}
				return aws.NewRoute53TXTWriter(conns, zone), nil
			},
			writeHint: func(name, fqdn string) string {
				return fmt.Sprintf("Check that Route 53 hosted zone %s exists, that it is the zone of %s (the record %s must "+
					"be inside it), and that the provider's AWS credentials may change its records.", zone, name, fqdn)
			},
		}, true
	case ch.Alidns != nil:
		domain := ch.Alidns.Domain.ValueString()
		return dnsService{
			name:      "Alidns domain " + domain,
			clients:   "Alibaba Cloud clients for Alidns",
			attribute: path.Root("dns_challenge").AtName("alidns").AtName("domain"),
			advise:    alicloud.Advise,
			writer: func(ctx context.Context, d *framework.ProviderData) (acme.TXTWriter, error) {
				conns, err := alicloud.ConnsFor(ctx, d)
				if err != nil {
					return nil, err
				}
				return alicloud.NewAlidnsTXTWriter(conns, domain), nil
			},
			writeHint: func(name, fqdn string) string {
				return fmt.Sprintf("Check that %s is a domain of the Alibaba Cloud DNS account of the provider's alicloud "+
					"block (listed in the Alibaba Cloud DNS console), that it is the domain of %s (the record %s must be "+
					"inside it), and that the provider's AccessKey may change its records (alidns:AddDomainRecord, "+
					"alidns:DeleteDomainRecord, alidns:DescribeDomainRecords, alidns:DescribeDomainRecordInfo).",
					domain, name, fqdn)
			},
		}, true
	}
	return dnsService{}, false
}
