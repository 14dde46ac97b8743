package steps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/kustomize/kyaml/yaml/merge2"

	"github.com/haul-dev/haul/promotion"
)

type yamlMergeConfig struct {
	InFiles            []string `json:"inFiles"`
	OutFile            string   `json:"outFile"`
	IgnoreMissingFiles bool     `json:"ignoreMissingFiles,omitempty"`
}

// Validate checks what the Kargo schema requires beyond presence.
func (c *yamlMergeConfig) Validate() error {
	if len(c.InFiles) == 0 {
		return fmt.Errorf("inFiles needs at least one entry")
	}
	if c.OutFile == "" {
		return fmt.Errorf("outFile must not be empty")
	}
	return nil
}

// yamlMerge merges YAML files in order, each later file winning, and writes the result
// to outFile. Maps merge key by key, lists are replaced, and a null value in a later
// file removes the key (kustomize's merge2, as Kargo uses). Empty files are skipped; if
// every input is empty or missing, outFile is written empty.
func yamlMerge(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg yamlMergeConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	out, err := sc.Path("outFile", cfg.OutFile)
	if err != nil {
		return promotion.StepResult{}, err
	}
	var merged *yaml.RNode
	var used []string
	for i, in := range cfg.InFiles {
		field := fmt.Sprintf("inFiles[%d]", i)
		p, err := sc.Path(field, in)
		if err != nil {
			return promotion.StepResult{}, err
		}
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			if cfg.IgnoreMissingFiles {
				continue
			}
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("%s %q does not exist", field, in))
		}
		data, err := readCapped(p, in)
		if err != nil {
			return promotion.StepResult{}, err
		}
		used = append(used, in)
		if emptyYAML(data) {
			continue
		}
		node, err := parseYAMLSafe(data, in)
		if err != nil {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("%s: %w", field, err))
		}
		if merged == nil {
			merged = node
			continue
		}
		if merged, err = merge2.Merge(node, merged, yaml.MergeOptions{}); err != nil {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("merging %s %q: %w", field, in, err))
		}
	}
	var data []byte
	if merged != nil {
		s, err := merged.String()
		if err != nil {
			return promotion.StepResult{}, fmt.Errorf("encoding %s: %w", cfg.OutFile, err)
		}
		if len(s) > MaxFileSize {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("merged result is larger than %d bytes", MaxFileSize))
		}
		data = []byte(s)
	}
	if err := writeFile(out, cfg.OutFile, data); err != nil {
		return promotion.StepResult{}, err
	}
	res := promotion.StepResult{}
	if msg := mergeCommitMessage(used, cfg.OutFile); msg != "" {
		res.Output = map[string]any{"commitMessage": msg}
	}
	return res, nil
}

// emptyYAML reports whether data holds no YAML document at all (only blank lines or
// comments).
func emptyYAML(data []byte) bool {
	var n yaml.Node
	err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&n)
	return errors.Is(err, io.EOF)
}

// mergeCommitMessage describes the merge for a later git-commit, in Kargo's words.
func mergeCommitMessage(in []string, out string) string {
	switch len(in) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf("Wrote %s to %s", in[0], out)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Merged %d YAML files to %s", len(in), out)
	for _, p := range in {
		fmt.Fprintf(&b, "\n- %s", p)
	}
	return b.String()
}
