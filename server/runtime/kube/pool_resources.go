package kube

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// setPoolResources reads spec.resources of a SandboxPool (cpuMillis, memoryMB) into p.
func setPoolResources(p *sandbox.Pool, u *unstructured.Unstructured) {
	cpu, _, _ := unstructured.NestedInt64(u.Object, "spec", "resources", "cpuMillis")
	mem, _, _ := unstructured.NestedInt64(u.Object, "spec", "resources", "memoryMB")
	p.Resources = sandbox.Limits{CPUMillis: cpu, MemoryMB: mem}
}

// putPoolResources writes p's resources into a SandboxPool's spec (omitted when both are the
// template's).
func putPoolResources(spec map[string]any, p sandbox.Pool) {
	res := map[string]any{}
	if p.Resources.CPUMillis != 0 {
		res["cpuMillis"] = p.Resources.CPUMillis
	}
	if p.Resources.MemoryMB != 0 {
		res["memoryMB"] = p.Resources.MemoryMB
	}
	if len(res) > 0 {
		spec["resources"] = res
	}
}
