package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd"
)

// envdSocketName is envd's socket in the sandbox's run directory (/run/envd inside).
const envdSocketName = "envd.sock"

// dialSocket connects to the unix socket at path without following a symbolic link in its last
// component. The directory is writable from inside the sandbox, whose root could otherwise replace the
// socket with a link to a host socket and have the manager talk to that. The socket is opened as an
// O_PATH descriptor, checked, and connected through /proc/self/fd, which also lifts the 108-byte limit
// of socket paths.
func dialSocket(ctx context.Context, path string) (net.Conn, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return nil, fmt.Errorf("%s is not a socket", path)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", "/proc/self/fd/"+strconv.Itoa(fd))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", path, err)
	}
	return conn, nil
}

// envdClient talks plain HTTP to one sandbox's envd over its socket.
type envdClient struct {
	socket string
	token  string
	http   *http.Client
}

func newEnvdClient(socket, token string) *envdClient {
	c := &envdClient{socket: socket, token: token}
	c.http = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialSocket(ctx, socket)
		},
		DisableKeepAlives: true, // a handful of calls per start; nothing worth keeping open
	}}
	return c
}

// waitHealthy polls GET /health until envd answers 204, ctx ends, or exited is closed (bwrap is gone,
// so envd will never answer).
func (c *envdClient) waitHealthy(ctx context.Context, exited <-chan struct{}) error {
	var last error
	for delay := 2 * time.Millisecond; ; delay = min(delay*3/2, 50*time.Millisecond) {
		last = c.health(ctx)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("envd not healthy: %w (last: %v)", ctx.Err(), last)
		case <-exited:
			return fmt.Errorf("sandbox exited before envd became healthy (last: %v)", last)
		case <-time.After(delay):
		}
	}
}

func (c *envdClient) health(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://envd/health", nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("GET /health: %s", resp.Status)
	}
	return nil
}

// initRequest is envd's POST /init body. The token is not in it: envd got it from its environment.
type initRequest struct {
	EnvVars        map[string]string `json:"envVars"`
	DefaultUser    string            `json:"defaultUser"`
	DefaultWorkdir string            `json:"defaultWorkdir"`
}

func (c *envdClient) init(ctx context.Context, body initRequest) error {
	if body.EnvVars == nil {
		body.EnvVars = map[string]string{}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode /init: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://envd/init", bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("X-Access-Token", c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("POST /init: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /init: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// waitPort waits until something inside the sandbox accepts connections on 127.0.0.1:port, probing
// through envd's CONNECT tunnel (the sandbox has no network the host could reach).
func (c *envdClient) waitPort(ctx context.Context, port int, exited <-chan struct{}) error {
	var last error
	for delay := 5 * time.Millisecond; ; delay = min(delay*3/2, 100*time.Millisecond) {
		conn, err := dialSocket(ctx, c.socket)
		if err == nil {
			var tunnel net.Conn
			tunnel, err = envd.Forward(ctx, conn, port, c.token)
			if err == nil {
				tunnel.Close()
				return nil
			}
			conn.Close()
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("port %d not ready: %w (last: %v)", port, ctx.Err(), last)
		case <-exited:
			return fmt.Errorf("sandbox exited before port %d was ready (last: %v)", port, last)
		case <-time.After(delay):
		}
	}
}

// waitHTTP waits until GET http://127.0.0.1:<port><path> inside the sandbox answers 200, through envd's
// CONNECT tunnel. The Host is the loopback address the request really goes to: servers that refuse other
// names (Chrome's DevTools endpoint) answer it.
func (c *envdClient) waitHTTP(ctx context.Context, port int, path string, exited <-chan struct{}) error {
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			conn, err := dialSocket(ctx, c.socket)
			if err != nil {
				return nil, err
			}
			tunnel, err := envd.Forward(ctx, conn, port, c.token)
			if err != nil {
				conn.Close()
				return nil, err
			}
			return tunnel, nil
		},
		DisableKeepAlives: true,
	}}
	url := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + path
	var last error
	for delay := 5 * time.Millisecond; ; delay = min(delay*3/2, 100*time.Millisecond) {
		last = getOK(ctx, client, url)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("GET %s not answered with 200: %w (last: %v)", url, ctx.Err(), last)
		case <-exited:
			return fmt.Errorf("sandbox exited before GET %s answered 200 (last: %v)", url, last)
		case <-time.After(delay):
		}
	}
}

func getOK(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
