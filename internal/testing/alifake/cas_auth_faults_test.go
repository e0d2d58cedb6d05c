package alifake_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/cas"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/cs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
)

// selfSigned returns a certificate for *.sbx.example.test and its key, both PEM.
func selfSigned(t *testing.T) (certPEM, keyPEM string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		Subject:      pkix.Name{CommonName: "*.sbx.example.test", Organization: []string{"Sandbox Stack"}},
		Issuer:       pkix.Name{CommonName: "*.sbx.example.test"},
		DNSNames:     []string{"*.sbx.example.test", "sbx.example.test"},
		NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})), cert
}

func TestCASUploadedCertificate(t *testing.T) {
	defer failOnError(t)
	clock := alifake.NewManualClock(time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC))
	f := alifake.New(t, alifake.Options{Clock: clock})
	s := clientFor(t, f)
	certPEM, keyPEM, cert := selfSigned(t)
	_, otherKey, _ := selfSigned(t)

	upload := func(name, key string) (int64, error) {
		req := cas.CreateUploadUserCertificateRequest()
		s.casEP.ApplyRPC(req.RpcRequest)
		req.Name, req.Cert, req.Key = name, certPEM, key
		resp, err := s.cas.UploadUserCertificate(req)
		if err != nil {
			return 0, err
		}
		return resp.CertId, nil
	}
	_, err := upload("sbx-wildcard", otherKey)
	serverError(t, err, http.StatusBadRequest, "CertificateKeyNotMatch")
	_, err = upload("sbx-wildcard", "not a key")
	serverError(t, err, http.StatusBadRequest, "InvalidKey.Format")
	id := must(upload("sbx-wildcard", keyPEM))
	_, err = upload("sbx-wildcard", keyPEM)
	serverError(t, err, http.StatusBadRequest, "NameRepeat")

	detail := func(id int64) (*cas.GetUserCertificateDetailResponse, error) {
		req := cas.CreateGetUserCertificateDetailRequest()
		s.casEP.ApplyRPC(req.RpcRequest)
		req.CertId = requests.NewInteger64(id)
		return s.cas.GetUserCertificateDetail(req)
	}
	d := must(detail(id))
	sum := sha1.Sum(cert.Raw)
	if d.Name != "sbx-wildcard" || d.Cert != certPEM || d.Key != keyPEM || d.Common != "*.sbx.example.test" ||
		d.Sans != "*.sbx.example.test,sbx.example.test" || d.StartDate != "2026-01-01" || d.EndDate != "2027-01-01" ||
		d.Fingerprint != strings.ToUpper(hex.EncodeToString(sum[:])) || d.Expired || d.Algorithm != "ECC" || d.Id != id {
		t.Errorf("GetUserCertificateDetail: %+v", d)
	}
	clock.Advance(60 * 24 * time.Hour) // past NotAfter
	if d := must(detail(id)); !d.Expired {
		t.Error("certificate not reported expired after its NotAfter")
	}

	list := cas.CreateListUserCertificateOrderRequest()
	s.casEP.ApplyRPC(list.RpcRequest)
	list.OrderType, list.Keyword = "UPLOAD", "sbx"
	if l := must(s.cas.ListUserCertificateOrder(list)); l.TotalCount != 1 || l.CertificateOrderList[0].CertificateId != id {
		t.Errorf("ListUserCertificateOrder: %+v", l)
	}

	del := cas.CreateDeleteUserCertificateRequest()
	s.casEP.ApplyRPC(del.RpcRequest)
	del.CertId = requests.NewInteger64(id)
	must(s.cas.DeleteUserCertificate(del))
	_, err = detail(id)
	serverError(t, err, http.StatusBadRequest, "NotFound")
}

func TestSignatureFailures(t *testing.T) {
	f := alifake.New(t, alifake.Options{})
	ak, _ := f.Credentials()

	wrongSecret := newSDK(t, f, ak, "not-the-secret")
	req := vpc.CreateDescribeVpcsRequest()
	wrongSecret.vpcEP.ApplyRPC(req.RpcRequest)
	_, err := wrongSecret.vpc.DescribeVpcs(req)
	se := serverError(t, err, http.StatusBadRequest, "SignatureDoesNotMatch")
	// The SDK compares its string to sign with the server's and so blames the secret, as with Alibaba.
	if !strings.Contains(se.Recommend(), "InvalidAccessKeySecret") {
		t.Errorf("Recommend %q does not point at the secret", se.Recommend())
	}
	creq := cs.CreateDescribeClustersV1Request()
	wrongSecret.csEP.ApplyROA(creq.RoaRequest)
	_, err = wrongSecret.cs.DescribeClustersV1(creq)
	serverError(t, err, http.StatusBadRequest, "SignatureDoesNotMatch")

	unknown := newSDK(t, f, "LTAI5tNobodyHasThisKey", "whatever")
	req2 := vpc.CreateDescribeVpcsRequest()
	unknown.vpcEP.ApplyRPC(req2.RpcRequest)
	_, err = unknown.vpc.DescribeVpcs(req2)
	serverError(t, err, http.StatusNotFound, "InvalidAccessKeyId.NotFound")
	creq2 := cs.CreateDescribeClustersV1Request()
	unknown.csEP.ApplyROA(creq2.RoaRequest)
	_, err = unknown.cs.DescribeClustersV1(creq2)
	serverError(t, err, http.StatusNotFound, "InvalidAccessKeyId.NotFound")

	// A request to the wrong product's endpoint is refused like an unknown API version.
	good := clientFor(t, f)
	req3 := vpc.CreateDescribeVpcsRequest()
	good.ecsEP.ApplyRPC(req3.RpcRequest)
	_, err = good.vpc.DescribeVpcs(req3)
	serverError(t, err, http.StatusBadRequest, "InvalidVersion")
	if n := f.CallCount("DescribeVpcs"); n != 0 {
		t.Errorf("%d unauthenticated or misrouted calls reached DescribeVpcs", n)
	}
}

