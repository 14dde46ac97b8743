package steps

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/downloader"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/haul-dev/haul/promotion"
)

// isTestHook reports whether h runs on `helm test`.
func isTestHook(h *release.Hook) bool {
	for _, e := range h.Events {
		if e == release.HookTest {
			return true
		}
	}
	return false
}

// writeHelmLayout writes what `helm template --output-dir dir` writes: each
// template's documents to dir/<chart>/templates/<file> (documents of one template
// appended), hooks likewise. Every file is confined to the work dir like a config
// path, because template paths come from the chart.
func writeHelmLayout(sc *promotion.StepContext, dir, manifest string, hooks []*release.Hook) error {
	files := map[string]*strings.Builder{}
	var order []string
	add := func(source, doc string) {
		b, ok := files[source]
		if !ok {
			b = &strings.Builder{}
			files[source] = b
			order = append(order, source)
		}
		fmt.Fprintf(b, "---\n# Source: %s\n%s\n", source, strings.TrimSpace(doc))
	}
	split := releaseutil.SplitManifests(manifest)
	keys := make([]string, 0, len(split))
	for k := range split {
		keys = append(keys, k)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	for _, k := range keys {
		doc := split[k]
		source, body, ok := strings.Cut(strings.TrimSpace(doc), "\n")
		src, isSource := strings.CutPrefix(source, "# Source: ")
		if !ok || !isSource {
			src, body = "manifest.yaml", doc
		}
		add(src, body)
	}
	for _, h := range hooks {
		add(h.Path, h.Manifest)
	}
	for _, src := range order {
		rel := filepath.Join(dir, filepath.FromSlash(src))
		p, err := sc.Path("outPath", rel)
		if err != nil {
			return promotion.Terminal(fmt.Errorf("template %s: %w", src, err))
		}
		if err := writeFile(p, rel, []byte(files[src].String())); err != nil {
			return err
		}
	}
	return nil
}

// writeHelmFlat writes every rendered resource to its own file in dir, named as
// Kargo's flat layout names them: [group-]kind-[namespace-]name.yaml, lower case,
// dots of the group as underscores; a document without kind or name is
// resource-<n>.yaml.
func writeHelmFlat(sc *promotion.StepContext, dir, manifests string) error {
	out, err := sc.Path("outPath", dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, stripPath(err))
	}
	dec := yaml.NewDecoder(strings.NewReader(manifests))
	for i := 0; ; i++ {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return promotion.Terminal(fmt.Errorf("rendered output is not valid YAML: %w", err))
		}
		if doc.Kind == yaml.DocumentNode && len(doc.Content) == 0 {
			continue
		}
		n := yaml.NewRNode(&doc)
		if n.IsNilOrEmpty() {
			continue
		}
		body, err := n.String()
		if err != nil {
			return err
		}
		name := fmt.Sprintf("resource-%d.yaml", i)
		if kind, objName := n.GetKind(), n.GetName(); kind != "" && objName != "" {
			name = kind
			if group, _, found := strings.Cut(n.GetApiVersion(), "/"); found {
				name = strings.ReplaceAll(group, ".", "_") + "-" + name
			}
			if ns := n.GetNamespace(); ns != "" {
				if err := checkObjectName(ns); err != nil {
					return promotion.Terminal(fmt.Errorf("%s %q: namespace %q: %w", kind, objName, ns, err))
				}
				name += "-" + ns
			}
			name = strings.ToLower(name + "-" + objName + ".yaml")
		}
		rel := filepath.Join(dir, name)
		p, err := sc.Path("outPath", rel)
		if err != nil {
			return err
		}
		if filepath.Dir(p) != out {
			return promotion.Terminal(fmt.Errorf("resource %q: its name does not make a file name in outPath", name))
		}
		if err := writeFile(p, rel, []byte(body)); err != nil {
			return err
		}
	}
}

