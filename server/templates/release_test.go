package templates

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/sandboxstack/terraform-provider-sandbox/server/builtin"
	"github.com/sandboxstack/terraform-provider-sandbox/server/runtime/kube"
)

// repoRoot is the repository root seen from this package: where .goreleaser.yml is, and what the paths
// in it are relative to.
const repoRoot = "../.."

// platforms are those every image is published for, and so those every binary in an image is built for.
var platforms = []string{"linux/amd64", "linux/arm64"}

// managerImage is the default image of the manager's deployment (the Terraform resource
// sandbox_manager_deployment and the deploy package take <registry>/sandbox-manager:<version>).
var managerImage = kube.DefaultImageRegistry + "/sandbox-manager"

// releaseConfig is the part of .goreleaser.yml this test checks (goreleaser v2's schema).
type releaseConfig struct {
	Builds    []build    `json:"builds"`
	Archives  []archive  `json:"archives"`
	DockersV2 []dockerV2 `json:"dockers_v2"`
}

type build struct {
	ID     string   `json:"id"`
	Binary string   `json:"binary"`
	Goos   []string `json:"goos"`
	Goarch []string `json:"goarch"`
	Ignore []struct {
		Goos   string `json:"goos"`
		Goarch string `json:"goarch"`
	} `json:"ignore"`
}

// builds reports whether the build produces a binary for the platform ("linux/arm64").
func (b build) builds(platform string) bool {
	goos, goarch, _ := strings.Cut(platform, "/")
	if !slices.Contains(b.Goos, goos) || !slices.Contains(b.Goarch, goarch) {
		return false
	}
	for _, ig := range b.Ignore {
		if (ig.Goos == "" || ig.Goos == goos) && (ig.Goarch == "" || ig.Goarch == goarch) {
			return false
		}
	}
	return true
}

type archive struct {
	ID  string   `json:"id"`
	IDs []string `json:"ids"`
}

type dockerV2 struct {
	ID         string   `json:"id"`
	IDs        []string `json:"ids"`
	Dockerfile string   `json:"dockerfile"`
	Images     []string `json:"images"`
	Tags       []string `json:"tags"`
	Platforms  []string `json:"platforms"`
	ExtraFiles []string `json:"extra_files"`
}

// contextBuilds are the builds whose binaries goreleaser puts into the image's build context: those
// named in ids, or all of them when ids is empty.
func (d dockerV2) contextBuilds(all []build) []build {
	if len(d.IDs) == 0 {
		return all
	}
	var out []build
	for _, b := range all {
		if slices.Contains(d.IDs, b.ID) {
			out = append(out, b)
		}
	}
	return out
}

func loadReleaseConfig(t *testing.T) releaseConfig {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, ".goreleaser.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg releaseConfig
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf(".goreleaser.yml: %v", err)
	}
	if len(cfg.Builds) == 0 || len(cfg.DockersV2) == 0 {
		t.Fatalf(".goreleaser.yml: %d builds and %d dockers_v2 entries; want some of each", len(cfg.Builds), len(cfg.DockersV2))
	}
	return cfg
}

// copySource is one source of a COPY or ADD that reads the build context.
type copySource struct {
	line int
	// binary is set for $TARGETPLATFORM/<binary>: a binary goreleaser built for the image's platform.
	binary string
	// file is set for any other source: a file of the repository, by its path in it.
	file string
}

// dockerfileInfo is what a Dockerfile takes from its build context, and the images it builds from.
type dockerfileInfo struct {
	bases   []string
	sources []copySource
}

// parseDockerfile reads the instructions the test checks. It follows Dockerfile syntax as far as these
// files use it: comments, line continuations, flags before COPY sources, the JSON form, and ARG scope
// (an ARG declared before the stage's first use of $TARGETPLATFORM; a FROM starts a new stage).
func parseDockerfile(path string) (dockerfileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return dockerfileInfo{}, err
	}
	defer f.Close()

	var (
		info      dockerfileInfo
		stageArgs map[string]bool
		pending   string
		startLine int
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if pending == "" && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if pending == "" {
			startLine = n
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			pending += cont + " "
			continue
		}
		instr := strings.Fields(pending + line)
		pending = ""
		if len(instr) == 0 {
			continue
		}
		switch strings.ToUpper(instr[0]) {
		case "FROM":
			stageArgs = map[string]bool{}
			for _, w := range instr[1:] {
				if !strings.HasPrefix(w, "--") {
					info.bases = append(info.bases, w)
					break
				}
			}
		case "ARG":
			for _, w := range instr[1:] {
				name, _, _ := strings.Cut(w, "=")
				stageArgs[name] = true
			}
		case "COPY", "ADD":
			args, fromStage, err := copyArgs(instr[1:])
			if err != nil {
				return info, fmt.Errorf("%s:%d: %w", path, startLine, err)
			}
			if fromStage || len(args) < 2 {
				continue
			}
			for _, src := range args[:len(args)-1] {
				s, err := classifySource(src, stageArgs)
				if err != nil {
					return info, fmt.Errorf("%s:%d: %w", path, startLine, err)
				}
				s.line = startLine
				info.sources = append(info.sources, s)
			}
		}
	}
	return info, sc.Err()
}

