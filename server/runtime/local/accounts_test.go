package local

import (
	"strings"
	"testing"
)

func TestMakeAccounts(t *testing.T) {
	passwd := "root:x:0:0:root:/root:/bin/bash\n# comment\ncloudsdk:x:1000:1000::/home/cloudsdk:/bin/bash\nbroken line\n"
	group := "root:x:0:\nshadow:x:42:\ncloudsdk:x:1000:\nthousandone:x:1001:\n"
	a, err := makeAccounts(passwd, group)
	if err != nil {
		t.Fatal(err)
	}
	// 1000 is taken as a uid, 1001 as a gid: the first id free in both is 1002.
	if a.user != (account{UID: 1002, GID: 1002}) {
		t.Fatalf("user account %+v, want 1002:1002", a.user)
	}
	if !strings.Contains(a.passwd, "\nuser:x:1002:1002::/home/user:/bin/bash\n") || !strings.HasPrefix(a.passwd, "root:x:0:0:") {
		t.Fatalf("passwd:\n%s", a.passwd)
	}
	if strings.Contains(a.passwd, "broken") || strings.Contains(a.passwd, "#") {
		t.Fatalf("malformed lines kept:\n%s", a.passwd)
	}
	if !strings.HasSuffix(a.group, "user:x:1002:\n") {
		t.Fatalf("group:\n%s", a.group)
	}
	for _, line := range strings.Split(strings.TrimSpace(a.shadow), "\n") {
		if f := strings.Split(line, ":"); len(f) != 9 || f[1] != "*" {
			t.Fatalf("shadow line %q: want a locked password", line)
		}
	}
	if !strings.Contains(a.gshadow, "shadow:*::\n") {
		t.Fatalf("gshadow:\n%s", a.gshadow)
	}
}

func TestMakeAccountsExistingUser(t *testing.T) {
	a, err := makeAccounts("root:x:0:0::/root:/bin/bash\nuser:x:1500:1600::/srv/user:/bin/sh\n", "root:x:0:\n")
	if err != nil {
		t.Fatal(err)
	}
	if a.user != (account{UID: 1500, GID: 1600}) {
		t.Fatalf("user %+v, want the existing 1500:1600", a.user)
	}
	if !strings.Contains(a.passwd, "user:x:1500:1600::/home/user:/bin/bash\n") {
		t.Fatalf("existing user not pointed at /home/user:\n%s", a.passwd)
	}
	if !strings.Contains(a.group, "user:x:1600:\n") {
		t.Fatalf("group for the existing user's gid missing:\n%s", a.group)
	}
}
