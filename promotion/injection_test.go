package promotion_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	toml "github.com/pelletier/go-toml/v2"
	yaml "go.yaml.in/yaml/v3"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/promotion"
)

// hostileFreightValues are image tags and commit messages an attacker who can push
// tags or commits could choose: YAML, JSON and TOML structure, comments, quotes,
// document markers, type-changing scalars and expressions. Scenario 24: every step that
// writes them writes them as data.
var hostileFreightValues = map[string]string{
	"newline and key":     "1.0\nevil: injected",
	"colon space":         "1.0: evil",
	"comment":             "1.0 # comment",
	"single quote":        "it's",
	"double quotes":       `"quoted" and \"escaped\"`,
	"expression":          "${{ vars.nope }}",
	"kargo delimiters":    "${% vars.nope %}",
	"document markers":    "---\nkind: Secret\n...\n--- !!map\nx: y",
	"anchor and alias":    "&a [*a, *a]",
	"tag":                 "!!binary aGVsbG8=",
	"flow structure":      "[a, {b: c}]",
	"json structure":      `{"evil": true}`,
	"toml structure":      "x\"\nevil = true\n[table]\nk = \"v",
	"null word":           "null",
	"boolean word":        "true",
	"number":              "1e3",
	"octal":               "0o17",
	"tilde":               "~",
	"backslashes":         `C:\new\table \u0041`,
	"tabs and blank line": "a\tb\n\n c",
	"unicode":             "v1.0\u2028evil: x\u00a0\U0001F600",
}

// hostileFreight carries value as the image tag and as the commit message.
func hostileFreight(value string) haulv1.FreightReference {
	fr := freight(value)
	fr.Commits = []haulv1.GitCommit{{RepoURL: "https://git.example.com/app", ID: "abc123", Message: value}}
	return fr
}

// decodeYAMLDocs decodes every document of b.
func decodeYAMLDocs(t *testing.T, b []byte) []any {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("the written file no longer parses: %v\n%s", err, b)
		}
		docs = append(docs, v)
	}
}

func mustSucceed(t *testing.T, res promotion.Result) {
	t.Helper()
	if res.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("%s: %s", res.Phase, res.Message)
	}
}

