package alicloud_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acctest"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubeharness"
)

const clusterAddr = "sandbox_alicloud_acs_cluster.test"

// startClusterFake is a fake of the test's own whose clusters take a second to come up, hand out
// the kubeconfig in kubeconfigPath and need a little while to be updated and deleted.
func startClusterFake(t *testing.T, kubeconfigPath string, faults alifake.Faults) *acctest.FakeAlibaba {
	t.Helper()
	faults.ClusterCreateTime, faults.ClusterUpdateTime, faults.ClusterDeleteTime = time.Second, 300*time.Millisecond, 500*time.Millisecond
	return &acctest.FakeAlibaba{Fake: alifake.New(t, alifake.Options{Faults: faults, Kubeconfig: alifake.KubeconfigFile(kubeconfigPath)})}
}

// unusedKubeconfig is a kubeconfig file for tests that never talk to the cluster's API server.
func unusedKubeconfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:6443
contexts:
- name: c
  context:
    cluster: c
    user: u
current-context: c
users:
- name: u
  user:
    token: unused
`
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// clusterNetwork is a VPC and a vSwitch for a cluster.
func clusterNetwork(name, vpcCIDR string) string {
	return fmt.Sprintf(`
resource "sandbox_alicloud_vpc" "test" {
  cidr_block = %[2]q
  name       = %[1]q
}

resource "sandbox_alicloud_vswitch" "test" {
  vpc_id     = sandbox_alicloud_vpc.test.id
  zone_id    = %[3]q
  cidr_block = cidrsubnet(%[2]q, 8, 1)
  name       = %[1]q
}
`, name, vpcCIDR, testZone())
}

func clusterConfig(name, vpcCIDR, serviceCIDR, extra string) string {
	return clusterNetwork(name, vpcCIDR) + fmt.Sprintf(`
resource "sandbox_alicloud_acs_cluster" "test" {
  name         = %[1]q
  vpc_id       = sandbox_alicloud_vpc.test.id
  vswitch_ids  = [sandbox_alicloud_vswitch.test.id]
  service_cidr = %[2]q
  %[3]s
}
`, name, serviceCIDR, extra)
}

// listNamespaces reads the kubeconfig from the state and lists the namespaces of the API server it
// points at.
func listNamespaces(s *terraform.State) error {
	rs, ok := s.RootModule().Resources[clusterAddr]
	if !ok {
		return fmt.Errorf("%s is not in the state", clusterAddr)
	}
	kc := rs.Primary.Attributes["kubeconfig"]
	if kc == "" {
		return fmt.Errorf("%s has no kubeconfig", clusterAddr)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(kc))
	if err != nil {
		return fmt.Errorf("the kubeconfig in the state: %w", err)
	}
	if rs.Primary.Attributes["api_server_endpoint"] != cfg.Host {
		return fmt.Errorf("api_server_endpoint %q is not the kubeconfig's server %q", rs.Primary.Attributes["api_server_endpoint"], cfg.Host)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing namespaces with the kubeconfig from the state: %w", err)
	}
	for _, ns := range list.Items {
		if ns.Name == "kube-system" {
			return nil
		}
	}
	return fmt.Errorf("the API server lists %d namespaces, none is kube-system", len(list.Items))
}

// checkFakeCluster checks the cluster as the fake holds it.
func checkFakeCluster(f *acctest.FakeAlibaba, name string, deletionProtection bool) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		id, err := idOf(s, clusterAddr)
		if err != nil {
			return err
		}
		for _, c := range f.Clusters() {
			if c.ID != id {
				continue
			}
			if c.Name != name || c.State != "running" || c.ClusterType != "ManagedKubernetes" || c.Profile != "Acs" ||
				c.ClusterSpec != "ack.pro.small" || c.ServiceCIDR != "172.21.0.0/20" || c.DeletionProtection != deletionProtection {
				return fmt.Errorf("the fake's cluster is %+v; want name %q, running, ManagedKubernetes/Acs/ack.pro.small, "+
					"service CIDR 172.21.0.0/20, deletion protection %t", c, name, deletionProtection)
			}
			return nil
		}
		return fmt.Errorf("the fake holds no cluster %s", id)
	}
}

// TestAccAlicloudACSCluster_basic creates a cluster whose kubeconfig reaches a real kube-apiserver,
// imports it, changes it in place (name, tags, deletion protection) and destroys it with its
// deletion protection on.
func TestAccAlicloudACSCluster_basic(t *testing.T) {
	kube := kubeharness.Start(t, kubeharness.Options{})
	f := startClusterFake(t, kube.Kubeconfig(), alifake.Faults{})
	name := acctest.RandomName()
	sameID := statecheck.CompareValue(compare.ValuesSame())
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy:             checkNoLeftovers(f),
		Steps: []resource.TestStep{
			{
				Config: f.ProviderConfig() + clusterConfig(name, "10.80.0.0/16", "172.21.0.0/20", `tags = { env = "test" }`),
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(clusterAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("cluster_spec"), knownvalue.StringExact("ack.pro.small")),
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("kubernetes_version"), knownvalue.StringExact(alifake.DefaultKubernetesVersion)),
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("security_group_id"), knownvalue.StringRegexp(regexp.MustCompile(`^sg-`))),
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("api_server_endpoint"), knownvalue.StringExact(kube.URL())),
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("kubeconfig_expiration"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("tags"), knownvalue.MapExact(map[string]knownvalue.Check{"env": knownvalue.StringExact("test")})),
					statecheck.CompareValuePairs(clusterAddr, tfjsonpath.New("vpc_id"), vpcAddr, tfjsonpath.New("id"), compare.ValuesSame()),
				},
				Check: resource.ComposeAggregateTestCheckFunc(listNamespaces, checkFakeCluster(f, name, false),
					// The create waited through "initial": the cluster was read more than once.
					atLeastCalls(f, "DescribeClusterDetail", 2),
					// The refreshes after the apply kept the kubeconfig instead of fetching it again.
					exactCalls(f, "DescribeClusterUserKubeconfig", 1)),
			},
			{
				ResourceName:      clusterAddr,
				ImportState:       true,
				ImportStateVerify: true,
				// The kubeconfig is fetched again on import, with a new expiration.
				ImportStateVerifyIgnore: []string{"timeouts", "kubeconfig", "kubeconfig_expiration"},
			},
			{
				Config: f.ProviderConfig() + clusterConfig(name+"-2", "10.80.0.0/16", "172.21.0.0/20",
					"deletion_protection = true\n  tags = { env = \"prod\" }"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(clusterAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(clusterAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("tags"), knownvalue.MapExact(map[string]knownvalue.Check{"env": knownvalue.StringExact("prod")})),
				},
				Check: resource.ComposeAggregateTestCheckFunc(listNamespaces, checkFakeCluster(f, name+"-2", true)),
			},
		},
	})
}

// TestAccAlicloudACSCluster_securityGroup gives the cluster a security group of the configuration's
// own: the cluster uses it, and destroying the cluster leaves it to its own resource.
func TestAccAlicloudACSCluster_securityGroup(t *testing.T) {
	f := startClusterFake(t, unusedKubeconfig(t), alifake.Faults{})
	name := acctest.RandomName()
	group := `
