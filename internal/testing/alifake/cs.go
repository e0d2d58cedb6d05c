package alifake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DefaultKubernetesVersion is the version a cluster gets when CreateCluster names none.
const DefaultKubernetesVersion = "1.33.3-aliyun.1"

type cluster struct {
	meta
	id, name, clusterType, profile, spec, version, vpcID, serviceCIDR, podCIDR string
	securityGroupID, autoSecurityGroup, resourceGroupID, ipStack, timezone     string
	vswitchIDs                                                                 []string
	deletionProtection, endpointPublicAccess, snatEntry                        bool
	tags                                                                       []csTag
	readyAt, updateUntil, deleteAt, goneAt                                     time.Time
	failReason                                                                 string
	deleting                                                                   bool
}

type task struct {
	id, clusterID, taskType string
	created, doneAt         time.Time
	failReason              string
}

type csTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// createClusterBody is the part of CreateCluster's JSON body the fake understands; other fields are
// accepted and ignored, as the service ignores what does not apply to a profile.
type createClusterBody struct {
	Name                      string   `json:"name"`
	RegionID                  string   `json:"region_id"`
	ClusterType               string   `json:"cluster_type"`
	Profile                   string   `json:"profile"`
	ClusterSpec               string   `json:"cluster_spec"`
	KubernetesVersion         string   `json:"kubernetes_version"`
	VpcID                     string   `json:"vpcid"`
	VSwitchIDs                []string `json:"vswitch_ids"`
	ZoneIDs                   []string `json:"zone_ids"`
	ServiceCIDR               string   `json:"service_cidr"`
	ContainerCIDR             string   `json:"container_cidr"`
	SecurityGroupID           string   `json:"security_group_id"`
	IsEnterpriseSecurityGroup *bool    `json:"is_enterprise_security_group"`
	EndpointPublicAccess      *bool    `json:"endpoint_public_access"`
	SnatEntry                 *bool    `json:"snat_entry"`
	DeletionProtection        *bool    `json:"deletion_protection"`
	IPStack                   string   `json:"ip_stack"`
	Timezone                  string   `json:"timezone"`
	ResourceGroupID           string   `json:"resource_group_id"`
	Tags                      []csTag  `json:"tags"`
}

func clusterNotFound(id string) *apiError {
	return errorf(http.StatusNotFound, "ErrorClusterNotFound", "The specified cluster %s does not exist.", id)
}

func csParamError(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "InvalidParameter", format, args...)
}

var clusterNameRE = regexp.MustCompile(`^[A-Za-z0-9_\p{Han}][A-Za-z0-9_\-\p{Han}]{0,62}$`)

// KubeconfigFile hands out the kubeconfig in path (re-read on every call), for example the admin
// kubeconfig of a kubeharness cluster.
func KubeconfigFile(path string) KubeconfigFunc {
	return func(context.Context, string) ([]byte, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read kubeconfig: %w", err)
		}
		return b, nil
	}
}

func newTaskID() string { return "T-" + randomID("", 24) }

func (s *state) newTask(clusterID, taskType string, done time.Time, failReason string) *task {
	t := &task{id: newTaskID(), clusterID: clusterID, taskType: taskType, created: s.f.clock.Now().UTC(), doneAt: done, failReason: failReason}
	s.tasks[t.id] = t
	return t
}

// clusterState computes a cluster's state from the clock.
func (s *state) clusterState(cl *cluster) string {
	now := s.f.clock.Now()
	switch {
	case cl.deleting:
		return "deleting"
	case now.Before(cl.readyAt):
		return "initial"
	case cl.failReason != "":
		return "failed"
	case now.Before(cl.updateUntil):
		return "updating"
	}
	return "running"
}

// reapClusters removes clusters whose deletion has finished, with the security group created for them.
func (s *state) reapClusters() {
	now := s.f.clock.Now()
	for id, cl := range s.clusters {
		if cl.deleting && !now.Before(cl.goneAt) {
			if cl.autoSecurityGroup != "" {
				delete(s.sgs, cl.autoSecurityGroup)
			}
			delete(s.clusters, id)
		}
	}
}

