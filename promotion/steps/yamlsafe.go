package steps

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Limits for YAML documents edited by steps: anchors and aliases can multiply a small
// file into gigabytes when expanded (billion laughs), and deep nesting exhausts stacks.
const (
	maxYAMLAliases = 100
	maxYAMLDepth   = 200
	maxYAMLNodes   = 500000
)

// parseYAMLSafe parses one YAML document after checking size, aliases and depth.
func parseYAMLSafe(data []byte, rel string) (*yaml.RNode, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", rel, MaxFileSize)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, errEOF) || err.Error() == "EOF" {
			return yaml.NewRNode(&yaml.Node{Kind: yaml.MappingNode}), nil
		}
		return nil, fmt.Errorf("parsing %s: %w", rel, err)
	}
	w := &yamlWalker{memo: map[*yaml.Node]int{}}
	if _, err := w.expanded(&doc, 0); err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	n := &doc
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return yaml.NewRNode(&yaml.Node{Kind: yaml.MappingNode}), nil
		}
		n = n.Content[0]
	}
	return yaml.NewRNode(n), nil
}

var errEOF = errors.New("EOF")

// yamlWalker counts the nodes a document expands to, following aliases through a memo
// so that the check itself stays linear.
type yamlWalker struct {
	memo    map[*yaml.Node]int
	aliases int
}

func (w *yamlWalker) expanded(n *yaml.Node, depth int) (int, error) {
	if depth > maxYAMLDepth {
		return 0, fmt.Errorf("nesting is deeper than %d levels", maxYAMLDepth)
	}
	if c, ok := w.memo[n]; ok {
		return c, nil
	}
	count := 1
	if n.Kind == yaml.AliasNode {
		w.aliases++
		if w.aliases > maxYAMLAliases {
			return 0, fmt.Errorf("more than %d aliases; refusing a possible alias-expansion bomb", maxYAMLAliases)
		}
		if n.Alias != nil {
			c, err := w.expanded(n.Alias, depth+1)
			if err != nil {
				return 0, err
			}
			count += c
		}
	}
	for _, c := range n.Content {
		k, err := w.expanded(c, depth+1)
		if err != nil {
			return 0, err
		}
		count += k
		if count > maxYAMLNodes {
			return 0, fmt.Errorf("expands to more than %d nodes; refusing a possible alias-expansion bomb", maxYAMLNodes)
		}
	}
	if count > maxYAMLNodes {
		return 0, fmt.Errorf("expands to more than %d nodes; refusing a possible alias-expansion bomb", maxYAMLNodes)
	}
	if n.Kind != yaml.AliasNode {
		w.memo[n] = count
	}
	return count, nil
}

// scalarNode builds a YAML node for a config value, typed so that strings stay strings
// (a tag "1.20" or a message with ": #" is written quoted as needed, never as structure).
func scalarNode(v any) (*yaml.RNode, error) {
	switch x := v.(type) {
	case string:
		if !utf8.ValidString(x) {
			// YAML would keep these bytes only as a !!binary base64 blob, which
			// Helm and kustomize read as the base64 text, not the value.
			return nil, fmt.Errorf("value %q is not valid UTF-8 text", x)
		}
		return yaml.NewStringRNode(x), nil
	case bool:
		return yaml.NewRNode(&yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagBool, Value: fmt.Sprint(x)}), nil
	case float64:
		if x == float64(int64(x)) {
			return yaml.NewRNode(&yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagInt, Value: fmt.Sprint(int64(x))}), nil
		}
		return yaml.NewRNode(&yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagFloat, Value: fmt.Sprint(x)}), nil
	case int, int64:
		return yaml.NewRNode(&yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagInt, Value: fmt.Sprint(x)}), nil
	case nil:
		return yaml.NewRNode(&yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagNull, Value: "null"}), nil
	}
	// Maps and lists: encode through yaml so structure comes only from the value's type.
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return nil, err
	}
	return yaml.NewRNode(&n), nil
}
