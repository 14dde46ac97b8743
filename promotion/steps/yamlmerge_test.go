package steps

import (
	"strings"
	"testing"

	"github.com/haul-dev/haul/promotion"
)

func TestYAMLMerge(t *testing.T) {
	const base = `# base values
image:
  repository: example.com/app
  tag: "1.0"
replicas: 1
env: [A, B]
debug: true
`
	const stage = `image:
  tag: "1.1"
env: [C]
debug: null
`
	tests := []struct {
		name        string
		files       map[string]string
		cfg         map[string]any
		want        []string
		notWant     []string
		wantMessage string
		wantErr     string
	}{
		{
			name:        "later files win, lists are replaced and null removes a key",
			files:       map[string]string{"base.yaml": base, "stages/uat.yaml": stage},
			cfg:         map[string]any{"inFiles": []any{"base.yaml", "stages/uat.yaml"}, "outFile": "out/values.yaml"},
			want:        []string{"repository: example.com/app", `tag: "1.1"`, "replicas: 1", "env: [C]"},
			notWant:     []string{"debug", "- A", `"1.0"`},
			wantMessage: "Merged 2 YAML files to out/values.yaml\n- base.yaml\n- stages/uat.yaml",
		},
		{
			name:        "one file is copied",
			files:       map[string]string{"base.yaml": base},
			cfg:         map[string]any{"inFiles": []any{"base.yaml"}, "outFile": "values.yaml"},
			want:        []string{`tag: "1.0"`, "debug: true"},
			wantMessage: "Wrote base.yaml to values.yaml",
		},
		{
			name:        "missing files are skipped when asked",
			files:       map[string]string{"base.yaml": base},
			cfg:         map[string]any{"inFiles": []any{"base.yaml", "stages/prod.yaml"}, "outFile": "values.yaml", "ignoreMissingFiles": true},
			want:        []string{`tag: "1.0"`},
			wantMessage: "Wrote base.yaml to values.yaml",
		},
		{
			name:    "a missing file is an error by default",
			files:   map[string]string{"base.yaml": base},
			cfg:     map[string]any{"inFiles": []any{"base.yaml", "stages/prod.yaml"}, "outFile": "values.yaml"},
			wantErr: `inFiles[1] "stages/prod.yaml" does not exist`,
		},
		{
			name:    "an input outside the work dir is refused",
			cfg:     map[string]any{"inFiles": []any{"../base.yaml"}, "outFile": "values.yaml"},
			wantErr: `inFiles[0] "../base.yaml"`,
		},
		{
			name:    "an output inside .git is refused",
			files:   map[string]string{"base.yaml": base},
			cfg:     map[string]any{"inFiles": []any{"base.yaml"}, "outFile": "repo/.git/hooks/x"},
			wantErr: `outFile "repo/.git/hooks/x"`,
		},
		{
			name:    "a bad YAML input names the file",
			files:   map[string]string{"base.yaml": base, "bad.yaml": "a: [\n"},
			cfg:     map[string]any{"inFiles": []any{"base.yaml", "bad.yaml"}, "outFile": "values.yaml"},
			wantErr: "inFiles[1]: parsing bad.yaml",
		},
		{
			name:    "inFiles must not be empty",
			cfg:     map[string]any{"inFiles": []any{}, "outFile": "values.yaml"},
			wantErr: "inFiles needs at least one entry",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			res, err := runStepIn(t, dir, yamlMerge, tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				if !promotion.IsTerminal(err) {
					t.Errorf("error %q is not terminal", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := readFile(t, dir, tc.cfg["outFile"].(string))
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("merged file lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("merged file still has %q:\n%s", w, got)
				}
			}
			if res.Output["commitMessage"] != tc.wantMessage {
				t.Errorf("commitMessage = %q, want %q", res.Output["commitMessage"], tc.wantMessage)
			}
		})
	}
}

func TestYAMLMergeOfOnlyEmptyFilesWritesAnEmptyFile(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.yaml": "# nothing yet\n", "values.yaml": "old: content\n"})
	if _, err := runStepIn(t, dir, yamlMerge, map[string]any{"inFiles": []any{"a.yaml"}, "outFile": "values.yaml"}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, dir, "values.yaml"); got != "" {
		t.Errorf("values.yaml = %q, want it emptied", got)
	}
}
