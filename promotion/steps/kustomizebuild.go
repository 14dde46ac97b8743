package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/haul-dev/haul/promotion"
)

type kustomizeBuildConfig struct {
	Path    string `json:"path"`
	OutPath string `json:"outPath"`
	// OutputFormat names the files of a directory outPath: "kargo" (the default,
	// [namespace-]kind-name.yaml) or "kustomize" (kustomize build -o's
	// [namespace_]group_version_kind_name.yaml).
	OutputFormat string `json:"outputFormat,omitempty"`
	// Plugin is Kargo's Helm inflation settings; Haul refuses it (see Validate).
	Plugin *kustomizePlugin `json:"plugin,omitempty"`
}

type kustomizePlugin struct {
	Helm *struct {
		APIVersions []string `json:"apiVersions,omitempty"`
		KubeVersion string   `json:"kubeVersion,omitempty"`
	} `json:"helm,omitempty"`
}

func (c *kustomizeBuildConfig) Validate() error {
	switch c.OutputFormat {
	case "", "kargo", "kustomize":
	default:
		return fmt.Errorf("outputFormat %q must be kargo or kustomize", c.OutputFormat)
	}
	if c.Plugin != nil && c.Plugin.Helm != nil {
		return errors.New("plugin.helm: Haul's kustomize-build does not inflate Helm charts (helmCharts runs the helm binary and reaches the network); render the chart with helm-template and point the kustomization at its output")
	}
	return nil
}

// kustomizeBuild renders a kustomization with remote bases, Helm inflation and plugins
// refused, and reads confined to the work dir.
func kustomizeBuild(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg kustomizeBuildConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	dir, err := sc.Path("path", cfg.Path)
	if err != nil {
		return promotion.StepResult{}, err
	}
	out, err := sc.Path("outPath", cfg.OutPath)
	if err != nil {
		return promotion.StepResult{}, err
	}
	root, _ := filepath.EvalSymlinks(sc.WorkDir)
	if err := checkLocalKustomization(root, dir, map[string]bool{}, 0); err != nil {
		return promotion.StepResult{}, promotion.Terminal(err)
	}
	opts := krusty.MakeDefaultOptions()
	opts.PluginConfig = types.DisabledPluginConfig()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	k := krusty.MakeKustomizer(opts)
	resMap, err := k.Run(&confinedFS{FileSystem: filesys.MakeFsOnDisk(), root: root}, dir)
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("kustomize build %s: %s", cfg.Path, sanitize(err.Error(), root)))
	}
	for _, r := range resMap.Resources() {
		if err := checkObjectName(r.GetName()); err != nil {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("kustomize build %s: %s %q: %w", cfg.Path, r.GetKind(), r.GetName(), err))
		}
	}
	if ext := strings.ToLower(filepath.Ext(cfg.OutPath)); ext == ".yaml" || ext == ".yml" {
		b, err := resMap.AsYaml()
		if err != nil {
			return promotion.StepResult{}, err
		}
		return promotion.StepResult{}, writeFile(out, cfg.OutPath, b)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return promotion.StepResult{}, fmt.Errorf("creating %s: %w", cfg.OutPath, stripPath(err))
	}
	namespaces := map[string]bool{}
	for _, r := range resMap.Resources() {
		if ns := r.GetNamespace(); ns != "" {
			namespaces[ns] = true
		}
	}
	for _, r := range resMap.Resources() {
		b, err := r.AsYAML()
		if err != nil {
			return promotion.StepResult{}, err
		}
		if ns := r.GetNamespace(); ns != "" {
			if err := checkObjectName(ns); err != nil {
				return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("resource %s %q: namespace %q: %w", r.GetKind(), r.GetName(), ns, err))
			}
		}
		name := resourceFileName(r.GetKind(), r.GetNamespace(), r.GetName(), r.GetGvk().StringWoEmptyField(), cfg.OutputFormat, len(namespaces) > 1)
		// The name comes from the manifests: it is checked like a config path, so a
		// resource named "x/../../src/.git/config" cannot write outside outPath.
		p, err := sc.Path("outPath", filepath.Join(cfg.OutPath, name))
		if err != nil {
			return promotion.StepResult{}, err
		}
		if filepath.Dir(p) != out {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("resource %s %q: its name does not make a file name in outPath", r.GetKind(), r.GetName()))
		}
		if err := writeFile(p, filepath.Join(cfg.OutPath, name), b); err != nil {
			return promotion.StepResult{}, err
		}
	}
	return promotion.StepResult{}, nil
}

