// Package zonedns is a DNS server for tests that answers, on loopback over UDP and TCP, from the record
// sets the cloud DNS fakes hold: each fake's RecordSink (Route53Sink, AlidnsSink) keeps the server's
// records equal to the fake's, so what a configuration writes through the cloud API is what resolvers
// see — an SDK resolving *.<domain>, and an ACME CA validating DNS-01 (acmeharness.Options.Resolver).
//
// It answers like an authoritative server of every name it holds: the record sets of the asked name
// and type; a CNAME (followed, within the records it holds, to the asked type) for any other type;
// wildcards as RFC 4592 says (a "*" label stands for names that do not exist below its closest
// existing ancestor); NOERROR with no answer for a name that exists without the asked type; NXDOMAIN
// for names that do not exist. Answers have a TTL of one second, since tests change records and
// expect to see the change at once.
package zonedns

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Server is a running DNS server. Its methods are safe for concurrent use.
type Server struct {
	mu   sync.Mutex
	sets map[string]map[uint16][]dns.RR // canonical owner name → type → records

	addr    string
	servers []*dns.Server
	once    sync.Once
}

// maxChain bounds the CNAME chain the server follows within its records.
const maxChain = 8

// answerTTL is the TTL of every record the server answers with.
const answerTTL = 1

// Start starts a server on 127.0.0.1, one port for UDP and TCP. Close stops it.
func Start() (*Server, error) {
	s := &Server{sets: map[string]map[uint16][]dns.RR{}}
	udp, tcp, err := listen()
	if err != nil {
		return nil, err
	}
	s.addr = tcp.Addr().String()
	s.servers = []*dns.Server{
		{PacketConn: udp, Handler: s, ReadTimeout: time.Second, WriteTimeout: time.Second},
		{Listener: tcp, Handler: s, ReadTimeout: time.Second, WriteTimeout: time.Second},
	}
	started := make(chan struct{}, len(s.servers))
	for _, srv := range s.servers {
		srv.NotifyStartedFunc = func() { started <- struct{}{} }
		go func() { _ = srv.ActivateAndServe() }()
	}
	for range s.servers {
		<-started
	}
	return s, nil
}

// listen binds UDP and TCP on one free loopback port; another process may hold the TCP side of the
// port the kernel picked for UDP, so it tries a few ports.
func listen() (net.PacketConn, net.Listener, error) {
	var lastErr error
	for range 10 {
		udp, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, fmt.Errorf("zonedns: listen on UDP: %w", err)
		}
		tcp, err := net.Listen("tcp", udp.LocalAddr().String())
		if err == nil {
			return udp, tcp, nil
		}
		_ = udp.Close()
		lastErr = err
	}
	return nil, nil, fmt.Errorf("zonedns: listen on TCP at the UDP port: %w", lastErr)
}

// Addr is the server's "host:port", the same for UDP and TCP.
func (s *Server) Addr() string { return s.addr }

// Close stops the server. It is safe to call more than once.
func (s *Server) Close() {
	s.once.Do(func() {
		for _, srv := range s.servers {
			_ = srv.Shutdown()
		}
	})
}