func createCluster(f *Fake, c *roaCall) (any, *apiError) {
	s := f.st
	var in createClusterBody
	dec := json.NewDecoder(bytes.NewReader(c.body))
	if err := dec.Decode(&in); err != nil {
		return nil, csParamError("The request body is not a valid CreateCluster JSON object: %v.", err)
	}
	if !clusterNameRE.MatchString(in.Name) {
		return nil, csParamError("The cluster name %q is not valid: 1 to 63 letters, digits, underscores or hyphens, not starting with a hyphen.", in.Name)
	}
	if in.RegionID != "" && in.RegionID != f.opts.Region {
		return nil, csParamError("region_id %q is not served by this endpoint (%s).", in.RegionID, f.opts.Region)
	}
	if in.ClusterType != "ManagedKubernetes" {
		return nil, csParamError("cluster_type %q is not supported; use ManagedKubernetes.", in.ClusterType)
	}
	switch in.Profile {
	case "", "Default", "Serverless", "Edge", "Acs":
	default:
		return nil, csParamError("profile %q is not valid (Default, Serverless, Edge or Acs).", in.Profile)
	}
	switch in.ClusterSpec {
	case "", "ack.standard", "ack.pro.small":
	default:
		return nil, csParamError("cluster_spec %q is not valid (ack.standard or ack.pro.small).", in.ClusterSpec)
	}
	if in.Profile == "Acs" && in.ClusterSpec != "ack.pro.small" {
		return nil, csParamError("profile Acs requires cluster_spec ack.pro.small.")
	}
	if in.IPStack != "" && in.IPStack != "ipv4" && in.IPStack != "dual" {
		return nil, csParamError("ip_stack %q is not valid (ipv4 or dual).", in.IPStack)
	}
	if len(in.VSwitchIDs) == 0 {
		if len(in.ZoneIDs) > 0 {
			return nil, csParamError("zone_ids (a network created by the service) is not supported by this fake; create the VPC and vSwitches and pass vpcid and vswitch_ids.")
		}
		return nil, csParamError("vswitch_ids is required.")
	}
	if in.VpcID == "" {
		return nil, csParamError("vpcid is required with vswitch_ids.")
	}
	v, ok := s.vpcs[in.VpcID]
	if !ok {
		return nil, errorf(http.StatusBadRequest, "ErrorVpcNotFound", "The VPC %s does not exist.", in.VpcID)
	}
	for _, id := range in.VSwitchIDs {
		vs, ok := s.vswitches[id]
		if !ok {
			return nil, errorf(http.StatusBadRequest, "ErrorVSwitchNotFound", "The vSwitch %s does not exist.", id)
		}
		if vs.vpcID != v.id {
			return nil, errorf(http.StatusBadRequest, "ErrorVSwitchNotInVpc", "The vSwitch %s does not belong to VPC %s.", id, v.id)
		}
	}
	if in.ServiceCIDR == "" {
		in.ServiceCIDR = "172.21.0.0/20"
	}
	svc, ok := parseCIDR(in.ServiceCIDR, 16, 25)
	if !ok {
		return nil, csParamError("service_cidr %q is not a valid CIDR block (mask /16 to /25).", in.ServiceCIDR)
	}
	if svc.Overlaps(v.cidr) {
		return nil, errorf(http.StatusBadRequest, "ErrorServiceCidrConflict",
			"service_cidr %s overlaps with the CIDR block %s of VPC %s.", svc, v.cidr, v.id)
	}
	var pod netip.Prefix
	if in.ContainerCIDR != "" {
		if pod, ok = parseCIDR(in.ContainerCIDR, 8, 24); !ok {
			return nil, csParamError("container_cidr %q is not a valid CIDR block.", in.ContainerCIDR)
		}
		if pod.Overlaps(v.cidr) || pod.Overlaps(svc) {
			return nil, errorf(http.StatusBadRequest, "ErrorContainerCidrConflict",
				"container_cidr %s overlaps with the VPC %s or service_cidr %s.", pod, v.cidr, svc)
		}
	}
	if in.SecurityGroupID != "" && in.IsEnterpriseSecurityGroup != nil {
		return nil, csParamError("security_group_id and is_enterprise_security_group cannot be set together.")
	}
	if in.SecurityGroupID != "" {
		sg, ok := s.sgs[in.SecurityGroupID]
		if !ok {
			return nil, errorf(http.StatusBadRequest, "ErrorSecurityGroupNotFound", "The security group %s does not exist.", in.SecurityGroupID)
		}
		if sg.vpcID != v.id {
			return nil, csParamError("The security group %s does not belong to VPC %s.", sg.id, v.id)
		}
	}
	for _, t := range in.Tags {
		if t.Key == "" {
			return nil, csParamError("A tag key must not be empty.")
		}
	}
	now := f.clock.Now().UTC()
	cl := &cluster{meta: s.newMeta(), id: "c" + randomID("", 32), name: in.Name, clusterType: in.ClusterType,
		profile: in.Profile, spec: in.ClusterSpec, version: in.KubernetesVersion, vpcID: v.id, serviceCIDR: svc.String(),
		securityGroupID: in.SecurityGroupID, resourceGroupID: in.ResourceGroupID, ipStack: in.IPStack, timezone: in.Timezone,
		vswitchIDs: append([]string(nil), in.VSwitchIDs...), tags: in.Tags, readyAt: now.Add(f.faults.ClusterCreateTime),
		failReason: f.faults.ClusterFailure}
	if cl.profile == "" {
		cl.profile = "Default"
	}
	if cl.spec == "" {
		cl.spec = "ack.pro.small"
	}
	if cl.version == "" {
		cl.version = DefaultKubernetesVersion
	}
	if cl.ipStack == "" {
		cl.ipStack = "ipv4"
	}
	if pod.IsValid() {
		cl.podCIDR = pod.String()
	}
	cl.deletionProtection = in.DeletionProtection != nil && *in.DeletionProtection
	cl.endpointPublicAccess = in.EndpointPublicAccess != nil && *in.EndpointPublicAccess
	cl.snatEntry = in.SnatEntry != nil && *in.SnatEntry
	if cl.securityGroupID == "" { // the service creates one for the cluster and deletes it with the cluster
		sgType := "normal"
		if in.IsEnterpriseSecurityGroup != nil && *in.IsEnterpriseSecurityGroup {
			sgType = "enterprise"
		}
		sg := &securityGroup{meta: s.newMeta(), id: alibabaID("sg-"), vpcID: v.id, name: "alicloud-cs-auto-created-security-group-" + cl.id,
			description: "security group of ACK cluster " + cl.id, sgType: sgType, tags: tagSet{}}
		sg.hiddenReads = 0
		s.sgs[sg.id] = sg
		cl.securityGroupID, cl.autoSecurityGroup = sg.id, sg.id
	}
	s.clusters[cl.id] = cl
	t := s.newTask(cl.id, "cluster_create", cl.readyAt, cl.failReason)
	return map[string]any{"cluster_id": cl.id, "task_id": t.id, "request_id": ""}, nil
}