resource "sandbox_alicloud_security_group" "test" {
  vpc_id = sandbox_alicloud_vpc.test.id
  preset = "sandbox-manager"
}
`
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy:             checkNoLeftovers(f),
		Steps: []resource.TestStep{
			{
				Config: f.ProviderConfig() + group + clusterConfig(name, "10.81.0.0/16", "172.21.0.0/20",
					"security_group_id = sandbox_alicloud_security_group.test.id"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.CompareValuePairs(clusterAddr, tfjsonpath.New("security_group_id"),
						"sandbox_alicloud_security_group.test", tfjsonpath.New("id"), compare.ValuesSame()),
				},
				Check: func(s *terraform.State) error {
					want := s.RootModule().Resources["sandbox_alicloud_security_group.test"].Primary.ID
					for _, c := range f.Clusters() {
						if c.Name == name && c.SecurityGroupID != want {
							return fmt.Errorf("the fake's cluster has security group %q, want %q", c.SecurityGroupID, want)
						}
					}
					return nil
				},
			},
			{
				Config:      f.ProviderConfig() + group + clusterConfig(name, "10.81.0.0/16", "172.21.0.0/20", `security_group_id = "not-a-group"`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`must be a security group ID`),
			},
			{
				ResourceName:            clusterAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts", "kubeconfig", "kubeconfig_expiration"},
			},
			{
				// Removed from the configuration, the group stays the cluster's: no replacement.
				Config: f.ProviderConfig() + group + clusterConfig(name, "10.81.0.0/16", "172.21.0.0/20", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(clusterAddr, plancheck.ResourceActionNoop),
				}},
			},
		},
	})
}

// TestAccAlicloudACSCluster_failed: a cluster that ends "failed" is an error quoting the API's reason;
// destroy removes the failed cluster.
func TestAccAlicloudACSCluster_failed(t *testing.T) {
	const reason = "The quota of ACS vCPUs in cn-hangzhou is exhausted."
	f := startClusterFake(t, unusedKubeconfig(t), alifake.Faults{ClusterFailure: reason})
	name := acctest.RandomName()
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy:             checkNoLeftovers(f),
		Steps: []resource.TestStep{
			{
				Config:      f.ProviderConfig() + clusterConfig(name, "10.81.0.0/16", "172.21.0.0/20", ""),
				ExpectError: regexp.MustCompile(`(?s)ACS Cluster Creation Failed.*ClusterCreateFailed: The\s+quota\s+of\s+ACS\s+vCPUs\s+in\s+cn-hangzhou\s+is\s+exhausted`),
			},
		},
	})
}

// TestAccAlicloudACSCluster_serviceCIDR: a service CIDR overlapping the existing VPC, or no CIDR at
// all, is refused at plan time.
func TestAccAlicloudACSCluster_serviceCIDR(t *testing.T) {
	f := startClusterFake(t, unusedKubeconfig(t), alifake.Faults{})
	name := acctest.RandomName()
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy:             checkNoLeftovers(f),
		Steps: []resource.TestStep{
			{Config: f.ProviderConfig() + clusterNetwork(name, "172.16.0.0/12")},
			{
				Config:      f.ProviderConfig() + clusterConfig(name, "172.16.0.0/12", "172.21.0.0/20", ""),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Service CIDR Overlaps the VPC.*172\.21\.0\.0/20 overlaps the CIDR block of VPC.*192\.168\.0\.0/20`),
			},
			{
				Config:      f.ProviderConfig() + clusterConfig(name, "172.16.0.0/12", "not-a-cidr", ""),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`"not-a-cidr" is not an IPv4 CIDR block`),
			},
			{Config: f.ProviderConfig() + clusterNetwork(name, "172.16.0.0/12")}, // what destroy runs with
		},
	})
}

