package steps

import (
	"fmt"

	"github.com/BurntSushi/toml"
)

// tomlParse reads a TOML file and computes outputs from expressions over it, as
// yaml-parse and json-parse do for their formats.
var tomlParse = parseStep(func(data []byte, rel string) (any, error) {
	doc := map[string]any{}
	if _, err := toml.Decode(string(data), &doc); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", rel, err)
	}
	return doc, nil
})
