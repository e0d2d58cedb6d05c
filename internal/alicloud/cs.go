package alicloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/responses"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/cs"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// CS (Container Service, ROA) error codes the cluster resource acts on.
const errClusterNotFound = "ErrorClusterNotFound"

// csError is an error of the CS service itself. CS answers {"code","message","requestId"} in lower
// case, which the v1 SDK's ServerError does not read (it leaves ErrorCode empty and keeps the raw
// body as the message), so the code is recovered here.
type csError struct {
	Status    int
	Code      string
	Message   string
	RequestID string
}

func (e *csError) Error() string {
	return fmt.Sprintf("%s (HTTP %d): %s (request ID %s)", e.Code, e.Status, e.Message, e.RequestID)
}

// ErrorCode makes the code visible to retry.ErrorCode and isCode.
func (e *csError) ErrorCode() string { return e.Code }

// csErr turns the SDK's error for a lower-case CS body into a csError; other errors pass unchanged.
func csErr(err error) error {
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) || se.ErrorCode() != "" {
		return err
	}
	var body struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"requestId"`
	}
	if json.Unmarshal([]byte(se.Message()), &body) != nil || body.Code == "" {
		if se.HttpStatus() == http.StatusNotFound {
			return &csError{Status: se.HttpStatus(), Code: errClusterNotFound, Message: se.Message()}
		}
		return err
	}
	return &csError{Status: se.HttpStatus(), Code: body.Code, Message: body.Message, RequestID: body.RequestID}
}

// csCall runs one CS call through call (serialised, throttling retried), with CS's errors decoded.
// req is the typed request (its Path fields are read by reflection), roa the ROA request it embeds.
// The answer is decoded by the caller: the v1 SDK's typed CS responses do not match what CS sends
// (DescribeTaskInfo's task_result is a list, DescribeClusterDetail has no fields).
func csCall(ctx context.Context, c *Conns, req requests.AcsRequest, roa *requests.RoaRequest) ([]byte, error) {
	c.roa("cs", roa)
	resp := responses.NewCommonResponse()
	_, err := call(ctx, c, func() (struct{}, error) {
		return struct{}{}, csErr(c.CS.DoAction(req, resp))
	})
	if err != nil {
		return nil, err
	}
	return resp.GetHttpContentBytes(), nil
}

// csJSON sets a ROA request's JSON body.
func csJSON(r *requests.RoaRequest, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	r.SetContentType(requests.Json)
	r.SetContent(b)
	return nil
}

// clusterTag is a CS tag.
type clusterTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// clusterDetail is the part of DescribeClusterDetail's answer the resource uses (the v1 SDK's
// response struct has no fields).
type clusterDetail struct {
	ClusterID          string       `json:"cluster_id"`
	Name               string       `json:"name"`
	State              string       `json:"state"`
	ClusterType        string       `json:"cluster_type"`
	Profile            string       `json:"profile"`
	ClusterSpec        string       `json:"cluster_spec"`
	CurrentVersion     string       `json:"current_version"`
	VpcID              string       `json:"vpc_id"`
	VSwitchIDs         []string     `json:"vswitch_ids"`
	VSwitchID          string       `json:"vswitch_id"` // comma-separated, in older answers
	SecurityGroupID    string       `json:"security_group_id"`
	ServiceCIDR        string       `json:"service_cidr"`
	DeletionProtection bool         `json:"deletion_protection"`
	Tags               []clusterTag `json:"tags"`
	MasterURL          string       `json:"master_url"` // a JSON document in a string
	Parameters         struct {
		ServiceCIDR string `json:"ServiceCIDR"`
	} `json:"parameters"`
}

func (d *clusterDetail) vswitches() []string {
	if len(d.VSwitchIDs) > 0 {
		return d.VSwitchIDs
	}
	if d.VSwitchID == "" {
		return nil
	}
	return strings.Split(d.VSwitchID, ",")
}

func (d *clusterDetail) serviceCIDR() string {
	if d.ServiceCIDR != "" {
		return d.ServiceCIDR
	}
	return d.Parameters.ServiceCIDR
}

// apiServerEndpoint is the public API server endpoint from master_url, or "".
func (d *clusterDetail) apiServerEndpoint() string {
	var m struct {
		Public   string `json:"api_server_endpoint"`
		Intranet string `json:"intranet_api_server_endpoint"`
	}
	if d.MasterURL == "" || json.Unmarshal([]byte(d.MasterURL), &m) != nil {
		return ""
	}
	return firstNonEmpty(m.Public, m.Intranet)
}

func (d *clusterDetail) tagMap() map[string]string {
	m := map[string]string{}
	for _, t := range d.Tags {
		m[t.Key] = t.Value
	}
	return m
}

func findCluster(ctx context.Context, c *Conns, id string) (*clusterDetail, error) {
	req := cs.CreateDescribeClusterDetailRequest()
	req.ClusterId = id
	body, err := csCall(ctx, c, req, req.RoaRequest)
	if isCode(err, errClusterNotFound) {
		return nil, retry.NotFound(err)
	}
	if err != nil {
		return nil, err
	}
	var d clusterDetail
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("decoding DescribeClusterDetail of %s: %w", id, err)
	}
	if d.ClusterID != id {
		return nil, retry.NotFoundf("cluster %s not found", id)
	}
	return &d, nil
}

// taskInfo is the part of DescribeTaskInfo's answer that explains a failure.
type taskInfo struct {
	State string `json:"state"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	TaskResult []struct {
		Data   string `json:"data"`
		Status string `json:"status"`
	} `json:"task_result"`
}

