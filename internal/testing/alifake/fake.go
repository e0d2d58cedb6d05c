package alifake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Product names one faked Alibaba Cloud product, spelled as the SDK's requests spell it.
type Product string

// The faked products.
const (
	VPC    Product = "Vpc"
	ECS    Product = "Ecs"
	Alidns Product = "Alidns"
	CAS    Product = "cas"
	CS     Product = "CS"
)

// Products lists every faked product in a stable order.
var Products = []Product{VPC, ECS, Alidns, CAS, CS}

// apiVersion is the API version each product's fake speaks.
var apiVersion = map[Product]string{
	VPC:    "2016-04-28",
	ECS:    "2014-05-26",
	Alidns: "2015-01-09",
	CAS:    "2020-04-07",
	CS:     "2015-12-15",
}

// Default credentials and region, used when Options leave them empty.
const (
	DefaultAccessKeyID     = "LTAI5tFakeAccessKey0001"
	DefaultAccessKeySecret = "fake-access-key-secret"
	DefaultRegion          = "cn-hangzhou"
)

// KubeconfigFunc returns the kubeconfig (YAML) DescribeClusterUserKubeconfig hands out for a cluster.
// The fake does not invent Kubernetes: the caller points it at a real API server (see KubeconfigFile).
type KubeconfigFunc func(ctx context.Context, clusterID string) ([]byte, error)

// Options configure a Fake. The zero value is usable: default credentials and region, three zones, a
// default VPC, no DNS domains, clusters running as soon as they are created, and no kubeconfig.
type Options struct {
	// Credentials maps AccessKeyId to AccessKeySecret; nil means {DefaultAccessKeyID: DefaultAccessKeySecret}.
	Credentials map[string]string
	// Region is the one region the fake serves; "" means DefaultRegion.
	Region string
	// Zones of the region; nil means <region>-a, -b and -c.
	Zones []string
	// Domains are Alidns domains that exist from the start (as if added in the console).
	Domains []string
	// NoDefaultVPC skips seeding the region's default VPC (172.16.0.0/12) and its default vSwitch.
	NoDefaultVPC bool
	// Clock drives cluster state changes and timestamps; nil means the wall clock.
	Clock Clock
	// Kubeconfig supplies DescribeClusterUserKubeconfig's kubeconfig; nil answers that call with an error.
	Kubeconfig KubeconfigFunc
	// RecordSink is told about every change of the Alidns records; nil means nobody is told.
	RecordSink RecordSink
	// Faults are the initial fault knobs; SetFaults and the other setters change them later.
	Faults Faults
	// Host is the loopback address the listeners bind; "" means 127.0.0.1.
	Host string
	// Logger receives one line per request; nil discards them.
	Logger *slog.Logger
}

// Fake is a running set of Alibaba Cloud API fakes, one loopback listener per product.
type Fake struct {
	opts    Options
	clock   Clock
	log     *slog.Logger
	servers map[Product]*http.Server
	urls    map[Product]string
	wg      sync.WaitGroup

	mu        sync.Mutex
	st        *state
	faults    Faults
	calls     map[string]int // per action, for Throttle.Every and CallCount
	throttle  map[string]*Throttle
	depFails  map[string]int
	nonces    map[string]time.Time
	closeOnce sync.Once
}

// Start starts the fakes on loopback ports. Close stops them.
func Start(opts Options) (*Fake, error) {
	if opts.Credentials == nil {
		opts.Credentials = map[string]string{DefaultAccessKeyID: DefaultAccessKeySecret}
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.Zones == nil {
		opts.Zones = []string{opts.Region + "-a", opts.Region + "-b", opts.Region + "-c"}
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if ip := net.ParseIP(opts.Host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("alifake: host %q is not a loopback address", opts.Host)
	}
	f := &Fake{
		opts:     opts,
		clock:    opts.Clock,
		log:      opts.Logger,
		servers:  map[Product]*http.Server{},
		urls:     map[Product]string{},
		calls:    map[string]int{},
		throttle: map[string]*Throttle{},
		depFails: map[string]int{},
		nonces:   map[string]time.Time{},
	}
	if f.clock == nil {
		f.clock = WallClock{}
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	f.st = newState(f)
	if err := f.st.seed(); err != nil {
		return nil, err
	}
	f.SetFaults(opts.Faults)
	for _, p := range Products {
		ln, err := net.Listen("tcp", net.JoinHostPort(opts.Host, "0"))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("alifake: listen for %s: %w", p, err)
		}
		var h http.Handler
		if p == CS {
			h = f.roaHandler(p)
		} else {
			h = f.rpcHandler(p)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		f.servers[p] = srv
		f.urls[p] = "http://" + ln.Addr().String()
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				f.log.Error("alifake: serve", "product", p, "err", err)
			}
		}()
	}
	return f, nil
}

// New starts the fakes for a test and closes them when the test ends; requests are logged to the test.
func New(t testing.TB, opts Options) *Fake {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	f, err := Start(opts)
	if err != nil {
		t.Fatalf("alifake: %v", err)
	}
	t.Cleanup(f.Close)
	return f
}

type testLogWriter struct{ t testing.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Close stops every listener and waits for the servers to finish.
func (f *Fake) Close() {
	f.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, srv := range f.servers {
			_ = srv.Shutdown(ctx)
		}
		f.wg.Wait()
	})
}

// URL is the base URL ("http://127.0.0.1:port") of a product's fake.
func (f *Fake) URL(p Product) string { return f.urls[p] }

// Region is the region the fake serves.
func (f *Fake) Region() string { return f.opts.Region }

// Zones are the region's zones.
func (f *Fake) Zones() []string { return append([]string(nil), f.opts.Zones...) }

// Credentials returns one access key pair the fake accepts (the smallest AccessKeyId).
func (f *Fake) Credentials() (accessKeyID, accessKeySecret string) {
	ids := make([]string, 0, len(f.opts.Credentials))
	for id := range f.opts.Credentials {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids[0], f.opts.Credentials[ids[0]]
}

// EnvVar is one environment variable a shell should export to reach the fakes.
type EnvVar struct{ Name, Value string }

// EndpointEnv names the variable that carries a product's endpoint: ALIBABA_CLOUD_ENDPOINT_<PRODUCT>,
// the convention of the Alibaba Cloud tooling.
func EndpointEnv(p Product) string { return "ALIBABA_CLOUD_ENDPOINT_" + strings.ToUpper(string(p)) }

// Env describes the fakes as environment variables: credentials, region, one endpoint per product, and
// ALIBABA_CLOUD_ECS_METADATA_DISABLED so SDKs do not probe the ECS metadata service.
func (f *Fake) Env() []EnvVar {
	ak, sk := f.Credentials()
	env := []EnvVar{
		{"ALIBABA_CLOUD_ACCESS_KEY_ID", ak},
		{"ALIBABA_CLOUD_ACCESS_KEY_SECRET", sk},
		{"ALIBABA_CLOUD_REGION", f.opts.Region},
		{"ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true"},
	}
	for _, p := range Products {
		env = append(env, EnvVar{EndpointEnv(p), f.urls[p]})
	}
	return env
}

// Describe writes the fakes as shell export lines ("export NAME='value'"), for eval in a shell.
func (f *Fake) Describe() string {
	var b strings.Builder
	for _, e := range f.Env() {
		fmt.Fprintf(&b, "export %s='%s'\n", e.Name, strings.ReplaceAll(e.Value, "'", `'\''`))
	}
	return b.String()
}

// CallCount is how many authenticated calls of an action reached the fake (throttled ones included).
func (f *Fake) CallCount(action string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[action]
}
