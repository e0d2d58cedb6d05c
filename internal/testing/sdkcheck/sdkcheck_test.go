package sdkcheck_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubenode"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/managerharness"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/sdkcheck"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/testca"
)

func TestMain(m *testing.M) {
	code := m.Run()
	managerharness.RemoveBinaries()
	kubenode.RemoveBinaries()
	os.Exit(code)
}

const domain = "sandbox.test"

// TestSDKAgainstManager runs the SDK checks against the real sandbox-manager (local runtime) serving
// the domain sandbox.test over TLS on port 443 of a loopback address of its own, with a certificate
// for *.sandbox.test from a test CA: names resolved to that address, then through a DNS server.
func TestSDKAgainstManager(t *testing.T) {
	ca := testca.New(t, "*."+domain)
	ip := freeLoopback443(t)
	// kubenode's binaries are envd with the code-interpreter binary beside it, which the manager's
	// code-interpreter template needs.
	envd, _ := kubenode.Binaries(t)
	m := managerharness.Start(t, managerharness.Options{EnvdBin: envd, LogLevel: "info", Env: []string{
		"SANDBOX_DOMAIN=" + domain,
		"SANDBOX_TLS_LISTEN=" + net.JoinHostPort(ip, "443"),
		"SANDBOX_TLS_CERT=" + ca.LeafFile,
		"SANDBOX_TLS_KEY=" + ca.KeyFile,
	}})
	base := sdkcheck.Options{Domain: domain, APIKey: m.APIKey, CAFile: ca.CertFile, ResolveTo: ip}

	t.Run("without the CA", func(t *testing.T) {
		opts := base
		opts.CAFile = ""
		opts.Checks = []string{sdkcheck.CodeInterpreter}
		_, err := sdkcheck.Run(context.Background(), opts)
		if err == nil || !strings.Contains(err.Error(), "unable to verify the first certificate") {
			t.Fatalf("Run without the CA = %v, want a certificate verification error from node", err)
		}
	})

	var sandboxID string
	ok := t.Run("code-interpreter, desktop and browser", func(t *testing.T) {
		opts := base
		opts.Checks = []string{sdkcheck.CodeInterpreter, sdkcheck.Desktop, sdkcheck.Browser}
		opts.Keep = true
		res := sdkcheck.RunT(t, opts)
		if !sdkcheck.OutputsMatch(res.DemoOutputs, sdkcheck.WantDemoOutputs()) {
			t.Errorf("demo outputs %q, want %q", res.DemoOutputs, sdkcheck.WantDemoOutputs())
		}
		if res.FileContent != sdkcheck.WantFileContent {
			t.Errorf("file content %q, want %q", res.FileContent, sdkcheck.WantFileContent)
		}
		if res.ScreenshotBytes <= 0 {
			t.Errorf("desktop screenshot of %d bytes", res.ScreenshotBytes)
		}
		if res.BrowserTitle != sdkcheck.WantBrowserTitle {
			t.Errorf("browser title %q, want %q", res.BrowserTitle, sdkcheck.WantBrowserTitle)
		}
		t.Logf("code-interpreter sandbox %s, desktop screenshot %d bytes", res.SandboxID, res.ScreenshotBytes)
		sandboxID = res.SandboxID
	})
	if !ok || sandboxID == "" {
		t.Fatal("no code-interpreter sandbox to reconnect to")
	}

	t.Run("reconnect", func(t *testing.T) {
		opts := base
		opts.Checks = []string{sdkcheck.Reconnect}
		opts.SandboxID = sandboxID
		res := sdkcheck.RunT(t, opts)
		if res.SandboxID != sandboxID || !sdkcheck.OutputsMatch(res.DemoOutputs, [][]string{{"3\n"}}) || res.FileContent != sdkcheck.WantFileContent {
			t.Errorf("reconnected: %+v, want sandbox %s with the demo's state (3) and file", res, sandboxID)
		}
		if ids, err := m.Client().ListIDs(); err != nil || len(ids) != 0 {
			t.Errorf("sandboxes after the reconnect check killed it: %v, %v", ids, err)
		}
	})

	t.Run("DNS server with a CNAME", func(t *testing.T) {
		srv := startDNS(t, "lb.lb.test.", ip)
		opts := base
		opts.ResolveTo, opts.DNSServer = "", srv.addr
		opts.Checks = []string{sdkcheck.CodeInterpreter}
		res := sdkcheck.RunT(t, opts)
		if !sdkcheck.OutputsMatch(res.DemoOutputs, sdkcheck.WantDemoOutputs()) || res.FileContent != sdkcheck.WantFileContent {
			t.Errorf("through the DNS server: %+v", res)
		}
		asked := srv.asked()
		if !asked["api."+domain+"."] || !asked["lb.lb.test."] {
			t.Errorf("the DNS server was asked %v, want api.%s and the CNAME's target", asked, domain)
		}
	})
}

// freeLoopback443 is an address 127.77.x.1 whose port 443 is free: the SDK with E2B_DOMAIN talks to
// port 443, and other tests may hold it on other loopback addresses.
func freeLoopback443(t *testing.T) string {
	t.Helper()
	for range 20 {
		ip := fmt.Sprintf("127.77.%d.1", 1+rand.IntN(254))
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, "443"))
		if err != nil {
			continue
		}
		ln.Close()
		return ip
	}
	t.Fatal("no loopback address 127.77.x.1 with port 443 free (binding port 443 needs root)")
	return ""
}

// dnsServer answers every name under the domain with a CNAME to target, and target with an A record,
// as a zone pointing at a load balancer's host name does. It records the names it was asked.
type dnsServer struct {
	addr string
	mu   sync.Mutex
	seen map[string]bool
}

func (s *dnsServer) asked() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]bool{}
	for k, v := range s.seen {
		out[k] = v
	}
	return out
}

func startDNS(t *testing.T, target, ip string) *dnsServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &dnsServer{addr: pc.LocalAddr().String(), seen: map[string]bool{}}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		for _, q := range r.Question {
			name := strings.ToLower(q.Name)
			s.mu.Lock()
			s.seen[name] = true
			s.mu.Unlock()
			hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: 60}
			switch {
			case strings.HasSuffix(name, "."+domain+".") && (q.Qtype == dns.TypeA || q.Qtype == dns.TypeCNAME):
				hdr.Rrtype = dns.TypeCNAME
				m.Answer = append(m.Answer, &dns.CNAME{Hdr: hdr, Target: target})
			case name == target && q.Qtype == dns.TypeA:
				hdr.Rrtype = dns.TypeA
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: net.ParseIP(ip)})
			case !strings.HasSuffix(name, "."+domain+".") && name != target:
				m.Rcode = dns.RcodeNameError
			}
		}
		_ = w.WriteMsg(m)
	})
	srv := &dns.Server{PacketConn: pc, Handler: handler}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return s
}
