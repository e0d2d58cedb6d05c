package envd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// serveForward answers `CONNECT 127.0.0.1:<port>` (or `localhost:<port>`) with a raw TCP tunnel to
// that port inside the sandbox. The gateway uses it to reach services that listen only on the
// sandbox's loopback, through envd (a unix socket or the pod IP), without a shared host network.
// Only loopback targets are allowed: envd forwards into its own sandbox, never elsewhere.
func (s *Server) serveForward(w http.ResponseWriter, r *http.Request) {
	host, portStr, err := net.SplitHostPort(r.Host)
	if err != nil {
		WriteJSONError(w, http.StatusBadRequest, "CONNECT target must be host:port")
		return
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 {
		WriteJSONError(w, http.StatusBadRequest, "CONNECT port must be 1-65535")
		return
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		WriteJSONError(w, http.StatusForbidden, "CONNECT is only allowed to loopback addresses inside the sandbox")
		return
	}
	upstream, err := dialLoopback(r, int(port))
	if err != nil {
		WriteJSONError(w, http.StatusBadGateway, "port "+portStr+" is not open in the sandbox")
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		upstream.Close()
		WriteJSONError(w, http.StatusInternalServerError, "connection cannot be hijacked")
		return
	}
	client, buf, err := hj.Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	if _, err := client.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n")); err != nil {
		client.Close()
		upstream.Close()
		return
	}
	// Bytes the client pipelined behind the CONNECT request are already in buf.
	if n := buf.Reader.Buffered(); n > 0 {
		pending, _ := buf.Reader.Peek(n)
		if _, err := upstream.Write(pending); err != nil {
			client.Close()
			upstream.Close()
			return
		}
	}
	splice(client, upstream)
}

// dialLoopback tries IPv4 then IPv6 loopback, so services bound to either are reachable.
func dialLoopback(r *http.Request, port int) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	p := strconv.Itoa(port)
	c, err := d.DialContext(r.Context(), "tcp", net.JoinHostPort("127.0.0.1", p))
	if err == nil {
		return c, nil
	}
	if c6, err6 := d.DialContext(r.Context(), "tcp", net.JoinHostPort("::1", p)); err6 == nil {
		return c6, nil
	}
	return nil, err
}

// splice copies both ways until both directions are done, half-closing where the connection allows.
func splice(a, b net.Conn) {
	var wg sync.WaitGroup
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		} else {
			_ = dst.Close()
		}
	}
	wg.Add(2)
	go pipe(a, b)
	go pipe(b, a)
	wg.Wait()
	a.Close()
	b.Close()
}

// Forward turns conn, a fresh connection to envd, into a tunnel to port on the sandbox's loopback,
// by the CONNECT handshake serveForward answers. The gateway dials envd however it reaches it (a unix
// socket for local sandboxes, the pod IP in a cluster) and hands the connection here.
func Forward(ctx context.Context, conn net.Conn, port int, token string) (net.Conn, error) {
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
		defer conn.SetDeadline(time.Time{})
	}
	target := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	req := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n"
	if token != "" {
		req += "X-Access-Token: " + token + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		return nil, fmt.Errorf("forward to port %d: send CONNECT: %w", port, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return nil, fmt.Errorf("forward to port %d: read CONNECT answer: %w", port, err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, &ForwardError{Port: port, Status: resp.StatusCode, Body: string(body)}
	}
	if br.Buffered() > 0 {
		return &bufferedConn{Conn: conn, r: br}, nil
	}
	return conn, nil
}

// ForwardError is envd's refusal of a tunnel; Status 502 means nothing listens on the port.
type ForwardError struct {
	Port   int
	Status int
	Body   string
}

func (e *ForwardError) Error() string {
	return fmt.Sprintf("forward to port %d: envd answered %d: %s", e.Port, e.Status, e.Body)
}

// bufferedConn keeps the bytes the handshake reader read past the CONNECT answer.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