func (s *state) clusterView(cl *cluster) map[string]any {
	tags := cl.tags
	if tags == nil {
		tags = []csTag{}
	}
	updated := cl.created
	if !cl.updateUntil.IsZero() {
		updated = cl.updateUntil
	}
	return map[string]any{
		"cluster_id": cl.id, "name": cl.name, "region_id": s.f.opts.Region, "state": s.clusterState(cl),
		"cluster_type": cl.clusterType, "profile": cl.profile, "cluster_spec": cl.spec,
		"current_version": cl.version, "init_version": cl.version, "vpc_id": cl.vpcID,
		"vswitch_ids": cl.vswitchIDs, "vswitch_id": strings.Join(cl.vswitchIDs, ","), "security_group_id": cl.securityGroupID,
		"service_cidr": cl.serviceCIDR, "subnet_cidr": cl.podCIDR, "network_mode": "vpc", "ip_stack": cl.ipStack,
		"timezone": cl.timezone, "deletion_protection": cl.deletionProtection, "resource_group_id": cl.resourceGroupID,
		"tags": tags, "size": 0, "created": cl.created.Format(time.RFC3339), "updated": updated.UTC().Format(time.RFC3339),
		"parameters": map[string]any{"ServiceCIDR": cl.serviceCIDR, "Profile": cl.profile, "ClusterSpec": cl.spec,
			"EndpointPublicAccess": strconv.FormatBool(cl.endpointPublicAccess), "SNatEntry": strconv.FormatBool(cl.snatEntry)},
	}
}

func (s *state) lookupCluster(id string, read bool) (*cluster, *apiError) {
	cl, ok := s.clusters[id]
	if !ok || read && !cl.visible() {
		return nil, clusterNotFound(id)
	}
	return cl, nil
}

