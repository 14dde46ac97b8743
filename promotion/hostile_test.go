package promotion_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// runIn runs steps in dir (which the test prepared) and returns the result.
func runIn(t *testing.T, dir string, fr haulv1.FreightReference, vars []haulv1.Var, steps ...haulv1.PromotionStep) (promotion.Result, promotion.State) {
	t.Helper()
	e := &promotion.Engine{Registry: testSteps, Services: &promotion.Services{}}
	return e.Run(context.Background(), promotion.Request{Project: "p", Stage: "s", Promotion: "pr", Freight: fr, Vars: vars, Steps: steps, WorkDir: dir})
}

func mustFail(t *testing.T, res promotion.Result, want ...string) {
	t.Helper()
	if res.Phase == haulv1.PromotionSucceeded {
		t.Fatalf("succeeded, want an error containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(res.Message, w) {
			t.Fatalf("message %q does not contain %q", res.Message, w)
		}
	}
}

func TestEveryStepRejectsUnknownConfigFields(t *testing.T) {
	for _, uses := range []string{"git-clone", "git-clear", "git-commit", "git-push", "kustomize-set-image",
		"kustomize-build", "helm-template", "helm-update-chart", "yaml-update", "json-update", "copy", "delete", "file-write", "http",
		"set-metadata", "fail"} {
		t.Run(uses, func(t *testing.T) {
			res, _ := runIn(t, t.TempDir(), freight("1"), nil, step(uses, "x", map[string]any{"bogusField": 1}))
			mustFail(t, res, `"bogusField"`)
		})
	}
}

func TestMissingRequiredFieldIsNamed(t *testing.T) {
	res, _ := runIn(t, t.TempDir(), freight("1"), nil, step("file-write", "x", map[string]any{"path": "a"}))
	mustFail(t, res, "contents")
}

func TestPathsAreConfinedToTheWorkDir(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	_ = os.WriteFile(secret, []byte("s3cr3t"), 0o600)
	// want is the refusal reason: a step that failed for another reason (a missing
	// file, say) must not count as confinement.
	cases := map[string]struct {
		step haulv1.PromotionStep
		want string
	}{
		"dot-dot":         {step("copy", "x", map[string]any{"inPath": "../../etc/passwd", "outPath": "p"}), `inPath "../../etc/passwd": must not contain '..'`},
		"absolute":        {step("file-write", "x", map[string]any{"path": "/etc/haul-test", "contents": "x"}), "must be relative to the work directory"},
		"percent-encoded": {step("delete", "x", map[string]any{"path": "%2e%2e/%2e%2e/x"}), "must not contain '..'"},
		"symlink-out":     {step("yaml-update", "x", map[string]any{"path": "values.yaml", "updates": []any{map[string]any{"key": "a", "value": "b"}}}), "symlink that leads outside the work directory"},
		"symlink-write":   {step("file-write", "x", map[string]any{"path": "values.yaml", "contents": "x"}), "symlink that leads outside the work directory"},
		"dangling":        {step("yaml-update", "x", map[string]any{"path": "dangling.yaml", "updates": []any{map[string]any{"key": "a", "value": "b"}}}), "dangling or looping symlink"},
		"loop":            {step("copy", "x", map[string]any{"inPath": "loop", "outPath": "y"}), "dangling or looping symlink"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			_ = os.Symlink(secret, filepath.Join(dir, "values.yaml"))
			_ = os.Symlink("nowhere", filepath.Join(dir, "dangling.yaml"))
			_ = os.Symlink("loop", filepath.Join(dir, "loop"))
			res, _ := runIn(t, dir, freight("1"), nil, c.step)
			mustFail(t, res, c.want)
			if strings.Contains(res.Message, dir) || strings.Contains(res.Message, outside) {
				t.Fatalf("error leaks a host path: %s", res.Message)
			}
			if b, _ := os.ReadFile(secret); string(b) != "s3cr3t" {
				t.Fatal("file outside the work dir was changed")
			}
		})
	}
}

func TestYAMLBombsAndHugeFilesAreRefused(t *testing.T) {
	bomb := "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" +
		"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n" +
		"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n" +
		"j: &j [*i,*i,*i,*i,*i,*i,*i,*i,*i]\nk: &k [*j,*j,*j,*j,*j,*j,*j,*j,*j]\nl: &l [*k,*k,*k,*k,*k,*k,*k,*k,*k]\n"
	deep := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	huge := "a: " + strings.Repeat("x", 9<<20)
	for name, c := range map[string]struct{ content, want string }{
		"billion-laughs": {bomb, "refusing a possible alias-expansion bomb"},
		"deep":           {"a: " + deep, "nesting is deeper than"},
		"huge":           {huge, "larger than the limit"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			_ = os.WriteFile(filepath.Join(dir, "v.yaml"), []byte(c.content), 0o644)
			res, _ := runIn(t, dir, freight("1"), nil, step("yaml-update", "x", map[string]any{"path": "v.yaml",
				"updates": []any{map[string]any{"key": "z", "value": "1"}}}))
			mustFail(t, res, "v.yaml", c.want)
		})
	}
}