// copyArgs are a COPY's sources and destination without its flags; fromStage is set by --from (a
// source in another stage or image, not the context).
func copyArgs(words []string) (args []string, fromStage bool, err error) {
	for len(words) > 0 && strings.HasPrefix(words[0], "--") {
		if strings.HasPrefix(words[0], "--from=") {
			fromStage = true
		}
		words = words[1:]
	}
	rest := strings.Join(words, " ")
	if strings.HasPrefix(rest, "[") {
		if err := json.Unmarshal([]byte(rest), &args); err != nil {
			return nil, false, fmt.Errorf("COPY %s: %w", rest, err)
		}
		return args, fromStage, nil
	}
	return words, fromStage, nil
}

func classifySource(src string, stageArgs map[string]bool) (copySource, error) {
	for _, prefix := range []string{"$TARGETPLATFORM/", "${TARGETPLATFORM}/"} {
		bin, ok := strings.CutPrefix(src, prefix)
		if !ok {
			continue
		}
		if !stageArgs["TARGETPLATFORM"] {
			return copySource{}, fmt.Errorf("COPY %s: no ARG TARGETPLATFORM in this stage, so it is empty", src)
		}
		if bin == "" || strings.ContainsAny(bin, "/*?$") {
			return copySource{}, fmt.Errorf("COPY %s: want $TARGETPLATFORM/<binary>, where goreleaser puts a built binary", src)
		}
		return copySource{binary: bin}, nil
	}
	if strings.Contains(src, "$") {
		return copySource{}, fmt.Errorf("COPY %s: a variable other than $TARGETPLATFORM in a source", src)
	}
	return copySource{file: path.Clean(src)}, nil
}

// TestImagesTakeTheReleaseBinaries: every image goreleaser builds gets, in its build context, each
// binary its Dockerfile copies, for each platform it is published for, and each file it copies from
// the repository; no Dockerfile compiles what the release already built.
func TestImagesTakeTheReleaseBinaries(t *testing.T) {
	cfg := loadReleaseConfig(t)
	for _, d := range cfg.DockersV2 {
		t.Run(d.ID, func(t *testing.T) {
			if !slices.Equal(d.Platforms, platforms) {
				t.Errorf("platforms %v; want %v", d.Platforms, platforms)
			}
			for _, id := range d.IDs {
				if !slices.ContainsFunc(cfg.Builds, func(b build) bool { return b.ID == id }) {
					t.Errorf("ids: no build %q", id)
				}
			}
			info, err := parseDockerfile(filepath.Join(repoRoot, d.Dockerfile))
			if err != nil {
				t.Fatal(err)
			}
			for _, base := range info.bases {
				if strings.HasPrefix(base, "golang:") {
					t.Errorf("%s builds FROM %s: it compiles what the release builds instead of copying $TARGETPLATFORM/<binary>", d.Dockerfile, base)
				}
			}
			inContext := d.contextBuilds(cfg.Builds)
			for _, src := range info.sources {
				switch {
				case src.binary != "":
					for _, p := range platforms {
						built := slices.ContainsFunc(inContext, func(b build) bool { return b.Binary == src.binary && b.builds(p) })
						if !built {
							t.Errorf("%s:%d copies %s, which no build of ids %v makes for %s", d.Dockerfile, src.line, src.binary, d.IDs, p)
						}
					}
				default:
					if !slices.Contains(d.ExtraFiles, src.file) {
						t.Errorf("%s:%d copies %s, which is not in the entry's extra_files %v", d.Dockerfile, src.line, src.file, d.ExtraFiles)
					}
					if _, err := os.Stat(filepath.Join(repoRoot, src.file)); err != nil {
						t.Errorf("%s:%d: %v", d.Dockerfile, src.line, err)
					}
				}
			}
		})
	}
}