func describeClusterDetail(f *Fake, c *roaCall) (any, *apiError) {
	cl, e := f.st.lookupCluster(c.id, true)
	if e != nil {
		return nil, e
	}
	return f.st.clusterView(cl), nil
}

func describeClustersV1(f *Fake, c *roaCall) (any, *apiError) {
	s := f.st
	q := c.query
	p := params{"page_number": q.Get("page_number"), "page_size": q.Get("page_size")}
	var match []*cluster
	for _, cl := range sortedBySeq(s.clusters, func(x *cluster) int64 { return x.seq }) {
		if q.Get("name") != "" && !strings.Contains(cl.name, q.Get("name")) ||
			q.Get("cluster_type") != "" && q.Get("cluster_type") != cl.clusterType ||
			q.Get("profile") != "" && q.Get("profile") != cl.profile ||
			q.Get("cluster_spec") != "" && q.Get("cluster_spec") != cl.spec ||
			q.Get("cluster_id") != "" && q.Get("cluster_id") != cl.id {
			continue
		}
		if cl.visible() {
			match = append(match, cl)
		}
	}
	page, size, lo, hi, e := paging(p, "page_number", "page_size", 10, 100, len(match))
	if e != nil {
		return nil, e
	}
	list := []map[string]any{}
	for _, cl := range match[lo:hi] {
		list = append(list, s.clusterView(cl))
	}
	return map[string]any{"clusters": list, "page_info": map[string]any{"page_number": page, "page_size": size, "total_count": len(match)}}, nil
}

func describeTaskInfo(f *Fake, c *roaCall) (any, *apiError) {
	t, ok := f.st.tasks[c.id]
	if !ok {
		return nil, errorf(http.StatusNotFound, "ErrorTaskNotFound", "The specified task %s does not exist.", c.id)
	}
	now := f.clock.Now()
	out := map[string]any{"task_id": t.id, "cluster_id": t.clusterID, "task_type": t.taskType,
		"created": t.created.Format(time.RFC3339), "updated": t.created.Format(time.RFC3339)}
	switch {
	case now.Before(t.doneAt):
		out["state"] = "running"
	case t.failReason != "":
		out["state"] = "fail"
		out["updated"] = t.doneAt.UTC().Format(time.RFC3339)
		out["error"] = map[string]any{"code": "ClusterCreateFailed", "message": t.failReason}
		out["task_result"] = []map[string]any{{"data": t.failReason, "status": "failed"}}
	default:
		out["state"] = "success"
		out["updated"] = t.doneAt.UTC().Format(time.RFC3339)
	}
	return out, nil
}

