package alicloud

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	sdk "github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/alidns"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/cas"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/cs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// Environment variables the alicloud block falls back to (the Alibaba Cloud CLI's and SDKs' names).
const (
	EnvAccessKey = "ALIBABA_CLOUD_ACCESS_KEY_ID"
	EnvSecretKey = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
	EnvRegion    = "ALIBABA_CLOUD_REGION"
)

// Products whose endpoints the alicloud block's endpoints can replace, by attribute name.
var Products = []string{"vpc", "ecs", "cs", "alidns", "cas"}

// EnvEndpoint is the variable that replaces a product's endpoint: ALIBABA_CLOUD_ENDPOINT_<PRODUCT>.
func EnvEndpoint(product string) string { return "ALIBABA_CLOUD_ENDPOINT_" + strings.ToUpper(product) }

// Client timeouts of one HTTP request; the operations' own deadlines come from the timeouts blocks.
const (
	connectTimeout = 10 * time.Second
	readTimeout    = 60 * time.Second
)

// Conns are the Alibaba Cloud clients of one provider instance.
type Conns struct {
	Region    string
	VPC       *vpc.Client
	ECS       *ecs.Client
	DNSClient *alidns.Client
	CS        *cs.Client
	CAS       *cas.Client

	endpoints map[string]Endpoint // by product; absent = the SDK's regional endpoint over HTTPS
	timing    framework.Timing
	sdkMu     sync.Mutex // serialises SDK calls (see call)
}

// ConnsFor returns the provider's Alibaba Cloud clients, building them on first use.
func ConnsFor(ctx context.Context, d *framework.ProviderData) (*Conns, error) {
	return framework.Lazy(ctx, d, "alicloud", func(context.Context) (*Conns, error) { return newConns(d) })
}

// Pace is p under the provider's timing (tests against fakes shorten it).
func (c *Conns) Pace(p retry.Pacing) retry.Pacing { return c.timing.Pace(p) }

// rpc points a request of product at its configured endpoint, or at the SDK's own over HTTPS.
func (c *Conns) rpc(product string, r *requests.RpcRequest) {
	if e, ok := c.endpoints[product]; ok {
		e.ApplyRPC(r)
		return
	}
	r.Scheme = "HTTPS"
}

// roa points a ROA request (CS) at its configured endpoint, or at the SDK's own over HTTPS.
func (c *Conns) roa(product string, r *requests.RoaRequest) {
	if e, ok := c.endpoints[product]; ok {
		e.ApplyROA(r)
		return
	}
	r.Scheme = "HTTPS"
}

// Endpoint is the endpoint configured for product, if any.
func (c *Conns) Endpoint(product string) (Endpoint, bool) {
	e, ok := c.endpoints[product]
	return e, ok
}

// ConfigError is an Alibaba Cloud setting that is missing or wrong; it names the provider attribute
// and the environment variable that set it.
type ConfigError struct {
	Summary string
	Detail  string
}

func (e *ConfigError) Error() string { return e.Detail }

// Settings resolves the alicloud block against the environment: what the block leaves out comes from
// the ALIBABA_CLOUD_* variables.
func Settings(s framework.AlibabaSettings) framework.AlibabaSettings {
	or := func(v, env string) string {
		if v != "" {
			return v
		}
		return os.Getenv(env)
	}
	s.Region = or(s.Region, EnvRegion)
	if s.AccessKey == "" && s.SecretKey == "" {
		s.AccessKey, s.SecretKey = os.Getenv(EnvAccessKey), os.Getenv(EnvSecretKey)
	}
	s.Endpoints.VPC = or(s.Endpoints.VPC, EnvEndpoint("vpc"))
	s.Endpoints.ECS = or(s.Endpoints.ECS, EnvEndpoint("ecs"))
	s.Endpoints.CS = or(s.Endpoints.CS, EnvEndpoint("cs"))
	s.Endpoints.Alidns = or(s.Endpoints.Alidns, EnvEndpoint("alidns"))
	s.Endpoints.CAS = or(s.Endpoints.CAS, EnvEndpoint("cas"))
	return s
}

func endpointsOf(e framework.AlibabaEndpoints) map[string]string {
	return map[string]string{"vpc": e.VPC, "ecs": e.ECS, "cs": e.CS, "alidns": e.Alidns, "cas": e.CAS}
}

// sdkInitMu serialises the building of SDK clients in this process: each service package of the v1
// SDK fills a package-level endpoint map on first use without a lock, so two provider instances
// (parallel acceptance tests, or aliased providers) building clients at once race on it.
var sdkInitMu sync.Mutex