// TestAccAlicloudACSCluster_disappears deletes the cluster out of band: the next plan creates it again.
func TestAccAlicloudACSCluster_disappears(t *testing.T) {
	f := startClusterFake(t, unusedKubeconfig(t), alifake.Faults{})
	name := acctest.RandomName()
	config := f.ProviderConfig() + clusterConfig(name, "10.82.0.0/16", "172.21.0.0/20", "")
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy:             checkNoLeftovers(f),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(s *terraform.State) error {
					id, err := idOf(s, clusterAddr)
					if err != nil {
						return err
					}
					return f.DeleteOutOfBand(id)
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(clusterAddr, plancheck.ResourceActionCreate),
				}},
				Check: checkFakeCluster(f, name, false),
			},
		},
	})
}

// TestAccAlicloudACSCluster_throttled: create, reads and delete survive CS throttling.
func TestAccAlicloudACSCluster_throttled(t *testing.T) {
	f := startClusterFake(t, unusedKubeconfig(t), alifake.Faults{Throttle: map[string]alifake.Throttle{
		"CreateCluster":                 {Next: 2},
		"DescribeClusterDetail":         {Next: 2, Every: 3},
		"DescribeClusterUserKubeconfig": {Next: 1},
		"DeleteCluster":                 {Next: 2},
	}})
	name := acctest.RandomName()
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(checkNoLeftovers(f),
			atLeastCalls(f, "DeleteCluster", 3)),
		Steps: []resource.TestStep{
			{
				Config: f.ProviderConfig() + clusterConfig(name, "10.83.0.0/16", "172.21.0.0/20", ""),
				Check: resource.ComposeAggregateTestCheckFunc(checkFakeCluster(f, name, false),
					atLeastCalls(f, "CreateCluster", 3), atLeastCalls(f, "DescribeClusterDetail", 4),
					atLeastCalls(f, "DescribeClusterUserKubeconfig", 2)),
			},
		},
	})
}

// exactCalls checks that the fake answered action exactly n times.
func exactCalls(f *acctest.FakeAlibaba, action string, n int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if got := f.CallCount(action); got != n {
			return fmt.Errorf("the fake answered %s %d times, want %d", action, got, n)
		}
		return nil
	}
}

// TestAccAlicloudACSCluster_temporaryKubeconfig asks for a temporary kubeconfig. The fake's clock is two
// hours behind, so the 15-minute kubeconfig has expired as soon as it is handed out: every refresh
// fetches it again, and the plan stays empty all the same.
func TestAccAlicloudACSCluster_temporaryKubeconfig(t *testing.T) {
	clock := alifake.NewManualClock(time.Now().Add(-2 * time.Hour).Truncate(time.Second))
	f := &acctest.FakeAlibaba{Fake: alifake.New(t, alifake.Options{Clock: clock, Kubeconfig: alifake.KubeconfigFile(unusedKubeconfig(t))})}
	name := acctest.RandomName()
	config := f.ProviderConfig() + clusterConfig(name, "10.84.0.0/16", "172.21.0.0/20", "kubeconfig_validity_minutes = 15")
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy:             checkNoLeftovers(f),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("kubeconfig_expiration"),
						knownvalue.StringExact(clock.Now().Add(15*time.Minute).UTC().Format(time.RFC3339))),
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("api_server_endpoint"), knownvalue.StringExact("https://127.0.0.1:6443")),
				},
				Check: exactCalls(f, "DescribeClusterUserKubeconfig", 1),
			},
			{
				// The refreshes since fetched the expired kubeconfig again, without a diff.
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
				Check: atLeastCalls(f, "DescribeClusterUserKubeconfig", 2),
			},
		},
	})
}
