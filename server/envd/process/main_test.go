package process

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run when goroutines or descriptors outlive the tests: every process's readers,
// waiter, streams, pipes and terminals must be gone once it exits or the service is closed.
func TestMain(m *testing.M) {
	fds := openFDs()
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "leaked goroutines:\n%s\n", leaked)
			code = 1
		}
		http.DefaultClient.CloseIdleConnections()
		if after := openFDs(); after > fds {
			fmt.Fprintf(os.Stderr, "%d descriptors open before the tests, %d after\n", fds, after)
			code = 1
		}
	}
	os.Exit(code)
}

func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(entries)
}

func leakedGoroutines(settle time.Duration) string {
	deadline := time.Now().Add(settle)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "envd/process.(*proc)") || strings.Contains(g, "envd/process.pump") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