func TestYAMLUpdateKeepsCommentsAndTreatsFreightAsData(t *testing.T) {
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "values.yaml"), []byte("# top\nimage:\n  tag: old # the tag\nreplicas: 1\n"), 0o644)
	fr := freight("1.20")
	fr.Commits = []haulv1.GitCommit{{RepoURL: "https://git/x", ID: "abc", Message: "evil ${{ secret('x') }}\nkey: [value]: #"}}
	res, _ := runIn(t, dir, fr, nil, step("yaml-update", "x", map[string]any{"path": "values.yaml", "updates": []any{
		map[string]any{"key": "image.tag", "value": "${{ imageFrom('example.com/app').tag }}"},
		map[string]any{"key": "message", "value": "${{ commitFrom('https://git/x').message }}"},
		map[string]any{"key": "replicas", "value": "${{ 3 }}"},
	}}))
	if res.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("%s: %s", res.Phase, res.Message)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "values.yaml"))
	got := string(b)
	for _, want := range []string{"# top", "tag: \"1.20\" # the tag", "replicas: 3", "${{ secret('x') }}"} {
		if !strings.Contains(got, want) {
			t.Fatalf("values.yaml lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "\nkey:") {
		t.Fatalf("commit message broke the YAML structure:\n%s", got)
	}
}

func TestExpressions(t *testing.T) {
	vars := []haulv1.Var{{Name: "a", Value: "x"}}
	cases := map[string]struct {
		expr  string
		want  string // substring of the error, or "" for success
		value any    // the output on success, when the case checks it
	}{
		"missing var named":    {"${{ vars.nope }}", "vars.nope is not defined", nil},
		"missing output named": {"${{ outputs['x'].y }}", `outputs.x is not defined`, nil},
		"unknown top-level":    {"${{ nope }}", "unknown name nope", nil},
		"nil in text refused":  {"tag-${{ vars.a == 'x' ? nil : 1 }}", "nil", nil},
		"huge expression":      {"${{ " + strings.Repeat("1+", 600000) + "1 }}", "longer than the limit", nil},
		"node limit":           {"${{ " + strings.Repeat("1+", 2000) + "1 }}", "node", nil},
		// Parentheses add no nodes: 3000 of them must evaluate, not overflow the stack.
		"deep nesting":                   {"${{ " + strings.Repeat("(", 3000) + "1" + strings.Repeat(")", 3000) + " }}", "", 1},
		"deep array nesting":             {"${{ " + strings.Repeat("[", 3000) + "1" + strings.Repeat("]", 3000) + " }}", "node", nil},
		"other project secret":           {"${{ secret('other-ns/x') }}", "own namespace", nil},
		"shared secret, none configured": {"${{ sharedSecret('git-creds') }}", "no shared resources namespace is configured", nil},
		"repeat disabled":                {"${{ repeat('x', 1000000000) }}", "repeat", nil},
		"optional chain lenient":         {"${{ vars?.nope ?? 'dflt' }}", "", "dflt"},
		"present var":                    {"${{ vars.a }}", "", "x"},
		"semver":                         {"${{ semverDiff('1.2.3', '1.3.0') == 'Minor' && semverParse('v1.2.3').Major() == 1 }}", "", true},
		"flatten deep is bounded":        {"${{ flatten(" + strings.Repeat("[", 400) + "1" + strings.Repeat("]", 400) + ") }}", "", []any{1}},
		"flatten past the limit":         {"${{ flatten(" + strings.Repeat("[", 1200) + "1" + strings.Repeat("]", 1200) + ") }}", "node", nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			res, st := runIn(t, t.TempDir(), freight("1"), vars,
				step("compose-output", "x", map[string]any{"v": c.expr}))
			if c.want == "" {
				if res.Phase != haulv1.PromotionSucceeded {
					t.Fatalf("%s: %s", res.Phase, res.Message)
				}
				if c.value != nil {
					got := st.Outputs["x"].(map[string]any)["v"]
					if !reflect.DeepEqual(got, c.value) {
						t.Fatalf("output %#v (%T), want %#v", got, got, c.value)
					}
				}
				return
			}
			mustFail(t, res, c.want)
		})
	}
}

func TestStepSemantics(t *testing.T) {
	res, st := runIn(t, t.TempDir(), freight("1"), nil,
		step("fail", "boom", map[string]any{"message": "nope"}),
		step("compose-output", "skipped", map[string]any{"a": "1"}),
		haulv1.PromotionStep{Uses: "compose-output", As: "cleanup", If: "${{ failure() }}"},
		haulv1.PromotionStep{Uses: "compose-output", As: "status", If: "${{ status('boom') == 'Failed' }}"},
	)
	if res.Phase != haulv1.PromotionFailed {
		t.Fatalf("phase %s, want Failed", res.Phase)
	}
	want := []haulv1.StepStatus{"Failed", "Skipped", "Succeeded", "Succeeded"}
	for i, m := range st.Steps {
		if m.Status != want[i] {
			t.Errorf("step %s: %s, want %s", m.Alias, m.Status, want[i])
		}
	}
	// continueOnError keeps success() true.
	res, _ = runIn(t, t.TempDir(), freight("1"), nil,
		haulv1.PromotionStep{Uses: "fail", As: "soft", ContinueOnError: true},
		step("compose-output", "next", map[string]any{"a": "${{ outputs }}"}),
	)
	if res.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("continueOnError: %s: %s", res.Phase, res.Message)
	}
}