// TestEveryImageIsPublished: the images the manager starts by default (envd and the built-in
// templates in the default registry) and the manager's own image are all published, multi-arch, with
// the release's version as tag and latest, from the Dockerfile of their directory; and every
// Dockerfile here is published.
func TestEveryImageIsPublished(t *testing.T) {
	cfg := loadReleaseConfig(t)
	const tag = "0.0.0-test"
	// The image repository (without tag) each Dockerfile is published as.
	want := map[string]string{
		managerImage: "server/templates/sandbox-manager/Dockerfile",
		strings.TrimSuffix(kube.EnvdImage(kube.DefaultImageRegistry, tag), ":"+tag): "server/templates/envd/Dockerfile",
	}
	for _, tpl := range kube.BuiltinTemplates(kube.DefaultImageRegistry, tag) {
		repo, ok := strings.CutSuffix(tpl.Image, ":"+tag)
		if !ok {
			t.Fatalf("template %s: image %s does not end in the tag %s", tpl.Name, tpl.Image, tag)
		}
		want[repo] = path.Join("server/templates", tpl.Name, "Dockerfile")
	}

	published := map[string]dockerV2{}
	for _, d := range cfg.DockersV2 {
		for _, img := range d.Images {
			if prev, dup := published[img]; dup {
				t.Errorf("image %s is built by both %s and %s", img, prev.ID, d.ID)
			}
			published[img] = d
		}
	}
	for img, dockerfile := range want {
		d, ok := published[img]
		if !ok {
			t.Errorf("image %s: no dockers_v2 entry", img)
			continue
		}
		if d.Dockerfile != dockerfile {
			t.Errorf("image %s: built from %s; want %s", img, d.Dockerfile, dockerfile)
		}
		if !slices.Contains(d.Tags, "{{ .Version }}") || !slices.ContainsFunc(d.Tags, func(tag string) bool { return strings.Contains(tag, "latest") }) {
			t.Errorf("image %s: tags %v; want {{ .Version }} and latest", img, d.Tags)
		}
	}

	dockerfiles, err := filepath.Glob(filepath.Join(repoRoot, "server/templates/*/Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range dockerfiles {
		rel, err := filepath.Rel(repoRoot, f)
		if err != nil {
			t.Fatal(err)
		}
		rel = filepath.ToSlash(rel)
		if !slices.ContainsFunc(cfg.DockersV2, func(d dockerV2) bool { return d.Dockerfile == rel }) {
			t.Errorf("%s: no dockers_v2 entry publishes it", rel)
		}
	}
}

// TestServerArchiveShipsEveryBinary: the server archive (the manager's, for the local runtime) holds
// the manager, envd and every binary the local templates run, each built for both platforms.
func TestServerArchiveShipsEveryBinary(t *testing.T) {
	cfg := loadReleaseConfig(t)
	need := []string{"sandbox-manager", "envd"}
	for _, tpl := range builtin.LocalTemplates("/bin-dir") {
		for _, p := range tpl.Binaries {
			need = append(need, filepath.Base(p))
		}
	}

	i := slices.IndexFunc(cfg.Archives, func(a archive) bool { return slices.Contains(a.IDs, "sandbox-manager") })
	if i < 0 {
		t.Fatal("no archive holds the sandbox-manager build")
	}
	server := cfg.Archives[i]
	for _, bin := range need {
		j := slices.IndexFunc(cfg.Builds, func(b build) bool { return b.Binary == bin })
		if j < 0 {
			t.Errorf("%s: no build makes it", bin)
			continue
		}
		b := cfg.Builds[j]
		if !slices.Contains(server.IDs, b.ID) {
			t.Errorf("%s: build %s is not in archive %s (ids %v)", bin, b.ID, server.ID, server.IDs)
		}
		for _, p := range platforms {
			if !b.builds(p) {
				t.Errorf("%s: build %s does not build %s", bin, b.ID, p)
			}
		}
	}
}

// TestImageContextByHand: `make image-context`, the context for building an image by hand, holds what
// the release's context holds for every Dockerfile: each binary and file copied.
func TestImageContextByHand(t *testing.T) {
	cfg := loadReleaseConfig(t)
	raw, err := os.ReadFile(filepath.Join(repoRoot, "GNUmakefile"))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string][]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		for _, op := range []string{":=", "?="} {
			name, value, ok := strings.Cut(line, op)
			if name = strings.TrimSpace(name); ok && name != "" && !strings.ContainsAny(name, " \t=") {
				vars[name] = strings.Fields(value)
			}
		}
	}
	var archs []string
	for _, p := range platforms {
		archs = append(archs, strings.TrimPrefix(p, "linux/"))
	}
	if !slices.Equal(vars["IMAGE_ARCHS"], archs) {
		t.Errorf("GNUmakefile: IMAGE_ARCHS %v; want %v", vars["IMAGE_ARCHS"], archs)
	}
	for _, d := range cfg.DockersV2 {
		info, err := parseDockerfile(filepath.Join(repoRoot, d.Dockerfile))
		if err != nil {
			t.Fatal(err)
		}
		for _, src := range info.sources {
			if src.binary != "" && !slices.Contains(vars["IMAGE_BINARIES"], src.binary) {
				t.Errorf("%s copies %s, which is not in IMAGE_BINARIES %v of the GNUmakefile", d.Dockerfile, src.binary, vars["IMAGE_BINARIES"])
			}
			if src.file != "" && !slices.Contains(vars["IMAGE_FILES"], src.file) {
				t.Errorf("%s copies %s, which is not in IMAGE_FILES %v of the GNUmakefile", d.Dockerfile, src.file, vars["IMAGE_FILES"])
			}
		}
	}
}
