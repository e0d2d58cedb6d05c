package awsfake

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
)

const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

func (s *Server) serveSTS(w http.ResponseWriter, r *http.Request) {
	requestID := newRequestID()
	fail := func(action string, e *apiError) {
		s.record("sts", action, e.code)
		writeQueryError(w, requestID, e)
	}
	body, err := readBody(r)
	if err != nil {
		fail("", errorf(400, "InvalidRequest", "%v", err))
		return
	}
	form := r.URL.Query()
	if r.Method == http.MethodPost {
		if form, err = url.ParseQuery(string(body)); err != nil {
			fail("", errorf(400, "MalformedQueryString", "%v", err))
			return
		}
	}
	action := form.Get("Action")
	switch res, msg := verifySigV4(sigv4Request{r: r, body: body, service: "sts"}, s.secretFor); res {
	case authOK:
	case authMissing:
		fail(action, errorf(403, "MissingAuthenticationToken", "%s", msg))
		return
	case authUnknownKey:
		fail(action, errorf(403, "InvalidClientTokenId", "%s", msg))
		return
	case authBadSignature:
		fail(action, errorf(403, "SignatureDoesNotMatch", "%s", msg))
		return
	default:
		fail(action, errorf(400, "IncompleteSignature", "%s", msg))
		return
	}
	if action != "GetCallerIdentity" {
		fail(action, errorf(400, "InvalidAction", "Could not find operation %s for version %s", action, form.Get("Version")))
		return
	}
	if v := form.Get("Version"); v != "2011-06-15" {
		fail(action, errorf(400, "InvalidAction", "Could not find operation %s for version %s", action, v))
		return
	}
	s.mu.Lock()
	throttled := s.throttled(action)
	s.mu.Unlock()
	if throttled {
		fail(action, errorf(400, "Throttling", "Rate exceeded"))
		return
	}
	s.record("sts", action, "")
	var b bytes.Buffer
	fmt.Fprintf(&b, `<GetCallerIdentityResponse xmlns="%s"><GetCallerIdentityResult>`, stsNamespace)
	fmt.Fprintf(&b, "<Arn>arn:aws:iam::%s:user/%s</Arn><UserId>%s</UserId><Account>%s</Account>",
		s.accountID, defaultUserName, s.userID(), s.accountID)
	fmt.Fprintf(&b, "</GetCallerIdentityResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></GetCallerIdentityResponse>", requestID)
	w.Header().Set("x-amzn-RequestId", requestID)
	writeXML(w, http.StatusOK, b.Bytes())
}

// userID is the IAM user's unique ID, stable for the access key.
func (s *Server) userID() string {
	return "AIDA" + hexSHA256([]byte(s.accessKey))[:17]
}

// writeQueryError writes the awsQuery (and Route 53) error document.
func writeQueryError(w http.ResponseWriter, requestID string, e *apiError) {
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<ErrorResponse><Error><Type>%s</Type><Code>", typ)
	xml.EscapeText(&b, []byte(e.code)) //nolint:errcheck // bytes.Buffer
	b.WriteString("</Code><Message>")
	xml.EscapeText(&b, []byte(e.message)) //nolint:errcheck
	fmt.Fprintf(&b, "</Message></Error><RequestId>%s</RequestId></ErrorResponse>", requestID)
	w.Header().Set("x-amzn-RequestId", requestID)
	writeXML(w, e.status, b.Bytes())
}