func TestHTTPStepRefusesMetadataAndLinkLocal(t *testing.T) {
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	}))
	defer redirect.Close()
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ready": true, "version": "1.2.3"}`)
	}))
	defer ok.Close()
	for name, c := range map[string]struct{ url, want string }{
		"metadata IP":          {"http://169.254.169.254/latest/meta-data/", "connecting to 169.254.169.254 is not allowed: link-local"},
		"link-local v6":        {"http://[fe80::1]/", "connecting to fe80::1 is not allowed: link-local"},
		"redirect to metadata": {redirect.URL, "connecting to 169.254.169.254 is not allowed"},
	} {
		t.Run(name, func(t *testing.T) {
			res, _ := runIn(t, t.TempDir(), freight("1"), nil, step("http", "h", map[string]any{"url": c.url, "timeout": "3s"}))
			mustFail(t, res, c.want)
		})
	}
	t.Run("name resolving to metadata", func(t *testing.T) {
		// A local DNS server answers for the test names, so the guard must refuse the
		// address the name resolves to, not the name. The control name resolving to
		// loopback proves the resolver works: the refusal is not a lookup failure.
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(ok.URL, "http://"))
		answered := startDNS(t, map[string]netip.Addr{
			"metadata.haul.test": netip.MustParseAddr("169.254.169.254"),
			"app.haul.test":      netip.MustParseAddr("127.0.0.1"),
		})
		res, _ := runIn(t, t.TempDir(), freight("1"), nil, step("http", "h", map[string]any{"url": "http://metadata.haul.test:" + port + "/", "timeout": "3s"}))
		mustFail(t, res, "connecting to 169.254.169.254 is not allowed")
		if answered() == 0 {
			t.Fatal("the local resolver was never asked: the test did not exercise DNS")
		}
		res, _ = runIn(t, t.TempDir(), freight("1"), nil, step("http", "h", map[string]any{"url": "http://app.haul.test:" + port + "/", "timeout": "3s",
			"successExpression": "response.status == 200"}))
		if res.Phase != haulv1.PromotionSucceeded {
			t.Fatalf("control name resolving to loopback: %s: %s", res.Phase, res.Message)
		}
	})
	res, st := runIn(t, t.TempDir(), freight("1"), nil, step("http", "h", map[string]any{
		"url": ok.URL, "successExpression": "response.status == 200 && response.body.ready",
		"outputs": []any{map[string]any{"name": "version", "fromExpression": "response.body.version"}},
	}))
	if res.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("%s: %s", res.Phase, res.Message)
	}
	if st.Outputs["h"].(map[string]any)["version"] != "1.2.3" {
		t.Fatalf("outputs: %v", st.Outputs)
	}
}

func TestKustomizeRemoteBaseAndPluginsRefused(t *testing.T) {
	// want is the refusal reason, so that a remote base cannot pass because the
	// network is down.
	cases := map[string]struct{ kustomization, want string }{
		"remote base": {"resources:\n- https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v3.3.1\n", "is remote; remote bases are refused"},
		"github base": {"resources:\n- github.com/org/repo/base\n", "is remote; remote bases are refused"},
		"helm charts": {"helmCharts:\n- name: x\n  repo: https://charts.example.com\n", "helmCharts needs the helm binary and is not supported"},
		"exec plugin": {"generators:\n- gen.yaml\n", "external plugins disabled"},
		"escape":      {"resources:\n- ../../../../etc\n", "must not contain '..'"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			_ = os.MkdirAll(filepath.Join(dir, "app"), 0o755)
			_ = os.WriteFile(filepath.Join(dir, "app/kustomization.yaml"), []byte(c.kustomization), 0o644)
			_ = os.WriteFile(filepath.Join(dir, "app/gen.yaml"), []byte("apiVersion: x/v1\nkind: Exec\nmetadata:\n  name: g\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: /bin/sh\n"), 0o644)
			res, _ := runIn(t, dir, freight("1"), nil, step("kustomize-build", "b", map[string]any{"path": "app", "outPath": "out.yaml"}))
			mustFail(t, res, c.want)
		})
	}
	t.Run("object name escaping outPath", func(t *testing.T) {
		dir := t.TempDir()
		_ = os.MkdirAll(filepath.Join(dir, "app"), 0o755)
		_ = os.WriteFile(filepath.Join(dir, "app/kustomization.yaml"), []byte("resources:\n- cm.yaml\n"), 0o644)
		_ = os.WriteFile(filepath.Join(dir, "app/cm.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ../../x\n"), 0o644)
		res, _ := runIn(t, dir, freight("1"), nil, step("kustomize-build", "b", map[string]any{"path": "app", "outPath": "out"}))
		mustFail(t, res, "metadata.name")
	})
}
