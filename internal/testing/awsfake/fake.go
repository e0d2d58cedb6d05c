// Package awsfake runs stateful fakes of the AWS EC2, Route 53 and STS APIs on loopback for offline tests.
//
// The fakes speak the real wire protocols (EC2 query/XML, Route 53 REST-XML, STS query), so the unchanged
// aws-sdk-go-v2 clients reach them through an endpoint override (BaseEndpoint, or AWS_ENDPOINT_URL_EC2,
// AWS_ENDPOINT_URL_ROUTE_53, AWS_ENDPOINT_URL_STS). Every request's SigV4 signature is recomputed with the
// fake's secret key, and failures get the codes AWS answers with. Faults that real accounts show now and then
// (eventual consistency, throttling, dependency violations, slow propagation) can be switched on per fake.
package awsfake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults for Options fields left empty.
const (
	DefaultRegion          = "us-east-1"
	DefaultAccountID       = "123456789012"
	DefaultAccessKeyID     = "AKIAFAKEAWSFAKE00001"
	DefaultSecretAccessKey = "fake/secret/access/key/for/offline/tests"
	defaultUserName        = "sandboxstack-test"
)

// Options configure a fake. The zero value is usable: region us-east-1, one fixed key pair, no faults.
type Options struct {
	Region          string
	AccountID       string
	AccessKeyID     string
	SecretAccessKey string
	// Host is the loopback address the three listeners bind to (default 127.0.0.1, port chosen by the kernel).
	Host string
	// Now replaces the clock (creation dates, Route 53 change propagation delays).
	Now func() time.Time
	// Logger receives one line per request (action, outcome); nil discards them.
	Logger *slog.Logger
	Faults Faults
	// RecordSink is told about every Route 53 record set change (for a test DNS server).
	RecordSink RecordSink
}

// Faults switch on the misbehaviour real AWS accounts show. All counts are per fake and can be changed at any
// time with Server.SetFaults.
type Faults struct {
	// NotFoundReads hides each VPC, subnet, security group and security group rule created through the API
	// from the next N describe calls that would return it (eventual consistency): a describe by ID fails
	// with the NotFound code, a filtered describe leaves it out.
	NotFoundReads int
	// SubnetPendingReads keeps a new subnet in state "pending" for its first N describes.
	SubnetPendingReads int
	// ThrottleEvery throttles every Kth signed request (counted over all three services): EC2 answers
	// RequestLimitExceeded, STS Throttling, Route 53 Route53ThrottleCode.
	ThrottleEvery int
	// Route53ThrottleCode is the code Route 53 throttles with: PriorRequestNotComplete (default) or Throttling.
	Route53ThrottleCode string
	// DependencyViolationOnFirstDelete fails the first delete of every VPC, subnet and security group with
	// DependencyViolation even when nothing uses it (like a lingering network interface).
	DependencyViolationOnFirstDelete bool
	// ChangePendingReads makes GetChange answer PENDING for the first N reads of each change.
	ChangePendingReads int
	// ChangePendingFor makes GetChange answer PENDING until this long (on Options.Now's clock) after the change.
	ChangePendingFor time.Duration
}

// Server is a running set of AWS fakes sharing one account's state.
type Server struct {
	region, accountID string
	accessKey, secret string
	now               func() time.Time
	log               *slog.Logger
	ec2, route53, sts *listener
	all               *listener
	mu                sync.Mutex
	faults            Faults
	throttleNext      map[string]int
	signedRequests    int
	sink              RecordSink
	undelivered       []delivery
	deliverMu         sync.Mutex // serialises RecordSink calls
	calls             []Call
	st                *state
}

type listener struct {
	url string
	srv *http.Server
}

// Start starts the fakes (one loopback listener per service) with a freshly seeded account.
func Start(opts Options) (*Server, error) {
	s := &Server{
		region:       orDefault(opts.Region, DefaultRegion),
		accountID:    orDefault(opts.AccountID, DefaultAccountID),
		accessKey:    orDefault(opts.AccessKeyID, DefaultAccessKeyID),
		secret:       orDefault(opts.SecretAccessKey, DefaultSecretAccessKey),
		now:          opts.Now,
		log:          opts.Logger,
		faults:       opts.Faults,
		throttleNext: map[string]int{},
		sink:         opts.RecordSink,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := validRegion(s.region); err != nil {
		return nil, err
	}
	s.st = newState(s)
	host := orDefault(opts.Host, "127.0.0.1")
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("listen host %q: the fakes listen on a loopback address only", host)
	}
	var err error
	if s.ec2, err = serve(host, http.HandlerFunc(s.serveEC2)); err != nil {
		return nil, fmt.Errorf("start EC2 fake: %w", err)
	}
	if s.route53, err = serve(host, http.HandlerFunc(s.serveRoute53)); err != nil {
		s.Close()
		return nil, fmt.Errorf("start Route 53 fake: %w", err)
	}
	if s.sts, err = serve(host, http.HandlerFunc(s.serveSTS)); err != nil {
		s.Close()
		return nil, fmt.Errorf("start STS fake: %w", err)
	}
	if s.all, err = serve(host, http.HandlerFunc(s.serveAny)); err != nil {
		s.Close()
		return nil, fmt.Errorf("start the combined AWS fake endpoint: %w", err)
	}
	return s, nil
}

