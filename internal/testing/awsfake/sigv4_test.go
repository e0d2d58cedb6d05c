package awsfake_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/awsfake"
)

// signedRequest builds a request signed with the SDK's own SigV4 signer, for tampering tests.
func signedRequest(t *testing.T, s *awsfake.Server, method, url, service, body string, secret string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	sum := sha256.Sum256([]byte(body))
	id, _ := s.Credentials()
	creds := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, s.Region(), time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

func send(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestSignatureCoversBodyQueryAndScope(t *testing.T) {
	s := awsfake.StartTest(t, awsfake.Options{})
	_, secret := s.Credentials()
	const describe = "Action=DescribeVpcs&Version=2016-11-15"

	// The signature the SDK computes is accepted…
	if code, body := send(t, signedRequest(t, s, http.MethodPost, s.EC2URL(), "ec2", describe, secret)); code != 200 || !strings.Contains(body, "<vpcSet>") {
		t.Fatalf("genuine request: %d %s", code, body)
	}
	// …but not once the body changed after signing.
	req := signedRequest(t, s, http.MethodPost, s.EC2URL(), "ec2", describe, secret)
	tampered := "Action=DeleteVpc&Version=2016-11-15"
	req.Body, req.ContentLength = io.NopCloser(strings.NewReader(tampered)), int64(len(tampered))
	if code, body := send(t, req); code != 401 || !strings.Contains(body, "<Code>AuthFailure</Code>") {
		t.Fatalf("tampered body: %d %s", code, body)
	}
	// A query string added after signing (Route 53 reads its parameters from the query).
	req = signedRequest(t, s, http.MethodGet, s.Route53URL()+"/2013-04-01/hostedzone", "route53", "", secret)
	req.URL.RawQuery = "maxitems=1"
	if code, body := send(t, req); code != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
		t.Fatalf("tampered query: %d %s", code, body)
	}
	// A signature scoped to another service.
	req = signedRequest(t, s, http.MethodPost, s.STSURL(), "ec2", "Action=GetCallerIdentity&Version=2011-06-15", secret)
	if code, body := send(t, req); code != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
		t.Fatalf("wrong service scope: %d %s", code, body)
	}
	// No signature at all.
	unsigned, _ := http.NewRequest(http.MethodPost, s.STSURL(), bytes.NewBufferString("Action=GetCallerIdentity&Version=2011-06-15"))
	if code, body := send(t, unsigned); code != 403 || !strings.Contains(body, "<Code>MissingAuthenticationToken</Code>") {
		t.Fatalf("unsigned: %d %s", code, body)
	}
}