// SetRecordSet replaces the records of one name and type with values in zone-file presentation form
// ("192.0.2.1" for A, "target.example." for CNAME, `"quoted" "strings"` or bare text for TXT, the
// whole RDATA for MX, CAA, SOA, ...); no values deletes them. fqdn may lack the trailing dot.
func (s *Server) SetRecordSet(fqdn, rtype string, values []string) error {
	name := dns.CanonicalName(fqdn)
	if _, ok := dns.IsDomainName(name); !ok {
		return fmt.Errorf("zonedns: %q is not a domain name", fqdn)
	}
	t, ok := dns.StringToType[strings.ToUpper(rtype)]
	if !ok {
		return fmt.Errorf("zonedns: unknown record type %q", rtype)
	}
	var rrs []dns.RR
	for _, v := range values {
		rr, err := parseRR(name, t, v)
		if err != nil {
			return fmt.Errorf("zonedns: %s %s %q: %w", name, rtype, v, err)
		}
		rrs = append(rrs, rr)
	}
	if t == dns.TypeCNAME && len(rrs) > 1 {
		return fmt.Errorf("zonedns: %s has %d CNAME values; a CNAME has one", name, len(rrs))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(rrs) == 0 {
		delete(s.sets[name], t)
		if len(s.sets[name]) == 0 {
			delete(s.sets, name)
		}
		return nil
	}
	if s.sets[name] == nil {
		s.sets[name] = map[uint16][]dns.RR{}
	}
	s.sets[name][t] = rrs
	return nil
}

// parseRR builds one record from its presentation form. TXT values that are not quoted (Alidns keeps
// them so) are taken as one string, split in the 255-octet pieces DNS allows.
func parseRR(name string, t uint16, value string) (dns.RR, error) {
	hdr := dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: answerTTL}
	if t == dns.TypeTXT && !strings.HasPrefix(strings.TrimSpace(value), `"`) {
		var parts []string
		for len(value) > 255 {
			parts, value = append(parts, value[:255]), value[255:]
		}
		return &dns.TXT{Hdr: hdr, Txt: append(parts, value)}, nil
	}
	rr, err := dns.NewRR(fmt.Sprintf("%s %d IN %s %s", name, answerTTL, dns.TypeToString[t], value))
	if err != nil {
		return nil, err
	}
	if rr == nil {
		return nil, errors.New("empty record")
	}
	return rr, nil
}

// ServeDNS answers one query.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if len(r.Question) != 1 || r.Question[0].Qclass != dns.ClassINET {
		m.SetRcode(r, dns.RcodeNotImplemented)
		_ = w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	s.mu.Lock()
	m.Answer, m.Rcode = s.answer(dns.CanonicalName(q.Name), q.Qtype)
	s.mu.Unlock()
	_ = w.WriteMsg(m)
}

// answer resolves name and type within the records held, following CNAMEs. The rcode is that of the
// last name of the chain, as an authoritative server reports it. Called with s.mu held.
func (s *Server) answer(name string, qtype uint16) ([]dns.RR, int) {
	var out []dns.RR
	for range maxChain {
		sets, ok := s.lookup(name)
		if !ok {
			return out, dns.RcodeNameError
		}
		if rrs := sets[qtype]; len(rrs) > 0 || qtype == dns.TypeCNAME {
			return append(out, withOwner(rrs, name)...), dns.RcodeSuccess
		}
		cname := sets[dns.TypeCNAME]
		if len(cname) == 0 {
			return out, dns.RcodeSuccess
		}
		out = append(out, withOwner(cname, name)...)
		name = dns.CanonicalName(cname[0].(*dns.CNAME).Target)
	}
	return out, dns.RcodeServerFailure
}

// lookup finds the record sets that answer for name: its own when it exists (has records, or names
// below it have), else those of the wildcard at its closest existing ancestor.
func (s *Server) lookup(name string) (map[uint16][]dns.RR, bool) {
	if sets, ok := s.sets[name]; ok {
		return sets, true
	}
	if s.exists(name) {
		return nil, true // an empty non-terminal
	}
	for encloser := parent(name); encloser != ""; encloser = parent(encloser) {
		if encloser == "." || s.exists(encloser) {
			sets, ok := s.sets["*."+strings.TrimPrefix(encloser, ".")]
			return sets, ok
		}
	}
	return nil, false
}

// exists reports whether name has records or names below it do.
func (s *Server) exists(name string) bool {
	if _, ok := s.sets[name]; ok {
		return true
	}
	for owner := range s.sets {
		if strings.HasSuffix(owner, "."+name) {
			return true
		}
	}
	return false
}

// parent is name without its first label ("." for a top-level name, "" for the root).
func parent(name string) string {
	if name == "." {
		return ""
	}
	_, rest, _ := strings.Cut(name, ".")
	if rest == "" {
		return "."
	}
	return rest
}

// withOwner copies records with the owner name of the question (a wildcard's records are answered
// under the name asked for).
func withOwner(rrs []dns.RR, name string) []dns.RR {
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		c := dns.Copy(rr)
		c.Header().Name = name
		out[i] = c
	}
	return out
}
