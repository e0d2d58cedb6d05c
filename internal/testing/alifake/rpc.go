package alifake

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// apiError is an error answer: HTTP status, Alibaba error code, message.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func missingParam(name string) *apiError {
	return errorf(http.StatusBadRequest, "MissingParameter",
		"The input parameter %q that is mandatory for processing this request is not supplied.", name)
}

func invalidParam(name, value string) *apiError {
	return errorf(http.StatusBadRequest, "InvalidParameter", "The specified parameter %q is not valid: %q.", name, value)
}

// params are an RPC request's parameters (query and form), one value per name.
type params map[string]string

// list returns name.1, name.2, ... in order of N.
func (p params) list(name string) []string {
	type item struct {
		n int
		v string
	}
	var items []item
	prefix := name + "."
	for k, v := range p {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(rest); err == nil {
			items = append(items, item{n, v})
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].n < items[j].n })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out
}

// objects returns name.N.Field parameters grouped by N, in order of N.
func (p params) objects(name string) []map[string]string {
	byN := map[int]map[string]string{}
	prefix := name + "."
	for k, v := range p {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		ns, field, ok := strings.Cut(rest, ".")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(ns)
		if err != nil {
			continue
		}
		if byN[n] == nil {
			byN[n] = map[string]string{}
		}
		byN[n][field] = v
	}
	ns := make([]int, 0, len(byN))
	for n := range byN {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	out := make([]map[string]string, len(ns))
	for i, n := range ns {
		out[i] = byN[n]
	}
	return out
}

// tags returns Tag.N.Key/Value pairs in order.
func (p params) tags() ([]tag, *apiError) {
	var out []tag
	for _, o := range p.objects("Tag") {
		if o["Key"] == "" {
			return nil, invalidParam("Tag.N.Key", "")
		}
		out = append(out, tag{Key: o["Key"], Value: o["Value"]})
	}
	return out, nil
}

// intParam parses an optional integer parameter within [lo, hi]; def when absent.
func (p params) intParam(name string, def, lo, hi int) (int, *apiError) {
	v, ok := p[name]
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, invalidParam(name, v)
	}
	return n, nil
}

// boolParam parses an optional boolean parameter; nil when absent.
func (p params) boolParam(name string) (*bool, *apiError) {
	v, ok := p[name]
	if !ok || v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, invalidParam(name, v)
	}
	return &b, nil
}

// rpcCall is one authenticated RPC request being served.
type rpcCall struct {
	product Product
	action  string
	p       params
	// after runs once the fake's lock is released (RecordSink notifications).
	after []func()
}

type rpcAction func(f *Fake, c *rpcCall) (map[string]any, *apiError)

