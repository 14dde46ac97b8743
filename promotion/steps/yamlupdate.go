package steps

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/haul-dev/haul/promotion"
)

type fileUpdateConfig struct {
	Path    string       `json:"path"`
	Updates []fileUpdate `json:"updates"`
}

type fileUpdate struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

func (c *fileUpdateConfig) Validate() error {
	if len(c.Updates) == 0 {
		return fmt.Errorf("updates needs at least one entry")
	}
	for i, u := range c.Updates {
		if u.Key == "" {
			return fmt.Errorf("updates[%d].key must not be empty", i)
		}
	}
	return nil
}

// readFileUpdate decodes a *-update step's config and reads the file it names (inside
// the work dir, size-capped): what yaml-update, json-update and toml-update share.
func readFileUpdate(sc *promotion.StepContext) (cfg fileUpdateConfig, path string, data []byte, err error) {
	if err = promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return cfg, "", nil, err
	}
	if path, err = sc.Path("path", cfg.Path); err != nil {
		return cfg, "", nil, err
	}
	data, err = readCapped(path, cfg.Path)
	return cfg, path, data, err
}

// yamlUpdate sets values at dot paths in a YAML file, keeping comments and layout.
func yamlUpdate(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	cfg, p, data, err := readFileUpdate(sc)
	if err != nil {
		return promotion.StepResult{}, err
	}
	root, err := parseYAMLSafe(data, cfg.Path)
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(err)
	}
	for i, u := range cfg.Updates {
		val, err := scalarNode(u.Value)
		if err != nil {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("updates[%d].value: %w", i, err))
		}
		if err := setYAMLPath(root.YNode(), splitKey(u.Key), val.YNode()); err != nil {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("updates[%d]: key %q: %w", i, u.Key, err))
		}
	}
	out, err := root.String()
	if err != nil {
		return promotion.StepResult{}, fmt.Errorf("encoding %s: %w", cfg.Path, err)
	}
	if err := writeFile(p, cfg.Path, []byte(out)); err != nil {
		return promotion.StepResult{}, err
	}
	return promotion.StepResult{Output: map[string]any{"commitMessage": updatesCommitMessage(cfg, false)}}, nil
}

// updatesCommitMessage is Kargo's commitMessage output of yaml-update and
// json-update: the file, then one "- key: value" line per update. JSON quotes every
// string; YAML only those that would not read back as the same string.
func updatesCommitMessage(cfg fileUpdateConfig, quoteStrings bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Updated %s\n", cfg.Path)
	for _, u := range cfg.Updates {
		v := fmt.Sprintf("%v", u.Value)
		if s, ok := u.Value.(string); ok && (quoteStrings || needsYAMLQuotes(s)) {
			v = strconv.Quote(s)
		}
		fmt.Fprintf(&b, "\n- %s: %s", u.Key, v)
	}
	return b.String()
}

// needsYAMLQuotes reports whether s, written bare, would not read back as the string s.
func needsYAMLQuotes(s string) bool {
	var back any
	if err := yaml.Unmarshal([]byte(s), &back); err != nil {
		return true
	}
	got, ok := back.(string)
	return !ok || got != s
}

// splitKey splits a dot path; a backslash escapes a dot inside a key ("a\.b.c").
func splitKey(key string) []string {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(key); i++ {
		switch {
		case key[i] == '\\' && i+1 < len(key) && key[i+1] == '.':
			cur.WriteByte('.')
			i++
		case key[i] == '.':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(key[i])
		}
	}
	return append(parts, cur.String())
}

func setYAMLPath(n *yaml.Node, path []string, val *yaml.Node) error {
	for depth, seg := range path {
		last := depth == len(path)-1
		switch n.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == seg {
					next = n.Content[j+1]
					if last {
						val.HeadComment, val.LineComment, val.FootComment = next.HeadComment, next.LineComment, next.FootComment
						if val.Kind == yaml.ScalarNode && next.Kind == yaml.ScalarNode && next.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0 && val.Tag == yaml.NodeTagString {
							val.Style = next.Style
						}
						n.Content[j+1] = val
						return nil
					}
					break
				}
			}
			if next == nil {
				if last {
					n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: seg}, val)
					return nil
				}
				next = &yaml.Node{Kind: yaml.MappingNode}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: seg}, next)
			}
			n = next
		case yaml.SequenceNode:
			idx, err := strconv.Atoi(seg)
			if err != nil || idx < 0 || idx >= len(n.Content) {
				return fmt.Errorf("%q is not an index of the list at %s", seg, strings.Join(path[:depth], "."))
			}
			if last {
				n.Content[idx] = val
				return nil
			}
			n = n.Content[idx]
		case yaml.AliasNode:
			return fmt.Errorf("%s is an alias; refusing to edit through it", strings.Join(path[:depth], "."))
		default:
			return fmt.Errorf("%s is a scalar, not a map or list", strings.Join(path[:depth], "."))
		}
	}
	return nil
}
