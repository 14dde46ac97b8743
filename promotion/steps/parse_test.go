package steps

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/haul-dev/haul/promotion"
)

func TestParseStepsComputeOutputsFromTheDocument(t *testing.T) {
	const yamlDoc = `# chart values
image:
  repository: example.com/app
  tag: "1.20"
replicas: 3
features: [a, b, c]
`
	const jsonDoc = `{"image": {"repository": "example.com/app", "tag": "1.20"}, "replicas": 3, "features": ["a", "b", "c"]}`
	type stepFn = func(context.Context, *promotion.StepContext) (promotion.StepResult, error)
	for name, tc := range map[string]struct {
		fn   stepFn
		file string
		body string
	}{
		"yaml-parse": {yamlParse, "values.yaml", yamlDoc},
		"json-parse": {jsonParse, "values.json", jsonDoc},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"src/" + tc.file: tc.body})
			res, err := runStepIn(t, dir, tc.fn, map[string]any{
				"path": "src/" + tc.file,
				"outputs": outputs(
					"tag", "image.tag",
					"ref", `image.repository + ":" + image.tag`,
					"scaled", "replicas * 2",
					"second", "features[1]",
					"count", "len(features)",
					"missing", "nope",
				),
			})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"tag": "1.20", "ref": "example.com/app:1.20", "scaled": float64(6),
				"second": "b", "count": 3, "missing": nil,
			}
			for k, w := range want {
				got := res.Output[k]
				if n, ok := got.(int); ok && reflect.TypeOf(w) == reflect.TypeOf(float64(0)) {
					got = float64(n)
				}
				if !reflect.DeepEqual(got, w) {
					t.Errorf("output %s = %#v, want %#v", k, res.Output[k], w)
				}
			}
		})
	}
}

func TestParseStepsRefuseBadInput(t *testing.T) {
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 'b'; i <= 'k'; i++ {
		prev := string(i - 1)
		bomb += string(i) + ": &" + string(i) + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
	}
	tests := []struct {
		name    string
		fn      func(context.Context, *promotion.StepContext) (promotion.StepResult, error)
		files   map[string]string
		cfg     map[string]any
		wantErr string
	}{
		{"json syntax error", jsonParse, map[string]string{"a.json": `{"a": `}, map[string]any{"path": "a.json", "outputs": outputs("x", "a")}, "parsing a.json"},
		{"json trailing data", jsonParse, map[string]string{"a.json": `{"a": 1} {"b": 2}`}, map[string]any{"path": "a.json", "outputs": outputs("x", "a")}, "after the top-level value"},
		{"json list at the top", jsonParse, map[string]string{"a.json": `[1, 2]`}, map[string]any{"path": "a.json", "outputs": outputs("x", "a")}, "must be a map at the top level, not a list"},
		{"json missing file", jsonParse, nil, map[string]any{"path": "a.json", "outputs": outputs("x", "a")}, "a.json does not exist"},
		{"json path escapes", jsonParse, nil, map[string]any{"path": "../a.json", "outputs": outputs("x", "a")}, `path "../a.json"`},
		{"json path in .git", jsonParse, map[string]string{"r/.git/config.json": `{}`}, map[string]any{"path": "r/.git/config.json", "outputs": outputs("x", "a")}, ".git"},
		{"bad expression", jsonParse, map[string]string{"a.json": `{"a": 1}`}, map[string]any{"path": "a.json", "outputs": outputs("x", "a +")}, `outputs[0] (x): compiling expression "a +"`},
		{"expression fails at run time", jsonParse, map[string]string{"a.json": `{"a": 1}`}, map[string]any{"path": "a.json", "outputs": outputs("x", "a.b.c")}, `outputs[0] (x): evaluating`},
		{"no outputs", jsonParse, map[string]string{"a.json": `{}`}, map[string]any{"path": "a.json", "outputs": []any{}}, "outputs needs at least one entry"},
		{"empty output name", yamlParse, map[string]string{"a.yaml": "a: 1\n"}, map[string]any{"path": "a.yaml", "outputs": outputs("", "a")}, "outputs[0].name must not be empty"},
		{"duplicate output name", yamlParse, map[string]string{"a.yaml": "a: 1\n"}, map[string]any{"path": "a.yaml", "outputs": outputs("x", "a", "x", "a")}, `outputs[1].name "x" is used twice`},
		{"unknown config key", yamlParse, map[string]string{"a.yaml": "a: 1\n"}, map[string]any{"path": "a.yaml", "outputs": outputs("x", "a"), "extra": true}, "extra"},
		{"missing path", yamlParse, nil, map[string]any{"outputs": outputs("x", "a")}, `"config.path"`},
		{"yaml syntax error", yamlParse, map[string]string{"a.yaml": "a: [1,\n"}, map[string]any{"path": "a.yaml", "outputs": outputs("x", "a")}, "parsing a.yaml"},
		{"yaml alias bomb", yamlParse, map[string]string{"a.yaml": bomb}, map[string]any{"path": "a.yaml", "outputs": outputs("x", "a")}, "alias"},
		{"yaml scalar at the top", yamlParse, map[string]string{"a.yaml": "just text\n"}, map[string]any{"path": "a.yaml", "outputs": outputs("x", "a")}, "not a string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			_, err := runStepIn(t, dir, tc.fn, tc.cfg)
			if err == nil {
				t.Fatalf("succeeded, want an error containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not mention %q", err, tc.wantErr)
			}
			if !promotion.IsTerminal(err) {
				t.Errorf("error %q is not terminal; retrying cannot fix it", err)
			}
			if strings.Contains(err.Error(), dir) {
				t.Errorf("error %q shows the host path of the work dir", err)
			}
		})
	}
}

func TestParseStepsRefuseOversizedFiles(t *testing.T) {
	dir := t.TempDir()
	big := `{"a": "` + strings.Repeat("x", MaxFileSize) + `"}`
	writeFiles(t, dir, map[string]string{"big.json": big})
	_, err := runStepIn(t, dir, jsonParse, map[string]any{"path": "big.json", "outputs": outputs("x", "a")})
	if err == nil || !strings.Contains(err.Error(), "larger than the limit") {
		t.Fatalf("err = %v, want the size limit named", err)
	}
}