// buildChartDependencies fills the chart's charts/ directory as `helm dependency
// build` does (from Chart.lock, or resolving Chart.yaml when there is no lock), with
// a private repository config and cache. file:// dependencies must stay in the work
// dir. Repositories are reached anonymously.
func buildChartDependencies(root, dir, shown string) error {
	if err := checkFileDependencies(root, dir, shown); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "haul-helm-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	settings := helmSettings(tmp)
	out := &helmOutput{}
	m := &downloader.Manager{
		Out: out, ChartPath: dir, Getters: getter.All(settings),
		RepositoryConfig: settings.RepositoryConfig, RepositoryCache: settings.RepositoryCache,
	}
	build := m.Build
	if _, err := os.Stat(filepath.Join(dir, "Chart.lock")); os.IsNotExist(err) {
		build = m.Update
	}
	if err := build(); err != nil {
		return fmt.Errorf("building the dependencies of %s: %s", shown, sanitize(sanitize(err.Error(), root), tmp))
	}
	if err := out.skipped(shown); err != nil {
		return promotion.Terminal(err)
	}
	if err := checkChartDir(root, dir, shown); err != nil {
		return promotion.Terminal(err)
	}
	return nil
}

// helmOutput keeps the first 64 KiB Helm's dependency manager prints.
type helmOutput struct{ b bytes.Buffer }

func (o *helmOutput) Write(p []byte) (int, error) {
	if room := 64<<10 - o.b.Len(); room > 0 {
		o.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// helmSkipped matches the line Helm's dependency manager prints, without failing,
// when a chart archive it downloaded does not load (e.g. an entry outside the
// chart or a file over its size limit): it then leaves the dependency out.
var helmSkipped = regexp.MustCompile(`Could not verify (\S+) for moving: (.*?) \(Skipping\)`)

// skipped turns a dependency Helm downloaded and then skipped into an error naming
// the archive and Helm's reason, instead of a chart silently missing a dependency.
func (o *helmOutput) skipped(shown string) error {
	m := helmSkipped.FindStringSubmatch(o.b.String())
	if m == nil {
		return nil
	}
	return fmt.Errorf("chart %s: the downloaded dependency archive %s was refused: %s", shown, filepath.Base(m[1]), m[2])
}

// helmSettings are the Helm settings every chart step runs with: a private repository
// config and cache under tmp, and no plugins. Helm would otherwise load downloader
// plugins from the controller's host (HELM_PLUGINS or ~/.local/share/helm/plugins) and
// run one for any dependency repository whose scheme it serves, with the controller's
// rights; a repository must never choose a program to run.
func helmSettings(tmp string) *cli.EnvSettings {
	settings := cli.New()
	settings.RepositoryConfig = filepath.Join(tmp, "repositories.yaml")
	settings.RepositoryCache = filepath.Join(tmp, "cache")
	settings.PluginsDirectory = ""
	return settings
}

// chartRepositorySchemes are the dependency repository schemes Helm serves without
// plugins; a repository without a scheme names an entry of the (empty, private)
// repository config.
var chartRepositorySchemes = map[string]bool{"http": true, "https": true, "oci": true, "file": true}

// checkFileDependencies refuses dependencies of the chart in dir whose repository has
// a scheme only a Helm plugin would serve, and file:// dependencies that lead outside
// the work dir.
func checkFileDependencies(root, dir, shown string) error {
	chartFile := filepath.Join(dir, "Chart.yaml")
	data, err := readCapped(chartFile, filepath.Join(shown, "Chart.yaml"))
	if err != nil {
		return err
	}
	doc, err := parseYAMLSafe(data, filepath.Join(shown, "Chart.yaml"))
	if err != nil {
		return promotion.Terminal(err)
	}
	deps, err := doc.Pipe(yaml.Lookup("dependencies"))
	if err != nil || deps == nil {
		return nil
	}
	elems, _ := deps.Elements()
	rel, _ := filepath.Rel(root, dir)
	for i, e := range elems {
		repo, _ := e.Pipe(yaml.Get("repository"))
		r := yaml.GetValue(repo)
		if scheme, _, ok := strings.Cut(r, "://"); ok && !chartRepositorySchemes[strings.ToLower(scheme)] {
			return promotion.Terminal(fmt.Errorf("%s: dependencies[%d].repository %q: scheme %q is not supported (https, http, oci and file only; Helm plugins are never run)",
				filepath.Join(shown, "Chart.yaml"), i, r, scheme))
		}
		if strings.HasPrefix(r, "file://") {
			if _, err := promotion.SecurePath(root, "dependencies[].repository", filepath.Join(rel, strings.TrimPrefix(r, "file://"))); err != nil {
				return err
			}
		}
	}
	return nil
}
