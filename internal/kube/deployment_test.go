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
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acctest"
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
	ca         testCA
	replicas   int
	imageTag   string // "" leaves the default (the provider's version)
	image      string // "" leaves the default
	namespace  string
	sandboxNS  string
	create     string // create timeout
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
	return fmt.Sprintf(`
resource "sandbox_manager_deployment" "test" {
  kubeconfig        = %s
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
`, heredoc(c.kubeconfig), c.namespace, c.sandboxNS, testDomain, c.replicas, extra, heredoc(c.ca.certPEM), heredoc(c.ca.keyPEM), create)
}

func TestAccManagerDeployment(t *testing.T) {
	c := startCluster(t)
	ca := newTestCA(t, testDomain)
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
				Check:       func(*terraform.State) error { return nil },
			}},
		})
		t.Logf("TIMING bad image: diagnostic and destroy after %s", time.Since(started).Round(10*time.Millisecond))
	})

	t.Run("lifecycle", func(t *testing.T) {
		cfg := deploymentConfig{kubeconfig: c.kubeconfig, ca: ca, replicas: 2, namespace: managerNS, sandboxNS: sandboxNS}
		scaled := cfg
		scaled.replicas, scaled.imageTag = 3, updatedTag
		timer := &stepTimer{t: t}
		var lbIP string
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: acctest.Factories(),
			CheckDestroy:             c.checkNothingLeft(managerNS, sandboxNS),
			Steps: []resource.TestStep{
				{
					PreConfig: timer.begin,
					Config:    cfg.hcl(),
					Check: resource.ComposeAggregateTestCheckFunc(
						timer.done("create → rollout done (2 replicas, load balancer address)"),
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
						func(s *terraform.State) error {
							attrs := s.RootModule().Resources[resourceName].Primary.Attributes
							lbIP = attrs["load_balancer_ip"]
							if lbIP == "" || attrs["load_balancer_address"] != lbIP || attrs["manager_address"] != lbIP+":443" {
								return fmt.Errorf("load balancer outputs: ip %q address %q manager_address %q",
									lbIP, attrs["load_balancer_address"], attrs["manager_address"])
							}
							return httpsHealth(ca, testDomain, lbIP)
						},
						c.checkPoolFilled(sandboxNS, "code-interpreter", 1),
						c.checkNoKeyInPodSpec(managerNS),
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
					}},
					Check: resource.ComposeAggregateTestCheckFunc(
						timer.done("update replicas 2→3 and image tag → rollout done"),
						c.checkRolledOut(managerNS, 3, defaultImage+":"+updatedTag),
						resource.TestCheckResourceAttr(resourceName, "template_images.tag", updatedTag),
					),
				},
				{
					// Drift: the Deployment deleted by hand shows in the plan, and the apply restores it.
					PreConfig: func() {
						err := c.kube.AppsV1().Deployments(managerNS).Delete(context.Background(), "sandbox-manager", metav1.DeleteOptions{})
						if err != nil {
							t.Fatal(err)
						}
						timer.begin()
					},
					Config: scaled.hcl(),
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(resourceName, plancheck.ResourceActionUpdate),
					}},
					ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownValue(resourceName, tfjsonpath.New("replicas"), knownvalue.Int64Exact(3)),
					},
					Check: resource.ComposeAggregateTestCheckFunc(
						timer.done("restore a deleted Deployment (3 replicas)"),
						c.checkRolledOut(managerNS, 3, defaultImage+":"+updatedTag),
						c.checkKillOnePodKeepsServing(managerNS, ca, func() string { return lbIP }),
					),
				},
				{
					// Drift: a replica count changed by hand.
					PreConfig: func() {
						ctx := context.Background()
						d, err := c.kube.AppsV1().Deployments(managerNS).Get(ctx, "sandbox-manager", metav1.GetOptions{})
						if err != nil {
							t.Fatal(err)
						}
						one := int32(1)
						d.Spec.Replicas = &one
						if _, err := c.kube.AppsV1().Deployments(managerNS).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
							t.Fatal(err)
						}
					},
					Config: scaled.hcl(),
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(resourceName, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(resourceName, tfjsonpath.New("replicas"), knownvalue.Int64Exact(3)),
					}},
					Check: c.checkRolledOut(managerNS, 3, defaultImage+":"+updatedTag),
				},
			},
		})
	})
}
