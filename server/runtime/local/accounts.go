package local

import (
	"fmt"
	"strconv"
	"strings"
)

// sandboxUser is the account commands run as by default, as in E2B's own images.
const (
	sandboxUser = "user"
	sandboxHome = "/home/user"
	firstUID    = 1000
)

// account is the sandbox user's identity.
type account struct {
	UID, GID int
}

// accountFiles are the sandbox's own copies of the account databases.
type accountFiles struct {
	passwd, group, shadow, gshadow string
	user                           account
}

// makeAccounts derives the sandbox's account files from the root filesystem's: every account stays
// (tools may expect their system users), the `user` account is added (or pointed at /home/user if the
// root already has one), and the shadow files are regenerated with locked passwords so that no password
// hash of the host is readable inside.
func makeAccounts(passwd, group string) (*accountFiles, error) {
	pw := parseDB(passwd, 7)
	gr := parseDB(group, 4)
	usedUIDs, usedGIDs := map[int]bool{}, map[int]bool{}
	for _, f := range pw {
		if n, err := strconv.Atoi(f[2]); err == nil {
			usedUIDs[n] = true
		}
	}
	for _, f := range gr {
		if n, err := strconv.Atoi(f[2]); err == nil {
			usedGIDs[n] = true
		}
	}

	var acct account
	if i := indexOf(pw, sandboxUser); i >= 0 {
		uid, err1 := strconv.Atoi(pw[i][2])
		gid, err2 := strconv.Atoi(pw[i][3])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("passwd entry of %q has a bad uid or gid: %q", sandboxUser, strings.Join(pw[i], ":"))
		}
		acct = account{UID: uid, GID: gid}
		pw[i][5], pw[i][6] = sandboxHome, "/bin/bash"
	} else {
		uid := firstUID
		for usedUIDs[uid] || usedGIDs[uid] {
			uid++
		}
		acct = account{UID: uid, GID: uid}
		if j := indexOf(gr, sandboxUser); j >= 0 {
			if gid, err := strconv.Atoi(gr[j][2]); err == nil {
				acct.GID = gid
			}
		}
		pw = append(pw, []string{sandboxUser, "x", strconv.Itoa(acct.UID), strconv.Itoa(acct.GID), "", sandboxHome, "/bin/bash"})
	}
	if indexOf(gr, sandboxUser) < 0 {
		gr = append(gr, []string{sandboxUser, "x", strconv.Itoa(acct.GID), ""})
	}

	out := &accountFiles{passwd: formatDB(pw), group: formatDB(gr), user: acct}
	var shadow, gshadow strings.Builder
	for _, f := range pw {
		fmt.Fprintf(&shadow, "%s:*:19000:0:99999:7:::\n", f[0])
	}
	for _, f := range gr {
		fmt.Fprintf(&gshadow, "%s:*::%s\n", f[0], f[3])
	}
	out.shadow, out.gshadow = shadow.String(), gshadow.String()
	return out, nil
}

// parseDB splits a colon-separated database into records of exactly n fields, dropping comments and
// malformed lines (which the C library ignores too).
func parseDB(text string, n int) [][]string {
	var out [][]string
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != n {
			continue
		}
		out = append(out, f)
	}
	return out
}

func formatDB(records [][]string) string {
	var b strings.Builder
	for _, f := range records {
		b.WriteString(strings.Join(f, ":"))
		b.WriteByte('\n')
	}
	return b.String()
}

func indexOf(records [][]string, name string) int {
	for i, f := range records {
		if f[0] == name {
			return i
		}
	}
	return -1
}
