package alifake

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// roaCall is one authenticated ROA (CS) request being served.
type roaCall struct {
	id    string // the path's resource id, if the route has one
	query url.Values
	body  []byte
	// outside, when set, finishes the call after the fake's lock is released (it may block).
	outside func(ctx context.Context) (any, *apiError)
}

type roaAction func(f *Fake, c *roaCall) (any, *apiError)

type roaRoute struct {
	method, action string
	prefix, suffix string // path = prefix + id + suffix; no id when both "" besides prefix == path
	exact          bool
	handle         roaAction
}

// csRoutes are CS 2015-12-15's paths as the v1 SDK requests them.
var csRoutes = []roaRoute{
	{method: http.MethodPost, action: "CreateCluster", prefix: "/clusters", exact: true, handle: createCluster},
	{method: http.MethodGet, action: "DescribeClustersV1", prefix: "/api/v1/clusters", exact: true, handle: describeClustersV1},
	{method: http.MethodGet, action: "DescribeClusterDetail", prefix: "/clusters/", handle: describeClusterDetail},
	{method: http.MethodDelete, action: "DeleteCluster", prefix: "/clusters/", handle: deleteCluster},
	{method: http.MethodPost, action: "ModifyClusterTags", prefix: "/clusters/", suffix: "/tags", handle: modifyClusterTags},
	{method: http.MethodPut, action: "ModifyCluster", prefix: "/api/v2/clusters/", handle: modifyCluster},
	{method: http.MethodGet, action: "DescribeClusterUserKubeconfig", prefix: "/k8s/", suffix: "/user_config", handle: describeKubeconfig},
	{method: http.MethodGet, action: "DescribeTaskInfo", prefix: "/tasks/", handle: describeTaskInfo},
}

func matchRoute(method, path string) (*roaRoute, string) {
	for i := range csRoutes {
		rt := &csRoutes[i]
		if rt.method != method {
			continue
		}
		if rt.exact {
			if path == rt.prefix {
				return rt, ""
			}
			continue
		}
		rest, ok := strings.CutPrefix(path, rt.prefix)
		if !ok {
			continue
		}
		id, ok := strings.CutSuffix(rest, rt.suffix)
		if !ok || id == "" || strings.Contains(id, "/") {
			continue
		}
		return rt, id
	}
	return nil, ""
}

// roaHandler serves CS: REST paths, JSON bodies, "Authorization: acs AK:signature".
func (f *Fake) roaHandler(product Product) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requestID := newRequestID()
		start := time.Now()
		action, status, code := "", http.StatusOK, ""
		defer func() {
			f.log.Info("alifake roa", "product", product, "action", action, "method", r.Method, "path", r.URL.Path,
				"status", status, "code", code, "request_id", requestID, "duration", time.Since(start))
		}()
		w.Header().Set("x-acs-request-id", requestID)
		// The API gateway answers authentication and flow control with the capitalised RPC shape.
		gatewayErr := func(e *apiError) {
			status, code = e.status, e.code
			writeJSON(w, e.status, map[string]any{"RequestId": requestID, "HostId": r.Host, "Code": e.code, "Message": e.message,
				"Recommend": fmt.Sprintf("https://api.aliyun.com/troubleshoot?q=%s&product=%s", url.QueryEscape(e.code), product)})
		}
		// CS itself answers with lower-case keys.
		serviceErr := func(e *apiError) {
			status, code = e.status, e.code
			writeJSON(w, e.status, map[string]any{"code": e.code, "message": e.message, "requestId": requestID, "status": e.status})
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err != nil {
			gatewayErr(errorf(http.StatusBadRequest, "InvalidParameter", "The request body could not be read: %v", err))
			return
		}
		if e := f.verifyROA(r, body); e != nil {
			gatewayErr(e)
			return
		}
		if v := r.Header.Get("x-acs-version"); v != apiVersion[product] {
			gatewayErr(errorf(http.StatusBadRequest, "InvalidVersion", "Specified parameter Version is not valid."))
			return
		}
		rt, id := matchRoute(r.Method, r.URL.Path)
		if rt == nil {
			gatewayErr(errorf(http.StatusNotFound, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."))
			return
		}
		action = rt.action
		c := &roaCall{id: id, query: r.URL.Query(), body: body}
		f.mu.Lock()
		throttled := f.throttled(action)
		var (
			resp any
			e    *apiError
		)
		if !throttled {
			f.st.reapClusters()
			resp, e = rt.handle(f, c)
		}
		f.mu.Unlock()
		if throttled {
			gatewayErr(errThrottled)
			return
		}
		if e == nil && c.outside != nil {
			resp, e = c.outside(r.Context())
		}
		if e != nil {
			serviceErr(e)
			return
		}
		okStatus := http.StatusOK
		if rt.action == "DeleteCluster" {
			okStatus = http.StatusAccepted
		}
		if m, ok := resp.(map[string]any); ok {
			if _, has := m["request_id"]; has {
				m["request_id"] = requestID
			}
		}
		if resp == nil {
			resp = map[string]any{}
		}
		writeJSON(w, okStatus, resp)
	})
}

