package steps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/downloader"
	"helm.sh/helm/v3/pkg/getter"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/haul-dev/haul/promotion"
)

type helmUpdateChartConfig struct {
	Path   string            `json:"path"`
	Charts []helmChartUpdate `json:"charts,omitempty"`
}

type helmChartUpdate struct {
	Repository string `json:"repository"`
	Name       string `json:"name"`
	Version    string `json:"version,omitempty"`
}

// helmUpdateChart sets dependency versions in Chart.yaml (from the config or the
// Freight's chart of that repository) and refreshes charts/ with the Helm SDK.
func helmUpdateChart(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg helmUpdateChartConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	dir, err := sc.Path("path", cfg.Path)
	if err != nil {
		return promotion.StepResult{}, err
	}
	root, _ := filepath.EvalSymlinks(sc.WorkDir)
	chartFile := filepath.Join(dir, "Chart.yaml")
	shown := filepath.Join(cfg.Path, "Chart.yaml")
	data, err := readCapped(chartFile, shown)
	if err != nil {
		return promotion.StepResult{}, err
	}
	doc, err := parseYAMLSafe(data, shown)
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(err)
	}
	deps, err := doc.Pipe(yaml.Lookup("dependencies"))
	if err != nil || deps == nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("%s has no dependencies", shown))
	}
	elems, _ := deps.Elements()
	updated := map[string]any{}
	changes := map[string]string{}
	for i, u := range cfg.Charts {
		version := u.Version
		if version == "" {
			for _, c := range sc.Freight.Charts {
				if (c.RepoURL == u.Repository && (c.Name == "" || c.Name == u.Name)) ||
					strings.TrimSuffix(c.RepoURL, "/") == strings.TrimSuffix(u.Repository, "/")+"/"+u.Name {
					version = c.Version
					break
				}
			}
			if version == "" {
				return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("charts[%d]: no version given and the Freight has no chart %s from %s", i, u.Name, u.Repository))
			}
		}
		found := false
		for _, e := range elems {
			name, _ := e.Pipe(yaml.Get("name"))
			repo, _ := e.Pipe(yaml.Get("repository"))
			if yaml.GetValue(name) != u.Name || strings.TrimSuffix(yaml.GetValue(repo), "/") != strings.TrimSuffix(u.Repository, "/") {
				continue
			}
			if f := e.Field("version"); f != nil && f.Value.YNode().Kind == yaml.ScalarNode {
				if old := f.Value.YNode().Value; old != version {
					changes[u.Name] = old + " -> " + version
				}
				f.Value.YNode().Value, f.Value.YNode().Tag = version, yaml.NodeTagString
			} else {
				if err := e.PipeE(yaml.SetField("version", yaml.NewStringRNode(version))); err != nil {
					return promotion.StepResult{}, err
				}
				changes[u.Name] = version
			}
			found = true
		}
		if !found {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("charts[%d]: %s has no dependency %s from %s", i, shown, u.Name, u.Repository))
		}
		updated[u.Name] = version
	}
	if err := checkFileDependencies(root, dir, cfg.Path); err != nil {
		return promotion.StepResult{}, err
	}
	out, err := doc.String()
	if err != nil {
		return promotion.StepResult{}, err
	}
	if err := writeFile(chartFile, shown, []byte(out)); err != nil {
		return promotion.StepResult{}, err
	}
	if err := checkChartDir(root, dir, cfg.Path); err != nil {
		return promotion.StepResult{}, promotion.Terminal(err)
	}
	tmp, err := os.MkdirTemp("", "haul-helm-")
	if err != nil {
		return promotion.StepResult{}, err
	}
	defer os.RemoveAll(tmp)
	settings := helmSettings(tmp)
	hout := &helmOutput{}
	m := &downloader.Manager{
		Out: hout, ChartPath: dir, Getters: getter.All(settings),
		RepositoryConfig: settings.RepositoryConfig, RepositoryCache: settings.RepositoryCache,
	}
	if err := m.Update(); err != nil {
		return promotion.StepResult{}, fmt.Errorf("updating dependencies of %s: %s", cfg.Path, sanitize(sanitize(err.Error(), root), tmp))
	}
	if err := hout.skipped(cfg.Path); err != nil {
		return promotion.StepResult{}, promotion.Terminal(err)
	}
	// What Helm accepted is checked as helm-template would (symlink entries, size).
	if err := checkChartDir(root, dir, cfg.Path); err != nil {
		return promotion.StepResult{}, promotion.Terminal(err)
	}
	output := map[string]any{"charts": updated}
	if msg := chartCommitMessage(cfg.Path, changes); msg != "" {
		output["commitMessage"] = msg
	}
	return promotion.StepResult{Output: output}, nil
}

// chartCommitMessage is Kargo's commitMessage output: the dependencies whose version
// changed ("old -> new"), by name; empty when none did (Kargo then outputs nothing).
func chartCommitMessage(path string, changes map[string]string) string {
	if len(changes) == 0 {
		return ""
	}
	names := make([]string, 0, len(changes))
	for n := range changes {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("Updated chart dependencies for " + path + "\n")
	for _, n := range names {
		fmt.Fprintf(&b, "\n- %s: %s", n, changes[n])
	}
	return b.String()
}
