package steps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/strvals"
	"sigs.k8s.io/kustomize/kyaml/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/haul-dev/haul/promotion"
)

// maxChartSize caps the bytes of a chart directory the helm steps will load.
const maxChartSize = 64 << 20

type helmTemplateConfig struct {
	Path        string         `json:"path"`
	OutPath     string         `json:"outPath"`
	ReleaseName string         `json:"releaseName,omitempty"`
	Namespace   string         `json:"namespace,omitempty"`
	ValuesFiles []string       `json:"valuesFiles,omitempty"`
	SetValues   []helmSetValue `json:"setValues,omitempty"`
	IncludeCRDs bool           `json:"includeCRDs,omitempty"`
	KubeVersion string         `json:"kubeVersion,omitempty"`
	APIVersions []string       `json:"apiVersions,omitempty"`
	// OutLayout is how a directory outPath is filled: "helm" (the default, Helm's
	// --output-dir tree) or "flat" (one file per resource).
	OutLayout string `json:"outLayout,omitempty"`
	// UseReleaseName puts the helm layout under outPath/<releaseName>.
	UseReleaseName bool `json:"useReleaseName,omitempty"`
	// IgnoreMissingValueFiles skips valuesFiles that do not exist.
	IgnoreMissingValueFiles bool `json:"ignoreMissingValueFiles,omitempty"`
	// BuildDependencies fills charts/ from Chart.lock (or Chart.yaml) before rendering.
	BuildDependencies bool `json:"buildDependencies,omitempty"`
	// DisableHooks leaves hooks out; SkipTests leaves out test hooks only.
	DisableHooks bool `json:"disableHooks,omitempty"`
	SkipTests    bool `json:"skipTests,omitempty"`
}

func (c *helmTemplateConfig) Validate() error {
	switch c.OutLayout {
	case "", "helm", "flat":
	default:
		return fmt.Errorf("outLayout %q must be helm or flat", c.OutLayout)
	}
	return nil
}

// helmSetValue sets one chart value. The value is data (it is often a Freight tag or
// an expression's result) and is always set literally, as `helm --set-literal` does:
// commas, braces, brackets, '=' and backslashes in it never add or change other keys.
// The key may use dots and [index] to reach nested values.
type helmSetValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// Literal is accepted for Kargo compatibility (Kargo's --set-literal switch); values
	// are literal whether or not it is set.
	Literal bool `json:"literal,omitempty"`
}

// setLiteral sets s.Value, unparsed, at the path s.Key names in vals.
func (s helmSetValue) setLiteral(vals map[string]any) error {
	if s.Key == "" {
		return errors.New("must not be empty")
	}
	if strings.ContainsAny(s.Key, "=,") {
		return errors.New("must not contain '=' or ','")
	}
	// The literal parser reads the key up to the first '=' and takes the rest of the
	// line, whatever it holds, as the value.
	return strvals.ParseLiteralInto(s.Key+"="+s.Value, vals)
}

