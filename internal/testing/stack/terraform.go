package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Terraform runs the terraform CLI (from PATH, or TF_ACC_TERRAFORM_PATH) in one root module directory,
// with the provider from ProviderMirror and an environment of its own: nothing of the caller's
// environment but PATH reaches it, so the configuration alone says where the clouds are. A failed
// command fails the test with its output and the tail of terraform's log (provider logs included).
type Terraform struct {
	t   testing.TB
	bin string
	dir string
	env []string
	log string
}

// NewTerraform prepares a runner for the root module in dir.
func NewTerraform(t testing.TB, dir string) *Terraform {
	t.Helper()
	bin := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("terraform"); err != nil {
			t.Fatal("terraform is not on PATH: install the terraform CLI (1.11 or later), or set TF_ACC_TERRAFORM_PATH")
		}
	}
	cliConfig := ProviderMirror(t).ConfigFile
	home := t.TempDir()
	log := filepath.Join(t.TempDir(), "terraform.log")
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"TMPDIR=" + os.TempDir(),
		"TF_CLI_CONFIG_FILE=" + cliConfig,
		"TF_IN_AUTOMATION=1",
		"TF_INPUT=0",
		"CHECKPOINT_DISABLE=1",
		"TF_LOG_PROVIDER=DEBUG",
		"TF_LOG_PATH=" + log,
	}
	return &Terraform{t: t, bin: bin, dir: dir, env: env, log: log}
}

// run runs one terraform command and returns its stdout and exit code; codes other than those in ok
// fail the test.
func (tf *Terraform) run(ctx context.Context, ok []int, args ...string) (string, int) {
	tf.t.Helper()
	cmd := exec.CommandContext(ctx, tf.bin, args...)
	cmd.Dir, cmd.Env = tf.dir, tf.env
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		code = -1
	}
	tf.t.Logf("terraform %s: exit %d after %s", strings.Join(args, " "), code, time.Since(start).Round(100*time.Millisecond))
	for _, c := range ok {
		if c == code {
			return stdout.String(), code
		}
	}
	tf.t.Fatalf("terraform %s in %s: %v\nstdout:\n%s\nstderr:\n%s\nlog tail:\n%s", strings.Join(args, " "), tf.dir, err,
		stdout.String(), stderr.String(), tf.logTail(64<<10))
	return "", code
}

// logTail is the end of terraform's log file.
func (tf *Terraform) logTail(n int64) string {
	b, err := os.ReadFile(tf.log)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if int64(len(b)) > n {
		b = b[int64(len(b))-n:]
	}
	return string(b)
}

// Init runs terraform init (offline: the provider comes from the mirror).
func (tf *Terraform) Init(ctx context.Context) {
	tf.t.Helper()
	tf.run(ctx, []int{0}, "init", "-no-color")
}

// Apply runs terraform apply -auto-approve with extra arguments (e.g. -var).
func (tf *Terraform) Apply(ctx context.Context, args ...string) {
	tf.t.Helper()
	tf.run(ctx, []int{0}, append([]string{"apply", "-auto-approve", "-no-color"}, args...)...)
}

// Plan runs terraform plan -detailed-exitcode and returns whether it has changes, with its output.
func (tf *Terraform) Plan(ctx context.Context, args ...string) (changes bool, out string) {
	tf.t.Helper()
	out, code := tf.run(ctx, []int{0, 2}, append([]string{"plan", "-detailed-exitcode", "-no-color"}, args...)...)
	return code == 2, out
}

// Destroy runs terraform destroy -auto-approve.
func (tf *Terraform) Destroy(ctx context.Context, args ...string) {
	tf.t.Helper()
	tf.run(ctx, []int{0}, append([]string{"destroy", "-auto-approve", "-no-color"}, args...)...)
}

// Output is one root module output of `terraform output -json`.
type Output struct {
	Sensitive bool            `json:"sensitive"`
	Value     json.RawMessage `json:"value"`
}

// Outputs returns the root module's outputs (sensitive ones with their values).
func (tf *Terraform) Outputs(ctx context.Context) map[string]Output {
	tf.t.Helper()
	out, _ := tf.run(ctx, []int{0}, "output", "-json")
	var outputs map[string]Output
	if err := json.Unmarshal([]byte(out), &outputs); err != nil {
		tf.t.Fatalf("terraform output -json: %v\n%s", err, out)
	}
	return outputs
}

// String is a string output's value; it fails the test when the output is missing or not a string.
func (tf *Terraform) String(outputs map[string]Output, name string) string {
	tf.t.Helper()
	o, ok := outputs[name]
	if !ok {
		tf.t.Fatalf("no output %q (have %s)", name, strings.Join(keys(outputs), ", "))
	}
	var s string
	if err := json.Unmarshal(o.Value, &s); err != nil {
		tf.t.Fatalf("output %q is not a string: %s", name, o.Value)
	}
	return s
}

func keys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// WriteFile writes a file of the root module (its configuration, a tfvars file).
func (tf *Terraform) WriteFile(name, content string) {
	tf.t.Helper()
	if err := os.WriteFile(filepath.Join(tf.dir, name), []byte(content), 0o600); err != nil {
		tf.t.Fatal(err)
	}
}
