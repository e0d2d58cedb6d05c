package modules_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/tfmirror"
)

// The modules of this directory, each with examples/minimal and examples/full.
var moduleNames = []string{"alicloud-acs-sandbox", "aws-osworld"}

// remoteSource is how the READMEs' examples refer to a module; the examples' own files use "../..".
const remoteSource = "github.com/sandboxstack/terraform-provider-sandbox//modules/"

func TestFormatted(t *testing.T) {
	requireTerraform(t)
	out, err := exec.CommandContext(t.Context(), "terraform", "fmt", "-check", "-recursive", "-diff", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("terraform fmt -check -recursive modules: %v\n%s", err, out)
	}
}

// TestTerraform runs, with the provider of this repository installed offline from a filesystem mirror,
// terraform init and validate on every module and every example (valid, without warnings), and each
// module's `terraform test` files (tests/*.tftest.hcl: its logic planned and applied against a mocked
// provider, and the failure of every validation).
func TestTerraform(t *testing.T) {
	requireTerraform(t)
	mirror := tfmirror.New(t, tfmirror.Options{})
	work := t.TempDir()
	for _, name := range moduleNames {
		// A copy keeps .terraform and the lock files out of the source tree; the examples' "../.." still
		// reaches the module in it.
		copyTree(t, name, filepath.Join(work, name))
		for _, dir := range []string{".", "examples/minimal", "examples/full"} {
			t.Run("validate/"+name+"/"+dir, func(t *testing.T) {
				dir := filepath.Join(work, name, dir)
				initialize(t, mirror, dir)
				validate(t, mirror, dir)
			})
		}
		t.Run("test/"+name, func(t *testing.T) {
			dir := filepath.Join(work, name)
			initialize(t, mirror, dir)
			out, err := mirror.Command(t.Context(), dir, "test", "-no-color").CombinedOutput()
			if err != nil {
				t.Fatalf("terraform test: %v\n%s", err, out)
			}
			t.Logf("%s", out)
		})
	}
}

func initialize(t *testing.T, mirror *tfmirror.Mirror, dir string) {
	t.Helper()
	if out, err := mirror.Command(t.Context(), dir, "init", "-input=false", "-backend=false", "-no-color").CombinedOutput(); err != nil {
		t.Fatalf("terraform init: %v\n%s", err, out)
	}
}

func validate(t *testing.T, mirror *tfmirror.Mirror, dir string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := mirror.Command(t.Context(), dir, "validate", "-json", "-no-color")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var result struct {
		Valid        bool `json:"valid"`
		WarningCount int  `json:"warning_count"`
		Diagnostics  []struct {
			Severity string `json:"severity"`
			Summary  string `json:"summary"`
			Detail   string `json:"detail"`
			Range    *struct {
				Filename string `json:"filename"`
				Start    struct {
					Line int `json:"line"`
				} `json:"start"`
			} `json:"range"`
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &result); err != nil {
		t.Fatalf("terraform validate: %v (%v)\n%s%s", err, runErr, stdout.String(), stderr.String())
	}
	for _, d := range result.Diagnostics {
		where := ""
		if d.Range != nil {
			where = fmt.Sprintf("%s:%d: ", d.Range.Filename, d.Range.Start.Line)
		}
		t.Errorf("%s%s: %s: %s", where, d.Severity, d.Summary, d.Detail)
	}
	if !result.Valid || result.WarningCount != 0 || runErr != nil {
		t.Fatalf("terraform validate: valid=%v, %d warnings, %v", result.Valid, result.WarningCount, runErr)
	}
}

// TestREADMEExamples checks that each module's README shows its examples as they are validated, with the
// module's remote source instead of "../..".
func TestREADMEExamples(t *testing.T) {
	for _, name := range moduleNames {
		readme, err := os.ReadFile(filepath.Join(name, "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		for _, example := range []string{"minimal", "full"} {
			path := filepath.Join(name, "examples", example, "main.tf")
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			local := `source = "../.."`
			if !bytes.Contains(src, []byte(local)) {
				t.Fatalf("%s: no %s", path, local)
			}
			shown := strings.Replace(string(src), local, `source = "`+remoteSource+name+`"`, 1)
			if !strings.Contains(string(readme), "```hcl\n"+shown+"```\n") {
				t.Errorf("%s/README.md does not show %s as it is (with source = %q); paste it again", name, path, remoteSource+name)
			}
		}
	}
}

// TestREADMEDocumentsEveryInputAndOutput checks that the README's tables name every variable and output.
func TestREADMEDocumentsEveryInputAndOutput(t *testing.T) {
	for _, name := range moduleNames {
		readme, err := os.ReadFile(filepath.Join(name, "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		for file, block := range map[string]*regexp.Regexp{"variables.tf": variableBlock, "outputs.tf": outputBlock} {
			src, err := os.ReadFile(filepath.Join(name, file))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range block.FindAllSubmatch(src, -1) {
				if !bytes.Contains(readme, []byte("| `"+string(m[1])+"`")) {
					t.Errorf("%s/README.md: no row for %s of %s", name, m[1], file)
				}
			}
		}
	}
}

var (
	variableBlock = regexp.MustCompile(`(?m)^variable "([a-z0-9_]+)"`)
	outputBlock   = regexp.MustCompile(`(?m)^output "([a-z0-9_]+)"`)
)

func requireTerraform(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("terraform"); err != nil {
		t.Fatal("the terraform CLI must be on PATH: ", err)
	}
}

// copyTree copies the module at src to dst, leaving out what terraform init left in the source tree.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.Name() == ".terraform" || d.Name() == ".terraform.lock.hcl" || strings.HasPrefix(d.Name(), "terraform.tfstate") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}
