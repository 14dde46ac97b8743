package kargo

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/haul-dev/haul/internal/kargo"
	"github.com/haul-dev/haul/internal/manifest"
	"github.com/haul-dev/haul/promotion/steps"
)

// fixture is one entry of testdata/index.yaml (hack/kargofixtures).
type fixture struct {
	File   string   `json:"file"`
	Repo   string   `json:"repo"`
	Commit string   `json:"commit"`
	Path   string   `json:"path"`
	Block  int      `json:"block"`
	Kinds  []string `json:"kinds"`
	Line   int      `json:"line"`
	Notes  []string `json:"transform"`
	raw    []byte
}

// rewrites are the only edits made to a fixture before it is applied: URLs, nothing
// else. Kargo's examples point at GitHub and public registries; the suite never
// reaches them, so none needs rewriting today. The end-to-end run of kargo-simple
// would rewrite github.com/akuity/kargo-simple to a local Git server here.
var rewrites = map[string]string{}

func loadFixtures(t *testing.T) []fixture {
	t.Helper()
	b, err := os.ReadFile("testdata/index.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Fixtures []fixture `json:"fixtures"`
	}
	if err := yaml.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	for i := range idx.Fixtures {
		f := &idx.Fixtures[i]
		raw, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(f.File)))
		if err != nil {
			t.Fatal(err)
		}
		for from, to := range rewrites {
			raw = bytes.ReplaceAll(raw, []byte(from), []byte(to))
		}
		f.raw = raw
	}
	return idx.Fixtures
}

// kargoObjects counts the Kargo objects a fixture declares.
func (f *fixture) kargoObjects() int {
	n := 0
	for _, k := range f.Kinds {
		if strings.HasPrefix(k, kargo.Group+"/") {
			n++
		}
	}
	return n
}

func (f *fixture) isDoc() bool { return f.Repo == "akuity/kargo" }

// apply runs what `haul apply` runs before writing: load and convert
// (manifest.Load) and validate the whole set (manifest.Validate, with every step Haul
// registers). It returns the documents on success.
func apply(raw []byte) ([]manifest.Document, error) {
	docs, err := manifest.Load([]string{"-"}, false, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, errors.New("no objects found in the given manifests")
	}
	if _, err := manifest.Validate(docs, manifest.Cluster{Steps: steps.Builtin().Names(), StepOutputs: steps.Builtin().OutputKeys}); err != nil {
		return nil, err
	}
	// apply's server-side dry run refuses a name the API server cannot store; this
	// suite has no API server, so it checks names as the server will.
	for _, d := range docs {
		for what, n := range map[string]string{"metadata.name": d.Object.GetName(), "metadata.namespace": d.Object.GetNamespace()} {
			if n == "" {
				continue
			}
			if msgs := validation.IsDNS1123Subdomain(n); len(msgs) > 0 {
				return nil, fmt.Errorf("%s: %s: invalid name %q: %s", d.Describe(), what, n, strings.Join(msgs, "; "))
			}
		}
	}
	return docs, nil
}

// rawDocs splits a fixture as manifest.Load does, keyed by Load's source names
// ("stdin#2"), keeping only Kargo objects.
func rawDocs(t *testing.T, raw []byte) (map[string]map[string]any, []map[string]any) {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	bySource := map[string]map[string]any{}
	var all []map[string]any
	for i := 1; ; i++ {
		chunk, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := yaml.Unmarshal(chunk, &obj); err != nil || obj == nil {
			continue
		}
		all = append(all, obj)
		if kargo.IsKargo(obj) {
			bySource[fmt.Sprintf("stdin#%d", i)] = obj
		}
	}
	return bySource, all
}

// equivalent checks that every Kargo object of the fixture became Haul objects that
// say the same thing (meaning), reading the Haul side as the API server will store it:
// strictly decoded into Haul's Go types and encoded again, so a field Haul's types do
// not have cannot make the two agree.
func equivalent(t *testing.T, raw []byte, docs []manifest.Document) []string {
	t.Helper()
	kargoDocs, all := rawDocs(t, raw)
	origins := kargo.StageOrigins(all)
	haulBySource := map[string][]map[string]any{}
	for i := range docs {
		d := &docs[i]
		if d.ConvertedFrom == "" {
			continue
		}
		obj, _, err := manifest.Decode(d)
		if err != nil {
			t.Fatalf("%s: %v", d.Describe(), err)
		}
		b, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		haulBySource[d.Source] = append(haulBySource[d.Source], m)
	}
	var problems []string
	sources := make([]string, 0, len(kargoDocs))
	for s := range kargoDocs {
		sources = append(sources, s)
	}
	sort.Strings(sources)
	for _, src := range sources {
		k := kargoDocs[src]
		hs := haulBySource[src]
		if len(hs) == 0 {
			problems = append(problems, fmt.Sprintf("%s (%s %s): no Haul object made of it", src, k["kind"], str(mapAt(k, "metadata")["name"])))
			continue
		}
		if hs[0]["kind"] != k["kind"] || str(mapAt(hs[0], "metadata")["name"]) != str(mapAt(k, "metadata")["name"]) && k["kind"] != "Freight" {
			problems = append(problems, fmt.Sprintf("%s: %s %v became %s %v", src, k["kind"], mapAt(k, "metadata")["name"], hs[0]["kind"], mapAt(hs[0], "metadata")["name"]))
		}
		want := meaning(k, origins, true)
		var got []string
		for _, h := range hs {
			got = append(got, meaning(h, origins, false)...)
		}
		sort.Strings(got)
		if d := diff(want, got); d != "" {
			problems = append(problems, fmt.Sprintf("%s (%s %s) changed meaning:\n%s", src, k["kind"], str(mapAt(k, "metadata")["name"]), d))
		}
	}
	return problems
}

