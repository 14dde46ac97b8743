package warehouse

import (
	"errors"
	"testing"
)

// TestPathMatchersFollowKargo: includePaths/excludePaths entries match as Kargo's path
// patterns do. A plain entry is a base directory, not a string prefix, so `src` does not
// pull in commits that only touch `src2/`.
func TestPathMatchersFollowKargo(t *testing.T) {
	cases := []struct {
		spec  string
		match []string
		miss  []string
	}{
		{"src", []string{"src", "src/a.go", "src/deep/b.go"}, []string{"src2/a.go", "srcfile", "docs/src/a.go"}},
		{"/src/", []string{"src/a.go"}, []string{"src2/a.go"}},
		{"charts/app", []string{"charts/app/values.yaml"}, []string{"charts/app-v2/values.yaml", "charts/application"}},
		{"", []string{"anything/at/all"}, nil},
		{"glob:docs/*.md", []string{"docs/a.md"}, []string{"docs/sub/a.md", "docs/a.txt"}},
		{"glob:docs/**/*.md", []string{"docs/a.md", "docs/sub/deep/a.md"}, []string{"src/a.md"}},
		{"glob:env/{test,uat}/**", []string{"env/test/values.yaml", "env/uat/x/y"}, []string{"env/prod/values.yaml"}},
		{"regex:^apps/.*\\.ya?ml$", []string{"apps/a.yaml", "apps/b/c.yml"}, []string{"apps/a.json", "x/apps/a.yaml"}},
		{"regexp:values", []string{"charts/values.yaml"}, []string{"charts/Chart.yaml"}},
	}
	for _, c := range cases {
		ms, err := compilePathMatchers([]string{c.spec}, "includePaths")
		if err != nil {
			t.Fatalf("%q: %v", c.spec, err)
		}
		for _, p := range c.match {
			if !ms[0](p) {
				t.Errorf("%q does not match %q", c.spec, p)
			}
		}
		for _, p := range c.miss {
			if ms[0](p) {
				t.Errorf("%q matches %q", c.spec, p)
			}
		}
	}
}

// TestBadPathPatternNamesTheEntry: an invalid glob or regex is refused with the field
// index and the entry, so the Warehouse's status says which one to fix.
func TestBadPathPatternNamesTheEntry(t *testing.T) {
	for _, spec := range []string{"glob:docs/[", "regex:(", "regexp:a{2,1}"} {
		_, err := compilePathMatchers([]string{"src", spec}, "excludePaths")
		var ic *InvalidConstraintError
		if !errors.As(err, &ic) || ic.Field != "excludePaths[1]" || ic.Value != spec {
			t.Errorf("%q: got %v, want an InvalidConstraintError for excludePaths[1]", spec, err)
		}
	}
}
