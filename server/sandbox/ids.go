package sandbox

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// idAlphabet is the character set of sandbox IDs: lowercase alphanumerics only, because the host-name
// routing (<port>-<id>.<domain>) splits on '-' and E2B enforces ^[a-z0-9]+$.
const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newSandboxID returns "i" followed by 20 random characters of [a-z0-9], the shape E2B generates.
func newSandboxID() (string, error) {
	const n = 20
	out := make([]byte, 0, n+1)
	out = append(out, 'i')
	// Rejection sampling keeps the distribution uniform: 256 is not a multiple of 36.
	const limit = 256 - 256%len(idAlphabet)
	buf := make([]byte, 2*n)
	for len(out) < n+1 {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("generate sandbox id: %w", err)
		}
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			out = append(out, idAlphabet[int(b)%len(idAlphabet)])
			if len(out) == n+1 {
				break
			}
		}
	}
	return string(out), nil
}

// newAccessToken returns a fresh envd access token: 32 random bytes as 64 hex characters.
func newAccessToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate access token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// trafficTokenLabel separates traffic tokens from any other value derived from an envd token.
const trafficTokenLabel = "sandboxstack traffic access token v1"

// TrafficToken is the traffic access token of a private sandbox whose envd access token is
// accessToken: HMAC-SHA256(accessToken, label), hex. Deriving it instead of drawing it keeps it
// wherever the envd token is kept (the local runtime's state, the pod's Secret on Kubernetes) with
// no second secret to store, and it is the same for every manager replica and after restarts. The
// traffic token opens less than the envd token (the ports, not the sandbox's commands and files)
// and does not reveal it. An empty accessToken yields "": there is nothing to derive from, and the
// gateway then refuses every request to the sandbox's ports.
func TrafficToken(accessToken string) string {
	if accessToken == "" {
		return ""
	}
	mac := hmac.New(sha256.New, []byte(accessToken))
	mac.Write([]byte(trafficTokenLabel))
	return hex.EncodeToString(mac.Sum(nil))
}
