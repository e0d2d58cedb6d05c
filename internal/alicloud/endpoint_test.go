package alicloud

import (
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/alidns"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/cs"
)

func TestParseEndpoint(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Endpoint
	}{
		{"https://vpc.aliyuncs.com", Endpoint{"HTTPS", "vpc.aliyuncs.com", "443"}},
		{"vpc.cn-hangzhou.aliyuncs.com", Endpoint{"HTTPS", "vpc.cn-hangzhou.aliyuncs.com", "443"}},
		{"cs.aliyuncs.com:8443", Endpoint{"HTTPS", "cs.aliyuncs.com", "8443"}},
		{"http://127.0.0.1:41213/", Endpoint{"HTTP", "127.0.0.1", "41213"}},
		{"HTTP://localhost", Endpoint{"HTTP", "localhost", "80"}},
		{"http://[::1]:9000", Endpoint{"HTTP", "::1", "9000"}},
	} {
		got, err := ParseEndpoint(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseEndpoint(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "ftp://vpc.aliyuncs.com", "https://vpc.aliyuncs.com/v1", "https://user:pw@vpc.aliyuncs.com",
		"https://vpc.aliyuncs.com?x=1", "https://:443"} {
		if got, err := ParseEndpoint(bad); err == nil {
			t.Errorf("ParseEndpoint(%q) = %+v, want an error", bad, got)
		}
	}
}

// The SDK builds the URL the endpoint names, for RPC and for ROA requests.
func TestEndpointAppliesToRequests(t *testing.T) {
	ep, err := ParseEndpoint("http://127.0.0.1:41213")
	if err != nil {
		t.Fatal(err)
	}
	rpc := alidns.CreateDescribeDomainsRequest()
	ep.ApplyRPC(rpc.RpcRequest)
	if got := rpc.BuildUrl(); got != "http://127.0.0.1:41213/?" {
		t.Errorf("RPC URL %q", got)
	}
	roa := cs.CreateDescribeClusterDetailRequest()
	ep.ApplyROA(roa.RoaRequest)
	roa.PathParams["ClusterId"] = "c123"
	if got := roa.BuildUrl(); got != "http://127.0.0.1:41213/clusters/c123" {
		t.Errorf("ROA URL %q", got)
	}
	prod, _ := ParseEndpoint("cs.cn-hangzhou.aliyuncs.com")
	roa2 := cs.CreateDescribeClusterDetailRequest()
	prod.ApplyROA(roa2.RoaRequest)
	roa2.PathParams["ClusterId"] = "c1"
	if got := roa2.BuildUrl(); got != "https://cs.cn-hangzhou.aliyuncs.com:443/clusters/c1" {
		t.Errorf("production ROA URL %q", got)
	}
	v6, _ := ParseEndpoint("http://[::1]:9000")
	roa3 := cs.CreateDescribeClusterDetailRequest()
	v6.ApplyROA(roa3.RoaRequest)
	roa3.PathParams["ClusterId"] = "c1"
	if got := roa3.BuildUrl(); got != "http://[::1]:9000/clusters/c1" {
		t.Errorf("IPv6 ROA URL %q", got)
	}
	if ep.String() != "http://127.0.0.1:41213" || v6.String() != "http://[::1]:9000" {
		t.Errorf("String: %s %s", ep, v6)
	}
}