// helmTemplate renders a local chart with the Helm SDK (no helm binary, no cluster).
func helmTemplate(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg helmTemplateConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	chartDir, err := sc.Path("path", cfg.Path)
	if err != nil {
		return promotion.StepResult{}, err
	}
	out, err := sc.Path("outPath", cfg.OutPath)
	if err != nil {
		return promotion.StepResult{}, err
	}
	root, _ := filepath.EvalSymlinks(sc.WorkDir)
	if err := checkChartDir(root, chartDir, cfg.Path); err != nil {
		return promotion.StepResult{}, promotion.Terminal(err)
	}
	if cfg.BuildDependencies {
		if err := buildChartDependencies(root, chartDir, cfg.Path); err != nil {
			return promotion.StepResult{}, err
		}
	}
	chrt, err := loader.LoadDir(chartDir)
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("loading chart %s: %s", cfg.Path, sanitize(err.Error(), root)))
	}
	if deps := chrt.Metadata.Dependencies; len(deps) > 0 {
		// As Kargo (and helm template): a chart whose charts/ lacks a dependency is
		// an error, not a silent render without it.
		if err := action.CheckDependencies(chrt, deps); err != nil {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("chart %s: %s; set buildDependencies or add the charts to charts/", cfg.Path, sanitize(err.Error(), root)))
		}
	}
	vals := map[string]any{}
	for i, f := range cfg.ValuesFiles {
		p, err := sc.Path(fmt.Sprintf("valuesFiles[%d]", i), f)
		if err != nil {
			return promotion.StepResult{}, err
		}
		if _, err := os.Stat(p); cfg.IgnoreMissingValueFiles && os.IsNotExist(err) {
			continue
		}
		v, err := readValuesSafe(p, f)
		if err != nil {
			return promotion.StepResult{}, promotion.Terminal(err)
		}
		vals = chartutil.MergeTables(v, vals)
	}
	for i, s := range cfg.SetValues {
		if err := s.setLiteral(vals); err != nil {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("setValues[%d].key %q: %w", i, s.Key, err))
		}
	}
	inst := action.NewInstall(&action.Configuration{})
	inst.DryRun, inst.ClientOnly, inst.Replace = true, true, true
	inst.IncludeCRDs = cfg.IncludeCRDs
	inst.DisableHooks = cfg.DisableHooks
	inst.ReleaseName = cfg.ReleaseName
	if inst.ReleaseName == "" {
		inst.ReleaseName = sc.Stage
	}
	inst.Namespace = cfg.Namespace
	if inst.Namespace == "" {
		inst.Namespace = sc.Project
	}
	if cfg.KubeVersion != "" {
		kv, err := chartutil.ParseKubeVersion(cfg.KubeVersion)
		if err != nil {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("kubeVersion %q: %w", cfg.KubeVersion, err))
		}
		inst.KubeVersion = kv
	}
	inst.APIVersions = cfg.APIVersions
	rel, err := inst.RunWithContext(ctx, chrt, vals)
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("rendering chart %s: %s", cfg.Path, sanitize(err.Error(), root)))
	}
	var hooks []*release.Hook
	for _, h := range rel.Hooks {
		if cfg.DisableHooks || cfg.SkipTests && isTestHook(h) {
			continue
		}
		hooks = append(hooks, h)
	}
	var all bytes.Buffer
	all.WriteString(rel.Manifest)
	for _, h := range hooks {
		fmt.Fprintf(&all, "---\n# Source: %s\n%s\n", h.Path, h.Manifest)
	}
	if err := checkRenderedNames(all.Bytes()); err != nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("rendering chart %s: %w", cfg.Path, err))
	}
	if ext := strings.ToLower(filepath.Ext(cfg.OutPath)); ext == ".yaml" || ext == ".yml" {
		return promotion.StepResult{}, writeFile(out, cfg.OutPath, all.Bytes())
	}
	if cfg.OutLayout == "flat" {
		return promotion.StepResult{}, writeHelmFlat(sc, cfg.OutPath, all.String())
	}
	dir := cfg.OutPath
	if cfg.UseReleaseName {
		dir = filepath.Join(dir, inst.ReleaseName)
	}
	return promotion.StepResult{}, writeHelmLayout(sc, dir, rel.Manifest, hooks)
}

// checkChartDir refuses charts with symlinks leading outside the work dir, subchart
// archives holding anything but plain files and directories (see checkChartArchive),
// and charts larger than maxChartSize, archives counted as what they expand to.
func checkChartDir(root, dir, shown string) error {
	var total int64
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading chart %s: %w", shown, stripPath(err))
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Type()&fs.ModeSymlink != 0 {
			real, err := filepath.EvalSymlinks(p)
			if err != nil {
				return fmt.Errorf("chart %s: %s is a dangling or looping symlink", shown, rel)
			}
			if r, err := filepath.Rel(root, real); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
				return fmt.Errorf("chart %s: %s is a symlink leading outside the work directory", shown, rel)
			}
		}
		if info, err := d.Info(); err == nil && !d.IsDir() {
			size := info.Size()
			if isChartArchive(p) {
				// A subchart archive counts as what it expands to.
				if size, err = checkChartArchive(p, filepath.Join(shown, rel), maxChartSize-total); err != nil {
					return err
				}
			}
			total += size
			if total > maxChartSize {
				return fmt.Errorf("chart %s is larger than %d bytes", shown, maxChartSize)
			}
			if strings.HasSuffix(p, ".yaml") && (filepath.Base(p) == "values.yaml" || filepath.Base(p) == "Chart.yaml") {
				if _, err := readValuesSafe(p, filepath.Join(shown, rel)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// readValuesSafe reads a values file with the YAML size, depth and alias caps.
func readValuesSafe(path, shown string) (map[string]any, error) {
	data, err := readCapped(path, shown)
	if err != nil {
		return nil, err
	}
	if _, err := parseYAMLSafe(data, shown); err != nil {
		return nil, err
	}
	out := map[string]any{}
	if err := sigsyaml.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", shown, err)
	}
	return out, nil
}

// checkRenderedNames refuses rendered objects whose metadata.name could be used as a path.
func checkRenderedNames(manifests []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(manifests))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("rendered output is not valid YAML: %w", err)
		}
		n := yaml.NewRNode(&doc)
		if doc.Kind == yaml.DocumentNode && len(doc.Content) == 0 {
			continue
		}
		name, err := n.Pipe(yaml.Lookup("metadata", "name"))
		if err != nil || name == nil {
			continue
		}
		if err := checkObjectName(yaml.GetValue(name)); err != nil {
			kind, _ := n.Pipe(yaml.Get("kind"))
			return fmt.Errorf("%s %q: %w", yaml.GetValue(kind), yaml.GetValue(name), err)
		}
	}
}