// resourceFileName names a resource's file in a directory outPath, as Kargo does:
// "kargo" is [namespace-]kind-name.yaml; "kustomize" is kustomize build -o's
// group_version_kind_name.yaml, prefixed namespace_ when the resources span several
// namespaces. All lower case.
func resourceFileName(kind, namespace, name, gvk, format string, multiNamespace bool) string {
	if format == "kustomize" {
		base := gvk + "_" + name + ".yaml"
		if multiNamespace && namespace != "" {
			base = namespace + "_" + base
		}
		return strings.ToLower(base)
	}
	if namespace != "" {
		return strings.ToLower(namespace + "-" + kind + "-" + name + ".yaml")
	}
	return strings.ToLower(kind + "-" + name + ".yaml")
}

// checkObjectName refuses names that would become paths outside the output directory.
func checkObjectName(name string) error {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.Contains(name, "..") || len(name) > 253 {
		return errors.New("metadata.name is not a valid object name")
	}
	return nil
}

// checkLocalKustomization walks the kustomization tree and refuses anything that would
// make kustomize reach the network or run programs.
func checkLocalKustomization(root, dir string, seen map[string]bool, depth int) error {
	if seen[dir] {
		return nil
	}
	seen[dir] = true
	if depth > 20 {
		return errors.New("kustomizations nest deeper than 20 levels")
	}
	rel := promotion.RelPath(root, dir)
	var file string
	for _, n := range kustomizationNames {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			file = filepath.Join(dir, n)
			break
		}
	}
	if file == "" {
		return nil // a plain directory of resources
	}
	data, err := readCapped(file, filepath.Join(rel, filepath.Base(file)))
	if err != nil {
		return err
	}
	node, err := parseYAMLSafe(data, filepath.Join(rel, filepath.Base(file)))
	if err != nil {
		return err
	}
	for _, field := range []string{"helmCharts", "helmChartInflationGenerator", "helmGlobals"} {
		if f := node.Field(field); f != nil && !yaml.IsMissingOrNull(f.Value) {
			return fmt.Errorf("%s: %s needs the helm binary and is not supported; use helm-template", rel, field)
		}
	}
	for _, field := range []string{"resources", "bases", "components"} {
		f := node.Field(field)
		if f == nil {
			continue
		}
		entries, err := f.Value.Elements()
		if err != nil {
			continue
		}
		for _, e := range entries {
			entry := yaml.GetValue(e)
			if looksRemote(entry) {
				return fmt.Errorf("%s: %s entry %q is remote; remote bases are refused", rel, field, entry)
			}
			p, err := promotion.SecurePath(root, field, filepath.Join(rel, entry))
			if err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			fi, err := os.Stat(p)
			if err != nil {
				return fmt.Errorf("%s: %s entry %q does not exist in the work directory (remote bases are refused)", rel, field, entry)
			}
			if fi.IsDir() {
				if err := checkLocalKustomization(root, p, seen, depth+1); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func looksRemote(s string) bool {
	return strings.Contains(s, "://") || strings.HasPrefix(s, "git@") || strings.Contains(s, "?ref=") ||
		strings.Contains(s, "?version=") || strings.Contains(s, "//") || strings.HasPrefix(s, "github.com/") ||
		strings.HasPrefix(s, "gitlab.com/") || strings.HasPrefix(s, "bitbucket.org/")
}

// sanitize strips the work dir from kustomize's messages.
func sanitize(msg, root string) string {
	return strings.ReplaceAll(msg, root+string(filepath.Separator), "")
}

// confinedFS refuses reads that resolve outside root.
type confinedFS struct {
	filesys.FileSystem
	root string
}

func (f *confinedFS) inside(p string) bool {
	abs, err := filepath.Abs(p)
	if err != nil {
		return false
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		// Not existing is fine (kustomize probes names); a dangling link is not inside.
		if _, lerr := os.Lstat(abs); lerr == nil {
			return false
		}
		real = abs
	}
	rel, err := filepath.Rel(f.root, real)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

var errOutside = errors.New("path is outside the work directory")

func (f *confinedFS) ReadFile(p string) ([]byte, error) {
	if !f.inside(p) {
		return nil, fmt.Errorf("%s: %w", filepath.Base(p), errOutside)
	}
	return f.FileSystem.ReadFile(p)
}

func (f *confinedFS) Open(p string) (filesys.File, error) {
	if !f.inside(p) {
		return nil, fmt.Errorf("%s: %w", filepath.Base(p), errOutside)
	}
	return f.FileSystem.Open(p)
}

func (f *confinedFS) ReadDir(p string) ([]string, error) {
	if !f.inside(p) {
		return nil, fmt.Errorf("%s: %w", filepath.Base(p), errOutside)
	}
	return f.FileSystem.ReadDir(p)
}

func (f *confinedFS) IsDir(p string) bool  { return f.inside(p) && f.FileSystem.IsDir(p) }
func (f *confinedFS) Exists(p string) bool { return f.inside(p) && f.FileSystem.Exists(p) }

func (f *confinedFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	if !f.inside(p) {
		return "", "", fmt.Errorf("%s: %w", filepath.Base(p), errOutside)
	}
	return f.FileSystem.CleanedAbs(p)
}