// verifyROA checks the acs signature the way the gateway computes it.
func (f *Fake) verifyROA(r *http.Request, body []byte) *apiError {
	auth := r.Header.Get("Authorization")
	cred, ok := strings.CutPrefix(auth, "acs ")
	ak, sig, ok2 := strings.Cut(cred, ":")
	if !ok || !ok2 || ak == "" || sig == "" {
		return errorf(http.StatusBadRequest, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
	}
	secret, known := f.opts.Credentials[ak]
	if !known {
		return errorf(http.StatusNotFound, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	}
	if m := r.Header.Get("x-acs-signature-method"); m != "HMAC-SHA1" {
		return errorf(http.StatusBadRequest, "InvalidSignatureMethod", "Specified signature method %q is not supported.", m)
	}
	if r.Header.Get("Date") == "" {
		return missingParam("Date")
	}
	if md := r.Header.Get("Content-MD5"); md != "" || len(body) > 0 {
		sum := md5.Sum(body)
		if md != base64.StdEncoding.EncodeToString(sum[:]) {
			return errorf(http.StatusBadRequest, "InvalidContentMD5", "The Content-MD5 header does not match the request body.")
		}
	}
	stringToSign := roaStringToSign(r)
	if !hmac.Equal([]byte(sig), []byte(hmacSHA1(secret, stringToSign))) {
		return errorf(http.StatusBadRequest, "SignatureDoesNotMatch",
			"Specified signature is not matched with our calculation. server string to sign is:%s", stringToSign)
	}
	return nil
}

// roaStringToSign is METHOD\n + the non-empty Accept, Content-MD5, Content-Type, Date each with \n +
// sorted lower-case x-acs-* headers as k:v\n + path [+ ? + sorted k=v pairs, unencoded].
func roaStringToSign(r *http.Request) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	for _, h := range []string{"Accept", "Content-MD5", "Content-Type", "Date"} {
		if v := r.Header.Get(h); v != "" {
			b.WriteString(v + "\n")
		}
	}
	var acs []string
	for k := range r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-acs-") {
			acs = append(acs, lk)
		}
	}
	sort.Strings(acs)
	for _, k := range acs {
		b.WriteString(k + ":" + r.Header.Get(k) + "\n")
	}
	b.WriteString(r.URL.Path)
	q := r.URL.Query()
	if len(q) > 0 {
		keys := make([]string, 0, len(q))
		for k := range q {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		pairs := make([]string, len(keys))
		for i, k := range keys {
			if v := q.Get(k); v != "" {
				pairs[i] = k + "=" + v
			} else {
				pairs[i] = k
			}
		}
		b.WriteString("?" + strings.Join(pairs, "&"))
	}
	return b.String()
}
