package zonedns

import (
	"fmt"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/awsfake"
)

// Route53Sink keeps the server's records equal to a Route 53 fake's. A change the server cannot hold
// (an alias, a weighted or other routing-policy set, a value it cannot parse) goes to onError, and
// the server keeps what it had for that name and type.
func (s *Server) Route53Sink(onError func(error)) awsfake.RecordSink {
	return awsfake.RecordSinkFunc(func(c awsfake.RecordChange) {
		set := c.Set
		var err error
		switch {
		case set.Alias != nil && !c.Deleted:
			err = fmt.Errorf("zonedns: %s %s is an alias record, which the server does not resolve", set.Name, set.Type)
		case set.SetIdentifier != "":
			err = fmt.Errorf("zonedns: %s %s has a routing policy (set %q), which the server does not model", set.Name, set.Type, set.SetIdentifier)
		case c.Deleted:
			err = s.SetRecordSet(set.Name, set.Type, nil)
		default:
			err = s.SetRecordSet(set.Name, set.Type, set.Values)
		}
		if err != nil {
			onError(err)
		}
	})
}

// AlidnsSink keeps the server's records equal to an Alidns fake's enabled records. Alidns keeps an MX
// record's priority apart from its value, which the sink is not told: MX records, and values the
// server cannot parse, go to onError.
func (s *Server) AlidnsSink(onError func(error)) alifake.RecordSink {
	return alifake.RecordSinkFunc(func(fqdn, rtype string, values []string) {
		if len(values) > 0 && rtype == "MX" {
			onError(fmt.Errorf("zonedns: %s %s: Alidns keeps the priority apart from the value, and the sink does not get it", fqdn, rtype))
			return
		}
		if err := s.SetRecordSet(fqdn, rtype, values); err != nil {
			onError(err)
		}
	})
}
