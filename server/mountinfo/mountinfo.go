// Package mountinfo reads what /proc/<pid>/mountinfo says, for the parts that need mount points:
// the local runtime (cgroup mounts, its own overlays), envd (network-mount checks) and the tests'
// leftover scans.
package mountinfo

import (
	"strconv"
	"strings"
)

// Unescape undoes the kernel's octal escapes in mountinfo paths (`\040` for a space, `\134` for a
// backslash, and so on).
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
