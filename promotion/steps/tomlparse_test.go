package steps

import (
	"strings"
	"testing"
)

func TestTOMLParse(t *testing.T) {
	const doc = `# app config
title = "shop"

[image]
repository = "example.com/app"
tag = "1.20"

[[servers]]
name = "alpha"
port = 8080

[[servers]]
name = "beta"
port = 8081
`
	tests := []struct {
		name, expr string
		want       any
	}{
		{"a nested string", "image.tag", "1.20"},
		{"a concatenation", `image.repository + ":" + image.tag`, "example.com/app:1.20"},
		{"an array of tables", "servers[1].name", "beta"},
		{"arithmetic on an integer", "servers[0].port + 1", int64(8081)},
		{"a missing key", "nope", nil},
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"app.toml": doc, "bad.toml": "a = [1,\n"})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := runStepIn(t, dir, tomlParse, map[string]any{"path": "app.toml", "outputs": outputs("v", tc.expr)})
			if err != nil {
				t.Fatal(err)
			}
			got := res.Output["v"]
			if n, ok := got.(int); ok {
				got = int64(n)
			}
			if got != tc.want {
				t.Errorf("%s = %#v, want %#v", tc.expr, res.Output["v"], tc.want)
			}
		})
	}
	for name, tc := range map[string]struct {
		cfg     map[string]any
		wantErr string
	}{
		"a syntax error":        {map[string]any{"path": "bad.toml", "outputs": outputs("v", "a")}, "parsing bad.toml"},
		"a path outside":        {map[string]any{"path": "../app.toml", "outputs": outputs("v", "a")}, `path "../app.toml"`},
		"a missing file":        {map[string]any{"path": "none.toml", "outputs": outputs("v", "a")}, "none.toml does not exist"},
		"an empty outputs list": {map[string]any{"path": "app.toml", "outputs": []any{}}, "outputs needs at least one entry"},
	} {
		t.Run(name+" fails", func(t *testing.T) {
			_, err := runStepIn(t, dir, tomlParse, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
