package kube_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acctest"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/testca"
)

const (
	testDomain    = "sbx.example.test"
	managerNS     = "sbx-system"
	sandboxNS     = "sbx-sandboxes"
	resourceName  = "sandbox_manager_deployment.test"
	defaultImage  = "ghcr.io/sandboxstack/sandbox-manager"
	providerTag   = "test" // acctest.Factories' provider version
	updatedTag    = "next"
	managerLabels = "app.kubernetes.io/name=sandbox-manager"
)

type deploymentConfig struct {
	kubeconfig string
	connection string // host, cluster_ca_certificate and token instead of the kubeconfig
	ca         *testca.CA
	replicas   int
	imageTag   string // "" leaves the default (the provider's version)
	image      string // "" leaves the default
	namespace  string
	sandboxNS  string
	create     string // create timeout
	// clients adds a sandbox_pool and a sandbox_api_key on the manager, through the outputs.
	clients bool
}

func (c deploymentConfig) hcl() string {
	extra := ""
	if c.imageTag != "" {
		extra += fmt.Sprintf("  image_tag = %q\n", c.imageTag)
	}
	if c.image != "" {
		extra += fmt.Sprintf("  image = %q\n", c.image)
	}
	create := c.create
	if create == "" {
		create = "5m"
	}
	connection := c.connection
	if connection == "" {
		connection = "  kubeconfig = " + heredoc(c.kubeconfig)
	}
	return fmt.Sprintf(`
resource "sandbox_manager_deployment" "test" {
%s
  namespace         = %q
  sandbox_namespace = %q
  domain            = %q
  replicas          = %d
%s
  tls_certificate            = %s
  tls_private_key_wo         = %s
  tls_private_key_wo_version = 1

  service = {
    annotations = {
      "service.beta.kubernetes.io/aws-load-balancer-type" = "nlb"
    }
  }
  pools = [{ template = "code-interpreter", size = 1 }]

  timeouts {
    create = %q
    update = "5m"
    delete = "5m"
  }
}
`, connection, c.namespace, c.sandboxNS, testDomain, c.replicas, extra, heredoc(string(c.ca.LeafPEM)), heredoc(string(c.ca.KeyPEM)), create) + c.clientsHCL()
}

func (c deploymentConfig) clientsHCL() string {
	if !c.clients {
		return ""
	}
	manager := fmt.Sprintf(`
  endpoint        = sandbox_manager_deployment.test.manager_endpoint
  admin_key       = sandbox_manager_deployment.test.admin_key
  connect_address = sandbox_manager_deployment.test.manager_address
  ca_certificate  = %s`, heredoc(string(c.ca.CertPEM)))
	return fmt.Sprintf(`
resource "sandbox_pool" "sdk" {
  name     = "sdk-pool"
  template = "code-interpreter"
  size     = 1
%s
}

resource "sandbox_api_key" "sdk" {
  name = "sdk"
%s
}
`, manager, manager)
}

