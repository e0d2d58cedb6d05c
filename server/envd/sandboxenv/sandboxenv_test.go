package sandboxenv

import (
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"slices"
	"testing"
)

func TestResolvePath(t *testing.T) {
	u := &User{Name: "user", Home: "/home/user"}
	cases := []struct {
		workdir, in, want string
		wantErr           bool
	}{
		{"", "", "/home/user", false},
		{"/work", "", "/work", false},
		{"", "~", "/home/user", false},
		{"", "~/a/b", "/home/user/a/b", false},
		{"", "a.txt", "/home/user/a.txt", false},
		{"/work", "a.txt", "/home/user/a.txt", false},
		{"", "/etc/hosts", "/etc/hosts", false},
		{"", "/home/user/../../etc", "/etc", false},
		{"", "../../../../etc/passwd", "/etc/passwd", false},
		{"", "/a/./b//c/", "/a/b/c", false},
		{"", "~other/x", "", true},
	}
	for _, c := range cases {
		env := New(Defaults{DefaultWorkdir: c.workdir})
		got, err := env.ResolvePath(c.in, u)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("ResolvePath(%q) with workdir %q = %q, %v; want %q (error %v)", c.in, c.workdir, got, err, c.want, c.wantErr)
		}
	}
}

func TestBasicAuthUser(t *testing.T) {
	h := http.Header{}
	if name, err := BasicAuthUser(h); name != "" || err != nil {
		t.Fatalf("no header = %q, %v; want empty", name, err)
	}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("root:")))
	if name, err := BasicAuthUser(h); name != "root" || err != nil {
		t.Fatalf("Basic root: = %q, %v", name, err)
	}
	for _, bad := range []string{"Bearer x", "Basic !!!", "Basic"} {
		h.Set("Authorization", bad)
		if _, err := BasicAuthUser(h); !errors.Is(err, ErrUnknownUser) {
			t.Errorf("%q: err = %v, want ErrUnknownUser", bad, err)
		}
	}
}

func TestLookupUser(t *testing.T) {
	env := New(Defaults{})
	root, err := env.LookupUser("")
	if err != nil || root.Name != FallbackUser || root.UID != 0 {
		t.Fatalf("default user = %+v, %v; want root", root, err)
	}
	env.Set(Defaults{DefaultUser: "nobody"})
	nobody, err := env.LookupUser("")
	if err != nil || nobody.Name != "nobody" || nobody.UID == 0 {
		t.Fatalf("default user after Set = %+v, %v; want nobody", nobody, err)
	}
	if _, err := env.LookupUser("no-such-user-here"); !errors.Is(err, ErrUnknownUser) || err.Error() == "" {
		t.Fatalf("unknown user err = %v, want ErrUnknownUser", err)
	}
}

func TestProcessEnvOrder(t *testing.T) {
	env := New(Defaults{EnvVars: map[string]string{"A": "sandbox", "B": "sandbox", "HOME": "/override"}})
	got := env.ProcessEnv(&User{Name: "u", Home: "/home/u"}, map[string]string{"B": "request"})
	for _, want := range []string{"A=sandbox", "B=request", "HOME=/override", "USER=u", "LOGNAME=u"} {
		if !slices.Contains(got, want) {
			t.Errorf("ProcessEnv lacks %q: %v", want, got)
		}
	}
	if !slices.ContainsFunc(got, func(s string) bool { return len(s) > 5 && s[:5] == "PATH=" }) {
		t.Errorf("ProcessEnv lacks PATH: %v", got)
	}
}

func TestEnvCopiesAreIndependent(t *testing.T) {
	in := map[string]string{"A": "1"}
	env := New(Defaults{EnvVars: in})
	in["A"] = "changed"
	out := env.EnvVars()
	out["A"] = "changed too"
	if env.EnvVars()["A"] != "1" {
		t.Fatal("Env shares its map with callers")
	}
}

func TestMetadataRoundTrip(t *testing.T) {
	dir, err := os.MkdirTemp("/var/tmp", "meta")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	f := dir + "/f"
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := ReadMetadata(f); got != nil {
		t.Fatalf("fresh file metadata = %v, want none", got)
	}
	fh, err := os.OpenFile(f, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if err := WriteMetadataTo(fh, map[string]string{"owner": "me", "k": "v"}); err != nil {
		t.Fatalf("WriteMetadataTo: %v (the test needs user xattrs on /var/tmp)", err)
	}
	if err := WriteMetadataTo(fh, map[string]string{"owner": "you"}); err != nil {
		t.Fatal(err)
	}
	got := ReadMetadata(f)
	if len(got) != 1 || got["owner"] != "you" {
		t.Fatalf("metadata = %v, want only owner=you", got)
	}
}
