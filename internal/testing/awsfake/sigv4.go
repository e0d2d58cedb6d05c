package awsfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// authFailure says why a request's SigV4 signature was rejected; each service maps it to its own error code.
type authFailure int

const (
	authOK authFailure = iota
	authMissing
	authUnknownKey
	authBadSignature
	authMalformed
)

// sigv4Request is what verifySigV4 needs from a request, with the body already read.
type sigv4Request struct {
	r       *http.Request
	body    []byte
	service string // the signing name the scope must carry: ec2, route53, sts
}

// verifySigV4 recomputes the request's AWS Signature Version 4 with the secret the fake holds for its access
// key and compares it with the one in the Authorization header. Presigned URLs are not supported: no client
// of these fakes uses them.
func verifySigV4(req sigv4Request, secretFor func(accessKeyID string) (string, bool)) (authFailure, string) {
	auth := req.r.Header.Get("Authorization")
	if auth == "" {
		return authMissing, "Request is missing Authentication Token"
	}
	const algorithm = "AWS4-HMAC-SHA256"
	if !strings.HasPrefix(auth, algorithm+" ") {
		return authMalformed, "Unsupported authorization algorithm"
	}
	fields := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(auth, algorithm+" "), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return authMalformed, fmt.Sprintf("Authorization header requires a key=value pair, got %q", part)
		}
		fields[k] = v
	}
	credential, signedHeaders, signature := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if credential == "" || signedHeaders == "" || signature == "" {
		return authMalformed, "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters"
	}
	scopeParts := strings.Split(credential, "/")
	if len(scopeParts) != 5 || scopeParts[4] != "aws4_request" {
		return authMalformed, fmt.Sprintf("Credential should be scoped to a valid region, not %q", credential)
	}
	keyID, date, region, service := scopeParts[0], scopeParts[1], scopeParts[2], scopeParts[3]
	secret, ok := secretFor(keyID)
	if !ok {
		return authUnknownKey, "The security token included in the request is invalid."
	}
	if service != req.service {
		return authBadSignature, fmt.Sprintf("Credential should be scoped to correct service: '%s'.", req.service)
	}
	amzDate := req.r.Header.Get("X-Amz-Date")
	if amzDate == "" || !strings.HasPrefix(amzDate, date) {
		return authMalformed, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP"
	}

	canonical := canonicalRequest(req, strings.Split(signedHeaders, ";"))
	scope := strings.Join(scopeParts[1:], "/")
	stringToSign := strings.Join([]string{algorithm, amzDate, scope, hexSHA256([]byte(canonical))}, "\n")
	key := hmacSHA256([]byte("AWS4"+secret), date)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(key, stringToSign))
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return authBadSignature, "The request signature we calculated does not match the signature you provided. " +
			"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	}
	return authOK, ""
}

func canonicalRequest(req sigv4Request, signedHeaders []string) string {
	r := req.r
	var headers strings.Builder
	for _, name := range signedHeaders {
		var values []string
		switch name {
		case "host":
			values = []string{r.Host}
		case "content-length":
			values = r.Header.Values("Content-Length")
			if len(values) == 0 {
				values = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		default:
			values = r.Header.Values(name)
		}
		cleaned := make([]string, len(values))
		for i, v := range values {
			cleaned[i] = strings.Join(strings.Fields(v), " ")
		}
		headers.WriteString(name + ":" + strings.Join(cleaned, ",") + "\n")
	}
	return strings.Join([]string{
		r.Method,
		awsURIEncode(r.URL.EscapedPath(), false),
		canonicalQuery(r.URL.Query()),
		headers.String(),
		strings.Join(signedHeaders, ";"),
		hexSHA256(req.body),
	}, "\n")
}

func canonicalQuery(q url.Values) string {
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, pair{awsURIEncode(k, true), awsURIEncode(v, true)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = p.k + "=" + p.v
	}
	return strings.Join(out, "&")
}

// awsURIEncode is SigV4's URI encoding: everything but unreserved characters as %XX, and '/' kept in paths.
func awsURIEncode(s string, encodeSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