// TestFreightDataIsWrittenAsDataByEveryStep runs each writing step with every hostile
// value taken from the Freight through an expression, and reads the file back with
// an independent parser: it must hold one document whose keys are exactly those it
// had, with the value, byte for byte, where the step put it.
func TestFreightDataIsWrittenAsDataByEveryStep(t *testing.T) {
	const tagExpr = "${{ imageFrom('example.com/app').tag }}"
	const msgExpr = "${{ commitFrom('https://git.example.com/app').message }}"
	for name, v := range hostileFreightValues {
		t.Run(name, func(t *testing.T) {
			fr := hostileFreight(v)
			t.Run("yaml-update", func(t *testing.T) {
				dir := t.TempDir()
				_ = os.WriteFile(filepath.Join(dir, "values.yaml"), []byte("# top\nimage:\n  tag: old # the tag\nreplicas: 1\n"), 0o644)
				res, _ := runIn(t, dir, fr, nil, step("yaml-update", "u", map[string]any{"path": "values.yaml", "updates": []any{
					map[string]any{"key": "image.tag", "value": tagExpr},
					map[string]any{"key": "message", "value": msgExpr},
				}}))
				mustSucceed(t, res)
				b, _ := os.ReadFile(filepath.Join(dir, "values.yaml"))
				docs := decodeYAMLDocs(t, b)
				want := map[string]any{"image": map[string]any{"tag": v}, "replicas": 1, "message": v}
				if len(docs) != 1 || !reflect.DeepEqual(docs[0], want) {
					t.Fatalf("values.yaml reads back as %#v, want %#v:\n%s", docs, want, b)
				}
			})
			t.Run("json-update", func(t *testing.T) {
				dir := t.TempDir()
				_ = os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"image": {"tag": "old"}, "replicas": 1}`+"\n"), 0o644)
				res, _ := runIn(t, dir, fr, nil, step("json-update", "u", map[string]any{"path": "config.json", "updates": []any{
					map[string]any{"key": "image.tag", "value": tagExpr},
					map[string]any{"key": "message", "value": msgExpr},
				}}))
				mustSucceed(t, res)
				b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
				dec := json.NewDecoder(bytes.NewReader(b))
				var got any
				if err := dec.Decode(&got); err != nil {
					t.Fatalf("config.json no longer parses: %v\n%s", err, b)
				}
				if dec.More() {
					t.Fatalf("config.json holds more than one value:\n%s", b)
				}
				want := map[string]any{"image": map[string]any{"tag": v}, "replicas": float64(1), "message": v}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("config.json reads back as %#v, want %#v:\n%s", got, want, b)
				}
			})
			t.Run("toml-update", func(t *testing.T) {
				dir := t.TempDir()
				_ = os.WriteFile(filepath.Join(dir, "config.toml"), []byte("# top\nreplicas = 1\nmessage = \"old\"\n\n[image]\ntag = \"old\" # the tag\n"), 0o644)
				res, _ := runIn(t, dir, fr, nil, step("toml-update", "u", map[string]any{"path": "config.toml", "updates": []any{
					map[string]any{"key": "image.tag", "value": tagExpr},
					map[string]any{"key": "message", "value": msgExpr},
				}}))
				mustSucceed(t, res)
				b, _ := os.ReadFile(filepath.Join(dir, "config.toml"))
				var got map[string]any
				if err := toml.Unmarshal(b, &got); err != nil {
					t.Fatalf("config.toml no longer parses: %v\n%s", err, b)
				}
				want := map[string]any{"image": map[string]any{"tag": v}, "replicas": int64(1), "message": v}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("config.toml reads back as %#v, want %#v:\n%s", got, want, b)
				}
			})
			t.Run("kustomize-set-image", func(t *testing.T) {
				dir := t.TempDir()
				_ = os.MkdirAll(filepath.Join(dir, "app"), 0o755)
				_ = os.WriteFile(filepath.Join(dir, "app/kustomization.yaml"), []byte(kustomization), 0o644)
				res, _ := runIn(t, dir, fr, nil, step("kustomize-set-image", "k", map[string]any{"path": "app"}))
				mustSucceed(t, res)
				b, _ := os.ReadFile(filepath.Join(dir, "app/kustomization.yaml"))
				docs := decodeYAMLDocs(t, b)
				want := map[string]any{
					"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
					"resources": []any{"../../base"},
					"images":    []any{map[string]any{"name": "example.com/app", "newTag": v}},
				}
				if len(docs) != 1 || !reflect.DeepEqual(docs[0], want) {
					t.Fatalf("kustomization.yaml reads back as %#v, want %#v:\n%s", docs, want, b)
				}
			})
			t.Run("helm-update-chart", func(t *testing.T) {
				// The version is written before Helm resolves it, and Helm then refuses
				// it as a constraint; what is on disk must still be data.
				dir := t.TempDir()
				_ = os.MkdirAll(filepath.Join(dir, "umbrella"), 0o755)
				_ = os.WriteFile(filepath.Join(dir, "umbrella/Chart.yaml"), []byte("apiVersion: v2\nname: umbrella\nversion: 1.0.0\n"+
					"dependencies:\n- name: lib # the library\n  version: 0.1.0\n  repository: https://charts.example.com\n"), 0o644)
				frc := fr
				frc.Charts = []haulv1.Chart{{RepoURL: "https://charts.example.com", Name: "lib", Version: v}}
				runIn(t, dir, frc, nil, step("helm-update-chart", "u", map[string]any{"path": "umbrella",
					"charts": []any{map[string]any{"repository": "https://charts.example.com", "name": "lib"}}}))
				b, _ := os.ReadFile(filepath.Join(dir, "umbrella/Chart.yaml"))
				docs := decodeYAMLDocs(t, b)
				want := map[string]any{"apiVersion": "v2", "name": "umbrella", "version": "1.0.0",
					"dependencies": []any{map[string]any{"name": "lib", "version": v, "repository": "https://charts.example.com"}}}
				if len(docs) != 1 || !reflect.DeepEqual(docs[0], want) {
					t.Fatalf("Chart.yaml reads back as %#v, want %#v:\n%s", docs, want, b)
				}
			})
			t.Run("helm-template setValues", func(t *testing.T) {
				vals := renderedValues(t, fr, []any{
					map[string]any{"key": "image.tag", "value": tagExpr},
					map[string]any{"key": "message", "value": msgExpr},
				})
				want := map[string]any{"name": "app", "image": map[string]any{"tag": v}, "message": v}
				if !reflect.DeepEqual(vals, want) {
					t.Fatalf(".Values = %#v, want %#v", vals, want)
				}
			})
		})
	}
}

// TestHostileCommitMessagesAreCommittedAsData: a Freight commit message used in a
// git-commit message is the message, byte for byte up to git's whitespace cleanup: no
// expression in it is evaluated, nothing in it becomes a git option or a second commit.
func TestHostileCommitMessagesAreCommittedAsData(t *testing.T) {
	srv, repo := gitopsRepo(t)
	e := newEngine(t)
	values := map[string]string{"option-like": "--amend --allow-empty -m other", "trailer-like": "x\n\nSigned-off-by: Mallory <m@example.com>"}
	for k, v := range hostileFreightValues {
		values[k] = v
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			branch := "msg/" + strings.NewReplacer(" ", "-").Replace(name)
			before := commitCount(t, srv, "main")
			res, _ := run(t, e, []haulv1.PromotionStep{
				step("git-clone", "clone", map[string]any{"repoURL": repo, "checkout": []any{map[string]any{"branch": "main", "path": "src"}}}),
				step("file-write", "w", map[string]any{"path": "src/note.txt", "contents": name}),
				step("git-commit", "commit", map[string]any{"path": "src", "message": "promote: ${{ commitFrom('https://git.example.com/app').message }}"}),
				step("git-push", "push", map[string]any{"path": "src", "targetBranch": branch}),
			}, hostileFreight(v), promotion.State{})
			mustSucceed(t, res)
			got, err := testservers.Git(srv.Root+"/gitops.git", "log", "-1", "--format=%B", branch)
			if err != nil {
				t.Fatal(err)
			}
			if want := gitCleanup("promote: " + v); strings.TrimSpace(got) != want {
				t.Fatalf("commit message\n%q\nwant\n%q", got, want)
			}
			if n := commitCount(t, srv, branch); n != before+1 {
				t.Fatalf("%s has %d commits, want %d", branch, n, before+1)
			}
		})
	}
}

// gitCleanup is git commit's default cleanup of a message given with -m: trailing
// whitespace of each line and leading and trailing blank lines removed, runs of blank
// lines collapsed to one.
func gitCleanup(msg string) string {
	var out []string
	for _, l := range strings.Split(msg, "\n") {
		l = strings.TrimRight(l, " \t")
		if l == "" && (len(out) == 0 || out[len(out)-1] == "") {
			continue
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
