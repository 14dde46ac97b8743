package steps

import (
	"context"
	"fmt"

	"github.com/BurntSushi/toml"

	"github.com/haul-dev/haul/promotion"
)

// tomlParse reads a TOML file and computes outputs from expressions over it, as
// yaml-parse and json-parse do for their formats.
func tomlParse(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg parseConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	p, err := sc.Path("path", cfg.Path)
	if err != nil {
		return promotion.StepResult{}, err
	}
	data, err := readCapped(p, cfg.Path)
	if err != nil {
		return promotion.StepResult{}, err
	}
	doc := map[string]any{}
	if _, err := toml.Decode(string(data), &doc); err != nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("parsing %s: %w", cfg.Path, err))
	}
	out, err := evalOutputs(doc, cfg.Path, cfg.Outputs)
	if err != nil {
		return promotion.StepResult{}, err
	}
	return promotion.StepResult{Output: out}, nil
}