// TB is the part of testing.TB that StartTest needs.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// StartTest starts a fake for a test and stops it when the test ends.
func StartTest(t TB, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("start AWS fakes: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func serve(host string, h http.Handler) (*listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // Serve returns ErrServerClosed on Close.
	return &listener{url: "http://" + ln.Addr().String(), srv: srv}, nil
}

// Close stops the listeners.
func (s *Server) Close() error {
	var errs []error
	for _, l := range []*listener{s.ec2, s.route53, s.sts, s.all} {
		if l != nil {
			if err := l.srv.Shutdown(context.Background()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// URL is one endpoint for all three services (AWS_ENDPOINT_URL): it routes each request by the service
// named in its SigV4 credential scope.
func (s *Server) URL() string { return s.all.url }

// EC2URL is the base endpoint of the EC2 fake.
func (s *Server) EC2URL() string { return s.ec2.url }

// Route53URL is the base endpoint of the Route 53 fake.
func (s *Server) Route53URL() string { return s.route53.url }

// STSURL is the base endpoint of the STS fake.
func (s *Server) STSURL() string { return s.sts.url }

// Region is the region the EC2 fake serves.
func (s *Server) Region() string { return s.region }

// AccountID is the account that owns everything in the fake.
func (s *Server) AccountID() string { return s.accountID }

// Credentials are the access key pair the fakes accept.
func (s *Server) Credentials() (accessKeyID, secretAccessKey string) { return s.accessKey, s.secret }

// Env is the environment that points an SDK (config.LoadDefaultConfig) or the AWS CLI at the fakes.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL_EC2=" + s.EC2URL(),
		"AWS_ENDPOINT_URL_ROUTE_53=" + s.Route53URL(),
		"AWS_ENDPOINT_URL_STS=" + s.STSURL(),
		"AWS_ACCESS_KEY_ID=" + s.accessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.secret,
		"AWS_REGION=" + s.region,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// SetFaults replaces the fault settings; resources created before keep the counters they were created with.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// ThrottleNext throttles the next n calls of the named action (an SDK operation name such as
// "DescribeVpcs", "ChangeResourceRecordSets" or "GetCallerIdentity").
func (s *Server) ThrottleNext(action string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttleNext[action] = n
}

// SetRecordSink replaces the sink told about Route 53 record set changes (nil for none).
func (s *Server) SetRecordSink(sink RecordSink) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sink = sink
}

// Call is one request a fake answered.
type Call struct {
	Service string // "ec2", "route53" or "sts"
	Action  string // the SDK operation name; empty when the request named none the fake knows
	Error   string // the error code answered, empty on success
}

// Calls returns every request answered so far, in order: tests use it to see retries and which faults
// the client met. Each call is also logged at level Info with the attributes service, action and error.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// ErrorCount is how many requests were answered with the error code.
func (s *Server) ErrorCount(code string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Error == code {
			n++
		}
	}
	return n
}

func (s *Server) record(service, action, errorCode string) {
	s.mu.Lock()
	s.calls = append(s.calls, Call{Service: service, Action: action, Error: errorCode})
	s.mu.Unlock()
	if errorCode != "" {
		s.log.Info("aws fake request", "service", service, "action", action, "error", errorCode)
	} else {
		s.log.Info("aws fake request", "service", service, "action", action)
	}
}

// throttled counts a signed request and says whether it is throttled. Called with s.mu held.
func (s *Server) throttled(action string) bool {
	s.signedRequests++
	if n := s.throttleNext[action]; n > 0 {
		s.throttleNext[action] = n - 1
		return true
	}
	return s.faults.ThrottleEvery > 0 && s.signedRequests%s.faults.ThrottleEvery == 0
}

func (s *Server) secretFor(keyID string) (string, bool) {
	if keyID == s.accessKey {
		return s.secret, true
	}
	return "", false
}

// serveAny routes a request to the fake of the service its signature is scoped to.
func (s *Server) serveAny(w http.ResponseWriter, r *http.Request) {
	_, cred, _ := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	scope := strings.Split(strings.SplitN(cred, ",", 2)[0], "/")
	service := ""
	if len(scope) == 5 {
		service = scope[3]
	}
	switch service {
	case "ec2":
		s.serveEC2(w, r)
	case "route53":
		s.serveRoute53(w, r)
	case "sts":
		s.serveSTS(w, r)
	default:
		requestID := newRequestID()
		s.record(service, "", "MissingAuthenticationToken")
		writeQueryError(w, requestID, errorf(403, "MissingAuthenticationToken",
			"The combined endpoint routes on the SigV4 credential scope; the request names service %q, not ec2, route53 or sts", service))
	}
}

// apiError is an error answered to the client with the service's error shape.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// randomID returns prefix + n lower-case hex digits, like AWS resource IDs.
func randomID(prefix string, n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)[:n]
}

const maxBody = 8 << 20

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxBody {
		return nil, errors.New("request body too large")
	}
	return b, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
