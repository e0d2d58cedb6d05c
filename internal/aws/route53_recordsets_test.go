package aws

import (
	"strings"
	"testing"
)

func TestRoute53RecordNames(t *testing.T) {
	for in, want := range map[string]string{
		`\052.sbx.example.com.`: "*.sbx.example.com.",
		"*.SBX.example.com":     "*.sbx.example.com.",
		`a\055b.example.com`:    "a-b.example.com.",
		"_acme-challenge.x.io.": "_acme-challenge.x.io.",
	} {
		if got := canonicalRecordName(in); got != want {
			t.Errorf("canonicalRecordName(%q) = %q, want %q", in, got, want)
		}
	}
	if !sameRecordName(`\052.sbx.example.com.`, "*.sbx.example.com") || sameRecordName("a.example.com", "b.example.com") {
		t.Error("sameRecordName")
	}
	if got := fqdnOf(`\052.Sbx.example.com.`); got != "*.sbx.example.com" {
		t.Errorf("fqdnOf = %q", got)
	}
}

func TestTXTQuoting(t *testing.T) {
	long := strings.Repeat("x", 600)
	for _, v := range []string{"token", `with "quotes" and \backslash`, long, ""} {
		q := quoteTXT(v)
		if !strings.HasPrefix(q, `"`) || !strings.HasSuffix(q, `"`) {
			t.Errorf("quoteTXT(%q) = %q is not quoted", v, q)
		}
		if got := unquoteTXT(q); got != v {
			t.Errorf("round trip of %q: %q", v, got)
		}
	}
	if n := strings.Count(quoteTXT(long), `" "`); n != 2 {
		t.Errorf("a 600-byte value is split into %d+1 strings, want 3", n)
	}
	if got := unquoteTXT(`"a\032b"`); got != "a b" {
		t.Errorf("decimal escape: %q", got)
	}
}

func TestParseRecordID(t *testing.T) {
	for in, want := range map[string][3]string{
		"Z123ABC_*.sbx.example.com_A":            {"Z123ABC", "*.sbx.example.com", "A"},
		"/hostedzone/Z1_www.example.com_cname":   {"Z1", "www.example.com", "CNAME"},
		"Z1__acme-challenge.sbx.example.com_TXT": {"Z1", "_acme-challenge.sbx.example.com", "TXT"},
		`Z1_\052.sbx.example.com._AAAA`:          {"Z1", "*.sbx.example.com", "AAAA"},
	} {
		z, n, typ, ok := parseRecordID(in)
		if !ok || [3]string{z, n, typ} != want {
			t.Errorf("parseRecordID(%q) = %q %q %q %t, want %q", in, z, n, typ, ok, want)
		}
	}
	for _, in := range []string{"", "Z1", "Z1_www.example.com", "Z1_www.example.com_MX", "zone_www.example.com_A", "Z1__A"} {
		if _, _, _, ok := parseRecordID(in); ok {
			t.Errorf("parseRecordID(%q) accepted", in)
		}
	}
}