// reason is why the task failed, as the API words it, or "".
func (t *taskInfo) reason() string {
	if t.Error != nil && t.Error.Message != "" {
		if t.Error.Code != "" {
			return t.Error.Code + ": " + t.Error.Message
		}
		return t.Error.Message
	}
	for _, r := range t.TaskResult {
		if r.Data != "" {
			return r.Data
		}
	}
	return ""
}

func describeTask(ctx context.Context, c *Conns, taskID string) (*taskInfo, error) {
	req := cs.CreateDescribeTaskInfoRequest()
	req.TaskId = taskID
	body, err := csCall(ctx, c, req, req.RoaRequest)
	if err != nil {
		return nil, err
	}
	var t taskInfo
	if err := json.Unmarshal(body, &t); err != nil {
		return nil, fmt.Errorf("decoding DescribeTaskInfo of %s: %w", taskID, err)
	}
	return &t, nil
}

// userKubeconfig is the cluster's kubeconfig for the provider's credentials; minutes > 0 asks for a
// temporary one.
func userKubeconfig(ctx context.Context, c *Conns, id string, minutes int64) (config, expiration string, err error) {
	req := cs.CreateDescribeClusterUserKubeconfigRequest()
	req.ClusterId = id
	req.PrivateIpAddress = requests.NewBoolean(false)
	if minutes > 0 {
		// The v1 request struct has no field for it.
		req.QueryParams["TemporaryDurationMinutes"] = strconv.FormatInt(minutes, 10)
	}
	body, err := csCall(ctx, c, req, req.RoaRequest)
	if err != nil {
		return "", "", err
	}
	var out struct {
		Config     string `json:"config"`
		Expiration string `json:"expiration"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return "", "", fmt.Errorf("decoding the kubeconfig of %s: %w", id, err)
	}
	if out.Config == "" {
		return "", "", fmt.Errorf("the kubeconfig of cluster %s is empty", id)
	}
	return out.Config, out.Expiration, nil
}

// modifyCluster sends ModifyCluster with body and returns its task's ID.
func modifyCluster(ctx context.Context, c *Conns, id string, body map[string]any) error {
	req := cs.CreateModifyClusterRequest()
	req.ClusterId = id
	if err := csJSON(req.RoaRequest, body); err != nil {
		return err
	}
	_, err := csCall(ctx, c, req, req.RoaRequest)
	return err
}

func modifyClusterTags(ctx context.Context, c *Conns, id string, tags map[string]string) error {
	req := cs.CreateModifyClusterTagsRequest()
	req.ClusterId = id
	list := []clusterTag{}
	for _, k := range sortedKeys(tags) {
		list = append(list, clusterTag{Key: k, Value: tags[k]})
	}
	if err := csJSON(req.RoaRequest, list); err != nil {
		return err
	}
	_, err := csCall(ctx, c, req, req.RoaRequest)
	return err
}