// rpcActions are the actions each RPC product serves.
var rpcActions = map[Product]map[string]rpcAction{
	VPC:    vpcActions,
	ECS:    ecsActions,
	Alidns: alidnsActions,
	CAS:    casActions,
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := strings.ToUpper(hex.EncodeToString(b[:]))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// rpcHandler serves one RPC product: POST or GET /?Action=...&Signature=..., JSON answers.
func (f *Fake) rpcHandler(product Product) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requestID := newRequestID()
		start := time.Now()
		action, status, code := "", http.StatusOK, ""
		defer func() {
			f.log.Info("alifake rpc", "product", product, "action", action, "status", status, "code", code,
				"request_id", requestID, "duration", time.Since(start))
		}()
		writeErr := func(e *apiError) {
			status, code = e.status, e.code
			writeJSON(w, e.status, map[string]any{
				"RequestId": requestID,
				"HostId":    r.Host,
				"Code":      e.code,
				"Message":   e.message,
				"Recommend": fmt.Sprintf("https://api.aliyun.com/troubleshoot?q=%s&product=%s", url.QueryEscape(e.code), product),
			})
		}
		if r.URL.Path != "/" && r.URL.Path != "" {
			writeErr(errorf(http.StatusNotFound, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."))
			return
		}
		if err := r.ParseForm(); err != nil {
			writeErr(errorf(http.StatusBadRequest, "InvalidParameter", "The request could not be parsed: %v", err))
			return
		}
		p := params{}
		for k, vs := range r.Form {
			if len(vs) > 0 {
				p[k] = vs[0]
			}
		}
		action = p["Action"]
		if e := f.verifyRPC(r.Method, p); e != nil {
			writeErr(e)
			return
		}
		if v := p["Version"]; v != apiVersion[product] {
			writeErr(errorf(http.StatusBadRequest, "InvalidVersion", "Specified parameter Version is not valid."))
			return
		}
		handler, ok := rpcActions[product][action]
		if !ok {
			writeErr(errorf(http.StatusNotFound, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."))
			return
		}
		c := &rpcCall{product: product, action: action, p: p}
		f.mu.Lock()
		var (
			resp map[string]any
			e    *apiError
		)
		if f.throttled(action) {
			e = errThrottled
		} else {
			f.st.reapClusters()
			resp, e = handler(f, c)
		}
		f.mu.Unlock()
		for _, fn := range c.after {
			fn()
		}
		if e != nil {
			writeErr(e)
			return
		}
		if resp == nil {
			resp = map[string]any{}
		}
		resp["RequestId"] = requestID
		writeJSON(w, http.StatusOK, resp)
	})
}

// verifyRPC checks an RPC request's signature v1 as Alibaba's gateway does.
func (f *Fake) verifyRPC(method string, p params) *apiError {
	ak := p["AccessKeyId"]
	if ak == "" {
		return missingParam("AccessKeyId")
	}
	sig, ok := p["Signature"]
	if !ok || sig == "" {
		return errorf(http.StatusBadRequest, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
	}
	secret, ok := f.opts.Credentials[ak]
	if !ok {
		return errorf(http.StatusNotFound, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	}
	if m := p["SignatureMethod"]; m != "HMAC-SHA1" {
		return errorf(http.StatusBadRequest, "InvalidSignatureMethod", "Specified signature method %q is not supported.", m)
	}
	if v := p["SignatureVersion"]; v != "1.0" {
		return errorf(http.StatusBadRequest, "InvalidSignatureVersion", "Specified signature version %q is not supported.", v)
	}
	for _, name := range []string{"Timestamp", "SignatureNonce", "Action", "Version"} {
		if p[name] == "" {
			return missingParam(name)
		}
	}
	if _, err := time.Parse("2006-01-02T15:04:05Z", p["Timestamp"]); err != nil {
		return errorf(http.StatusBadRequest, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
	}
	stringToSign := rpcStringToSign(method, p)
	if !hmac.Equal([]byte(sig), []byte(hmacSHA1(secret+"&", stringToSign))) {
		return errorf(http.StatusBadRequest, "SignatureDoesNotMatch",
			"Specified signature is not matched with our calculation. server string to sign is:%s", stringToSign)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	nonce := p["SignatureNonce"]
	if _, used := f.nonces[nonce]; used {
		return errorf(http.StatusBadRequest, "SignatureNonceUsed", "Specified signature nonce was used already.")
	}
	f.nonces[nonce] = time.Now()
	if len(f.nonces) > 100000 { // bounded memory for a long-running standalone fake
		cutoff := time.Now().Add(-15 * time.Minute)
		for n, at := range f.nonces {
			if at.Before(cutoff) {
				delete(f.nonces, n)
			}
		}
	}
	return nil
}

// rpcStringToSign is METHOD&%2F&percentEncode(sorted k=v pairs), every parameter but Signature.
func rpcStringToSign(method string, p params) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = percentEncode(k) + "=" + percentEncode(p[k])
	}
	return method + "&" + percentEncode("/") + "&" + percentEncode(strings.Join(pairs, "&"))
}

// percentEncode is Alibaba's POP encoding: RFC 3986 unreserved characters stay, everything else %XX.
func percentEncode(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "*", "%2A")
	return strings.ReplaceAll(e, "%7E", "~")
}

func hmacSHA1(key, data string) string {
	m := hmac.New(sha1.New, []byte(key))
	m.Write([]byte(data))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // Alibaba's answers carry "&" and "<" as they are
	if err := enc.Encode(body); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(bytes.TrimRight(b.Bytes(), "\n"))
}

// paging applies PageNumber/PageSize to n items and returns the [lo, hi) window.
func paging(p params, pageNumberName, pageSizeName string, defSize, maxSize, n int) (page, size, lo, hi int, e *apiError) {
	if page, e = p.intParam(pageNumberName, 1, 1, 1<<30); e != nil {
		return
	}
	if size, e = p.intParam(pageSizeName, defSize, 1, maxSize); e != nil {
		return
	}
	lo = min((page-1)*size, n)
	hi = min(lo+size, n)
	return
}
