package sandboxenv

import (
	"net/http"
	"strconv"
	"time"
)

// DefaultKeepalive is the idle interval when the client does not ask for one.
const DefaultKeepalive = 90 * time.Second

// KeepaliveInterval reads `Keepalive-Ping-Interval` (seconds) from a stream request.
func KeepaliveInterval(h http.Header) time.Duration {
	s, err := strconv.Atoi(h.Get("Keepalive-Ping-Interval"))
	if err != nil || s <= 0 {
		return DefaultKeepalive
	}
	return time.Duration(s) * time.Second
}