// csOptions reads a CS call's options from its JSON body, its form body or its query, as the SDK may
// send them in any of these places.
func csOptions(c *roaCall) (map[string]any, *apiError) {
	out := map[string]any{}
	for k := range c.query {
		out[k] = c.query.Get(k)
	}
	body := bytes.TrimSpace(c.body)
	if len(body) == 0 {
		return out, nil
	}
	if body[0] == '{' {
		if err := json.Unmarshal(body, &out); err != nil {
			return nil, csParamError("The request body is not valid JSON: %v.", err)
		}
		return out, nil
	}
	for _, kv := range strings.Split(string(body), "&") {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out, nil
}

func optBool(opts map[string]any, key string) (*bool, *apiError) {
	v, ok := opts[key]
	if !ok {
		return nil, nil
	}
	switch b := v.(type) {
	case bool:
		return &b, nil
	case string:
		if pb, err := strconv.ParseBool(b); err == nil {
			return &pb, nil
		}
	}
	return nil, csParamError("%s must be true or false, not %v.", key, v)
}

func deleteCluster(f *Fake, c *roaCall) (any, *apiError) {
	s := f.st
	cl, e := s.lookupCluster(c.id, false)
	if e != nil {
		return nil, e
	}
	if _, e := csOptions(c); e != nil {
		return nil, e
	}
	if cl.deleting {
		for _, t := range s.tasks {
			if t.clusterID == cl.id && t.taskType == "cluster_delete" {
				return map[string]any{"cluster_id": cl.id, "task_id": t.id, "request_id": ""}, nil
			}
		}
	}
	if cl.deletionProtection {
		return nil, errorf(http.StatusBadRequest, "ErrorDeletionProtection",
			"The cluster %s has deletion protection enabled; disable it with ModifyCluster first.", cl.id)
	}
	if f.injectedDependency("DeleteCluster") {
		return nil, errorf(http.StatusBadRequest, "DependencyViolation.Resource", "Resources of cluster %s are still in use.", cl.id)
	}
	now := f.clock.Now().UTC()
	cl.deleting, cl.deleteAt, cl.goneAt = true, now, now.Add(f.faults.ClusterDeleteTime)
	t := s.newTask(cl.id, "cluster_delete", cl.goneAt, "")
	return map[string]any{"cluster_id": cl.id, "task_id": t.id, "request_id": ""}, nil
}

func modifyCluster(f *Fake, c *roaCall) (any, *apiError) {
	s := f.st
	cl, e := s.lookupCluster(c.id, false)
	if e != nil {
		return nil, e
	}
	if st := s.clusterState(cl); st != "running" {
		return nil, errorf(http.StatusBadRequest, "ErrorClusterNotRunning", "The cluster %s is %s; it can be modified when running.", cl.id, st)
	}
	opts, e := csOptions(c)
	if e != nil {
		return nil, e
	}
	dp, e := optBool(opts, "deletion_protection")
	if e != nil {
		return nil, e
	}
	if name, ok := opts["cluster_name"].(string); ok && name != "" {
		if !clusterNameRE.MatchString(name) {
			return nil, csParamError("The cluster name %q is not valid.", name)
		}
		cl.name = name
	}
	if rg, ok := opts["resource_group_id"].(string); ok && rg != "" {
		cl.resourceGroupID = rg
	}
	if dp != nil {
		cl.deletionProtection = *dp
	}
	cl.updateUntil = f.clock.Now().Add(f.faults.ClusterUpdateTime)
	t := s.newTask(cl.id, "cluster_update", cl.updateUntil, "")
	return map[string]any{"cluster_id": cl.id, "task_id": t.id, "request_id": ""}, nil
}

func modifyClusterTags(f *Fake, c *roaCall) (any, *apiError) {
	cl, e := f.st.lookupCluster(c.id, false)
	if e != nil {
		return nil, e
	}
	var tags []csTag
	if err := json.Unmarshal(c.body, &tags); err != nil {
		return nil, csParamError("The body must be a JSON array of {\"key\",\"value\"}: %v.", err)
	}
	for _, t := range tags {
		if t.Key == "" {
			return nil, csParamError("A tag key must not be empty.")
		}
	}
	cl.tags = tags
	return map[string]any{}, nil
}

func describeKubeconfig(f *Fake, c *roaCall) (any, *apiError) {
	cl, e := f.st.lookupCluster(c.id, true)
	if e != nil {
		return nil, e
	}
	if st := f.st.clusterState(cl); st != "running" && st != "updating" {
		return nil, errorf(http.StatusBadRequest, "ErrorClusterNotRunning", "The cluster %s is %s; its kubeconfig is available when it runs.", cl.id, st)
	}
	if private := c.query.Get("PrivateIpAddress"); private != "" && private != "true" && private != "false" {
		return nil, csParamError("PrivateIpAddress must be true or false.")
	}
	expiration := f.clock.Now().UTC().AddDate(3, 0, 0)
	if v := c.query.Get("TemporaryDurationMinutes"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 15 || n > 4320 {
			return nil, csParamError("TemporaryDurationMinutes must be between 15 and 4320, not %q.", v)
		}
		expiration = f.clock.Now().UTC().Add(time.Duration(n) * time.Minute)
	}
	kubeconfig, id := f.opts.Kubeconfig, cl.id
	if kubeconfig == nil {
		return nil, errorf(http.StatusInternalServerError, "ErrorKubeconfigUnavailable",
			"This fake was started without a Kubernetes API server to hand out (Options.Kubeconfig).")
	}
	c.outside = func(ctx context.Context) (any, *apiError) {
		cfg, err := kubeconfig(ctx, id)
		if err != nil {
			return nil, errorf(http.StatusInternalServerError, "ErrorKubeconfigUnavailable", "kubeconfig of cluster %s: %v", id, err)
		}
		return map[string]any{"config": string(cfg), "expiration": expiration.Format("2006-01-02T15:04:05Z")}, nil
	}
	return nil, nil
}