// diff lists the lines only in want (-) and only in got (+).
func diff(want, got []string) string {
	count := map[string]int{}
	for _, w := range want {
		count[w]++
	}
	for _, g := range got {
		count[g]--
	}
	var out []string
	for l, n := range count {
		switch {
		case n > 0:
			out = append(out, "  - "+l)
		case n < 0:
			out = append(out, "  + "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// tally is what the suite found, as docs/kargo-compatibility.md states it.
type tally struct {
	docs, docsAccepted, docsRefused, docsFragments       int
	objects, objectsAccepted, objectsRefused, objectsFrg int
	repoObjects, repoAccepted                            int
}

func (c tally) sentence() string {
	return fmt.Sprintf("%d documentation examples (%d Kargo objects) were tried: %d are accepted (%d objects), "+
		"%d are refused on purpose (%d objects) and %d are fragments that are not whole objects (%d objects). "+
		"Of the %d Kargo objects of akuity/kargo-simple and akuity/kargo-advanced, %d are accepted.",
		c.docs, c.objects, c.docsAccepted, c.objectsAccepted, c.docsRefused, c.objectsRefused, c.docsFragments, c.objectsFrg,
		c.repoObjects, c.repoAccepted)
}

// TestKargoConfigurationsRunUnchanged feeds every fixture through what `haul apply`
// runs before it writes. Each must either be accepted with its meaning intact (every
// Kargo object became a Haul object with the same name, subscriptions, requested
// Freight and origins, steps and their config, verification, policies and links), or
// be refused on purpose as listed in refusals, with the listed reason in the error.
// An unlisted refusal fails with the error; so does a listed fixture that is now
// accepted, or refused for another reason.
func TestKargoConfigurationsRunUnchanged(t *testing.T) {
	fixtures := loadFixtures(t)
	if len(fixtures) < 90 {
		t.Fatalf("only %d fixtures in testdata/index.yaml", len(fixtures))
	}
	var c tally
	seen := map[string]bool{}
	for i := range fixtures {
		f := &fixtures[i]
		seen[f.File] = true
		exp, listed := refusals[f.File]
		docs, err := apply(f.raw)
		switch {
		case err != nil && !listed:
			t.Errorf("%s (%s, %s block %d): refused: %v", f.File, f.Repo, f.Path, f.Block, err)
			continue
		case err != nil && !strings.Contains(err.Error(), exp.want):
			t.Errorf("%s: refused for another reason than listed (%q, %s): %v", f.File, exp.want, exp.why, err)
			continue
		case err == nil && listed:
			t.Errorf("%s: listed as refused (%s) but accepted; drop it from refusals", f.File, exp.why)
			continue
		case err == nil:
			for _, p := range equivalent(t, f.raw, docs) {
				t.Errorf("%s: %s", f.File, p)
			}
		}
		n := f.kargoObjects()
		if !f.isDoc() {
			c.repoObjects += n
			if err == nil {
				c.repoAccepted += n
			}
			continue
		}
		c.docs++
		c.objects += n
		switch {
		case err == nil:
			c.docsAccepted++
			c.objectsAccepted += n
		case exp.fragment:
			c.docsFragments++
			c.objectsFrg += n
		default:
			c.docsRefused++
			c.objectsRefused += n
		}
	}
	for file := range refusals {
		if !seen[file] {
			t.Errorf("refusals lists %s, which is not a fixture", file)
		}
	}
	t.Log(c.sentence())

	// docs/kargo-compatibility.md states the same counts and lists the same refusals.
	doc, err := os.ReadFile("../../docs/kargo-compatibility.md")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(string(doc)), " ")
	if !strings.Contains(text, c.sentence()) {
		t.Errorf("docs/kargo-compatibility.md does not say: %s", c.sentence())
	}
	for file := range refusals {
		if !strings.Contains(string(doc), "`"+file+"`") {
			t.Errorf("docs/kargo-compatibility.md does not list the refusal of %s", file)
		}
	}
}

// TestKargoExampleRepositoriesApplyAsOneSet applies each example repository's kargo/
// folder as its README says (`kargo apply -f kargo/`, here `haul apply -f kargo/`):
// the whole set is accepted with no warning, so every Stage finds its Warehouse,
// upstream Stages and PromotionTask in the set, and nothing is refused.
func TestKargoExampleRepositoriesApplyAsOneSet(t *testing.T) {
	for _, repo := range []string{"kargo-simple", "kargo-advanced"} {
		t.Run(repo, func(t *testing.T) {
			docs, err := manifest.Load([]string{filepath.Join("testdata", repo, "kargo")}, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			warnings, err := manifest.Validate(docs, manifest.Cluster{Steps: steps.Builtin().Names(), StepOutputs: steps.Builtin().OutputKeys})
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			for _, w := range warnings {
				t.Errorf("warning: %s", w)
			}
			var converted int
			for _, d := range docs {
				if d.ConvertedFrom != "" {
					converted++
				}
			}
			if want := map[string]int{"kargo-simple": 6, "kargo-advanced": 11}[repo]; converted != want {
				t.Errorf("%d Kargo objects converted, want %d", converted, want)
			}
		})
	}
}
