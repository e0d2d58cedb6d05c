package kubenode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"syscall"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// HostIP is the node's address (status.hostIP of every pod).
const HostIP = "127.0.0.1"

// ipAllocator hands out pod IPs in 127.0.0.0/8, which Linux routes to the loopback interface as a
// whole: binding 127.a.b.c needs no interface setup. Addresses are picked at random from
// 127.16.0.1–127.254.255.254 (clear of 127.0.0.1 and the resolvers' 127.0.0.53), so agents of
// concurrent test runs on one machine rarely collide; a collision shows as EADDRINUSE and the next
// candidate is tried.
type ipAllocator struct {
	mu   sync.Mutex
	used map[string]bool
}

func newIPAllocator() *ipAllocator { return &ipAllocator{used: map[string]bool{}} }

// listen allocates a pod IP and listens on it at port. A non-empty want (a pod's recorded IP, when
// the agent adopts it after a restart) is the only candidate.
func (a *ipAllocator) listen(want string, port int) (net.Listener, string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if want != "" {
		if a.used[want] {
			return nil, "", fmt.Errorf("pod IP %s is already in use on this node", want)
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(want, strconv.Itoa(port)))
		if err != nil {
			return nil, "", fmt.Errorf("listen on pod IP %s: %w", want, err)
		}
		a.used[want] = true
		return ln, want, nil
	}
	var lastErr error
	for range 64 {
		ip := net.IPv4(127, byte(16+rand.IntN(239)), byte(rand.IntN(256)), byte(1+rand.IntN(254))).String()
		if a.used[ip] {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if errors.Is(err, syscall.EADDRINUSE) {
			lastErr = err
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("listen on pod IP %s: %w", ip, err)
		}
		a.used[ip] = true
		return ln, ip, nil
	}
	return nil, "", fmt.Errorf("no free pod IP after 64 tries: %w", lastErr)
}

func (a *ipAllocator) release(ip string) {
	a.mu.Lock()
	delete(a.used, ip)
	a.mu.Unlock()
}

// envdProxy forwards every TCP connection to podIP:49983 to the local sandbox's envd socket, so a
// client reaches envd over the network exactly as it reaches a pod's envd in a cluster.
type envdProxy struct {
	ln     net.Listener
	dial   func(context.Context) (net.Conn, error)
	ctx    context.Context
	cancel context.CancelFunc

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newEnvdProxy(ln net.Listener, dial func(context.Context) (net.Conn, error)) *envdProxy {
	ctx, cancel := context.WithCancel(context.Background())
	p := &envdProxy{ln: ln, dial: dial, ctx: ctx, cancel: cancel, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p
}

func (p *envdProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		if !p.track(c) {
			c.Close()
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.untrack(c)
			p.forward(c)
		}()
	}
}

func (p *envdProxy) forward(down net.Conn) {
	up, err := p.dial(p.ctx)
	if err != nil {
		down.Close()
		return
	}
	if !p.track(up) {
		up.Close()
		down.Close()
		return
	}
	defer p.untrack(up)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// Pass the end of one direction on, keep the other open (HTTP clients may half-close).
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		} else {
			dst.Close()
		}
		done <- struct{}{}
	}
	go pipe(up, down)
	go pipe(down, up)
	<-done
	<-done
	up.Close()
	down.Close()
}

// track registers a connection so close can cut it; false once the proxy is closing.
func (p *envdProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *envdProxy) untrack(c net.Conn) {
	p.mu.Lock()
	if p.conns != nil {
		delete(p.conns, c)
	}
	p.mu.Unlock()
}

// close stops listening, cuts open connections and waits for the forwarding goroutines.
func (p *envdProxy) close() {
	p.ln.Close()
	p.cancel()
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for c := range conns {
		c.Close()
	}
	p.wg.Wait()
}

// envdAddr is where a pod's envd is reached.
func envdAddr(podIP string) string {
	return net.JoinHostPort(podIP, strconv.Itoa(sandbox.EnvdPort))
}