func TestAccManagerDeployment(t *testing.T) {
	c := startCluster(t)
	ca := testca.New(t, "*."+testDomain, testDomain)
	// The import reads the cluster through KUBECONFIG, as a user's terraform import does.
	t.Setenv("KUBECONFIG", c.Kubeconfig())

	t.Run("bad image", func(t *testing.T) {
		cfg := deploymentConfig{kubeconfig: c.kubeconfig, ca: ca, replicas: 1, image: "ghcr.io/sandboxstack/no-such-image",
			namespace: "bad-system", sandboxNS: "bad-sandboxes", create: "3m"}
		started := time.Now()
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: acctest.Factories(),
			CheckDestroy:             c.checkNothingLeft("bad-system", "bad-sandboxes"),
			Steps: []resource.TestStep{{
				Config:      cfg.hcl(),
				ExpectError: regexp.MustCompile(`(?s)Sandbox Manager Pod Cannot Run.*ErrImagePull.*no-such-image`),
			}},
		})
		t.Logf("TIMING bad image: diagnostic and destroy after %s", time.Since(started).Round(10*time.Millisecond))
	})

	t.Run("lifecycle", func(t *testing.T) {
		cfg := deploymentConfig{kubeconfig: c.kubeconfig, ca: ca, replicas: 2, namespace: managerNS, sandboxNS: sandboxNS, clients: true}
		scaled := cfg
		scaled.replicas, scaled.imageTag = 3, updatedTag
		timer := &stepTimer{t: t}
		sdk := &sdkUser{t: t, ca: ca}
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: acctest.Factories(),
			CheckDestroy:             c.checkNothingLeft(managerNS, sandboxNS),
			Steps: []resource.TestStep{
				{
					PreConfig: timer.begin,
					Config:    cfg.hcl(),
					Check: resource.ComposeAggregateTestCheckFunc(
						timer.done("create → rollout done, pool and API key made (2 replicas)"),
						c.checkRolledOut(managerNS, 2, defaultImage+":"+providerTag),
						resource.TestCheckResourceAttr(resourceName, "id", managerNS),
						resource.TestCheckResourceAttr(resourceName, "image_tag", providerTag),
						resource.TestCheckResourceAttr(resourceName, "template_images.tag", providerTag),
						resource.TestCheckResourceAttr(resourceName, "e2b_domain", testDomain),
						resource.TestCheckResourceAttr(resourceName, "api_url", "https://api."+testDomain),
						resource.TestCheckResourceAttr(resourceName, "manager_endpoint", "https://api."+testDomain),
						resource.TestCheckResourceAttr(resourceName, "dns_record_type", "A"),
						resource.TestCheckNoResourceAttr(resourceName, "load_balancer_hostname"),
						resource.TestMatchResourceAttr(resourceName, "admin_key", regexp.MustCompile(`^[0-9a-f]{64}$`)),
						resource.TestCheckNoResourceAttr(resourceName, "tls_private_key_wo"),
						sdk.load,
						c.checkPoolFilled(sandboxNS, "code-interpreter", 1),
						c.checkNoKeyInPodSpec(managerNS),
						// The unchanged SDK with E2B_DOMAIN and an API key only, over HTTPS.
						sdk.codeInterpreter,
					),
				},
				{
					ResourceName:                         resourceName,
					ImportState:                          true,
					ImportStateId:                        managerNS,
					ImportStateVerify:                    true,
					ImportStateVerifyIdentifierAttribute: "id",
					ImportStateVerifyIgnore:              []string{"kubeconfig", "tls_private_key_wo_version", "timeouts"},
				},
				{
					PreConfig: timer.begin,
					Config:    scaled.hcl(),
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(resourceName, plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("sandbox_pool.sdk", plancheck.ResourceActionNoop),
					}},
					Check: resource.ComposeAggregateTestCheckFunc(
						timer.done("update replicas 2→3 and image tag → rollout done"),
						c.checkRolledOut(managerNS, 3, defaultImage+":"+updatedTag),
						resource.TestCheckResourceAttr(resourceName, "template_images.tag", updatedTag),
						// Killing a manager pod does not stop the SDK: a sandbox made before still
						// answers, and new ones start.
						c.checkKillOnePod(managerNS, sdk),
					),
				},
			},
		})
	})

	t.Run("drift", func(t *testing.T) {
		// This deployment reaches the cluster with host, CA and a service account token.
		cfg := deploymentConfig{connection: c.tokenConnection(t), ca: ca, replicas: 1, namespace: "drift-system", sandboxNS: "drift-sandboxes"}
		timer := &stepTimer{t: t}
		handDeleted := []object{
			{schema.GroupVersionResource{Version: "v1", Resource: "services"}, "drift-system", "sandbox-manager"},
			{schema.GroupVersionResource{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"}, "drift-system", "sandbox-manager"},
			{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}, "drift-sandboxes", "sandbox-manager"},
			{schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}, "drift-sandboxes", "sandboxes-default-deny"},
			{crdGVR, "", crdName}, // and the pool with it
		}
		replicasAre := func(n int64) plancheck.PlanCheck {
			return plancheck.ExpectKnownValue(resourceName, tfjsonpath.New("replicas"), knownvalue.Int64Exact(n))
		}
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: acctest.Factories(),
			CheckDestroy:             c.checkNothingLeft("drift-system", "drift-sandboxes"),
			Steps: []resource.TestStep{
				{Config: cfg.hcl(), Check: c.checkRolledOut("drift-system", 1, defaultImage+":"+providerTag)},
				{
					// The Deployment deleted by hand reads as 0 replicas; the apply creates it again.
					PreConfig: func() {
						if err := c.kube.AppsV1().Deployments("drift-system").Delete(context.Background(), "sandbox-manager",
							metav1.DeleteOptions{}); err != nil {
							t.Fatal(err)
						}
						timer.begin()
					},
					Config: cfg.hcl(),
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(resourceName, plancheck.ResourceActionUpdate), replicasAre(1),
					}},
					Check: resource.ComposeAggregateTestCheckFunc(
						timer.done("restore a deleted Deployment"),
						c.checkRolledOut("drift-system", 1, defaultImage+":"+providerTag),
					),
				},
				{
					// A replica count and an image changed by hand are put back.
					PreConfig: func() {
						ctx := context.Background()
						d, err := c.kube.AppsV1().Deployments("drift-system").Get(ctx, "sandbox-manager", metav1.GetOptions{})
						if err != nil {
							t.Fatal(err)
						}
						three := int32(3)
						d.Spec.Replicas = &three
						d.Spec.Template.Spec.Containers[0].Image = defaultImage + ":by-hand"
						if _, err := c.kube.AppsV1().Deployments("drift-system").Update(ctx, d, metav1.UpdateOptions{}); err != nil {
							t.Fatal(err)
						}
					},
					Config: cfg.hcl(),
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(resourceName, plancheck.ResourceActionUpdate), replicasAre(1),
						plancheck.ExpectKnownValue(resourceName, tfjsonpath.New("image_tag"), knownvalue.StringExact(providerTag)),
					}},
					Check: c.checkRolledOut("drift-system", 1, defaultImage+":"+providerTag),
				},
				{
					// Objects deleted by hand are left out of objects at refresh (the pool, gone with its
					// CRD, out of pools); the apply creates them again, and the load balancer's address
					// is the new Service's.
					PreConfig: func() {
						c.deleteObjects(t, handDeleted...)
						timer.begin()
					},
					Config: cfg.hcl(),
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(resourceName, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(resourceName, tfjsonpath.New("load_balancer_address")),
					}},
					Check: resource.ComposeAggregateTestCheckFunc(
						timer.done("restore a deleted Service, PodDisruptionBudget, RoleBinding, NetworkPolicy and CRD"),
						c.checkExist(handDeleted...),
						c.checkPoolFilled("drift-sandboxes", "code-interpreter", 1),
						resource.TestCheckResourceAttrSet(resourceName, "load_balancer_address"),
						resource.TestCheckTypeSetElemAttr(resourceName, "objects.*", "Service drift-system/sandbox-manager"),
						resource.TestCheckTypeSetElemAttr(resourceName, "objects.*", "PodDisruptionBudget drift-system/sandbox-manager"),
					),
				},
			},
		})
	})
}