func newConns(d *framework.ProviderData) (*Conns, error) {
	block := d.Alibaba
	if (block.AccessKey == "") != (block.SecretKey == "") {
		return nil, &ConfigError{Summary: "Incomplete Alibaba Cloud Credentials",
			Detail: "The provider's alicloud block sets only one of access_key and secret_key. Set both, or neither to use " +
				EnvAccessKey + " and " + EnvSecretKey + "."}
	}
	s := Settings(block)
	var missing []string
	if s.Region == "" {
		missing = append(missing, "region (or "+EnvRegion+")")
	}
	if s.AccessKey == "" {
		missing = append(missing, "access_key (or "+EnvAccessKey+")")
	}
	if s.SecretKey == "" {
		missing = append(missing, "secret_key (or "+EnvSecretKey+")")
	}
	if len(missing) > 0 {
		return nil, &ConfigError{Summary: "Missing Alibaba Cloud Settings",
			Detail: "The configuration has Alibaba Cloud resources, but the provider lacks " + strings.Join(missing, ", ") +
				". Set them in the provider's alicloud block or in the environment variables named, for example region = " +
				"\"cn-hangzhou\" and an AccessKey pair of a RAM user."}
	}
	c := &Conns{Region: s.Region, endpoints: map[string]Endpoint{}, timing: d.Timing}
	for product, raw := range endpointsOf(s.Endpoints) {
		if raw == "" {
			continue
		}
		e, err := ParseEndpoint(raw)
		if err != nil {
			return nil, &ConfigError{Summary: "Invalid Alibaba Cloud Endpoint",
				Detail: fmt.Sprintf("endpoints.%s in the provider's alicloud block (or %s) is not usable: %v. Use a URL such as "+
					"https://%s.%s.aliyuncs.com or http://127.0.0.1:8080.", product, EnvEndpoint(product), err, product, s.Region)}
		}
		c.endpoints[product] = e
	}
	// The SDK's default scheme is HTTP; production requests must use HTTPS. An http:// endpoint
	// (a local fake) overrides the scheme per request.
	cfg := func() *sdk.Config { return sdk.NewConfig().WithScheme("HTTPS").WithAutoRetry(false) }
	cred := credentials.NewAccessKeyCredential(s.AccessKey, s.SecretKey)
	sdkInitMu.Lock()
	defer sdkInitMu.Unlock()
	var err error
	if c.VPC, err = vpc.NewClientWithOptions(s.Region, cfg(), cred); err != nil {
		return nil, fmt.Errorf("building the VPC client: %w", err)
	}
	if c.ECS, err = ecs.NewClientWithOptions(s.Region, cfg(), cred); err != nil {
		return nil, fmt.Errorf("building the ECS client: %w", err)
	}
	if c.DNSClient, err = alidns.NewClientWithOptions(s.Region, cfg(), cred); err != nil {
		return nil, fmt.Errorf("building the Alidns client: %w", err)
	}
	if c.CS, err = cs.NewClientWithOptions(s.Region, cfg(), cred); err != nil {
		return nil, fmt.Errorf("building the CS client: %w", err)
	}
	if c.CAS, err = cas.NewClientWithOptions(s.Region, cfg(), cred); err != nil {
		return nil, fmt.Errorf("building the CAS client: %w", err)
	}
	name, version := userAgent(d.UserAgent)
	for _, cl := range []*sdk.Client{&c.VPC.Client, &c.ECS.Client, &c.DNSClient.Client, &c.CS.Client, &c.CAS.Client} {
		cl.SetConnectTimeout(connectTimeout)
		cl.SetReadTimeout(readTimeout)
		if name != "" {
			cl.AppendUserAgent(name, version)
		}
	}
	return c, nil
}

// userAgent splits "terraform-provider-sandbox/1.2.3 (+...)" into its product name and version.
func userAgent(ua string) (string, string) {
	product, _, _ := strings.Cut(ua, " ")
	name, version, ok := strings.Cut(product, "/")
	if !ok {
		return "", ""
	}
	return name, version
}

// PointRPC points a request of product at the endpoint c uses, for code outside this package that
// calls the SDK with c's clients (tests' checks and out-of-band changes, from one goroutine: the SDK's
// clients are not safe for concurrent use).
func PointRPC(c *Conns, product string, r *requests.RpcRequest) { c.rpc(product, r) }

// PointROA points a ROA request of product at the endpoint c uses (see PointRPC).
func PointROA(c *Conns, product string, r *requests.RoaRequest) { c.roa(product, r) }