func TestFaultKnobs(t *testing.T) {
	defer failOnError(t)
	f := alifake.New(t, alifake.Options{Faults: alifake.Faults{
		Throttle: map[string]alifake.Throttle{"DescribeVpcs": {Next: 2}, "DescribeVSwitches": {Every: 3}},
	}})
	s := clientFor(t, f)
	describe := func() error {
		req := vpc.CreateDescribeVpcsRequest()
		s.vpcEP.ApplyRPC(req.RpcRequest)
		_, err := s.vpc.DescribeVpcs(req)
		return err
	}
	serverError(t, describe(), http.StatusBadRequest, "Throttling.User")
	serverError(t, describe(), http.StatusBadRequest, "Throttling.User")
	must(0, describe())

	var throttled []string
	for i := 1; i <= 6; i++ {
		req := vpc.CreateDescribeVSwitchesRequest()
		s.vpcEP.ApplyRPC(req.RpcRequest)
		if _, err := s.vpc.DescribeVSwitches(req); err != nil {
			serverError(t, err, http.StatusBadRequest, "Throttling.User")
			throttled = append(throttled, strconv.Itoa(i))
		}
	}
	if got := strings.Join(throttled, ","); got != "3,6" {
		t.Errorf("throttled calls %s, want 3,6 (every 3rd)", got)
	}

	// NotFound right after create, for reads and lists, then found.
	f.SetNotFoundReads(2)
	vpcID := s.createVpc(t, "eventual", "10.0.0.0/16")
	vswID := must(s.createVSwitch(t, vpcID, f.Zones()[0], "10.0.0.0/24"))
	_, err := s.describeVSwitch(vswID)
	serverError(t, err, http.StatusNotFound, "InvalidVSwitchId.NotFound")
	lreq := vpc.CreateDescribeVSwitchesRequest()
	s.vpcEP.ApplyRPC(lreq.RpcRequest)
	lreq.VSwitchId = vswID
	if l := must(s.vpc.DescribeVSwitches(lreq)); l.TotalCount != 0 {
		t.Errorf("list found a vSwitch that should still be invisible: %+v", l.VSwitches)
	}
	if got := must(s.describeVSwitch(vswID)); got.VSwitchId != vswID {
		t.Errorf("third read: %+v", got)
	}

	// Injected dependency errors on delete, then the delete works.
	f.SetNotFoundReads(0)
	f.FailDeletes("DeleteVSwitch", 2)
	deleteVSW := func() error {
		req := vpc.CreateDeleteVSwitchRequest()
		s.vpcEP.ApplyRPC(req.RpcRequest)
		req.VSwitchId = vswID
		_, err := s.vpc.DeleteVSwitch(req)
		return err
	}
	serverError(t, deleteVSW(), http.StatusBadRequest, "DependencyViolation")
	serverError(t, deleteVSW(), http.StatusBadRequest, "DependencyViolation")
	must(0, deleteVSW())
	if n := f.Faults().DependencyFailures["DeleteVSwitch"]; n != 0 {
		t.Errorf("%d dependency failures left", n)
	}

	// Drift: a VPC deleted out of band is NotFound to the API.
	if err := f.DeleteOutOfBand(vpcID); err != nil {
		t.Fatal(err)
	}
	areq := vpc.CreateDescribeVpcAttributeRequest()
	s.vpcEP.ApplyRPC(areq.RpcRequest)
	areq.VpcId = vpcID
	_, err = s.vpc.DescribeVpcAttribute(areq)
	serverError(t, err, http.StatusNotFound, "InvalidVpcId.NotFound")
	if err := f.DeleteOutOfBand(vpcID); err != alifake.ErrNoSuchResource {
		t.Errorf("second out-of-band delete: %v", err)
	}
}

func TestEnvDescribesEveryProduct(t *testing.T) {
	f := alifake.New(t, alifake.Options{Region: "cn-shanghai"})
	out := f.Describe()
	for _, p := range alifake.Products {
		line := "export " + alifake.EndpointEnv(p) + "='" + f.URL(p) + "'\n"
		if !strings.Contains(out, line) {
			t.Errorf("Describe lacks %q:\n%s", line, out)
		}
	}
	for _, want := range []string{"export ALIBABA_CLOUD_REGION='cn-shanghai'\n", "export ALIBABA_CLOUD_ACCESS_KEY_ID='" + alifake.DefaultAccessKeyID + "'\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("Describe lacks %q", want)
		}
	}
}
