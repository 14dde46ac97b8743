package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/haul-dev/haul/promotion"
)

// jsonParse reads a JSON file and computes outputs from expressions over it, so later
// steps can use values the repository holds (a chart version, an image tag).
func jsonParse(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
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
	doc, err := decodeJSONDoc(data)
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("parsing %s: %w", cfg.Path, err))
	}
	out, err := evalOutputs(doc, cfg.Path, cfg.Outputs)
	if err != nil {
		return promotion.StepResult{}, err
	}
	return promotion.StepResult{Output: out}, nil
}

// decodeJSONDoc decodes exactly one JSON value; trailing data is an error.
func decodeJSONDoc(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var doc any
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("the file is empty")
		}
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("unexpected data after the top-level value")
	}
	return doc, nil
}
