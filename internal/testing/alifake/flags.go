package alifake

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Flags are the standalone starter's command-line options for the Alibaba fakes. Register them on a
// FlagSet with RegisterFlags, parse, then call Options.
type Flags struct {
	region, accessKeyID, accessKeySecret, domains, kubeconfig string
	notFoundReads, pendingReads                               int
	createTime, updateTime, deleteTime                        time.Duration
	clusterFailure                                            string
	throttle, dependency                                      listFlag
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// RegisterFlags registers the fakes' options, each prefixed with prefix (for example "ali-").
func RegisterFlags(fs *flag.FlagSet, prefix string) *Flags {
	fl := &Flags{}
	fs.StringVar(&fl.region, prefix+"region", DefaultRegion, "Alibaba Cloud region the fakes serve")
	fs.StringVar(&fl.accessKeyID, prefix+"access-key-id", DefaultAccessKeyID, "AccessKeyId the fakes accept")
	fs.StringVar(&fl.accessKeySecret, prefix+"access-key-secret", DefaultAccessKeySecret, "AccessKeySecret of that key")
	fs.StringVar(&fl.domains, prefix+"domains", "", "comma-separated Alidns domains that exist from the start")
	fs.StringVar(&fl.kubeconfig, prefix+"kubeconfig", "", "kubeconfig file DescribeClusterUserKubeconfig hands out (a real API server)")
	fs.IntVar(&fl.notFoundReads, prefix+"not-found-reads", 0, "reads answered NotFound right after a resource is created")
	fs.IntVar(&fl.pendingReads, prefix+"pending-reads", 0, "reads of a new VPC or vSwitch answered Status Pending")
	fs.DurationVar(&fl.createTime, prefix+"cluster-create-time", 20*time.Second, "time a new cluster stays initial")
	fs.DurationVar(&fl.updateTime, prefix+"cluster-update-time", 5*time.Second, "time ModifyCluster keeps a cluster updating")
	fs.DurationVar(&fl.deleteTime, prefix+"cluster-delete-time", 10*time.Second, "time a deleted cluster stays deleting")
	fs.StringVar(&fl.clusterFailure, prefix+"cluster-failure", "", "if set, new clusters end in state failed with this reason")
	fs.Var(&fl.throttle, prefix+"throttle", "Action:next=N or Action:every=K; answer calls of Action with Throttling.User (repeatable)")
	fs.Var(&fl.dependency, prefix+"dependency-failures", "DeleteAction=N: the next N calls fail with a dependency error (repeatable)")
	return fl
}

// Options turns the parsed flags into Options.
func (fl *Flags) Options() (Options, error) {
	opts := Options{
		Region:      fl.region,
		Credentials: map[string]string{fl.accessKeyID: fl.accessKeySecret},
		Faults: Faults{
			NotFoundReads: fl.notFoundReads, PendingReads: fl.pendingReads,
			ClusterCreateTime: fl.createTime, ClusterUpdateTime: fl.updateTime, ClusterDeleteTime: fl.deleteTime,
			ClusterFailure: fl.clusterFailure,
			Throttle:       map[string]Throttle{}, DependencyFailures: map[string]int{},
		},
	}
	if fl.accessKeyID == "" || fl.accessKeySecret == "" {
		return Options{}, fmt.Errorf("access key id and secret must not be empty")
	}
	for _, d := range strings.Split(fl.domains, ",") {
		if d = strings.TrimSpace(d); d != "" {
			opts.Domains = append(opts.Domains, d)
		}
	}
	if fl.kubeconfig != "" {
		opts.Kubeconfig = KubeconfigFile(fl.kubeconfig)
	}
	for _, spec := range fl.throttle {
		action, rule, ok := strings.Cut(spec, ":")
		kind, n, ok2 := strings.Cut(rule, "=")
		count, err := strconv.Atoi(n)
		if !ok || !ok2 || err != nil || count < 0 || action == "" {
			return Options{}, fmt.Errorf("throttle %q: want Action:next=N or Action:every=K", spec)
		}
		t := opts.Faults.Throttle[action]
		switch kind {
		case "next":
			t.Next = count
		case "every":
			t.Every = count
		default:
			return Options{}, fmt.Errorf("throttle %q: want next or every, not %q", spec, kind)
		}
		opts.Faults.Throttle[action] = t
	}
	for _, spec := range fl.dependency {
		action, n, ok := strings.Cut(spec, "=")
		count, err := strconv.Atoi(n)
		if !ok || err != nil || count < 0 || action == "" {
			return Options{}, fmt.Errorf("dependency failures %q: want DeleteAction=N", spec)
		}
		opts.Faults.DependencyFailures[action] = count
	}
	return opts, nil
}
