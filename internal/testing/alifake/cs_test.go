package alifake_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/cs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
)

type clusterDetail struct {
	ClusterID          string   `json:"cluster_id"`
	Name               string   `json:"name"`
	State              string   `json:"state"`
	ClusterType        string   `json:"cluster_type"`
	Profile            string   `json:"profile"`
	ClusterSpec        string   `json:"cluster_spec"`
	VpcID              string   `json:"vpc_id"`
	VSwitchIDs         []string `json:"vswitch_ids"`
	SecurityGroupID    string   `json:"security_group_id"`
	ServiceCIDR        string   `json:"service_cidr"`
	DeletionProtection bool     `json:"deletion_protection"`
	CurrentVersion     string   `json:"current_version"`
	Tags               []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"tags"`
}

// acsBody is CreateCluster's body for an ACS cluster, as the provider will send it.
func acsBody(vpcID string, vswitches []string, serviceCIDR string) map[string]any {
	return map[string]any{
		"name": "sbx-acs", "region_id": alifake.DefaultRegion, "cluster_type": "ManagedKubernetes", "profile": "Acs",
		"cluster_spec": "ack.pro.small", "kubernetes_version": "1.33.3-aliyun.1", "vpcid": vpcID, "vswitch_ids": vswitches,
		"service_cidr": serviceCIDR, "is_enterprise_security_group": true, "endpoint_public_access": true,
		"snat_entry": false, "deletion_protection": false, "ip_stack": "ipv4", "timezone": "Asia/Shanghai",
		"tags": []map[string]string{{"key": "owner", "value": "sbx"}},
	}
}

func (s *sdk) createCluster(body map[string]any) (*cs.CreateClusterResponse, error) {
	req := cs.CreateCreateClusterRequest()
	s.csEP.ApplyROA(req.RoaRequest)
	b, _ := json.Marshal(body)
	req.SetContentType(requests.Json)
	req.SetContent(b)
	return s.cs.CreateCluster(req)
}

func (s *sdk) clusterDetail(id string) (*clusterDetail, error) {
	req := cs.CreateDescribeClusterDetailRequest()
	s.csEP.ApplyROA(req.RoaRequest)
	req.ClusterId = id
	resp, err := s.cs.DescribeClusterDetail(req)
	if err != nil {
		return nil, err
	}
	var d clusterDetail
	if err := json.Unmarshal(resp.GetHttpContentBytes(), &d); err != nil {
		return nil, err
	}
	return &d, nil
}

func (s *sdk) task(id string) *cs.DescribeTaskInfoResponse {
	req := cs.CreateDescribeTaskInfoRequest()
	s.csEP.ApplyROA(req.RoaRequest)
	req.TaskId = id
	return must(s.cs.DescribeTaskInfo(req))
}

func (s *sdk) kubeconfig(id string) (*cs.DescribeClusterUserKubeconfigResponse, error) {
	req := cs.CreateDescribeClusterUserKubeconfigRequest()
	s.csEP.ApplyROA(req.RoaRequest)
	req.ClusterId = id
	req.PrivateIpAddress = requests.NewBoolean(false)
	req.QueryParams["TemporaryDurationMinutes"] = "60"
	return s.cs.DescribeClusterUserKubeconfig(req)
}

// csError asserts a CS service error: HTTP status and the lower-case body's code (the SDK's ErrorCode
// stays empty, since it reads only the capitalised keys).
func csError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("error %v, want a ServerError %d %s", err, status, code)
	}
	var body struct{ Code, Message, RequestID string }
	if se.HttpStatus() != status || json.Unmarshal([]byte(se.Message()), &struct {
		Code      *string `json:"code"`
		Message   *string `json:"message"`
		RequestID *string `json:"requestId"`
	}{&body.Code, &body.Message, &body.RequestID}) != nil || body.Code != code || body.RequestID == "" {
		t.Fatalf("error status %d body %q, want %d with code %s", se.HttpStatus(), se.Message(), status, code)
	}
}

// network creates a VPC 10.0.0.0/16 with two vSwitches.
func (s *sdk) network(t *testing.T, f *alifake.Fake) (string, []string) {
	t.Helper()
	vpcID := s.createVpc(t, "acs", "10.0.0.0/16")
	a := must(s.createVSwitch(t, vpcID, f.Zones()[0], "10.0.0.0/20"))
	b := must(s.createVSwitch(t, vpcID, f.Zones()[1], "10.0.16.0/20"))
	return vpcID, []string{a, b}
}

func TestClusterLifecycle(t *testing.T) {
	defer failOnError(t)
	clock := alifake.NewManualClock(time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC))
	f := alifake.New(t, alifake.Options{Clock: clock, Faults: alifake.Faults{
		ClusterCreateTime: 8 * time.Minute, ClusterUpdateTime: time.Minute, ClusterDeleteTime: 3 * time.Minute,
	}, Kubeconfig: func(_ context.Context, id string) ([]byte, error) { return []byte("kubeconfig of " + id), nil }})
	s := clientFor(t, f)
	vpcID, vsws := s.network(t, f)

	// Validation like the real API.
	_, err := s.createCluster(acsBody("vpc-unknown", vsws, "172.21.0.0/20"))
	csError(t, err, http.StatusBadRequest, "ErrorVpcNotFound")
	_, err = s.createCluster(acsBody(vpcID, []string{"vsw-unknown"}, "172.21.0.0/20"))
	csError(t, err, http.StatusBadRequest, "ErrorVSwitchNotFound")
	_, err = s.createCluster(acsBody(vpcID, vsws, "10.0.128.0/20"))
	csError(t, err, http.StatusBadRequest, "ErrorServiceCidrConflict")
	bad := acsBody(vpcID, vsws, "172.21.0.0/20")
	bad["cluster_spec"] = "ack.standard"
	_, err = s.createCluster(bad)
	csError(t, err, http.StatusBadRequest, "InvalidParameter")

	created := must(s.createCluster(acsBody(vpcID, vsws, "172.21.0.0/20")))
	if !strings.HasPrefix(created.ClusterId, "c") || !strings.HasPrefix(created.TaskId, "T-") || created.RequestId == "" {
		t.Fatalf("CreateCluster: %+v", created)
	}
	d := must(s.clusterDetail(created.ClusterId))
	if d.State != "initial" || d.Profile != "Acs" || d.ClusterSpec != "ack.pro.small" || d.VpcID != vpcID ||
		len(d.VSwitchIDs) != 2 || d.ServiceCIDR != "172.21.0.0/20" || d.SecurityGroupID == "" || d.Tags[0].Key != "owner" {
		t.Errorf("detail while creating: %+v", d)
	}
	if tk := s.task(created.TaskId); tk.State != "running" || tk.ClusterId != created.ClusterId {
		t.Errorf("task while creating: %+v", tk)
	}
	_, err = s.kubeconfig(created.ClusterId)
	csError(t, err, http.StatusBadRequest, "ErrorClusterNotRunning")
	// The cluster's security group (created by the service) keeps the VPC from being deleted.
	dv := vpc.CreateDeleteVpcRequest()
	s.vpcEP.ApplyRPC(dv.RpcRequest)
	dv.VpcId = vpcID
	_, err = s.vpc.DeleteVpc(dv)
	serverError(t, err, http.StatusBadRequest, "DependencyViolation.VSwitch")

	clock.Advance(8 * time.Minute)
	if d := must(s.clusterDetail(created.ClusterId)); d.State != "running" {
		t.Errorf("state after the create time: %s", d.State)
	}
	if tk := s.task(created.TaskId); tk.State != "success" {
		t.Errorf("task after the create time: %+v", tk)
	}
	kc := must(s.kubeconfig(created.ClusterId))
	if kc.Config != "kubeconfig of "+created.ClusterId {
		t.Errorf("kubeconfig: %q", kc.Config)
	}
	var exp struct {
		Expiration string `json:"expiration"`
	}
	_ = json.Unmarshal(kc.GetHttpContentBytes(), &exp)
	if exp.Expiration != "2026-12-03T09:08:00Z" {
		t.Errorf("expiration %q, want 60 minutes from the clock", exp.Expiration)
	}

	// Deletion protection: set with ModifyCluster, which refuses DeleteCluster until cleared.
	modify := func(protect bool) *cs.ModifyClusterResponse {
		req := cs.CreateModifyClusterRequest()
		s.csEP.ApplyROA(req.RoaRequest)
		req.ClusterId = created.ClusterId
		b, _ := json.Marshal(map[string]any{"deletion_protection": protect})
		req.SetContentType(requests.Json)
		req.SetContent(b)
		return must(s.cs.ModifyCluster(req))
	}
	mod := modify(true)
	if d := must(s.clusterDetail(created.ClusterId)); d.State != "updating" || !d.DeletionProtection {
		t.Errorf("after ModifyCluster: %+v", d)
	}
	clock.Advance(time.Minute)
	if tk := s.task(mod.TaskId); tk.State != "success" {
		t.Errorf("modify task: %+v", tk)
	}
	deleteCluster := func() (*cs.DeleteClusterResponse, error) {
		req := cs.CreateDeleteClusterRequest()
		s.csEP.ApplyROA(req.RoaRequest)
		req.ClusterId = created.ClusterId
		req.RetainAllResources = requests.NewBoolean(false)
		return s.cs.DeleteCluster(req)
	}
	_, err = deleteCluster()
	csError(t, err, http.StatusBadRequest, "ErrorDeletionProtection")
	modify(false)
	clock.Advance(time.Minute)
	f.FailDeletes("DeleteCluster", 1)
	_, err = deleteCluster()
	csError(t, err, http.StatusBadRequest, "DependencyViolation.Resource")
	must(deleteCluster())
	if d := must(s.clusterDetail(created.ClusterId)); d.State != "deleting" {
		t.Errorf("state after DeleteCluster: %s", d.State)
	}
	dsw := vpc.CreateDeleteVSwitchRequest()
	s.vpcEP.ApplyRPC(dsw.RpcRequest)
	dsw.VSwitchId = vsws[0]
	_, err = s.vpc.DeleteVSwitch(dsw)
	serverError(t, err, http.StatusBadRequest, "DependencyViolation")

	clock.Advance(3 * time.Minute)
	_, err = s.clusterDetail(created.ClusterId)
	csError(t, err, http.StatusNotFound, "ErrorClusterNotFound")
	if len(f.Clusters()) != 0 {
		t.Errorf("fake still holds %+v", f.Clusters())
	}
	// The cluster's security group went with it, so the network can be torn down.
	for _, id := range vsws {
		req := vpc.CreateDeleteVSwitchRequest()
		s.vpcEP.ApplyRPC(req.RpcRequest)
		req.VSwitchId = id
		must(s.vpc.DeleteVSwitch(req))
	}
	dv2 := vpc.CreateDeleteVpcRequest()
	s.vpcEP.ApplyRPC(dv2.RpcRequest)
	dv2.VpcId = vpcID
	must(s.vpc.DeleteVpc(dv2))
}

func TestClusterFailureAndListing(t *testing.T) {
	defer failOnError(t)
	clock := alifake.NewManualClock(time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC))
	f := alifake.New(t, alifake.Options{Clock: clock, Faults: alifake.Faults{
		ClusterCreateTime: 5 * time.Minute, ClusterFailure: "quota exceeded: ACS vCPU", NotFoundReads: 1,
	}})
	s := clientFor(t, f)
	vpcID, vsws := s.network(t, f)
	created := must(s.createCluster(acsBody(vpcID, vsws, "172.21.0.0/20")))

	// Eventual consistency: the first read after the create does not find the cluster.
	_, err := s.clusterDetail(created.ClusterId)
	csError(t, err, http.StatusNotFound, "ErrorClusterNotFound")
	clock.Advance(5 * time.Minute)
	if d := must(s.clusterDetail(created.ClusterId)); d.State != "failed" {
		t.Errorf("state: %s, want failed", d.State)
	}
	req := cs.CreateDescribeTaskInfoRequest()
	s.csEP.ApplyROA(req.RoaRequest)
	req.TaskId = created.TaskId
	// The real task_result is an array, which the v1 SDK's typed response cannot decode: read the raw body.
	resp, err := s.cs.DescribeTaskInfo(req)
	if resp == nil || resp.GetHttpStatus() != http.StatusOK {
		t.Fatalf("DescribeTaskInfo: %v", err)
	}
	var tk struct {
		State string `json:"state"`
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(resp.GetHttpContentBytes(), &tk); err != nil || tk.State != "fail" || tk.Error.Message != "quota exceeded: ACS vCPU" {
		t.Errorf("failed task: %s (%v)", resp.GetHttpContentString(), err)
	}

	list := cs.CreateDescribeClustersV1Request()
	s.csEP.ApplyROA(list.RoaRequest)
	list.ClusterType = "ManagedKubernetes"
	lr := must(s.cs.DescribeClustersV1(list))
	var page struct {
		Clusters []clusterDetail `json:"clusters"`
		PageInfo struct {
			TotalCount int `json:"total_count"`
		} `json:"page_info"`
	}
	if err := json.Unmarshal(lr.GetHttpContentBytes(), &page); err != nil || page.PageInfo.TotalCount != 1 ||
		page.Clusters[0].ClusterID != created.ClusterId {
		t.Errorf("DescribeClustersV1: %s", lr.GetHttpContentString())
	}

	f.SetThrottle("DescribeClusterDetail", alifake.Throttle{Next: 1})
	_, err = s.clusterDetail(created.ClusterId)
	serverError(t, err, http.StatusBadRequest, "Throttling.User")

	// Drift: deleted out of band.
	if err := f.DeleteOutOfBand(created.ClusterId); err != nil {
		t.Fatal(err)
	}
	_, err = s.clusterDetail(created.ClusterId)
	csError(t, err, http.StatusNotFound, "ErrorClusterNotFound")
}
